"""Runners: the only place the executor touches the host. The real one runs programs and writes files; tests
use a recording one that asserts the exact argv."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

# Package managers must never stop to ask (debconf dialogs, apt's "Do you want to continue?").
QUIET_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


@dataclass
class RunResult:
    returncode: int
    output: str


class Runner(Protocol):
    def run(self, argv: list[str], log: IO[str], interactive: bool = False) -> RunResult: ...

    def write_file(self, path: str, content: str) -> None: ...


class SubprocessRunner:
    """Runs each command for real, its output going to the log and to stderr as it comes."""

    def __init__(self, timeout: float | None = 3600, echo: IO[str] | None = None):
        self.timeout, self.echo = timeout, echo if echo is not None else sys.stderr

    def run(self, argv: list[str], log: IO[str], interactive: bool = False) -> RunResult:
        env = dict(os.environ, **QUIET_ENV)
        if interactive:  # the person answers (mokutil's password): the terminal stays theirs, the log gets the status
            code = subprocess.run(argv, env=env, timeout=self.timeout).returncode
            return RunResult(code, "(interactive: output went to the terminal)\n")
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   text=True, errors="replace", env=env)
        lines = []
        for line in process.stdout:
            lines.append(line)
            log.write(line)
            log.flush()
            self.echo.write(line)
        return RunResult(process.wait(timeout=self.timeout), "".join(lines))

    def write_file(self, path: str, content: str) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
