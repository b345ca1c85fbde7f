"""Version strings as the tools print them ("580.159.04", "13.0", "2.21.0rc1", "9.3.0.75"), compared leniently.

``packaging.version`` does the comparing; what it refuses (a vendor suffix such as "535.54.03-server") is cut to
its leading dotted number first, so that a driver string never makes a check crash.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import InvalidVersion, Version

_LEADING_NUMBER = re.compile(r"\d+(?:\.\d+)*")


@lru_cache(maxsize=1024)
def parse(text: object) -> Version | None:
    """A comparable version, or None when ``text`` holds no version at all."""
    if text is None or isinstance(text, bool):
        return None
    raw = str(text).strip()
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
