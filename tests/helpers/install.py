"""Helpers of the install tests: facts dictionaries, plans of the scenario snapshots, a recording runner."""

from __future__ import annotations

from dataclasses import dataclass, field

from setupkit.facts import empty_facts
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.install.runner import StepOutcome
from tests.helpers.scenarios import snapshot_facts

PLANNED_SCENARIOS = ["ubuntu1404-upstart-lightdm", "ubuntu1604-gtx-nouveau", "ubuntu2204-two-gpus-cuda118",
                     "ubuntu2204-driver-mismatch", "wsl2-ubuntu2204", "centos7-no-avx", "laptop-hybrid-secureboot",
                     "h100", "docker-gpu-l4-ubuntu2204", "docker-build-debian12-nogpu", "ubuntu2404-rtx5090-nouveau",
                     "ubuntu2204-gtx1080ti-cuda13", "rhel9-server-a100"]
"""The scenarios a GPU install is planned for (by name; 'h100' is the real capture)."""


def plan_for(name: str, **options):
    return build_plan(snapshot_facts(name), PlanOptions(**{"gpu": True, **options}))


def ubuntu_gpu_facts(**overrides) -> dict:
    """A plain Ubuntu 22.04 desktop with an RTX 3090 and no NVIDIA driver yet."""
    facts = empty_facts()
    facts.update({
        "os.id": "ubuntu", "os.family": "debian", "os.version_id": "22.04", "os.pretty_name": "Ubuntu 22.04.4 LTS",
        "kernel.release": "5.15.0-105-generic", "kernel.wsl": False, "kernel.headers_installed": False,
        "cpu.flags": ["sse4_2", "avx", "avx2", "fma"], "gpu.count": 1, "gpu.names": ["NVIDIA GeForce RTX 3090"],
        "gpu.compute_capabilities": None, "driver.loaded": False, "driver.nvml_error": "NVMLError_LibraryNotFound",
        "nouveau.loaded": True, "nouveau.blacklisted": False, "display.manager": "gdm3",
        "display.manager_active": True, "display.init": "systemd", "display.graphical_session": False,
        "secureboot.enabled": False, "reboot.required": False, "python.executable": "/usr/bin/python3",
        "python.version": "3.10.12", "pip.version": "22.0.2",
    })
    facts.update(overrides)
    return facts


def cpu_facts(**overrides) -> dict:
    facts = ubuntu_gpu_facts(**{"gpu.count": 0, "gpu.names": [], "nouveau.loaded": False,
                                "display.manager": None, "display.manager_active": False})
    facts.update(overrides)
    return facts


def commands_of(plan, step_id: str) -> list[list[str]]:
    return plan.step(step_id).commands


def statuses(plan) -> dict[str, str]:
    return {step.id: step.status for step in plan.steps}


@dataclass
class RecordingRunner:
    """Records every command and file write instead of running them; ``fail`` maps an argv to an exit status."""

    fail: dict[tuple[str, ...], int] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)

    def run(self, argv, log, interactive=False) -> StepOutcome:
        self.commands.append(list(argv))
        code = self.fail.get(tuple(argv), 0)
        log.write(f"(recorded{' interactive' if interactive else ''})\n")
        return StepOutcome(code, "")

    def write_file(self, path: str, content: str) -> None:
        self.files.append((path, content))
