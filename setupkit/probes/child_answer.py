"""What a probe's child process printed, read the one way every child-running probe reads it (the deep framework
probes, the level-2 measurements): its answer line, its last line of output, the signal that ended it.

A child prints one line ``<marker>{json}`` on stdout. The interpreter it ran in may be anything, so whatever else
it printed, a line that is no JSON object, or no line at all, is no answer: never an exception.
"""

from __future__ import annotations

import signal
from typing import Any

from setupkit.bounded import BoundError, loads_json, printable

LINE_LIMIT = 300
"""Characters kept of a line a message quotes."""


def answer_line(stdout: str, marker: str) -> dict[str, Any] | None:
    """The child's last answer object; None when there is none or it is no JSON object."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(marker):
            try:
                answer = loads_json(line[len(marker):])
            except BoundError:
                return None
            return answer if isinstance(answer, dict) else None
    return None


def last_line(text: str, empty: str = "no output") -> str:
    """The last line of ``text`` that says anything, printable and cut to LINE_LIMIT; ``empty`` when none does."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return printable(lines[-1][:LINE_LIMIT], keep_newlines=False) if lines else empty


def signal_name(number: int) -> str:
    """SIGSEGV for 11; "unknown signal" for a number no signal has."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"


def killed_by(returncode: int) -> str:
    """'killed by signal 11 (SIGSEGV)' for a return code of -11, as subprocess gives it."""
    return f"killed by signal {-returncode} ({signal_name(-returncode)})"
