"""Probe: cuDNN (cudnn.*).

By hand: ``grep CUDNN_MAJOR -A2 /usr/include/cudnn_version.h`` (cudnn.h for cuDNN 7 and older; also under
/usr/include/x86_64-linux-gnu and /usr/local/cuda/include), ``ls /usr/lib/x86_64-linux-gnu/libcudnn.so.*``,
``pip show nvidia-cudnn-cu12``.
"""

from __future__ import annotations

import re

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.packages import pip_package
from setupkit.probes.text import text_or_none, version_key

INCLUDE_DIRS = ("/usr/include", "/usr/include/x86_64-linux-gnu", "/usr/local/cuda/include")
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/cuda/lib64")
HEADERS = ("cudnn_version.h", "cudnn.h")
PIP_PACKAGES = ("nvidia-cudnn-cu13", "nvidia-cudnn-cu12", "nvidia-cudnn-cu11")
# re.ASCII: \d is 0-9 only (in a str pattern it also takes Unicode digits, which no version parser reads).
# Blanks are [ \t], not \s: a \s* at each line start runs across every following newline, which costs the
# square of the file's length on a file of newlines.
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+CUDNN_(MAJOR|MINOR|PATCHLEVEL)[ \t]+(\d{1,6})\b",
                     re.MULTILINE | re.ASCII)
_LIBRARY = re.compile(r"libcudnn\.so\.(\d{1,6}\.\d{1,6}\.\d{1,6})$", re.ASCII)


def parse_cudnn_header(text: str | None) -> str | None:
    """"#define CUDNN_MAJOR 9" / MINOR 14 / PATCHLEVEL 0 -> "9.14.0"; None when the header lacks them
    (cuDNN 8+'s cudnn.h only includes cudnn_version.h)."""
    parts = dict(_DEFINE.findall(text_or_none(text) or ""))
    if not all(key in parts for key in ("MAJOR", "MINOR", "PATCHLEVEL")):
        return None
    return f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCHLEVEL']}"


def newest_library_version(paths: list[str]) -> str | None:
    """The highest X.Y.Z among libcudnn.so.X.Y.Z file names."""
    versions = [m.group(1) for p in paths if (m := _LIBRARY.search(p))]
    return max(versions, key=version_key) if versions else None


def _search_dirs(base: tuple[str, ...], toolkit: str | None, sub: str) -> list[str]:
    extra = [f"{toolkit}/{sub}"] if toolkit else []
    return list(dict.fromkeys([*base, *extra]))


def system_cudnn_version(host: Host, toolkit: str | None) -> str | None:
    for folder in _search_dirs(INCLUDE_DIRS, toolkit, "include"):
        for header in HEADERS:
            found = parse_cudnn_header(host.read_text(f"{folder}/{header}"))
            if found:
                return found
    folders = _search_dirs(LIB_DIRS, toolkit, "lib64")
    return newest_library_version([p for folder in folders for p in host.glob_dir(folder, prefix="libcudnn.so.")])


def probe(host: Host, facts: Facts) -> Facts:
    pip = pip_package(host, PIP_PACKAGES)
    return {
        "cudnn.version": system_cudnn_version(host, facts.get("cuda.toolkit_path")),
        "cudnn.pip_version": pip[1] if pip else None,
    }
