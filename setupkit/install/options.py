"""What the person asked for on the command line, as the planner sees it, and the check of each value.

A value the planner cannot take is refused here, before anything is read or run: a UsageError (exit 2) for a
value that is malformed (PlanOptions checks its fields as it is made, so no caller can plan with one), a
PreconditionError (exit 3) for a runfile that is not what it must be. Each says in one line what is wrong, and
in its hint (the CLI's ``fix:`` line) what to give.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from setupkit.bounded import ascii_int, describe_mode
from setupkit.errors import PreconditionError, UsageError
from setupkit.versions import BRANCHES

# MAJOR.MINOR in ASCII digits, two at most each: CUDA 6.5 to 13.2 and decades beyond; "12.5.1", "12",
# "latest", '١٢.٣' and a 5000-digit number are refused.
_CUDA_VERSION = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})")
# C0 controls (NUL, newline, ESC ...), DEL and C1: no folder a runfile installs to, or a runfile, is named so;
# in a command line or the log they would split or steer what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
MAX_PATH = 4095
"""Linux's PATH_MAX less the terminating NUL."""
MAX_URL = 2048
"""Characters a mirror's URL may have: far more than any mirror's address, far less than a command line."""
MAX_LOCK_WAIT = 86400
"""Seconds --lock-wait may ask for: a day; an install that holds the lock longer is one to look at."""
# Controls, spaces, quotes, backslashes and the marks of a query or fragment: no mirror's folder holds them, and
# in the sources lines, the .repo files and the sed commands a plan writes they would change what is meant.
_URL_REFUSED = re.compile("[\x00-\x20\x7f-\x9f\"'\\\\<>#?]")


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """The values as typed ("580" or 580 for the branch) come in; checked and normal forms are kept."""

    gpu: bool = False
    cuda_version: str | None = None
    driver_branch: int | None = None
    toolkit_path: str | None = None
    cuda_runfile: str | None = None
    override: bool = False
    with_toolkit: bool = False  # a system CUDA toolkit (nvcc) even where TensorFlow brings its CUDA as wheels
    upgrade_tensorflow: bool = False  # replace an installed TensorFlow that works by the newest that fits
    frameworks: tuple[str, ...] = ("tensorflow",)  # what --framework names, in the order given, each once
    upgrade_frameworks: bool = False  # replace an installed PyTorch or JAX that works by the newest that fits
    cuda_repo_mirror: str | None = None  # stands for https://developer.download.nvidia.com/compute/cuda/repos
    pip_index_url: str | None = None  # the index of every pip install the plan runs

    def __post_init__(self) -> None:
        checks: dict[str, Callable[[Any], object]] = {
            "cuda_version": parse_cuda_version, "driver_branch": parse_driver_branch,
            "toolkit_path": parse_toolkit_path, "cuda_runfile": lambda text: parse_path(text, "--cuda-runfile"),
            "cuda_repo_mirror": lambda text: parse_url(text, "--cuda-repo-mirror"),
            "pip_index_url": lambda text: parse_url(text, "--pip-index-url")}
        for name, check in checks.items():
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check(getattr(self, name)))
        object.__setattr__(self, "frameworks", parse_frameworks(self.frameworks))


def parse_cuda_version(text: str, option: str = "--cuda-version") -> str:
    """ "12.8" -> "12.8" ("12.08" -> "12.8"); anything but MAJOR.MINOR with small ASCII numbers: exit 2."""
    match = _CUDA_VERSION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise UsageError(f"{option} {shown(text)} is not a CUDA version", hint="give MAJOR.MINOR, e.g. 12.8")
    return f"{int(match.group(1))}.{int(match.group(2))}"


FRAMEWORKS = ("tensorflow", "torch", "jax")
"""What --framework may name: the frameworks a plan installs with the CUDA they bring as wheels."""


def parse_frameworks(names: object) -> tuple[str, ...]:
    """--framework values (repeatable), each once in the order given; none given: TensorFlow alone. A name that is
    no framework setupkit installs: exit 2."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        names = (names,)
    if not names:
        return ("tensorflow",)
    for name in names:
        if name not in FRAMEWORKS:
            raise UsageError(f"--framework {shown(name)} is not a framework setupkit installs",
                             hint=f"give one of {', '.join(FRAMEWORKS)} (repeat --framework for more than one)")
    return tuple(dict.fromkeys(names))


def parse_driver_branch(text: str | int) -> int:
    """ "580" -> 580; anything but a three-digit NVIDIA branch (0, -5, 99999, '٥٨٠'): exit 2."""
    number = text if type(text) is int else ascii_int(text, max_digits=3)
    if number is None or number not in BRANCHES:
        raise UsageError(f"--driver-branch {shown(text)} is not an NVIDIA driver branch",
                         hint="give its three-digit number, e.g. 580")
    return number


def parse_path(text: str, option: str) -> str:
    """A path as typed; exit 2 for one no file is named (empty, a control character, longer than PATH_MAX)."""
    if not isinstance(text, str) or not text or len(text) > MAX_PATH or _CONTROL.search(text):
        raise UsageError(f"{option} {shown(text)} is not a usable path",
                         hint=f"give a file name without control characters, at most {MAX_PATH} characters")
    return text


def parse_toolkit_path(text: str) -> str:
    """The folder the runfile installs into: an absolute path (the runfile refuses a relative one)."""
    path = parse_path(text, "--toolkit-path")
    if not path.startswith("/"):
        raise UsageError(f"--toolkit-path {shown(path)} is relative", hint="give an absolute folder, e.g. "
                                                                           "/usr/local/cuda-12.8")
    return path


def parse_url(text: object, option: str) -> str:
    """A mirror's address: an http(s) URL with a host, kept as given less a trailing slash (the plan appends the
    folders below it). Anything else (ftp://, a path, a query, a space or a control character, a URL longer than
    MAX_URL): exit 2."""
    url = text if isinstance(text, str) else ""
    try:
        parts = urlsplit(url)
        host = parts.hostname if parts.port != 0 else None  # reading .port raises for one out of range
    except ValueError:  # a malformed IPv6 literal or port
        parts, host = urlsplit(""), None
    if parts.scheme not in ("http", "https") or not host or len(url) > MAX_URL or _URL_REFUSED.search(url):
        raise UsageError(f"{option} {shown(text)} is not an http(s) URL",
                         hint=f"give the mirror's http:// or https:// folder (no ?query, #fragment or spaces), e.g. "
                              f"{option} https://mirror.example.org/path")
    return url.rstrip("/")


def parse_lock_wait(text: str | int) -> int:
    """--lock-wait: whole seconds from 0 (do not wait) to MAX_LOCK_WAIT, in ASCII digits; anything else: exit 2."""
    seconds = text if type(text) is int else ascii_int(text, max_digits=6)
    if seconds is None or not 0 <= seconds <= MAX_LOCK_WAIT:
        raise UsageError(f"--lock-wait {shown(text)} is not a number of seconds",
                         hint=f"give whole seconds from 0 (do not wait) to {MAX_LOCK_WAIT}, e.g. --lock-wait 600")
    return seconds


def check_runfile(path: str) -> None:
    """The runfile is there and is a regular file that is not empty: exit 3 otherwise. Checked by stat alone,
    so that a FIFO is never opened (it would block) and a device never touched."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise PreconditionError(f"the CUDA runfile {path}: {_os_reason(error)}",
                                hint="download NVIDIA's cuda_X.Y.Z_DRIVER_linux.run and give its path") from None
    if not stat.S_ISREG(info.st_mode):
        raise PreconditionError(f"the CUDA runfile {path} is {describe_mode(info.st_mode)}, not a regular file",
                                hint="give the path of NVIDIA's .run file")
    if info.st_size == 0:
        raise PreconditionError(f"the CUDA runfile {path} is empty", hint="download it again")


def _os_reason(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)


def shown(value: object, limit: int = 40) -> str:
    """A refused value for a message: cut to ``limit`` characters (a 5000-digit value is not echoed whole),
    '' for an empty one. The CLI prints messages through bounded.printable, so control characters show as
    codes."""
    text = str(value)
    if not text:
        return "''"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"
