"""Fixtures of the install tests; the helpers live in install_helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib, which puts no test folder on sys.path: add this one for the helpers.
sys.path.insert(0, str(Path(__file__).parent))

from install_helpers import RecordingRunner  # noqa: E402


@pytest.fixture
def paths(tmp_path):
    from setupkit.install.executor import Paths

    return Paths(lock=str(tmp_path / "install.lock"), log=str(tmp_path / "logs" / "install.log"),
                 state=str(tmp_path / "state.json"))


@pytest.fixture
def recording_runner():
    return RecordingRunner()


@pytest.fixture
def python_exe() -> str:
    return sys.executable
