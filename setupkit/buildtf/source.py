"""The TensorFlow checkout: which TensorFlow it is and which Bazel it pins (read by hand: `cat .bazelversion`)."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from setupkit.bounded import BoundError, ascii_int, describe_mode, read_regular_file
from setupkit.dialog import clip
from setupkit.errors import PreconditionError

TF_VERSION_BZL = "tensorflow/tf_version.bzl"
SETUP_PY = "tensorflow/tools/pip_package/setup.py"
BAZELVERSION = ".bazelversion"
SOURCE_FIX = "give --source the root of a TensorFlow checkout"

# A version is digits, letters, dots and dashes ("2.20.0-rc1"), within 64 characters: a tree's file is not
# trusted to hold a 5000-digit number or terminal escapes.
_VERSION_TEXT = r"""["']([0-9][0-9A-Za-z.+-]{0,63})["']"""
_BZL_VERSION = re.compile(r"^TF_VERSION\s*=\s*" + _VERSION_TEXT, re.MULTILINE)
_SETUP_VERSION = re.compile(r"^_VERSION\s*=\s*" + _VERSION_TEXT, re.MULTILINE)
_BAZEL_VERSION = re.compile(r"[0-9A-Za-z][\w.+/-]{0,99}", re.ASCII)
"""7.4.1, latest, last_green, or a fork's owner/version, as bazelisk reads .bazelversion."""


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
    major, minor = ([ascii_int(part, max_digits=6) for part in re.findall(r"[0-9]+", version)[:2]] + [None, None])[:2]
    return (major, minor) if major is not None and minor is not None else (0, 0)


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
            return line if _BAZEL_VERSION.fullmatch(line) else None
    return None


SOURCE_FILE_LIMIT = 1024 * 1024
"""TensorFlow's version files and .bazelversion are a few KiB; setup.py is ~15 KiB."""


def _read(path: Path) -> str | None:
    """A small file of the tree, or None when it is absent or not a regular file (a FIFO never blocks)."""
    try:
        return read_regular_file(path, SOURCE_FILE_LIMIT).decode("utf-8", errors="replace")
    except BoundError:
        return None


def _folder(folder: Path) -> Path:
    """--source made absolute, or exit 3 saying what it is instead of a folder."""
    try:
        folder = Path(os.path.abspath(os.path.expanduser(folder)))
        info = folder.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise PreconditionError(f"no folder {clip(str(folder))}",
                                hint="give --source the path of a TensorFlow checkout "
                                     "(git clone https://github.com/tensorflow/tensorflow)") from None
    except OSError as error:
        raise PreconditionError(f"cannot use --source {clip(str(folder))} ({error.strerror or error})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise PreconditionError(f"--source {clip(str(folder))} is {describe_mode(info.st_mode)}, not a folder",
                                hint=SOURCE_FIX)
    return folder.resolve()


def read_source(folder: Path) -> TfSource:
    """Read a checkout; a missing folder or one that is not TensorFlow is a precondition error (exit 3)."""
    folder = _folder(folder)
    version = parse_tf_version_bzl(_read(folder / TF_VERSION_BZL) or "") or \
        parse_setup_py_version(_read(folder / SETUP_PY) or "")
    if version is None or not os.path.lexists(folder / "configure"):
        raise PreconditionError(f"{folder} is not a TensorFlow source tree (no ./configure, or no version in "
                                f"{TF_VERSION_BZL} or {SETUP_PY})", hint=SOURCE_FIX)
    return TfSource(folder, version, parse_bazelversion(_read(folder / BAZELVERSION) or ""))
