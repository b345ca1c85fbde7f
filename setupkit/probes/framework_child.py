"""The child run of a framework's deep probe (PyTorch, JAX), and what it came to: the outcome every framework
shares, so that each deep probe only turns its script's answers into its own facts.

The child is ``python -c <script>``, run through the host's door for probes (``Host.run_probe``): live, on this
machine, with the user's environment (CUDA_VISIBLE_DEVICES included); from a snapshot, the run the captured
machine made. A crash (SIGSEGV, SIGILL), a hang, an interpreter that cannot start or a script that printed no
answer is an outcome here, never an exception. The script prints one line, ``<marker>{json}``, on stdout.
"""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from setupkit.bounded import printable
from setupkit.facts import FACTS, Facts
from setupkit.host.base import CommandResult, Host
from setupkit.probes.child_answer import answer_line, last_line, signal_name
from setupkit.probes.deep import DeepRequest
from setupkit.probes.tensorflow import bounded_timeout
from setupkit.process import NOT_EXECUTABLE, NOT_INSTALLED

STATUSES = ("ok", "not-installed", "import-error", "crashed", "timeout", "no-output", "not-recorded")
SCRIPT_STATUSES = ("ok", "not-installed", "import-error")
"""The statuses a script may answer; any other it prints is no answer (no-output)."""
CRASH_SIGNALS = (signal.SIGILL, signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGFPE)
"""Signals a native library dies of; a shell in front of the interpreter reports them as exit 128 + N."""
_CUT_AFTER = re.compile(r"timed out after ([0-9]{1,9}(?:\.[0-9]{1,9})?)s\Z")
"""How setupkit.process ends the stderr of a program its timeout cut: the seconds that run really had."""


@dataclass(frozen=True)
class ChildScript:
    """One framework's deep probe: its name in probes.json, its script, the marker of its answer line."""

    name: str
    framework: str
    """The framework's name in messages: "PyTorch"."""
    script: Path
    marker: str
    env: Mapping[str, str] = field(default_factory=dict)
    """Over the user's environment, for the child only."""


@dataclass(frozen=True)
class ChildOutcome:
    status: str
    """One of STATUSES."""
    error: str | None = None
    returncode: int | None = None
    python: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    """The script's answer object ({} when it printed none)."""


def outcome_facts(prefix: str, outcome: ChildOutcome | None, not_recorded: str,
                  answer_facts: Callable[[dict[str, Any]], Facts]) -> Facts:
    """Every ``<prefix>.*`` fact of one deep probe: the outcome's status, error, return code and interpreter,
    then what ``answer_facts`` makes of the script's answer; "not-recorded" (with ``not_recorded`` as its error)
    where the host holds no run."""
    facts: Facts = {name: None for name in FACTS if name.startswith(f"{prefix}.")}
    if outcome is None:
        return facts | {f"{prefix}.status": "not-recorded", f"{prefix}.error": not_recorded}
    return facts | {f"{prefix}.status": outcome.status, f"{prefix}.error": outcome.error,
                    f"{prefix}.returncode": outcome.returncode, f"{prefix}.python": outcome.python} \
        | answer_facts(outcome.answer)


def run_child(host: Host, child: ChildScript, request: DeepRequest) -> ChildOutcome | None:
    """The child's outcome; None when the host holds no run of it (a snapshot taken without it)."""
    interpreter = request.python or sys.executable
    seconds = bounded_timeout(request.timeout)
    argv = [interpreter, "-c", child.script.read_text(encoding="utf-8")]
    done = host.run_probe(child.name, argv, seconds, env=dict(child.env))
    return None if done is None else read_run(done, seconds, child)


def read_run(done: CommandResult, seconds: float, child: ChildScript) -> ChildOutcome:
    """The outcome of a run, live or recorded (pure: the tests feed it results). ``seconds`` is the timeout
    asked for, used only where the run does not say the one it had."""
    interpreter = done.argv[0]  # the captured machine's, read from a snapshot
    if done.returncode is None:
        had = _timeout_had(done.stderr, seconds)
        return ChildOutcome("timeout", f"no answer within {had:g} s (importing {child.framework} hangs)",
                            None, interpreter)
    if done.returncode in (NOT_INSTALLED, NOT_EXECUTABLE) and not done.stdout:
        return ChildOutcome("import-error", f"cannot run {interpreter}: {last_line(done.stderr)}",
                            done.returncode, interpreter)
    answer = answer_line(done.stdout, child.marker)
    crash = crash_text(done.returncode, child.framework)
    if crash is not None:
        # A native library may die at exit, after the answer: the crash is the finding, the answer still told.
        said = " after it answered" if answer else ""
        return ChildOutcome("crashed", crash + said, done.returncode, interpreter, answer or {})
    if answer is None:
        return ChildOutcome("no-output", _failure(done.returncode, done.stderr), done.returncode, interpreter)
    status = answer.get("status")
    if status not in SCRIPT_STATUSES:
        return ChildOutcome("no-output", f"the answer's status is not one the probe gives: {_short(status)}",
                            done.returncode, interpreter)
    error = answer.get("error")
    return ChildOutcome(str(status), error if isinstance(error, str) else None, done.returncode, interpreter,
                        answer)


def crash_text(returncode: int, framework: str) -> str | None:
    """What killed the child, when a signal did (negative: the signal itself; 128 + N: a shell's report)."""
    if returncode < 0:
        number = -returncode
    elif returncode - 128 in CRASH_SIGNALS:
        number = returncode - 128
    else:
        return None
    name = signal_name(number)
    shown = f"killed by signal {number} ({name})" if returncode < 0 else f"exit {returncode} ({name}, as a shell " \
                                                                           f"reports it)"
    if number == signal.SIGILL:
        return f"Illegal instruction: {shown}: {framework} or a library it loads uses CPU instructions this CPU lacks"
    if number == signal.SIGSEGV:
        return f"Segmentation fault: {shown}: a native library {framework} loads crashed"
    return shown


def _failure(returncode: int, stderr: str) -> str:
    if returncode == 0:
        return "the probe printed no answer"
    return f"exit {returncode}: {last_line(stderr)}"


def _timeout_had(stderr: str, asked: float) -> float:
    """The timeout the run was cut by (a snapshot's may differ from the one asked for here)."""
    match = _CUT_AFTER.search(stderr.rstrip())
    return bounded_timeout(float(match.group(1))) if match else asked


def _short(value: object) -> str:
    return printable(str(value)[:80], keep_newlines=False)


# -- the answer's fields, each of the type its checks expect or None (the script writes them so; another
# program's line may not) ----------------------------------------------------------------------------------------


def text(value: Any, limit: int = 600) -> str | None:
    return printable(value[:limit], keep_newlines=False) if isinstance(value, str) else None


def texts(value: Any, limit: int = 200) -> list[str | None] | None:
    """A list of texts; an entry the script could not learn (a device whose name failed) is None."""
    if not isinstance(value, list) or len(value) > 1024:
        return None
    if not all(item is None or isinstance(item, str) for item in value):
        return None
    return [None if item is None else printable(item[:limit], keep_newlines=False) for item in value]


def flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def count(value: Any, most: int = 1024) -> int | None:
    """A whole number from 0 to ``most`` (a device count, a version number such as cuDNN's 91002)."""
    return value if type(value) is int and 0 <= value <= most else None
