"""The toolchain probe: bazel, clang and gcc looked up on the host's PATH, the interpreter's headers and ensurepip,
on small snapshots written for the case, and on this machine (a fake PATH) without running anything."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from setupkit.host.live import LiveHost
from setupkit.host.snapshot import SnapshotHost
from setupkit.probes import toolchain

PATH = "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"
INCLUDE = "/usr/include/python3.12"


@pytest.fixture
def host(tmp_path):
    """host(files, env, python) -> a SnapshotHost over a snapshot written on the spot."""
    made: list[SnapshotHost] = []

    def make(files: dict[str, str] | None = None, env: dict | None = None, python: dict | None = None,
             dirs: tuple[str, ...] = ()) -> SnapshotHost:
        root = tmp_path / f"snap{len(made)}"
        (root / "files").mkdir(parents=True)
        for path in dirs:
            (root / "files" / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        for path, content in (files or {}).items():
            dest = root / "files" / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(content)
        docs = {"manifest.json": {"format": "setupkit-snapshot", "version": 1}, "commands.json": [],
                "nvml.json": {"error": "NVMLError_LibraryNotFound", "message": "x"}, "env.json": env or {},
                "python.json": {"packages": {}, **(python or {})}}
        for name, doc in docs.items():
            (root / name).write_text(json.dumps(doc))
        made.append(SnapshotHost(root))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_the_first_program_on_path_wins_as_command_v_finds_it(host):
    found = toolchain.probe(host(files={"/usr/local/bin/bazelisk": "", "/usr/bin/bazel": "", "/usr/bin/gcc": "",
                                        "/bin/gcc": "", "/usr/bin/clang-18": "", "/usr/bin/clang-17": ""},
                                 env={"PATH": PATH}), {})
    # bazel is preferred by name (bazelisk installed as bazel is the usual setup), then bazelisk.
    assert found["toolchain.bazel"] == "bazel"
    assert found["toolchain.gcc"] == "/usr/bin/gcc"
    assert found["toolchain.clang"] == "/usr/bin/clang-18"  # no plain clang: the newest versioned one


def test_bazelisk_alone_and_a_plain_clang(host):
    found = toolchain.probe(host(files={"/opt/venv/bin/bazelisk": "", "/usr/bin/clang": "", "/usr/bin/clang-19": ""},
                                 env={"PATH": PATH}), {})
    assert (found["toolchain.bazel"], found["toolchain.clang"], found["toolchain.gcc"]) == (
        "bazelisk", "/usr/bin/clang", None)


def test_a_folder_named_like_a_program_relative_entries_and_an_unknown_path_find_nothing(host):
    folder = toolchain.probe(host(dirs=("/usr/bin/gcc", "/usr/bin/bazel"), env={"PATH": PATH}), {})
    assert (folder["toolchain.gcc"], folder["toolchain.bazel"]) == (None, None)
    relative = toolchain.probe(host(files={"/bin/gcc": ""}, env={"PATH": "bin::."}), {})
    assert relative["toolchain.gcc"] is None  # relative entries are the current folder at run time, not the host
    for env in ({}, {"PATH": None}, {"PATH": ["/usr/bin"]}, {"PATH": 42}):
        unknown = toolchain.probe(host(files={"/usr/bin/gcc": ""}, env=env), {})
        assert (unknown["toolchain.bazel"], unknown["toolchain.clang"], unknown["toolchain.gcc"]) == (None, None, None)


def test_a_hostile_path_costs_a_bounded_number_of_lookups(host):
    hostile = host(files={"/usr/bin/gcc": ""}, env={"PATH": ":".join(f"/x{n}" for n in range(100_000)) + ":/usr/bin"})
    started = time.monotonic()
    found = toolchain.probe(hostile, {})
    assert time.monotonic() - started < 10 and found["toolchain.gcc"] is None  # past the first 256 folders
    assert toolchain.path_folders("/a:/b:/a:/c/../b") == ["/a", "/b"]


def test_headers_and_ensurepip_of_the_host_interpreter(host):
    ready = toolchain.probe(host(files={f"{INCLUDE}/Python.h": "#define Py_PYTHON_H\n"},
                                 python={"include": INCLUDE, "ensurepip": True}), {})
    assert (ready["python.include"], ready["python.headers"], ready["python.ensurepip"]) == (INCLUDE, True, True)
    bare = toolchain.probe(host(dirs=(INCLUDE,), python={"include": INCLUDE, "ensurepip": False}), {})
    assert (bare["python.headers"], bare["python.ensurepip"]) == (False, False)  # Debian without python3-dev/-venv


@pytest.mark.parametrize("python", [
    {},  # a snapshot from before these fields: unknown
    {"include": None, "ensurepip": None},
    {"include": ["/usr/include/python3.12"], "ensurepip": "yes"},  # the wrong types: unknown, as python.json's others
    {"include": "include/python3.12", "ensurepip": 1},  # a relative folder says nothing about that machine
])
def test_headers_and_ensurepip_the_snapshot_does_not_tell_are_unknown(host, python):
    found = toolchain.probe(host(files={f"{INCLUDE}/Python.h": ""}, python=python), {})
    assert (found["python.include"], found["python.headers"], found["python.ensurepip"]) == (None, None, None)


def test_on_this_machine_the_path_is_read_without_running_anything(tmp_path, monkeypatch):
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    for name in ("bazelisk", "gcc"):
        (bin_folder / name).write_text("#!/bin/sh\nexit 1\n")
        (bin_folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'nowhere'}:{bin_folder}")
    live = LiveHost()
    monkeypatch.setattr(live, "run", lambda *args, **kwargs: pytest.fail("the toolchain probe ran a program"))
    found = toolchain.probe(live, {})
    assert (found["toolchain.bazel"], found["toolchain.gcc"], found["toolchain.clang"]) == (
        "bazelisk", str(bin_folder / "gcc"), None)
    include = found["python.include"]
    assert include and os.path.isabs(include)
    assert found["python.headers"] is Path(include, "Python.h").is_file()
    assert isinstance(found["python.ensurepip"], bool)
