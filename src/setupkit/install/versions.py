"""Version strings as the facts hold them ("580.159.04", "12.5", "3.11.7"), compared as numbers."""

from __future__ import annotations

import re

_NUMBERS = re.compile(r"\d+")


def parse(text: str | None) -> tuple[int, ...] | None:
    """The leading dotted numbers of ``text`` as a tuple ("12.5.82" -> (12, 5, 82)); None when there are none."""
    if not text:
        return None
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(text))
    if not match:
        return None
    return tuple(int(part) for part in _NUMBERS.findall(match.group(1)))


def major_minor(text: str | None) -> tuple[int, int] | None:
    """(X, Y) of an "X.Y[.Z]" version; a bare "X" counts as X.0."""
    numbers = parse(text)
    if numbers is None:
        return None
    return (numbers[0], numbers[1] if len(numbers) > 1 else 0)


def at_least(text: str | None, minimum: str) -> bool:
    """``text`` >= ``minimum``, comparing numbers (missing parts count as 0); False when ``text`` is unknown."""
    have, need = parse(text), parse(minimum)
    if have is None or need is None:
        return False
    width = max(len(have), len(need))
    return have + (0,) * (width - len(have)) >= need + (0,) * (width - len(need))


def same_release(a: str | None, b: str | None) -> bool:
    """"2.21" and "2.21.0" name the same release; unknown never matches."""
    pa, pb = parse(a), parse(b)
    if pa is None or pb is None:
        return False
    width = max(len(pa), len(pb))
    return pa + (0,) * (width - len(pa)) == pb + (0,) * (width - len(pb))


def branch(driver_version: str | None) -> int | None:
    """The driver branch: the first number of a driver version ("535.183.01" -> 535)."""
    numbers = parse(driver_version)
    return numbers[0] if numbers else None


def dashed(cuda: str) -> str:
    """"12.5" -> "12-5", as NVIDIA's package names spell a CUDA version (cuda-toolkit-12-5)."""
    x, y = major_minor(cuda) or (0, 0)
    return f"{x}-{y}"


def dotted(pair: tuple[int, int]) -> str:
    return f"{pair[0]}.{pair[1]}"
