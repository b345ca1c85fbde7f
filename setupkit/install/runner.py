"""Step runners: the only place the executor touches the host. The real one runs every command through
setupkit.process (a timeout that really bounds it, its process group killed) and writes files whole; tests use
a recording one that asserts the exact argv."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from setupkit import process
from setupkit.bounded import finite_number
from setupkit.errors import PreconditionError
from setupkit.install import places

# Package managers must never stop to ask (debconf dialogs, apt's "Do you want to continue?").
QUIET_ENV = {"DEBIAN_FRONTEND": "noninteractive"}

COMMAND_TIMEOUT_S = 3600.0
"""The longest one command may run: a CUDA toolkit download and install over a slow mirror, not a hung apt."""
KEPT_OUTPUT = 64 * 1024 * 1024
"""Bytes of one command's output kept (for the step's failure texts) and streamed to the log and terminal."""
INTERRUPT_GRACE_S = 60.0
"""How long an interrupted command may go on to its end: dpkg cut midway leaves packages half-configured."""
GRACE_SETTING = "SETUPKIT_INSTALL_INTERRUPT_GRACE"
MAX_GRACE_S = 3600.0


@dataclass
class StepOutcome:
    """What one command of a step did."""

    returncode: int | None  # None: stopped by its timeout
    output: str
    problem: str = ""  # what setupkit itself saw go wrong: "apt-get: command not found", "timed out after 60s"


class Sink(Protocol):
    """Where a command's output goes: the executor's log (or any text file)."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class StepRunner(Protocol):
    """Runs a step's commands and writes its files."""

    def run(self, argv: list[str], log: Sink, interactive: bool = False) -> StepOutcome: ...

    def write_file(self, path: str, content: str) -> None: ...


def interrupt_grace_from_env() -> float:
    """SETUPKIT_INSTALL_INTERRUPT_GRACE seconds, else the default; exit 3 for a value that is not seconds."""
    text = os.environ.get(GRACE_SETTING, "").strip()
    if not text:
        return INTERRUPT_GRACE_S
    try:
        seconds = finite_number(float(text))
    except ValueError:
        seconds = None
    if seconds is None or not 0 <= seconds <= MAX_GRACE_S:
        raise PreconditionError(f"{GRACE_SETTING} must be seconds from 0 to {MAX_GRACE_S:g}, not {text[:40]!r}",
                                hint=f"unset {GRACE_SETTING} (the default is {INTERRUPT_GRACE_S:g} s) or give a "
                                     f"number such as 60")
    return seconds


class SubprocessStepRunner:
    """Runs each command for real, its output going to the log and to ``echo`` (stderr) as it comes."""

    def __init__(self, timeout: float = COMMAND_TIMEOUT_S, echo: IO[str] | None = None,
                 interrupt_grace: float | None = None):
        self.timeout = timeout
        self.echo = echo if echo is not None else sys.stderr
        self.interrupt_grace = interrupt_grace_from_env() if interrupt_grace is None else interrupt_grace

    def run(self, argv: list[str], log: Sink, interactive: bool = False) -> StepOutcome:
        env = dict(os.environ, **QUIET_ENV)
        if interactive:  # the person answers (mokutil's password): the terminal stays theirs, the log gets the status
            log.write("(interactive: its output goes to the terminal, not to this log)\n")
            done = process.run_attached(argv, timeout=self.timeout, env=env)
            return StepOutcome(done.returncode, "", done.stderr)
        tee = _Tee(log, self.echo)
        done = process.run(argv, timeout=self.timeout, max_output=KEPT_OUTPUT, env=env, merge_stderr=True,
                           on_output=tee.write, on_interrupt="wait", interrupt_grace=self.interrupt_grace,
                           on_wait=lambda grace: tee.write(_waiting(argv, grace)))
        if done.truncated:
            tee.write(f"\n[setupkit: the output past {KEPT_OUTPUT // 2**20} MiB was dropped]\n")
        return StepOutcome(done.returncode, done.stdout, done.stderr)  # stderr: process.py's own words (merged)

    def write_file(self, path: str, content: str) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        places.replace_file(target, content.encode("utf-8"), 0o644)


def _waiting(argv: list[str], grace: float) -> str:
    return (f"\nsetupkit: interrupted: letting `{shlex.join(argv)}` finish (up to {grace:g} s) so that it does not "
            f"stop midway; interrupt again to stop it now\n")


class _Tee:
    """A command's output to the log and the terminal. A terminal that went away (SIGHUP, a closed ssh
    session) stops the echo, never the command: raising here would kill dpkg midway."""

    def __init__(self, log: Sink, echo: IO[str] | None):
        self.log, self.echo = log, echo

    def write(self, text: str) -> None:
        self.log.write(text)
        self.log.flush()
        if self.echo is None:
            return
        try:
            self.echo.write(text)
            self.echo.flush()
        except (OSError, ValueError):  # EIO from a hung-up terminal; ValueError: the stream was closed
            self.echo = None
