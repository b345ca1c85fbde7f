"""Small pure helpers the probes share: lines of a text file, version text, package names (no host access).

What a host hands over is data, not a promise: a snapshot's JSON may hold a list where a string belongs, a
driver file may print '²' where a digit belongs. These helpers take anything and give the typed value or
None (unknown), so that no probe has to trust the form of what it read.
"""

from __future__ import annotations

import re
from typing import Any

from setupkit import versions
from setupkit.bounded import ascii_int

_PACKAGE_SEPARATORS = re.compile(r"[-_.]+")


def text_or_none(value: Any) -> str | None:
    """``value`` when it is a string, else None (a list, an object, a number or null where text belongs)."""
    return value if isinstance(value, str) else None


def version_text(value: Any) -> str | None:
    """A version string as a tool printed it ("535.54.03-server", "2.21.0rc1"), stripped; None when ``value``
    is not text or holds no version ('²', '', a 10,000-character line)."""
    text = text_or_none(value)
    return text.strip() if text is not None and versions.parse(text) is not None else None


def clean_lines(text: Any) -> list[str]:
    """The lines of ``text`` with CR and trailing blanks removed; blank lines dropped ([] when not text)."""
    if not isinstance(text, str) or not text:
        return []
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def uncommented(line: str) -> str:
    """A config line without its ``#`` comment, stripped."""
    return line.split("#", 1)[0].strip()


def version_key(version: str) -> tuple[int, ...]:
    """A sort key for dotted versions: "535.183.01" -> (535, 183, 1); non-numbers sort as 0."""
    return tuple(ascii_int(part) or 0 for part in version.split("."))


def normalize_package(name: str) -> str:
    """A distribution name as PEP 503 compares them: "Nvidia_CUDNN.cu12" -> "nvidia-cudnn-cu12"."""
    return _PACKAGE_SEPARATORS.sub("-", name).lower()


def find_package(packages: Any, candidates: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``candidates`` (normalised names) installed: (its normalised name, its version). A name or
    version that is not text, or a version that is no version, counts as not installed."""
    found = find_packages(packages, candidates)
    return next(iter(found.items()), None)


def find_packages(packages: Any, candidates: tuple[str, ...]) -> dict[str, str]:
    """Every one of ``candidates`` installed, in the order of ``candidates``: {normalised name: version}."""
    if not isinstance(packages, dict):
        return {}
    installed = {normalize_package(name): version_text(version) for name, version in packages.items()
                 if isinstance(name, str)}
    return {name: version for name in candidates if (version := installed.get(name))}
