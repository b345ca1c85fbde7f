"""The planner's view of versions: number tuples and the spellings NVIDIA's package names use, on top of
setupkit.versions (which does the parsing and comparing for every verb)."""

from __future__ import annotations

from setupkit import versions as _shared


def parse(text: str | None) -> tuple[int, ...] | None:
    """The release numbers of ``text`` as a tuple ("12.5.82" -> (12, 5, 82)); None when there are none."""
    version = _shared.parse(text)
    return version.release if version is not None else None


def major_minor(text: str | None) -> tuple[int, int] | None:
    """(X, Y) of an "X.Y[.Z]" version; a bare "X" counts as X.0."""
    version = _shared.parse(text)
    return (version.major, version.minor) if version is not None else None


def at_least(text: str | None, minimum: str) -> bool:
    """``text`` >= ``minimum`` (missing parts count as 0); False when ``text`` is unknown."""
    order = _shared.compare(text, minimum)
    return order is not None and order >= 0


def same_release(a: str | None, b: str | None) -> bool:
    """"2.21" and "2.21.0" name the same release; unknown never matches."""
    return _shared.compare(a, b) == 0


BRANCHES = range(100, 1000)
"""NVIDIA names its driver branches with three digits (R390, R470, R580): any other number is no branch."""


def branch(driver_version: str | None) -> int | None:
    """The driver branch: the first number of a driver version ("535.183.01" -> 535); None when that is not
    a three-digit number."""
    numbers = parse(driver_version)
    return numbers[0] if numbers and numbers[0] in BRANCHES else None


def dashed(cuda: str) -> str:
    """"12.5" -> "12-5", as NVIDIA's package names spell a CUDA version (cuda-toolkit-12-5)."""
    x, y = major_minor(cuda) or (0, 0)
    return f"{x}-{y}"


def dotted(pair: tuple[int, int]) -> str:
    return f"{pair[0]}.{pair[1]}"
