"""Fixtures of the install tests; the plain helpers are in tests/helpers/install.py."""

from __future__ import annotations

import sys

import pytest

from tests.helpers.install import RecordingRunner


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
