"""Virtual environments with real framework wheels, made by the tests that need them (`python -m venv` and pip,
from the package index): nothing in the test machine's own Python is assumed.

PyTorch's CPU wheel: ``pip install torch==2.13.0`` takes it where pip has it at hand; where that requirement would
resolve to a CUDA build of several GB instead, the test skips and names what pip offered."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.network import require_index
from tests.helpers.scenarios import REPO

TORCH = "torch==2.13.0"
PIP_TIMEOUT = 900


def pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=PIP_TIMEOUT)


def interpreter(venv: Path) -> str:
    return str(venv / "bin" / "python")


def make_venv(folder: Path, with_setupkit: bool = True) -> Path:
    """A new virtual environment, with setupkit (editable, from this checkout) and its own dependencies only."""
    require_index()
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    if with_setupkit:
        installed = pip(venv, "install", "--quiet", "-e", str(REPO))
        assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


def torch_resolves_to(venv: Path) -> str:
    """The version ``pip install torch==2.13.0`` would install here (2.13.0+cpu for the CPU wheel), asked
    without installing or downloading it."""
    report = pip(venv, "install", "--dry-run", "--quiet", "--no-deps", "--report", "-", TORCH)
    assert report.returncode == 0, report.stderr[-3000:]
    return json.loads(report.stdout)["install"][0]["metadata"]["version"]


def install_cpu_torch(venv: Path, *others: str) -> None:
    """PyTorch's CPU wheel and ``others`` into ``venv``, or skip where pip would take a CUDA build."""
    version = torch_resolves_to(venv)
    if not version.endswith("+cpu"):
        pytest.skip(f"pip resolves {TORCH} to {version} here, a CUDA build of several GB with its NVIDIA wheels, "
                    f"not PyTorch's CPU wheel (2.13.0+cpu): this test runs where pip has that wheel at hand")
    installed = pip(venv, "install", "--quiet", TORCH, *others)
    assert installed.returncode == 0, installed.stderr[-3000:]


def requirement_closure(name: str, found: dict) -> None:
    """Add to ``found`` (normalised name -> Distribution) the installed distribution ``name`` and, recursively,
    every installed distribution it requires (extras left out): what a fresh `pip install name` would bring."""
    from packaging.requirements import Requirement

    key = name.lower().replace("_", "-")
    if key in found:
        return
    try:
        found[key] = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return
    for text in found[key].requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            requirement_closure(requirement.name, found)
