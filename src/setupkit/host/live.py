"""The live host: this machine, read through files, programs (with timeouts) and NVML. Never changes it."""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import stat
import struct
import sysconfig
import subprocess
import sys
from typing import Any

from setupkit.host.base import DEFAULT_TIMEOUT, ENV_KEYS, NOT_INSTALLED, CommandResult, Host, PythonInfo

MAX_FILE_BYTES = 8 * 1024 * 1024
"""No probe needs more of a file; a larger one (a log, a binary) is cut here."""


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

    def nvml(self) -> dict[str, Any]:
        if self._nvml is None:
            from setupkit.host.nvml import query_nvml

            self._nvml = query_nvml()
        return self._nvml

    def env(self) -> dict[str, str | None]:
        return {key: os.environ.get(key) for key in ENV_KEYS}

    def python(self) -> PythonInfo:
        # Walking the installed distributions costs ~0.2 s; several probes ask.
        if self._python is None:
            self._python = current_python()
        return self._python


def run_program(argv: tuple[str, ...], timeout: float) -> CommandResult:
    """Run a program in the C locale (stable English output), in its own session so a timeout kills it whole."""
    if not argv or shutil.which(argv[0]) is None:
        return CommandResult(argv, NOT_INSTALLED, "", f"{argv[0] if argv else ''}: command not found")
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    except OSError as error:
        return CommandResult(argv, 126, "", str(error))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(proc)
        return CommandResult(argv, None, "", f"timed out after {timeout:g}s")
    return CommandResult(argv, proc.returncode, _decode(out), _decode(err))


def _kill_session(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    try:
        proc.communicate(timeout=1)
    except subprocess.TimeoutExpired:
        # A grandchild that started a session of its own still holds the pipes: stop reading them.
        for pipe in (proc.stdout, proc.stderr):
            if pipe:
                pipe.close()
        proc.wait()


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


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
    )


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
