"""Helpers for tests that watch processes end: given as fixtures, so that every test area can ask for them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): read its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def wait_gone():
    """wait_gone(pid, within=5.0) -> True once the process is gone (or a zombie)."""

    def wait(pid: int, within: float = 5.0) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not _alive(pid):
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
