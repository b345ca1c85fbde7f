"""Probe: what a TensorFlow source build needs of the host (toolchain.*, python.include/headers/ensurepip).

By hand: ``command -v bazel bazelisk clang gcc`` and
``python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])'``, then ``ls <that folder>/Python.h``.

No program is run (doctor runs every probe and stays fast): a program is looked up by name in the folders of the
host's PATH, and the interpreter's include folder and ensurepip come from what the host says of its Python.
"""

from __future__ import annotations

import posixpath
from typing import Any

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.environment import env_of
from setupkit.probes.packages import python_info
from setupkit.probes.text import text_or_none

BAZEL_NAMES = ("bazel", "bazelisk")
"""In the order the build prefers them: bazelisk installed as ``bazel`` is the usual setup."""
CLANG_VERSIONS = (20, 19, 18, 17, 16)
"""Versioned clang names (Debian and Ubuntu's clang-18 ...) tried, newest first, when there is no plain clang."""
MAX_PATH_FOLDERS = 256
"""Past any real PATH; a hostile snapshot's env.json must not cost thousands of lookups."""


def path_folders(value: Any) -> list[str]:
    """The absolute folders of a PATH value, in order, each once. Empty and relative entries (the current
    folder, at lookup time) say nothing about the host and are skipped; anything but text is no PATH."""
    text = text_or_none(value)
    if text is None:
        return []
    folders = [posixpath.normpath(part) for part in text.split(":") if part.startswith("/")]
    return list(dict.fromkeys(folders))[:MAX_PATH_FOLDERS]


def find_program(host: Host, folders: list[str], name: str) -> str | None:
    """The first ``folder/name`` that exists and is not a folder, as ``command -v`` finds it (whether it may be
    executed is not something every host source can tell)."""
    for folder in folders:
        path = posixpath.join(folder, name)
        if host.exists(path) and not host.is_dir(path):
            return path
    return None


def find_clang(host: Host, folders: list[str]) -> str | None:
    for name in ("clang", *(f"clang-{version}" for version in CLANG_VERSIONS)):
        found = find_program(host, folders, name)
        if found is not None:
            return found
    return None


def include_folder(value: Any) -> str | None:
    """An absolute folder path, else unknown."""
    text = text_or_none(value)
    return text if text is not None and text.startswith("/") and "\x00" not in text else None


def has_headers(host: Host, include: str | None) -> bool | None:
    if include is None:
        return None
    header = posixpath.join(include, "Python.h")
    return host.exists(header) and not host.is_dir(header)


def probe(host: Host, facts: Facts) -> Facts:
    folders = path_folders(env_of(host).get("PATH"))  # an unknown PATH has no folders: nothing found
    info = python_info(host)
    include = include_folder(info.include)
    return {
        "toolchain.bazel": next((name for name in BAZEL_NAMES if find_program(host, folders, name)), None),
        "toolchain.clang": find_clang(host, folders),
        "toolchain.gcc": find_program(host, folders, "gcc"),
        "python.include": include,
        "python.headers": has_headers(host, include),
        "python.ensurepip": info.ensurepip if isinstance(info.ensurepip, bool) else None,
    }
