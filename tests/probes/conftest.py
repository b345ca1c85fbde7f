"""Small snapshot hosts made on the spot for the probe tests, written by setupkit's own bundle writer."""

from __future__ import annotations

from typing import Any

import pytest

from setupkit.host.base import CommandResult, PythonInfo
from setupkit.host.bundle import write_recording
from setupkit.host.recording import Recording
from setupkit.host.snapshot import SnapshotHost


@pytest.fixture
def make_host(tmp_path):
    """A SnapshotHost over a snapshot written from arguments: files {path: text|bytes}, links {path: target},
    dirs [path], commands [{argv, returncode, stdout, stderr}], nvml, env, packages."""
    made: list[SnapshotHost] = []

    def make(files: dict[str, str | bytes] | None = None, links: dict[str, str] | None = None,
             dirs: list[str] | None = None, commands: list[dict[str, Any]] | None = None,
             nvml: dict[str, Any] | None = None, env: dict[str, str] | None = None,
             packages: dict[str, str] | None = None) -> SnapshotHost:
        record = Recording(
            files={path: content if isinstance(content, bytes) else content.encode()
                   for path, content in (files or {}).items()},
            links=dict(links or {}),
            dirs=set(dirs or []),
            commands={tuple(c["argv"]): CommandResult(tuple(c["argv"]), c["returncode"], c.get("stdout", ""),
                                                      c.get("stderr", "")) for c in commands or []},
            nvml=nvml if nvml is not None else {"error": "NVMLError_LibraryNotFound", "message": "x"},
            env=dict(env or {}),
            python=PythonInfo(packages=dict(packages or {})),
        )
        host = SnapshotHost(write_recording(record, str(tmp_path / f"snap{len(made)}")))
        made.append(host)
        return host

    yield make
    for host in made:
        host.close()
