"""The TensorFlow checkout: which TensorFlow it is and which Bazel it pins (read by hand: `cat .bazelversion`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from setupkit.errors import PreconditionError

TF_VERSION_BZL = "tensorflow/tf_version.bzl"
SETUP_PY = "tensorflow/tools/pip_package/setup.py"
BAZELVERSION = ".bazelversion"

_BZL_VERSION = re.compile(r"""^TF_VERSION\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_SETUP_VERSION = re.compile(r"""^_VERSION\s*=\s*["']([^"']+)["']""", re.MULTILINE)


@dataclass(frozen=True)
class TfSource:
    """A TensorFlow source tree: its folder, its version (2.20.0) and the Bazel version it pins (or None)."""

    path: Path
    tf_version: str
    bazel_version: str | None

    @property
    def minor(self) -> tuple[int, int]:
        """(major, minor) of the TensorFlow version, for choosing commands and prompts."""
        return version_tuple(self.tf_version)


def version_tuple(version: str) -> tuple[int, int]:
    """'2.20.0-rc1' -> (2, 20)."""
    numbers = re.findall(r"\d+", version)
    return (int(numbers[0]), int(numbers[1])) if len(numbers) >= 2 else (0, 0)


def parse_tf_version_bzl(text: str) -> str | None:
    """The TF_VERSION of tensorflow/tf_version.bzl (TF 2.17 and later)."""
    match = _BZL_VERSION.search(text)
    return match.group(1) if match else None


def parse_setup_py_version(text: str) -> str | None:
    """The _VERSION of tensorflow/tools/pip_package/setup.py (older trees)."""
    match = _SETUP_VERSION.search(text)
    return match.group(1) if match else None


def parse_bazelversion(text: str) -> str | None:
    """The first non-comment line of .bazelversion (7.4.1)."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def read_source(folder: Path) -> TfSource:
    """Read a checkout; a missing folder or one that is not TensorFlow is a precondition error (exit 3)."""
    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise PreconditionError(f"no folder {folder}: give --source the path of a TensorFlow checkout "
                                "(git clone https://github.com/tensorflow/tensorflow)")
    version = parse_tf_version_bzl(_read(folder / TF_VERSION_BZL) or "") or \
        parse_setup_py_version(_read(folder / SETUP_PY) or "")
    if version is None or not (folder / "configure").exists():
        raise PreconditionError(f"{folder} is not a TensorFlow source tree (no ./configure, or no version in "
                                f"{TF_VERSION_BZL} or {SETUP_PY}): give --source the root of a TensorFlow checkout")
    return TfSource(folder, version, parse_bazelversion(_read(folder / BAZELVERSION) or ""))
