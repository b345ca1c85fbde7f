"""The build log: every line configure, Bazel, pip and the benchmark print goes to one file the user can read.

The log is a regular file that setupkit appends to: never a folder, a FIFO (it would block the build) or a
device, and never followed through a symbolic link (the fallback folder is the world-writable /tmp).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import time
from pathlib import Path

from setupkit.bounded import describe_mode
from setupkit.dialog import clip
from setupkit.errors import ActionFailed, PreconditionError

LOG_NAME = "setupkit-build-tf.log"
LOG_FIX = f"give --log a file in a folder you can write, e.g. --log ~/{LOG_NAME}"


def default_log_path(source: Path) -> Path:
    """In the source folder when it is writable, else in the temp folder."""
    if os.access(source, os.W_OK):
        return source / LOG_NAME
    return Path(tempfile.gettempdir()) / f"setupkit-build-tf-{time.strftime('%Y%m%d-%H%M%S')}.log"


def log_problem(path: Path) -> str | None:
    """Why the log cannot be written at ``path``, found without creating anything (for the plan), or None."""
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return _folder_problem(path.parent)
    except OSError as error:
        return f"the log {clip(str(path))} cannot be used ({_reason(error)})"
    if not stat.S_ISREG(info.st_mode):
        return f"the log {clip(str(path))} is {describe_mode(info.st_mode)}, not a file"
    if not os.access(path, os.W_OK):
        return f"the log {clip(str(path))} is not writable"
    return None


def _folder_problem(folder: Path) -> str | None:
    """The nearest existing folder above the log must be a folder we can write (the rest is created)."""
    while True:
        try:
            info = folder.stat()
        except (FileNotFoundError, NotADirectoryError):
            if folder == folder.parent:
                return None
            folder = folder.parent
            continue
        except OSError as error:
            return f"the log's folder {clip(str(folder))} cannot be used ({_reason(error)})"
        if not stat.S_ISDIR(info.st_mode):
            return f"the log's folder {clip(str(folder))} is {describe_mode(info.st_mode)}, not a folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"the log's folder {clip(str(folder))} is not writable"
        return None


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


class LogWriteFailed(ActionFailed):
    """The log could no longer be written (the disk filled): the step under way stops, exit 4."""


class BuildLog:
    """An append-only log file, flushed on every write so that a crash or Ctrl-C loses nothing.

    A log that cannot be opened is a precondition (exit 3, before anything runs); one that can no longer be
    written (the disk filled) stops the step under way (exit 4).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = _open_append(path)

    def write(self, text: str) -> None:
        try:
            self._handle.write(text)
            self._handle.flush()
        except OSError as error:
            raise LogWriteFailed(f"cannot write the build log {self.path} ({_reason(error)})") from None

    def section(self, title: str) -> None:
        self.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {title}\n")

    def close(self) -> None:
        try:
            self._handle.close()
        except OSError:
            pass  # the write that failed already said so


def _open_append(path: Path):
    problem = log_problem(path)
    if problem is not None:
        raise PreconditionError(problem, hint=LOG_FIX)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_NONBLOCK: a FIFO put there since the check fails the open instead of blocking it; O_NOFOLLOW: a link
        # put there is refused instead of followed.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     0o644)
    except OSError as error:
        why = "is a symbolic link" if error.errno == errno.ELOOP else f"cannot be opened ({_reason(error)})"
        raise PreconditionError(f"the log {path} {why}", hint=LOG_FIX) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise PreconditionError(f"the log {path} is {describe_mode(mode)}, not a file", hint=LOG_FIX)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "a", encoding="utf-8", errors="replace")
