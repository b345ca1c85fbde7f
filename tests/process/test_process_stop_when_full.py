"""``stop_when_full``: a program that floods is stopped at its output bound, not at its timeout."""

from __future__ import annotations

import sys
import time

from setupkit import process

FLOOD = [sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('x' * 65536)"]


def test_a_flood_is_stopped_as_soon_as_it_passes_the_bound():
    started = time.monotonic()
    result = process.run(FLOOD, timeout=30, max_output=100_000, stop_when_full=True)
    assert time.monotonic() - started < 5, "stopped at the bound, not at the 30 s timeout"
    assert result.truncated and len(result.stdout) == 100_000
    assert result.signal_name in ("SIGTERM", "SIGKILL") and not result.ok
    assert result.stderr.endswith("stopped: printed more than 100,000 bytes")


def test_a_flood_on_stderr_is_stopped_too():
    flood = [sys.executable, "-c", "import sys\nwhile True: sys.stderr.write('y' * 65536)"]
    result = process.run(flood, timeout=30, max_output=50_000, stop_when_full=True)
    assert result.truncated and result.stderr.startswith("y" * 50_000) and result.returncode is not None


def test_output_within_the_bound_is_not_stopped():
    result = process.run([sys.executable, "-c", "print('x' * 999)"], timeout=30, max_output=1000,
                         stop_when_full=True)
    assert result.ok and not result.truncated and result.stdout == "x" * 999 + "\n" and result.stderr == ""


def test_without_it_a_flood_runs_to_its_timeout():
    result = process.run(FLOOD, timeout=1, max_output=1000)
    assert result.timed_out and result.truncated
