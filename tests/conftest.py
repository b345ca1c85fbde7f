"""Fixtures every test area shares: the repository, the real capture and the scenario snapshots (the plain
helpers behind them are in tests/helpers/scenarios.py), the real CLI in a subprocess, and waiting on processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.processes import alive
from tests.helpers.scenarios import H100, REPO, snapshot_facts, snapshot_path


def pytest_configure(config: pytest.Config) -> None:
    """Run as `.venv/bin/python -m pytest` without activating the venv, the tools it installed
    (ansible-playbook, ansible-lint) are not on PATH: put the interpreter's own bin folder first, as
    `activate` would, so that the tests find the tools of the environment under test."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    hear_termination_signals()


def hear_termination_signals() -> None:
    """Launched from `nohup` or as a background job of a script, pytest inherits SIGINT and SIGHUP ignored, and
    so would every setupkit it starts: setupkit keeps an ignored signal ignored (nohup's promise), so the tests
    that interrupt it would wait on a child that cannot hear them. They test Ctrl-C, SIGTERM and SIGHUP as a
    terminal sends them: restore what an interactive shell gives."""
    for number, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL),
                            (signal.SIGHUP, signal.SIG_DFL)):
        if signal.getsignal(number) == signal.SIG_IGN:
            signal.signal(number, handler)


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def h100_snapshot() -> Path:
    return H100


@pytest.fixture
def scenario():
    """scenario(name) -> the folder of a scenario snapshot under tests/snapshots/ ('h100' names the real H100
    capture)."""
    return snapshot_path


@pytest.fixture
def facts_of():
    """facts_of(name_or_folder) -> the facts the probes read from a scenario or a snapshot folder."""
    return snapshot_facts


@pytest.fixture
def run_setupkit():
    """Run the real CLI in a subprocess, as a user would, with a timeout. Returns CompletedProcess."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: str | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ, NO_COLOR="1", COLUMNS="100", **(env or {}))
        return subprocess.run([sys.executable, "-m", "setupkit", *args], capture_output=True, text=True,
                              timeout=timeout, env=full_env, cwd=cwd, input=input)

    return run


@pytest.fixture
def wait_gone():
    """wait_gone(pid, within=5.0) -> True once the process is gone (or a zombie)."""

    def wait(pid: int, within: float = 5.0) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not alive(pid):
                return True
            time.sleep(0.05)
        return False

    return wait


@pytest.fixture
def wait_for_file():
    """wait_for_file(path, within=20.0): until the file exists and holds something."""

    def wait(path: Path, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not path.exists() or not path.read_text().strip():
            assert time.monotonic() < deadline, f"{path} never appeared"
            time.sleep(0.05)

    return wait
