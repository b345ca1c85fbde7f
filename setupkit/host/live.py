"""The live host: this machine, read through files, programs (with timeouts) and NVML. Never changes it.

Programs run through setupkit.process (own session, a timeout that bounds them, bounded output, their group
killed on Ctrl-C/SIGTERM); NVML is asked in a child process (host/nvml.py), so that a broken driver library
that crashes or hangs is a finding, never the end of doctor.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import stat
import struct
import sys
import sysconfig
from collections.abc import Mapping
from typing import Any

from setupkit import process
from setupkit.host.base import DEFAULT_TIMEOUT, ENV_KEYS, CommandResult, Host, PythonInfo

MAX_FILE_BYTES = 8 * 1024 * 1024
"""No probe needs more of a file; a larger one (a log, a binary) is cut here."""
MAX_PROGRAM_OUTPUT = 1024 * 1024
"""Bytes kept of each stream of a program: probes read a few KiB (nvidia-smi -q of 8 GPUs is ~100 KiB).
A program that prints more is stopped there: a flooding nvidia-smi once took 6 GB."""
MAX_PROBE_OUTPUT = 4 * 1024 * 1024
"""Bytes kept of each stream of a probe's child: TensorFlow's start-up log is a few KiB, its result line less."""


class LiveHost(Host):
    """This machine, as it is now."""

    def __init__(self) -> None:
        self._nvml: dict[str, Any] | None = None
        self._python: PythonInfo | None = None

    def read_bytes(self, path: str) -> bytes | None:
        try:
            # Only regular files: opening a device node (/dev/nvidia0) or a FIFO could block or act.
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None
            with open(path, "rb") as handle:
                return handle.read(MAX_FILE_BYTES)
        except OSError:
            return None

    def list_dir(self, path: str) -> list[str] | None:
        try:
            return sorted(os.listdir(path))
        except OSError:
            return None

    def read_link(self, path: str) -> str | None:
        try:
            return os.readlink(path)
        except OSError:
            return None

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def run(self, argv: list[str] | tuple[str, ...], timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        return run_program(tuple(argv), timeout)

    def run_probe(self, name: str, argv: list[str] | tuple[str, ...], timeout: float,
                  env: Mapping[str, str] | None = None) -> CommandResult:
        # The user's own environment (CUDA_VISIBLE_DEVICES, LD_LIBRARY_PATH ...) is what the framework is judged
        # under, so unlike run() it is not set to the C locale; ``env`` only adds to it.
        done = process.run(argv, timeout=timeout, max_output=MAX_PROBE_OUTPUT, env={**os.environ, **(env or {})})
        return CommandResult(done.argv, done.returncode, done.stdout, done.stderr)

    def nvml(self) -> dict[str, Any]:
        if self._nvml is None:
            from setupkit.host.nvml import read_nvml

            self._nvml = read_nvml()
        return self._nvml

    def env(self) -> dict[str, str | None]:
        return {key: os.environ.get(key) for key in ENV_KEYS}

    def python(self) -> PythonInfo:
        # Walking the installed distributions costs ~0.2 s; several probes ask.
        if self._python is None:
            self._python = current_python()
        return self._python

    def free_bytes(self, path: str) -> int | None:
        try:
            return shutil.disk_usage(existing_parent(os.path.expanduser(path))).free
        except OSError:
            return None


def run_program(argv: tuple[str, ...], timeout: float) -> CommandResult:
    """Run a program in the C locale (stable English output), through setupkit.process: bounded in time and
    output, its whole group stopped on a timeout or an interruption. Not installed: 127; timed out: None."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    done = process.run(argv, timeout=timeout, max_output=MAX_PROGRAM_OUTPUT, env=env, stop_when_full=True)
    return CommandResult(done.argv, done.returncode, done.stdout, done.stderr)


def current_python() -> PythonInfo:
    """The interpreter running setupkit: its version, width, pip and packages (from metadata, no imports)."""
    packages = installed_packages(sys.path)
    return PythonInfo(
        executable=sys.executable,
        version=platform.python_version(),
        bits=struct.calcsize("P") * 8,
        pip_version=packages.get("pip"),
        packages=packages,
        externally_managed=externally_managed(),
        include=sysconfig.get_paths()["include"],
        ensurepip=importlib.util.find_spec("ensurepip") is not None,
        libc=current_libc(),
    )


MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"
"""musl's dynamic loader: where it is present and glibc does not answer, this interpreter runs on musl."""


def current_libc() -> str | None:
    """The C library this interpreter runs on, without running a program: glibc names itself through confstr
    ("glibc 2.35"); musl has no such name, so its loader's presence says it (its version only the loader prints)."""
    try:
        name = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        name = None
    if name:
        return name
    return "musl" if os.path.exists(MUSL_LOADER) else None


def existing_parent(path: str) -> str:
    """The path itself or its nearest existing ancestor (a folder the build will create does not exist yet)."""
    while not os.path.exists(path) and path != os.path.dirname(path):
        path = os.path.dirname(path)
    return path


def externally_managed() -> bool:
    """PEP 668: the distribution marks its own Python with an EXTERNALLY-MANAGED file in the standard library
    folder (Debian 12, Ubuntu 23.04 and later); pip then refuses to install into it ("error:
    externally-managed-environment"). A virtual environment is never managed, whatever its base."""
    if sys.prefix != sys.base_prefix:
        return False
    return os.path.isfile(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))


def installed_packages(search_path: list[str]) -> dict[str, str]:
    """{PEP 503 name: version} of the distributions on ``search_path``; the first one found wins, as on import.

    The shell equivalent is ``pip list``. Names and versions come from the ``NAME-VERSION.dist-info`` folder
    names (the wheel specification puts them there), so no METADATA file is parsed: parsing them all through
    importlib.metadata costs a fifth of a second on a full environment, doctor's whole budget.
    """
    packages: dict[str, str] = {}
    for folder in search_path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in sorted(entries):
            found = _distribution(os.path.join(folder or ".", entry), entry)
            if found and found[0] not in packages:
                packages[found[0]] = found[1]
    return packages


def _distribution(path: str, entry: str) -> tuple[str, str] | None:
    if entry.endswith(".dist-info"):
        name, _, version = entry[: -len(".dist-info")].partition("-")
    elif entry.endswith(".egg-info"):
        name, _, rest = entry[: -len(".egg-info")].partition("-")
        version = rest.split("-py")[0] if rest else _egg_version(path)
    else:
        return None
    if not name or not version:
        return None
    return _normalise(name), version


def _egg_version(path: str) -> str:
    """The Version line of an egg-info's PKG-INFO (a folder) or of the egg-info file itself."""
    info = os.path.join(path, "PKG-INFO") if os.path.isdir(path) else path
    try:
        with open(info, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
