"""Where an install keeps its lock, its state and its log, and how root touches files there without being
turned against the host.

Root writes these files, so every name is treated as a place a local user may have prepared: a link planted at
the lock path would make root truncate /etc/shadow. Each folder is setupkit's own (created 0700 or 0750 and
refused when it is a link, owned by someone else, or writable by group or others); each file is opened with
O_NOFOLLOW and checked on the open descriptor (a regular file, ours, one link); a file that is replaced is
written to a temporary beside it and renamed over it, which never follows a link at the name. The folders'
own parents are the system's (/run, /var/lib, /var/log), which only root can change.

Every failure is a ``PreconditionError`` (exit 3) naming the path, with the fix as its hint.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from setupkit.bounded import describe_mode, read_regular_file
from setupkit.errors import PreconditionError

_OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # O_NONBLOCK: a FIFO never blocks the open


def ensure_folder(path: str | os.PathLike[str], mode: int, what: str, setting: str) -> Path:
    """Create ``path`` (mode ``mode``) if missing, then make sure it is a real folder that only we can change.
    ``what`` names it in messages ("the log folder"); ``setting`` is the environment variable that moves it."""
    folder = Path(path)
    try:
        os.makedirs(folder, mode=mode, exist_ok=True)
    except OSError as error:
        _refuse_existing(folder, what, is_folder=True)
        raise PreconditionError(f"cannot create {what} {folder}: {_reason(error)}",
                                hint=f"make {folder.parent} a folder root can write to, or set {setting} to "
                                     f"another place") from None
    _refuse_existing(folder, what, is_folder=True)
    info = os.lstat(folder)
    if info.st_uid != os.geteuid():
        raise PreconditionError(f"{what} {folder} belongs to uid {info.st_uid}, not to uid {os.geteuid()}: "
                                f"someone else could change what setupkit writes there",
                                hint=f"sudo chown {os.geteuid()} {folder} && sudo chmod {mode:o} {folder}")
    if info.st_mode & 0o022:
        raise PreconditionError(f"{what} {folder} is writable by others (mode {stat.S_IMODE(info.st_mode):o}): "
                                f"anyone could plant a link there for root to follow",
                                hint=f"sudo chmod {mode:o} {folder}")
    return folder


def open_own_file(path: str | os.PathLike[str], flags: int, mode: int, what: str) -> int:
    """A descriptor on the regular file ``path``, created with ``mode`` if missing; never through a link, never
    a file someone else owns or that has a second name (a hard link to a victim)."""
    target = Path(path)
    _refuse_existing(target, what, is_folder=False)
    try:
        fd = os.open(target, flags | os.O_CREAT | _OPEN_FLAGS, mode)
    except OSError as error:
        raise PreconditionError(f"cannot open {what} {target}: {_reason(error)}",
                                hint=_remove_hint(target, error)) from None
    try:
        _refuse_foreign(os.fstat(fd), target, what)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_own_file(path: str | os.PathLike[str], limit: int, what: str) -> bytes | None:
    """The bytes of ``path`` (None when there is none); PreconditionError when something other than our own
    regular file stands there; ``bounded.BoundError`` when it is larger than ``limit``."""
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise PreconditionError(f"cannot read {what} {target}: {_reason(error)}",
                                hint=_remove_hint(target, error)) from None
    _refuse_kind(info, target, what, is_folder=False)
    _refuse_foreign(info, target, what)
    return read_regular_file(target, limit, follow_links=False)


def replace_file(path: str | os.PathLike[str], data: bytes, mode: int) -> None:
    """Put ``data`` at ``path`` whole or not at all: written to a temporary in the same folder, flushed to the
    disk, then renamed over the name (a rename replaces a link there instead of writing through it).
    OSError as the system gave it."""
    target = Path(path)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _refuse_existing(path: Path, what: str, is_folder: bool) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise PreconditionError(f"cannot use {what} {path}: {_reason(error)}",
                                hint=_remove_hint(path, error)) from None
    _refuse_kind(info, path, what, is_folder)


def _refuse_kind(info: os.stat_result, path: Path, what: str, is_folder: bool) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise PreconditionError(f"{what} {path} is a symbolic link; setupkit runs as root and never follows a "
                                f"link there", hint=f"look at what made it, then remove it: sudo rm {path}")
    expected, check = ("a folder", stat.S_ISDIR) if is_folder else ("a regular file", stat.S_ISREG)
    if not check(info.st_mode):
        raise PreconditionError(f"{what} {path} is {describe_mode(info.st_mode)}, not {expected}",
                                hint=f"remove it (sudo rm {'-r ' if stat.S_ISDIR(info.st_mode) else ''}{path}) "
                                     f"and run again")


def _refuse_foreign(info: os.stat_result, path: Path, what: str) -> None:
    if not stat.S_ISREG(info.st_mode):  # swapped between the look and the open
        raise PreconditionError(f"{what} {path} is {describe_mode(info.st_mode)}, not a regular file",
                                hint=f"remove it (sudo rm {path}) and run again")
    if info.st_uid != os.geteuid():
        raise PreconditionError(f"{what} {path} belongs to uid {info.st_uid}, not to uid {os.geteuid()}",
                                hint=f"look at what made it, then remove it: sudo rm {path}")
    if info.st_nlink != 1:
        raise PreconditionError(f"{what} {path} has {info.st_nlink} names (a hard link): writing it would "
                                f"change another file too",
                                hint=f"look at what made it, then remove it: sudo rm {path}")


def _remove_hint(path: Path, error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
        return f"remove what stands there (sudo rm -r {path}) and run again"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"free some space on the file system of {path.parent} and run again"
    return f"make {path.parent} a folder root can write to"


def _reason(error: OSError) -> str:
    """The system's words, lower-cased, with the cases that need explaining spelled out."""
    if error.errno == errno.ELOOP:
        return "it is a symbolic link, which setupkit never follows there"
    if error.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    if error.errno == errno.EISDIR:
        return "it is a folder, not a file"
    return (error.strerror or str(error)).lower()
