"""The scenario snapshots under tests/snapshots/ (README.md there says which are real captures): their paths, the
facts the probes read from them, and variants made from them."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from setupkit.facts import Facts
from setupkit.probes import read_facts

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "tests" / "snapshots"
"""The folder that holds every scenario snapshot."""
H100 = SCENARIOS / "h100-ubuntu2404-vm"
"""The real captured GPU host, carried by the project."""


def snapshot_path(name: str) -> Path:
    """The folder of a scenario snapshot by name ('h100' names the real H100 capture)."""
    path = H100 if name == "h100" else SCENARIOS / name
    if not path.is_dir():
        pytest.fail(f"no scenario snapshot {path}")
    return path


def snapshot_names() -> list[str]:
    """Every snapshot folder under tests/snapshots/, by name."""
    return sorted(path.parent.name for path in SCENARIOS.glob("*/manifest.json"))


def snapshot_facts(name_or_path: str | Path) -> Facts:
    """The facts the probes read from a scenario (by name) or from a snapshot folder, as a copy of its own that a
    test may change. A committed scenario is read once per test session; any other folder each time."""
    path = (name_or_path if isinstance(name_or_path, Path) else snapshot_path(name_or_path)).resolve()
    if path.is_relative_to(SCENARIOS):
        return copy.deepcopy(_committed_facts(str(path)))
    return read_facts(str(path))


@cache
def _committed_facts(path: str) -> Facts:
    return read_facts(path)


def make_variant(base: str, target: Path, json_file: str, change: Callable[[Any], Any]) -> Path:
    """A copy of scenario ``base`` under ``target`` with one JSON file (env.json, nvml.json ...) rewritten."""
    shutil.copytree(snapshot_path(base), target, symlinks=True)
    path = target / json_file
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data) or data))
    return target
