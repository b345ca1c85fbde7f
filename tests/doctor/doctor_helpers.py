"""Helpers for the doctor tests: facts from dictionaries or snapshots, variants of a scenario, one check's verdict.

Imported by the test modules as ``doctor_helpers`` (tests/doctor/conftest.py puts this folder on sys.path).
"""

from __future__ import annotations

import json
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pytest

from setupkit.doctor.catalog import Check, load_catalog
from setupkit.doctor.deep import empty_deep_facts
from setupkit.doctor.engine import Finding, evaluate_check
from setupkit.facts import empty_facts

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "tests" / "snapshots"
H100 = REPO / "tests" / "snapshots" / "h100-ubuntu2404-vm"


@lru_cache(maxsize=1)
def builtin_checks() -> dict[str, Check]:
    return {check.id: check for check in load_catalog()}


def facts_with(**values: Any) -> dict[str, Any]:
    """Every registered fact (and tfprobe.*) unknown, except ``values`` (keys with '__' for '.')."""
    facts = empty_facts() | empty_deep_facts()
    for key, value in values.items():
        name = key.replace("__", ".")
        assert name in facts, f"not a registered fact: {name}"
        facts[name] = value
    return facts


def verdict(check_id: str, facts: dict[str, Any]) -> Finding:
    return evaluate_check(builtin_checks()[check_id], facts)


@lru_cache(maxsize=None)
def _snapshot_facts(path: str) -> dict[str, Any]:
    from setupkit.host import open_host
    from setupkit.probes import collect_facts

    host = open_host(path)
    try:
        return collect_facts(host) | empty_deep_facts()
    finally:
        getattr(host, "close", lambda: None)()


def snapshot_path(name: str) -> Path:
    path = H100 if name == "h100" else SCENARIOS / name
    if not path.is_dir():
        pytest.fail(f"no snapshot {path}")
    return path


def snapshot_facts(name_or_path: str | Path) -> dict[str, Any]:
    """The facts of a scenario by name ('h100' for the shared capture) or of a snapshot folder."""
    path = Path(name_or_path) if isinstance(name_or_path, Path) else snapshot_path(name_or_path)
    return dict(_snapshot_facts(str(path)))


def make_variant(base: str, target: Path, json_file: str, change: Callable[[Any], Any]) -> Path:
    """A copy of scenario ``base`` under ``target`` with one JSON file (env.json, nvml.json ...) rewritten."""
    shutil.copytree(snapshot_path(base), target, symlinks=True)
    path = target / json_file
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data) or data))
    return target
