"""A host that records everything the probes read from another host, so that it can be written as a snapshot.

Because ``setupkit snapshot`` records exactly what the probes read (links kept as links along the way), the
snapshot read back gives the same facts as the live run by construction; the tests hold it to that.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from setupkit.bounded import BoundError, read_regular_file
from setupkit.host.base import DEFAULT_TIMEOUT, CommandResult, Host, PythonInfo

MAX_LINK_HOPS = 40
SMALL_FILE = 64 * 1024
"""A file that was only tested for existence is kept whole when it is at most this big (else left empty)."""


@dataclass
class Recording:
    """What was read: file contents, links, folders (with the entries that were listed), programs, NVML, and
    the runs of the deep probes (a framework imported in a child process), by probe name (probes.json)."""

    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    commands: dict[tuple[str, ...], CommandResult] = field(default_factory=dict)
    nvml: dict[str, Any] | None = None
    env: dict[str, str | None] | None = None
    python: PythonInfo | None = None
    probes: dict[str, CommandResult] = field(default_factory=dict)


class RecordingHost(Host):
    """Answers from the live filesystem (through ``inner`` for programs, NVML, env and Python) and records."""

    def __init__(self, inner: Host):
        self.inner = inner
        self.record = Recording()

    # -- files -----------------------------------------------------------------------------------------------

    def read_bytes(self, path: str) -> bytes | None:
        data = self.inner.read_bytes(path)
        real = self._trace(path)
        if real is not None and data is not None:
            self.record.files[real] = data
        return data

    def list_dir(self, path: str) -> list[str] | None:
        names = self.inner.list_dir(path)
        real = self._trace(path)
        if real is not None and names is not None:
            self.record.dirs.add(real)
            for name in names:
                self._keep_entry(posixpath.join(real, name))
        return names

    def glob_dir(self, path: str, prefix: str = "", suffix: str = "") -> list[str]:
        # Record only the matching entries: a probe looking for libcudnn.so.* must not copy a whole lib folder.
        names = self.inner.list_dir(path) or []
        real = self._trace(path)
        matched = [n for n in names if n.startswith(prefix) and n.endswith(suffix)]
        if real is not None and names:
            self.record.dirs.add(real)
            for name in matched:
                self._keep_entry(posixpath.join(real, name))
        return [posixpath.join(path, n) for n in matched]

    def read_link(self, path: str) -> str | None:
        target = self.inner.read_link(path)
        parent = self._trace(posixpath.dirname(path))
        if target is not None and parent is not None:
            self.record.links[posixpath.join(parent, posixpath.basename(path))] = target
        return target

    def exists(self, path: str) -> bool:
        found = self.inner.exists(path)
        real = self._trace(path)
        if found and real is not None:
            self._keep_entry(real)
        return found

    def is_dir(self, path: str) -> bool:
        found = self.inner.is_dir(path)
        real = self._trace(path)
        if found and real is not None:
            self.record.dirs.add(real)
        return found

    # -- everything else passes through ----------------------------------------------------------------------

    def run(self, argv: list[str] | tuple[str, ...], timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        result = self.inner.run(argv, timeout)
        # "Not installed" is what a snapshot says for an absent argv: leave it out.
        if not result.not_installed:
            self.record.commands[tuple(argv)] = result
        return result

    def run_probe(self, name: str, argv: list[str] | tuple[str, ...], timeout: float,
                  env: Mapping[str, str] | None = None) -> CommandResult | None:
        result = self.inner.run_probe(name, argv, timeout, env)
        # Every run is kept, a 127 too (unlike run()'s): a missing interpreter, a crash or a hang is the
        # finding the snapshot must carry.
        if result is not None:
            self.record.probes[name] = result
        return result

    def nvml(self) -> dict[str, Any]:
        self.record.nvml = self.inner.nvml()
        return self.record.nvml

    def env(self) -> dict[str, str | None]:
        self.record.env = self.inner.env()
        return self.record.env

    def python(self) -> PythonInfo:
        self.record.python = self.inner.python()
        return self.record.python

    def free_bytes(self, path: str) -> int | None:
        # Not recorded: free disk changes by the minute, and a snapshot says "unknown" for it.
        return self.inner.free_bytes(path)

    # -- how a path is traced on the live filesystem ---------------------------------------------------------

    def _trace(self, path: str) -> str | None:
        """Resolve ``path`` component by component, recording each link met; the real path, or None."""
        parts = [p for p in posixpath.normpath("/" + path).split("/") if p]
        current = "/"
        hops = 0
        while parts:
            name = parts.pop(0)
            if name == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, name)
            try:
                mode = os.lstat(candidate).st_mode
            except OSError:
                return None
            if stat.S_ISLNK(mode):
                hops += 1
                if hops > MAX_LINK_HOPS or candidate.startswith("/proc/self"):
                    return None
                target = _read_link(candidate)
                if target is None:
                    return None  # it went away between the two calls
                self.record.links[candidate] = target
                base = "/" if target.startswith("/") else current
                parts = [p for p in target.split("/") if p] + parts
                current = base
                continue
            current = candidate
        return current

    def _keep_entry(self, real: str) -> None:
        """Record a folder entry that was seen but not read: its kind, and its content if small."""
        try:
            mode = os.lstat(real).st_mode
        except OSError:
            return
        if stat.S_ISLNK(mode):
            target = _read_link(real)
            if target is not None:
                self.record.links.setdefault(real, target)
        elif stat.S_ISDIR(mode):
            self.record.dirs.add(real)
        elif real not in self.record.files:
            self.record.files[real] = self._small_content(real, mode)

    @staticmethod
    def _small_content(real: str, mode: int) -> bytes:
        # Device nodes and pseudo files of /proc and /sys are recorded empty (SNAPSHOT.md): reading them may
        # block, act, or cost time; a probe that needs one reads it and so records its content.
        if not stat.S_ISREG(mode) or real.startswith(("/proc/", "/sys/", "/dev/")):
            return b""
        try:
            # Checked again on the open file: what was a regular file at lstat may be a FIFO by now.
            return read_regular_file(real, SMALL_FILE, follow_links=False)
        except BoundError:
            return b""


def _read_link(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None
