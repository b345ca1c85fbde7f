"""What a TensorFlow build needs before it starts: Bazel, a compiler, Python headers, disk and memory.

Each check returns a ``Finding`` that carries its fix; the plan refuses (exit 3) when one is missing.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from setupkit import process
from setupkit.bounded import describe_mode
from setupkit.dialog import clip

MIN_FREE_GB = 30.0
"""Free disk a TensorFlow build wants, in GB, both in the source folder and in Bazel's output root."""

GIB_PER_JOB = 2
"""RAM one Bazel compile job of TensorFlow wants; fewer jobs than cores beats the OOM killer."""

BAZEL_OUTPUT_ROOT = Path("~/.cache/bazel")
"""Where Bazel keeps its output base on Linux unless --output_user_root says otherwise."""

PROBE_TIMEOUT = 30.0
"""Seconds for `python -c ...` to answer a question about itself."""
PROBE_OUTPUT = 64 * 1024
"""Bytes of its answer kept: a path, a version."""

BAZELISK_FIX = ("npm install -g @bazel/bazelisk, or download bazelisk-linux-amd64 from "
                "https://github.com/bazelbuild/bazelisk/releases to /usr/local/bin/bazel and chmod +x it")


@dataclass(frozen=True)
class Finding:
    """One prerequisite: ok or not, what was found, and the fix when missing."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def line(self) -> str:
        return self.detail if self.ok else f"{self.detail}: {self.fix}"


@dataclass(frozen=True)
class Toolchain:
    """The programs the build runs: Bazel (or bazelisk) and the compilers, None where absent."""

    bazel: str | None
    clang: str | None
    gcc: str | None


def find_toolchain(which: Callable[[str], str | None] = shutil.which) -> Toolchain:
    """Look on PATH, as `command -v bazel bazelisk clang gcc` would."""
    bazel = next((name for name in ("bazel", "bazelisk") if which(name)), None)
    clang = which("clang") or next((which(f"clang-{v}") for v in (20, 19, 18, 17, 16) if which(f"clang-{v}")), None)
    return Toolchain(bazel=bazel, clang=clang, gcc=which("gcc"))


def check_bazel(tools: Toolchain, wanted: str | None) -> Finding:
    pinned = f" (the tree pins Bazel {wanted}; bazelisk fetches it from .bazelversion)" if wanted else ""
    if tools.bazel is None:
        return Finding("bazel", False, "bazelisk not found", BAZELISK_FIX + pinned)
    if tools.bazel == "bazelisk" or not wanted:
        return Finding("bazel", True, f"{tools.bazel} on PATH{pinned}")
    return Finding("bazel", True, f"bazel on PATH (the tree pins Bazel {wanted}: bazelisk installed as bazel "
                                  f"fetches it; a plain bazel must be that version)")


def check_compiler(tools: Toolchain, tested_compiler: str | None) -> Finding:
    tested = f" (this TensorFlow is tested with {tested_compiler})" if tested_compiler else ""
    if tools.clang:
        return Finding("compiler", True, f"clang: {tools.clang}{tested}")
    if tools.gcc:
        return Finding("compiler", True, f"gcc: {tools.gcc} (no clang found; Clang is the default since "
                                         f"TF 2.13){tested}")
    return Finding("compiler", False, "no C/C++ compiler found", f"apt-get install clang{tested}")


def python_include(python: str) -> str | None:
    """sysconfig's include folder of ``python`` (in-process for this interpreter)."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        import sysconfig

        return sysconfig.get_paths()["include"]
    return ask_python(python, "import sysconfig; print(sysconfig.get_paths()['include'])")


def ask_python(python: str, code: str) -> str | None:
    """What ``python -c code`` prints, stripped; None when it cannot run, fails or takes too long."""
    done = process.run([python, "-c", code], timeout=PROBE_TIMEOUT, max_output=PROBE_OUTPUT)
    if not done.ok or done.truncated:
        return None
    return done.stdout.strip() or None


def check_python_headers(python: str, include: str | None) -> Finding:
    if include is None:
        return Finding("python-headers", False, f"could not run {python} to find its headers",
                       "give --python the path of a working Python 3 interpreter")
    if Path(include, "Python.h").is_file():
        return Finding("python-headers", True, f"Python.h in {include}")
    return Finding("python-headers", False, f"Python headers missing for {python} (no Python.h in {include})",
                   "apt-get install python3-dev (dnf install python3-devel on RHEL)")


def existing_parent(path: Path) -> Path:
    """The path itself or its nearest existing ancestor (Bazel's cache may not exist yet)."""
    path = Path(os.path.expanduser(path))
    while not os.path.exists(path) and path != path.parent:
        path = path.parent
    return path


def check_disk(label: str, path: Path, min_free_gb: float,
               disk_usage: Callable[[Path], object] = shutil.disk_usage) -> Finding:
    free_gb = disk_usage(existing_parent(path)).free / 1e9  # type: ignore[attr-defined]
    detail = f"{free_gb:.0f} GB free for {label} ({path})"
    if free_gb >= min_free_gb:
        return Finding(f"disk:{label}", True, detail)
    return Finding(f"disk:{label}", False, f"only {detail}",
                   f"a TensorFlow build wants >= {min_free_gb:.0f} GB there: free space or build elsewhere")


def has_ensurepip(python: str) -> bool:
    """Whether ``python -m venv`` can put pip in a venv (Debian ships ensurepip apart, in python3-venv)."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        import importlib.util

        return importlib.util.find_spec("ensurepip") is not None
    return process.run([python, "-c", "import ensurepip"], timeout=PROBE_TIMEOUT, max_output=PROBE_OUTPUT).ok


def check_venv_module(python: str) -> Finding:
    if has_ensurepip(python):
        return Finding("venv", True, "python -m venv available")
    return Finding("venv", False, f"{python} -m venv cannot install pip (no ensurepip)",
                   "apt-get install python3-venv, or use --no-install")


def check_configure(source: Path) -> Finding:
    """./configure must be a program this user can run: not a folder, a FIFO, a dangling link or a plain file."""
    path = source / "configure"
    try:
        mode = path.stat().st_mode
    except OSError as error:
        reason = "a dangling link" if os.path.islink(path) else f"unreadable ({error.strerror or error})"
        return Finding("configure", False, f"{path} is {reason}", "restore it: git checkout -- configure")
    if not stat.S_ISREG(mode):
        return Finding("configure", False, f"{path} is {describe_mode(mode)}, not a program",
                       "restore it: git checkout -- configure")
    if not os.access(path, os.X_OK):
        return Finding("configure", False, f"{path} is not executable", f"chmod +x {path}")
    return Finding("configure", True, f"{path} is executable")


def check_venv_target(label: str, venv: Path) -> Finding:
    """A venv to create or reuse: absent, an empty folder, or a venv already (never someone's folder)."""
    name, shown, fix = f"venv:{label}", f"{label} {clip(str(venv))}", f"choose another {label}"
    try:
        mode = venv.stat().st_mode
    except FileNotFoundError:
        return _creatable(name, venv, fix)
    except OSError as error:
        return Finding(name, False, f"{shown} cannot be used ({error.strerror or error})", fix)
    if not stat.S_ISDIR(mode):
        return Finding(name, False, f"{shown} is {describe_mode(mode)}, not a folder", fix)
    if os.path.isfile(venv / "pyvenv.cfg"):
        return Finding(name, True, f"{shown} is a venv (reused)")
    try:
        empty = next(os.scandir(venv), None) is None
    except OSError as error:
        return Finding(name, False, f"{shown} cannot be read ({error.strerror or error})", fix)
    if not empty:
        return Finding(name, False, f"{shown} exists and is not a virtual environment", fix)
    return Finding(name, True, f"{shown} (empty folder)")


def check_output_folder(label: str, folder: Path) -> Finding:
    """A folder the build writes into: a folder already, or one that can be created."""
    shown, fix = f"{label} {clip(str(folder))}", f"choose another {label}"
    try:
        mode = folder.stat().st_mode
    except FileNotFoundError:
        return _creatable(label, folder, fix)
    except OSError as error:
        return Finding(label, False, f"{shown} cannot be used ({error.strerror or error})", fix)
    if not stat.S_ISDIR(mode):
        return Finding(label, False, f"{shown} is {describe_mode(mode)}, not a folder", fix)
    return Finding(label, True, shown)


def _creatable(name: str, path: Path, fix: str) -> Finding:
    parent = existing_parent(path.parent)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return Finding(name, False, f"{clip(str(path))} cannot be created: {clip(str(parent))} is not a writable "
                                    "folder", fix)
    return Finding(name, True, f"{clip(str(path))} (to be created)")


@dataclass(frozen=True)
class Jobs:
    count: int
    reason: str


def choose_jobs(cpu_count: int | None, memory_mib: int | None, asked: int | None = None) -> Jobs:
    """--jobs: as asked, else min(cores, GiB of RAM // 2): a TensorFlow compile job wants ~2 GB."""
    if asked is not None:
        return Jobs(max(1, asked), f"--jobs {asked} as asked")
    cores = cpu_count or os.cpu_count() or 1
    if memory_mib is None:
        return Jobs(cores, f"{cores} CPUs; memory unknown, so one job per CPU")
    memory_gib = memory_mib // 1024
    by_memory = memory_gib // GIB_PER_JOB
    count = max(1, min(cores, by_memory))
    limit = "memory" if by_memory < cores else "CPUs"
    return Jobs(count, f"{cores} CPUs and {memory_gib} GiB RAM at ~{GIB_PER_JOB} GB per job: "
                       f"{count} job{'s' if count != 1 else ''} (limited by {limit})")
