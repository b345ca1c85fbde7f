"""What a TensorFlow build needs before it starts: Bazel, a compiler, Python headers, disk and memory.

Each check returns a ``Prerequisite`` that carries its fix; a real run refuses (exit 3) when one is missing.
Toolchain, headers and disk come from what the host says (facts, free disk): on a snapshot what it does not say
is "unknown (snapshot)", never read from this machine instead. The tree, the log and the venv folders are
checked on this machine's filesystem, where the build runs.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from setupkit.bounded import describe_mode
from setupkit.buildtf.interpreter import Interpreter
from setupkit.dialog import clip

MIN_FREE_GB = 30.0
"""Free disk a TensorFlow build wants, in GB, both in the source folder and in Bazel's output root."""

GIB_PER_JOB = 2
"""RAM one Bazel compile job of TensorFlow wants; fewer jobs than cores beats the OOM killer."""

BAZEL_OUTPUT_ROOT = "~/.cache/bazel"
"""Where Bazel keeps its output base on Linux unless --output_user_root says otherwise (in the build
machine's home)."""

SNAPSHOT_UNKNOWN = "unknown (snapshot)"

BAZELISK_FIX = ("npm install -g @bazel/bazelisk, or download bazelisk-linux-amd64 from "
                "https://github.com/bazelbuild/bazelisk/releases to /usr/local/bin/bazel and chmod +x it")
WORKING_PYTHON_FIX = "give --python the path of a working Python 3 interpreter"


@dataclass(frozen=True)
class Prerequisite:
    """One thing the build needs: ok (True), missing (False) or unknown (None), what was found, the fix."""

    name: str
    ok: bool | None
    detail: str
    fix: str | None = None

    @property
    def missing(self) -> bool:
        return self.ok is False


def unknown_in_snapshot(name: str, what: str) -> Prerequisite:
    """What a snapshot does not tell: never refused, never looked up on this machine instead."""
    return Prerequisite(name, None, f"{what}: {SNAPSHOT_UNKNOWN}")


def check_bazel(bazel: str | None, wanted: str | None, snapshot: bool) -> Prerequisite:
    """``bazel`` is toolchain.bazel: the first of bazel, bazelisk found on PATH."""
    pinned = f" (the tree pins Bazel {wanted}; bazelisk fetches it from .bazelversion)" if wanted else ""
    if bazel is None:
        if snapshot:
            return unknown_in_snapshot("bazel", f"bazel or bazelisk on PATH{pinned}")
        return Prerequisite("bazel", False, "bazelisk not found", BAZELISK_FIX + pinned)
    if bazel == "bazelisk" or not wanted:
        return Prerequisite("bazel", True, f"{bazel} on PATH{pinned}")
    return Prerequisite("bazel", True, f"bazel on PATH (the tree pins Bazel {wanted}: bazelisk installed as bazel "
                                       f"fetches it; a plain bazel must be that version)")


def check_compiler(clang: str | None, gcc: str | None, tested_compiler: str | None,
                   snapshot: bool) -> Prerequisite:
    tested = f" (this TensorFlow is tested with {tested_compiler})" if tested_compiler else ""
    if clang:
        return Prerequisite("compiler", True, f"clang: {clang}{tested}")
    if gcc:
        return Prerequisite("compiler", True, f"gcc: {gcc} (no clang found; Clang is the default since "
                                              f"TF 2.13){tested}")
    if snapshot:
        return unknown_in_snapshot("compiler", f"clang or gcc on PATH{tested}")
    return Prerequisite("compiler", False, "no C/C++ compiler found", f"apt-get install clang{tested}")


def check_python_headers(python: Interpreter, snapshot: bool) -> Prerequisite:
    if python.headers:
        return Prerequisite("python-headers", True, f"Python.h in {python.include}")
    if python.headers is False:
        return Prerequisite("python-headers", False, f"Python headers missing for {python.path} (no Python.h in "
                                                     f"{python.include})",
                            "apt-get install python3-dev (dnf install python3-devel on RHEL)")
    if snapshot:
        return unknown_in_snapshot("python-headers", f"Python headers of {python.path}")
    return Prerequisite("python-headers", False, f"could not run {python.path} to find its headers",
                        WORKING_PYTHON_FIX)


def check_disk(label: str, path: str, free_bytes: int | None, min_free_gb: float, snapshot: bool) -> Prerequisite:
    name = f"disk:{label}"
    if free_bytes is None:
        # Unknown on a live host too (the file system would not say): nothing to refuse on.
        return (unknown_in_snapshot(name, f"free disk for {label} ({path})") if snapshot else
                Prerequisite(name, None, f"free disk for {label} ({path}): unknown"))
    free_gb = free_bytes / 1e9
    detail = f"{free_gb:.0f} GB free for {label} ({path})"
    if free_gb >= min_free_gb:
        return Prerequisite(name, True, detail)
    return Prerequisite(name, False, f"only {detail}",
                        f"a TensorFlow build wants >= {min_free_gb:.0f} GB there: free space or build elsewhere")


def check_venv_module(python: Interpreter, snapshot: bool) -> Prerequisite:
    """Whether ``python -m venv`` can put pip in a venv (Debian ships ensurepip apart, in python3-venv)."""
    if python.ensurepip:
        return Prerequisite("venv", True, "python -m venv available")
    if python.ensurepip is False:
        return Prerequisite("venv", False, f"{python.path} -m venv cannot install pip (no ensurepip)",
                            "apt-get install python3-venv, or use --no-install")
    if snapshot:
        return unknown_in_snapshot("venv", f"ensurepip of {python.path} (python -m venv)")
    return Prerequisite("venv", False, f"could not run {python.path} to find ensurepip", WORKING_PYTHON_FIX)


def check_configure(source: Path) -> Prerequisite:
    """./configure must be a program this user can run: not a folder, a FIFO, a dangling link or a plain file."""
    path = source / "configure"
    try:
        mode = path.stat().st_mode
    except OSError as error:
        reason = "a dangling link" if os.path.islink(path) else f"unreadable ({error.strerror or error})"
        return Prerequisite("configure", False, f"{path} is {reason}", "restore it: git checkout -- configure")
    if not stat.S_ISREG(mode):
        return Prerequisite("configure", False, f"{path} is {describe_mode(mode)}, not a program",
                            "restore it: git checkout -- configure")
    if not os.access(path, os.X_OK):
        return Prerequisite("configure", False, f"{path} is not executable", f"chmod +x {path}")
    return Prerequisite("configure", True, f"{path} is executable")


def existing_parent(path: Path) -> Path:
    """The path itself or its nearest existing ancestor (a folder to be created does not exist yet)."""
    path = Path(os.path.expanduser(path))
    while not os.path.exists(path) and path != path.parent:
        path = path.parent
    return path


def check_venv_target(label: str, venv: Path) -> Prerequisite:
    """A venv to create or reuse: absent, an empty folder, or a venv already (never someone's folder)."""
    name, shown, fix = f"venv:{label}", f"{label} {clip(str(venv))}", f"choose another {label}"
    refused = _unless_a_folder(name, venv, shown, fix)
    if refused is not None:
        return refused
    if os.path.isfile(venv / "pyvenv.cfg"):
        return Prerequisite(name, True, f"{shown} is a venv (reused)")
    try:
        empty = next(os.scandir(venv), None) is None
    except OSError as error:
        return Prerequisite(name, False, f"{shown} cannot be read ({error.strerror or error})", fix)
    if not empty:
        return Prerequisite(name, False, f"{shown} exists and is not a virtual environment", fix)
    return Prerequisite(name, True, f"{shown} (empty folder)")


def check_output_folder(label: str, folder: Path) -> Prerequisite:
    """A folder the build writes into: a folder already, or one that can be created."""
    shown, fix = f"{label} {clip(str(folder))}", f"choose another {label}"
    return _unless_a_folder(label, folder, shown, fix) or Prerequisite(label, True, shown)


def _unless_a_folder(name: str, folder: Path, shown: str, fix: str) -> Prerequisite | None:
    """None when ``folder`` is a folder already; else the finding on it: absent (to be created, or not
    creatable), unusable, or not a folder."""
    try:
        mode = folder.stat().st_mode
    except FileNotFoundError:
        return _creatable(name, folder, fix)
    except OSError as error:
        return Prerequisite(name, False, f"{shown} cannot be used ({error.strerror or error})", fix)
    if not stat.S_ISDIR(mode):
        return Prerequisite(name, False, f"{shown} is {describe_mode(mode)}, not a folder", fix)
    return None


def _creatable(name: str, path: Path, fix: str) -> Prerequisite:
    parent = existing_parent(path.parent)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return Prerequisite(name, False, f"{clip(str(path))} cannot be created: {clip(str(parent))} is not a "
                                         "writable folder", fix)
    return Prerequisite(name, True, f"{clip(str(path))} (to be created)")


@dataclass(frozen=True)
class Jobs:
    count: int
    reason: str


def choose_jobs(cpu_count: int | None, memory_mib: int | None, asked: int | None = None) -> Jobs:
    """--jobs: as asked, else min(cores, GiB of RAM // 2): a TensorFlow compile job wants ~2 GB."""
    if asked is not None:
        return Jobs(max(1, asked), f"--jobs {asked} as asked")
    if cpu_count is None:
        # Not this machine's count instead: the plan may be for a snapshot's.
        return Jobs(1, "CPUs unknown, so 1 job (give --jobs)")
    cores = max(1, cpu_count)
    if memory_mib is None:
        return Jobs(cores, f"{cores} CPUs; memory unknown, so one job per CPU")
    memory_gib = memory_mib // 1024
    by_memory = memory_gib // GIB_PER_JOB
    count = max(1, min(cores, by_memory))
    limit = "memory" if by_memory < cores else "CPUs"
    return Jobs(count, f"{cores} CPUs and {memory_gib} GiB RAM at ~{GIB_PER_JOB} GB per job: "
                       f"{count} job{'s' if count != 1 else ''} (limited by {limit})")
