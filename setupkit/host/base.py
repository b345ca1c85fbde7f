"""The host source contract: the only way anything above it reads a machine.

Two implementations behave the same: ``LiveHost`` reads this machine, ``SnapshotHost`` reads a frozen bundle
(SNAPSHOT.md). Every method answers "absent" with ``None`` (or an empty result), never with an exception:
a missing file or tool is a fact for the probes to turn into "unknown".
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from setupkit import process

DEFAULT_TIMEOUT = 10.0
"""Seconds a program may run before it is cut and recorded as timed out."""

NOT_INSTALLED = process.NOT_INSTALLED
"""The shell's code for "command not found"; also what a snapshot says for an argv it does not hold."""

ENV_KEYS = (
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "NVIDIA_VISIBLE_DEVICES",
    "CUDA_HOME",
    "CUDA_PATH",
    "CUDA_VERSION",
    "LD_LIBRARY_PATH",
    "PATH",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XDG_SESSION_TYPE",
    "SSH_CONNECTION",
    "TF_FORCE_GPU_ALLOW_GROWTH",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "KERAS_BACKEND",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "WSL_DISTRO_NAME",
    "KUBERNETES_SERVICE_HOST",
    "container",
)
"""The environment variables a host source reports (env.json holds the same keys). The last two tell a container:
Kubernetes sets KUBERNETES_SERVICE_HOST in every pod, Podman and systemd-nspawn set container=<manager>."""


@dataclass(frozen=True)
class CommandResult(process.Completed):
    """What one program printed, as commands.json records it. ``returncode`` is None when the program was cut
    by its timeout; ``ok``, ``timed_out`` and ``not_installed`` are the process door's."""

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "argv": list(self.argv),
            "returncode": self.returncode,
            "stdout": self.stdout,
            "stderr": self.stderr,
        }
        if self.timed_out:
            record["timed_out"] = True
        return record


@dataclass
class PythonInfo:
    """The interpreter setupkit runs in, and what is installed in it (python.json)."""

    executable: str | None = None
    version: str | None = None
    bits: int | None = None
    pip_version: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    externally_managed: bool | None = None  # PEP 668: the distribution manages it, pip refuses to install
    include: str | None = None  # sysconfig's include folder, where Python.h belongs (python3-dev)
    ensurepip: bool | None = None  # `python -m venv` can put pip in a venv (Debian ships it in python3-venv)
    libc: str | None = None  # the C library it runs on: "glibc 2.35" (confstr CS_GNU_LIBC_VERSION), or "musl"

    def to_json(self) -> dict[str, Any]:
        return {
            "executable": self.executable,
            "version": self.version,
            "bits": self.bits,
            "pip_version": self.pip_version,
            "packages": dict(sorted(self.packages.items())),
            "externally_managed": self.externally_managed,
            "include": self.include,
            "ensurepip": self.ensurepip,
            "libc": self.libc,
        }


class Host(ABC):
    """Reads one machine. Paths are absolute POSIX paths as they are on that machine.

    A host holds what it opened (a snapshot's unpacked copy) until ``close()``; use it as a context manager.
    """

    def close(self) -> None:  # noqa: B027 - not abstract: a host that holds nothing has nothing to let go
        """Let go of what the host holds; the live host holds nothing."""

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def read_bytes(self, path: str) -> bytes | None:
        """The content of a regular file (links followed), or None when absent or unreadable."""

    @abstractmethod
    def list_dir(self, path: str) -> list[str] | None:
        """The sorted entry names of a folder (links followed), or None when it is not a folder."""

    @abstractmethod
    def read_link(self, path: str) -> str | None:
        """The target of a symbolic link as written, or None when the path is not a link."""

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether anything (file, folder, device node, link to something) is at the path."""

    @abstractmethod
    def is_dir(self, path: str) -> bool:
        """Whether the path is a folder (links followed)."""

    @abstractmethod
    def run(self, argv: list[str] | tuple[str, ...], timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        """Run a program with a timeout. Not installed: returncode 127. Timed out: returncode None."""

    @abstractmethod
    def run_probe(self, name: str, argv: list[str] | tuple[str, ...], timeout: float,
                  env: Mapping[str, str] | None = None) -> CommandResult | None:
        """Run the child process of the probe called ``name`` (a framework imported in its own interpreter),
        with ``env`` over this process's environment and a timeout; a crash or hang is in the result, never
        raised. None when this host holds no answer for that probe (a snapshot taken without it): no program
        ran, which is not the same as one that is not installed."""

    @abstractmethod
    def nvml(self) -> dict[str, Any]:
        """What NVML reports, in nvml.json's form; ``{"error": ..., "message": ...}`` when it cannot start."""

    @abstractmethod
    def env(self) -> dict[str, str | None]:
        """The variables of ENV_KEYS, None where unset."""

    @abstractmethod
    def python(self) -> PythonInfo:
        """The Python interpreter and its installed packages."""

    def read_text(self, path: str) -> str | None:
        """A file as text (undecodable bytes replaced), or None when absent."""
        data = self.read_bytes(path)
        if data is None:
            return None
        return data.decode("utf-8", errors="replace")

    def resolve_link(self, path: str) -> str | None:
        """The absolute path a link points at (one hop, lexically normalised), or None when not a link."""
        target = self.read_link(path)
        if target is None:
            return None
        if not target.startswith("/"):
            target = posixpath.join(posixpath.dirname(path), target)
        return posixpath.normpath(target)

    def glob_dir(self, path: str, prefix: str = "", suffix: str = "") -> list[str]:
        """Full paths of the entries in a folder whose names start and end as given (sorted)."""
        names = self.list_dir(path) or []
        return [posixpath.join(path, n) for n in names if n.startswith(prefix) and n.endswith(suffix)]

    def free_bytes(self, path: str) -> int | None:
        """Free disk, in bytes, on the file system that holds ``path`` (or would hold it: the nearest existing
        folder above counts; a leading ~ is that machine's home); None when unknown (a snapshot does not say)."""
        return None
