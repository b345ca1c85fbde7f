"""The snapshots under tests/snapshots/ are what their builder writes, byte for byte, and each gives the facts
written beside it: a change to a scenario, to the bundle writer or to a probe shows up here, never silently."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from setupkit.facts import FACTS
from tests.helpers.scenarios import SCENARIOS, snapshot_facts, snapshot_names
from tests.probes import build_scenarios

REGENERATE = "python3 tests/probes/build_scenarios.py"


def tree(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry under ``root`` by relative path: ('dir', ''), ('link', target) or ('file', content)."""
    entries: dict[str, tuple[str, bytes | str]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries[key] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[key] = ("dir", "")
            else:
                entries[key] = ("file", path.read_bytes())
    return entries


def differences(built: Path, committed: Path) -> list[str]:
    mine, theirs = tree(built), tree(committed)
    return sorted(f"{committed.name}/{key}" for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key))


def test_every_snapshot_is_what_the_builder_writes(tmp_path):
    written = build_scenarios.build(tmp_path)
    assert written, "the builder wrote nothing"
    built = {path.name for path in tmp_path.iterdir()}
    assert built == set(snapshot_names()), "every snapshot folder is built, or its expected facts are"
    wrong: list[str] = []
    for name in sorted(built):
        if (SCENARIOS / name) in build_scenarios.CAPTURED:
            # A capture is never rewritten; only its expected facts are built.
            mine = (tmp_path / name / build_scenarios.EXPECTED_FACTS).read_bytes()
            if mine != (SCENARIOS / name / build_scenarios.EXPECTED_FACTS).read_bytes():
                wrong.append(f"{name}/{build_scenarios.EXPECTED_FACTS}")
        else:
            wrong += differences(tmp_path / name, SCENARIOS / name)
    assert not wrong, (f"tests/snapshots/ differs from what its builder writes: {', '.join(wrong)}; if the change"
                       f" is meant, regenerate with `{REGENERATE}` and review the difference")


@pytest.mark.parametrize("name", snapshot_names())
def test_scenario_gives_its_expected_facts(name):
    folder = SCENARIOS / name
    expected = json.loads((folder / build_scenarios.EXPECTED_FACTS).read_text(encoding="utf-8"))
    assert set(expected) == set(FACTS), f"{name}/{build_scenarios.EXPECTED_FACTS} must name every registered fact"
    found = snapshot_facts(folder)
    wrong = {key: (found[key], expected[key]) for key in FACTS if found[key] != expected[key]}
    assert not wrong, f"(found, expected) for {name}: {wrong}"
