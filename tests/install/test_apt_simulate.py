"""The Debian-family package names of a Debian 12 plan, simulated against the real archive (`apt-get -s`).

Needs apt-get and the archive lists of a Debian 12 machine (`apt-get update` run once); it uses no network.
Names that come from NVIDIA's repository (added by the cuda-repo step) are not in Debian's archive and are
left out; the test says which."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from tests.helpers.install import ubuntu_gpu_facts

NVIDIA_REPOSITORY = re.compile(r"^(nvidia-driver-pinning-\d+|cuda-toolkit-\d+-\d+|cudnn\d+-cuda-\d+)$")


def apt(*args: str) -> str:
    return subprocess.run(["apt-cache", *args], capture_output=True, text=True, timeout=60).stdout


def has_candidate(name: str) -> bool:
    match = re.search(r"Candidate:\s*(\S+)", apt("policy", name))
    return bool(match) and match.group(1) != "(none)"


def bookworm_kernel_release() -> str | None:
    """A kernel release whose headers package the archive really has (linux-headers-6.1.0-NN-amd64)."""
    names = re.findall(r"^linux-headers-(\d[\d.]*-\d+-amd64) ", apt("search", "--names-only",
                                                                   r"^linux-headers-[0-9.]+-[0-9]+-amd64$"), re.M)
    return sorted(names, key=lambda r: [int(x) for x in re.findall(r"\d+", r)])[-1] if names else None


def planned_apt_packages(plan) -> list[str]:
    names = []
    for step in plan.todo():
        for argv in step.commands:
            if argv[:3] == ["apt-get", "install", "-y"]:
                names += argv[3:]
    return names


def test_debian12_plan_packages_install_in_simulation():
    if shutil.which("apt-get") is None or shutil.which("apt-cache") is None:
        pytest.skip("apt-get is absent: not a Debian-family machine")
    if not has_candidate("python3-pip"):
        pytest.skip("the apt archive lists are empty (run apt-get update once)")
    release = bookworm_kernel_release()
    if release is None:
        pytest.skip("the archive lists no linux-headers-<release>-amd64 package")
    facts = ubuntu_gpu_facts(**{"os.id": "debian", "os.version_id": "12", "os.pretty_name": "Debian GNU/Linux 12",
                                "kernel.release": release, "pip.version": None, "python.version": "3.11.2"})
    names = planned_apt_packages(build_plan(facts, PlanOptions(gpu=True)))
    from_debian = [n for n in names if not NVIDIA_REPOSITORY.match(n)]
    assert "python3-pip" in from_debian and f"linux-headers-{release}" in from_debian
    missing = [n for n in from_debian if not has_candidate(n)]
    # nvidia-driver and its DKMS module are in Debian's non-free (and NVIDIA's repository): absent from a
    # main-only sources list; everything else must exist in the archive itself
    assert set(missing) <= {"nvidia-driver", "nvidia-kernel-dkms", "nvidia-kernel-open-dkms"}, missing
    available = [n for n in from_debian if n not in missing]
    result = subprocess.run(["apt-get", "-s", "install", *available], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for name in available:
        pattern = rf"^(Inst {re.escape(name)} |{re.escape(name)} is already the newest)"
        assert re.search(pattern, result.stdout, re.M), name
