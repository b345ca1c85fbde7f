"""Golden tests of the rich report: fixed width, no colour. Regenerate with UPDATE_GOLDEN=1 pytest tests/doctor."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from setupkit.doctor import report
from setupkit.doctor.engine import run_checks, select
from tests.helpers.doctor import builtin_checks
from tests.helpers.scenarios import H100, SCENARIOS, snapshot_facts

GOLDEN = Path(__file__).parent / "golden"


def rendered(snapshot: Path, verbose: bool) -> str:
    facts = snapshot_facts(snapshot)
    findings = run_checks(select(builtin_checks().values()), facts)
    out = io.StringIO()
    console = Console(file=out, width=100, no_color=True, force_terminal=False, color_system=None)
    report.render(console, findings, facts, f"snapshot {snapshot.name}", verbose=verbose)
    return out.getvalue()


def compare(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest tests/doctor"
    assert text == path.read_text(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 regenerates it)"


@pytest.mark.parametrize(("snapshot", "verbose", "golden"), [
    (H100, False, "h100.txt"),
    (SCENARIOS / "ubuntu1604-gtx-nouveau", False, "ubuntu1604-gtx-nouveau.txt"),
    (SCENARIOS / "centos7-no-avx", True, "centos7-no-avx-verbose.txt"),
])
def test_report_matches_golden(snapshot, verbose, golden):
    compare(golden, rendered(snapshot, verbose))


def test_cli_prints_the_same_report_without_colour(run_setupkit):
    done = run_setupkit("doctor", "--snapshot", str(SCENARIOS / "ubuntu1604-gtx-nouveau"))
    assert done.returncode == 1
    assert "\x1b[" not in done.stdout  # NO_COLOR and a pipe: no escape codes
    assert done.stdout == (GOLDEN / "ubuntu1604-gtx-nouveau.txt").read_text()


def test_report_marks_and_summary():
    text = (GOLDEN / "ubuntu1604-gtx-nouveau.txt").read_text()
    assert "  ✗ nouveau.loaded" in text and "  ✓ cpu.avx" in text and "  ! pip.outdated" not in text
    assert "      $ sudo update-initramfs -u" in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("Summary: 4 failed, 6 warnings, 10 passed, 1 info, 2 unknown, 17 skipped")


def test_colour_when_forced():
    facts = snapshot_facts(H100)
    findings = run_checks(select(builtin_checks().values()), facts)
    out = io.StringIO()
    report.render(Console(file=out, width=100, force_terminal=True, color_system="standard"), findings, facts, "x")
    assert "\x1b[32m✓" in out.getvalue()  # green pass mark
