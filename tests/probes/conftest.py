"""Helpers for the probe tests: reading the facts of a snapshot, and small snapshot hosts made on the spot."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from setupkit.facts import Facts
from setupkit.host.snapshot import SnapshotHost
from setupkit.probes import collect_facts


def snapshot_facts(path: Path) -> Facts:
    with SnapshotHost(path) as host:
        return collect_facts(host)


@pytest.fixture
def facts_of():
    """Facts read from a snapshot folder."""
    return snapshot_facts


@pytest.fixture
def make_host(tmp_path):
    """A SnapshotHost over a snapshot written from arguments: files {path: text|bytes}, links {path: target},
    dirs [path], commands [{argv, returncode, stdout, stderr}], nvml, env, packages."""
    made: list[SnapshotHost] = []

    def make(files: dict[str, str | bytes] | None = None, links: dict[str, str] | None = None,
             dirs: list[str] | None = None, commands: list[dict[str, Any]] | None = None,
             nvml: dict[str, Any] | None = None, env: dict[str, str] | None = None,
             packages: dict[str, str] | None = None) -> SnapshotHost:
        root = tmp_path / f"snap{len(made)}"
        (root / "files").mkdir(parents=True)
        for path in dirs or []:
            (root / "files" / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        for path, target in (links or {}).items():
            dest = root / "files" / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, dest)
        for path, content in (files or {}).items():
            dest = root / "files" / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(content if isinstance(content, bytes) else content.encode())
        docs = {"manifest.json": {"format": "setupkit-snapshot", "version": 1},
                "commands.json": commands or [],
                "nvml.json": nvml if nvml is not None else {"error": "NVMLError_LibraryNotFound", "message": "x"},
                "env.json": env or {}, "python.json": {"packages": packages or {}}}
        for name, doc in docs.items():
            (root / name).write_text(json.dumps(doc))
        host = SnapshotHost(root)
        made.append(host)
        return host

    yield make
    for host in made:
        host.close()
