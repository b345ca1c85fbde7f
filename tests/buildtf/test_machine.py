"""What build-tf reads of the machine it builds for, through the host: the interpreter and the free disk."""

from __future__ import annotations

import platform
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

from setupkit.buildtf.interpreter import describe_interpreter
from setupkit.host.live import LiveHost
from setupkit.host.recording import RecordingHost
from setupkit.host.snapshot import SnapshotHost

HOST_FACTS = {"python.executable": "/opt/py/bin/python3", "python.version": "3.12.3",
              "python.include": "/opt/py/include/python3.12", "python.headers": True, "python.ensurepip": False}


def test_the_hosts_own_interpreter_is_described_by_its_facts_without_running_it(monkeypatch):
    live = LiveHost()
    monkeypatch.setattr(live, "run", lambda *args, **kwargs: pytest.fail("the host's own Python was run"))
    for asked in (None, "/opt/py/bin/python3"):
        python = describe_interpreter(live, HOST_FACTS, asked)
        assert (python.path, python.version, python.include, python.headers, python.ensurepip) == (
            "/opt/py/bin/python3", "3.12.3", "/opt/py/include/python3.12", True, False)


def test_hostile_facts_of_the_interpreter_are_unknown():
    python = describe_interpreter(LiveHost(), {"python.executable": ["x"], "python.version": "3." + "9" * 500,
                                               "python.include": "relative/include", "python.headers": "yes",
                                               "python.ensurepip": 1}, None)
    assert (python.version, python.include, python.headers, python.ensurepip) == (None, None, None, None)
    assert python.path == "python3"


def test_another_python_on_this_machine_is_asked():
    python = describe_interpreter(LiveHost(), HOST_FACTS, sys.executable)
    include = sysconfig.get_paths()["include"]
    assert (python.path, python.version, python.include) == (sys.executable, platform.python_version(), include)
    assert python.headers is Path(include, "Python.h").is_file()
    assert isinstance(python.ensurepip, bool)


def test_a_python_that_cannot_run_or_answers_garbage_is_all_unknown(tmp_path):
    garbage = tmp_path / "python"
    garbage.write_text("#!/bin/sh\necho 'Python 2.7.18'\necho '[1, 2]'\n")
    garbage.chmod(0o755)
    for path in (str(tmp_path / "no-such-python"), str(garbage)):
        python = describe_interpreter(LiveHost(), HOST_FACTS, path)
        assert (python.path, python.version, python.include, python.headers, python.ensurepip) == (
            path, None, None, None, None)


def test_a_snapshot_cannot_be_asked_about_another_python(h100_snapshot):
    with SnapshotHost(h100_snapshot) as host:
        other = describe_interpreter(host, HOST_FACTS, sys.executable)
    assert (other.path, other.version, other.include, other.headers) == (sys.executable, None, None, None)


def test_free_disk_live_at_a_folder_to_be_created_unknown_in_a_snapshot_and_not_recorded(tmp_path, h100_snapshot):
    live = LiveHost()
    expected = shutil.disk_usage(tmp_path).free
    assert abs(live.free_bytes(str(tmp_path / "not" / "yet")) - expected) < 1024**3  # the nearest existing parent
    assert live.free_bytes("~/.cache/bazel-not-there-yet") is not None  # the home of this machine, expanded
    recording = RecordingHost(live)
    assert recording.free_bytes(str(tmp_path)) is not None and not recording.record.files
    with SnapshotHost(h100_snapshot) as snapshot:
        assert snapshot.free_bytes("/") is None
