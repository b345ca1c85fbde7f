"""Version strings as the tools print them ("580.159.04", "13.0", "2.21.0rc1", "9.3.0.75"), compared leniently.

``packaging.version`` does the comparing; what it refuses (a vendor suffix such as "535.54.03-server") is cut to
its leading dotted number first, so that a driver string never makes a check crash. Anything that is not text
of a plausible length made of ASCII digits (a list, NaN, '²', Arabic-Indic digits, a 5000-digit number) is no
version: None, never an exception.
"""

from __future__ import annotations

import math
import re
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


def major(text: object) -> int | None:
    version = parse(text)
    return None if version is None else version.major


def compare(left: object, right: object) -> int | None:
    """-1, 0 or 1 as ``left`` is older, equal or newer than ``right``; None when either is not a version."""
    a, b = parse(left), parse(right)
    if a is None or b is None:
        return None
    return (a > b) - (a < b)
