"""Small pure helpers the probes share: lines of a text file, versions, package names (no host access)."""

from __future__ import annotations

import re

_VERSION_PREFIX = re.compile(r"(\d+)\.(\d+)")
_PACKAGE_SEPARATORS = re.compile(r"[-_.]+")


def clean_lines(text: str | None) -> list[str]:
    """The lines of ``text`` with CR and trailing blanks removed; blank lines dropped."""
    if not text:
        return []
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def uncommented(line: str) -> str:
    """A config line without its ``#`` comment, stripped."""
    return line.split("#", 1)[0].strip()


def major_minor(version: str | None) -> str | None:
    """"12.2.140" -> "12.2"; None when the text does not start with X.Y."""
    match = _VERSION_PREFIX.match((version or "").strip())
    return f"{match.group(1)}.{match.group(2)}" if match else None


def version_key(version: str) -> tuple[int, ...]:
    """A sort key for dotted versions: "535.183.01" -> (535, 183, 1); non-numbers sort as 0."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def normalize_package(name: str) -> str:
    """A distribution name as PEP 503 compares them: "Nvidia_CUDNN.cu12" -> "nvidia-cudnn-cu12"."""
    return _PACKAGE_SEPARATORS.sub("-", name).lower()


def find_package(packages: dict[str, str], candidates: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``candidates`` (normalised names) installed: (its normalised name, its version)."""
    installed = {normalize_package(name): version for name, version in packages.items()}
    for name in candidates:
        if name in installed:
            return name, installed[name]
    return None
