"""Version strings as the tools print them ("580.159.04", "13.0", "2.21.0rc1", "9.3.0.75"), compared leniently:
the one version vocabulary of every part of setupkit.

``packaging.version`` does the comparing; what it refuses (a vendor suffix such as "535.54.03-server") is cut to
its leading dotted number first, so that a driver string never makes a check crash. Anything that is not text
of a plausible length made of ASCII digits (a list, NaN, '²', Arabic-Indic digits, a 5000-digit number) is no
version: None, never an exception.

One name a meaning: ``major_minor`` is the text "X.Y", ``major_minor_pair`` the numbers (X, Y), ``major`` X;
a CUDA release is a ``CudaVersion`` (ordered, printed "X.Y") wherever code decides with it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from packaging.version import InvalidVersion, Version

MAX_LENGTH = 64
"""Longer than any version a tool prints ("13.580.159.04", "535.54.03-server", "2.21.0rc1+cu118"); a longer
text is no version, and parsing it would cost more than it is worth."""

_LEADING_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def parse(text: object) -> Version | None:
    """A comparable version, or None when ``text`` holds no version at all."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return None
    if isinstance(text, float) and not math.isfinite(text):
        return None
    return _parse_text(str(text).strip())


@lru_cache(maxsize=1024)
def _parse_text(raw: str) -> Version | None:
    if not raw or len(raw) > MAX_LENGTH:
        return None
    try:
        return Version(raw)
    except InvalidVersion:
        match = _LEADING_NUMBER.search(raw)
        return Version(match.group(0)) if match else None


def major_minor(text: object) -> str | None:
    """'12.5.82' -> '12.5'; '13' -> '13.0'; None when there is no version."""
    version = parse(text)
    if version is None:
        return None
    return f"{version.major}.{version.minor}"


def major_minor_pair(text: object) -> tuple[int, int] | None:
    """'12.5.82' -> (12, 5); '13' -> (13, 0); None when there is no version."""
    version = parse(text)
    return None if version is None else (version.major, version.minor)


def major(text: object) -> int | None:
    """'12.5.82' -> 12; None when there is no version."""
    version = parse(text)
    return None if version is None else version.major


def compare(left: object, right: object) -> int | None:
    """-1, 0 or 1 as ``left`` is older, equal or newer than ``right``; None when either is not a version."""
    a, b = parse(left), parse(right)
    if a is None or b is None:
        return None
    return (a > b) - (a < b)


def at_least(text: object, minimum: object) -> bool:
    """``text`` >= ``minimum`` (missing parts count as 0); False when either is unknown."""
    order = compare(text, minimum)
    return order is not None and order >= 0


def same_release(a: object, b: object) -> bool:
    """"2.21" and "2.21.0" name the same release; unknown never matches."""
    return compare(a, b) == 0


BRANCHES = range(100, 1000)
"""NVIDIA names its driver branches with three digits (R390, R470, R580): any other number is no branch."""


def driver_branch(driver_version: object) -> int | None:
    """The branch of a driver version, its first number ("535.183.01" -> 535); None when that is not a
    three-digit number."""
    number = major(driver_version)
    return number if number in BRANCHES else None


def dashed(cuda: object) -> str:
    """"12.5" -> "12-5", as NVIDIA's package names spell a CUDA release (cuda-toolkit-12-5); "0-0" for no version."""
    x, y = major_minor_pair(cuda) or (0, 0)
    return f"{x}-{y}"


@dataclass(frozen=True, order=True)
class CudaVersion:
    """A CUDA release, X.Y: what the driver serves, what a TensorFlow was tested with, which toolkit a plan
    installs. Ordered as releases are ("12.10" > "12.9"); printed "12.5"."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: object) -> CudaVersion | None:
        """"12.5.82" -> 12.5, "13" -> 13.0 (an update number is not part of the release); None for no version."""
        pair = major_minor_pair(text)
        return None if pair is None else cls(*pair)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"
