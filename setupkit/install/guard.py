"""The one rule no plan may break: never install a driver through CUDA's packages or CUDA's installer.

``cuda``, ``cuda-X-Y``, ``cuda-runtime-X-Y`` and ``cuda-drivers`` all pull NVIDIA's driver packages
(install.md section 3; tensorflow/tensorflow#47405 shows ``apt install cuda-11-0`` replacing nvidia-450 with
nvidia-460); a runfile run with ``--driver`` or a "y" to its driver question does the same. Only
``cuda-toolkit*`` is safe.
"""

from __future__ import annotations

import re
import shlex

from setupkit.install.model import Plan

_DRIVER_PULLING = re.compile(r"^(cuda|cuda-\d+-\d+|cuda-\d+\.\d+|cuda-drivers(-\d+)?|cuda-runtime(-.*)?)$")
_PACKAGE_TOOLS = {"apt", "apt-get", "dnf", "yum", "aptitude"}


class DriverFromCudaError(AssertionError):
    """A plan would install a driver from CUDA's packages or runfile: a bug in the planner, never shipped."""


def command_words(argv: list[str]) -> list[str]:
    """The words of a command; a ``sh -c SCRIPT`` counts with the words of its script."""
    if len(argv) >= 3 and argv[0] in ("sh", "bash") and argv[1] == "-c":
        return shlex.split(argv[2])
    return list(argv)


def driver_pulling_packages(argv: list[str]) -> list[str]:
    """The names in a package-manager command that would bring a driver with them."""
    words = command_words(argv)
    if not words or words[0].rsplit("/", 1)[-1] not in _PACKAGE_TOOLS:
        return []
    names = [w.split("=", 1)[0] for w in words[1:] if not w.startswith("-")]
    return [n for n in names if _DRIVER_PULLING.match(n)]


def runfile_installs_driver(argv: list[str]) -> bool:
    words = command_words(argv)
    runs_runfile = any(w.endswith(".run") or re.search(r"cuda_[\d.]+_[\d.]+_linux", w) for w in words)
    return runs_runfile and any(w.lstrip("-") == "driver" for w in words)


def check_plan(plan: Plan) -> None:
    """Raise DriverFromCudaError if any step of ``plan``, whatever its status, could install a driver via CUDA."""
    for step in plan.steps:
        for argv in step.commands:
            bad = driver_pulling_packages(argv)
            if bad:
                raise DriverFromCudaError(f"step {step.id} installs {bad}, which pull a driver: use cuda-toolkit-X-Y")
            if runfile_installs_driver(argv):
                raise DriverFromCudaError(f"step {step.id} runs a CUDA runfile with --driver")
        if step.dialog and step.dialog.get("answers", {}).get("driver") != "n":
            raise DriverFromCudaError(f"step {step.id} would answer the runfile's driver question with yes")
