"""Waiting for a lock someone else holds, with a bound: setupkit's own install lock, and the dpkg frontend lock
that apt, dpkg and unattended-upgrades take while they change the package database (the first minutes after a
cloud host boots are unattended-upgrades' own).

A wait is a poll: each try takes the lock without blocking, so that the bound holds whatever the holder does,
and an interruption (Ctrl-C, SIGTERM) ends it at once. Who holds a lock is read from /proc/locks (the kernel's
table of flock and POSIX locks, by device and inode) where the kernel shows it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable

from setupkit.bounded import ascii_int, printable

POLL_SECONDS = 0.2
PROC_LOCKS = "/proc/locks"
_READ_LIMIT = 1024 * 1024  # /proc/locks of a busy host is a few kilobytes


def wait_for(attempt: Callable[[], bool], seconds: float, waiting: Callable[[], None]) -> bool:
    """Try ``attempt`` until it succeeds or ``seconds`` have passed (0: one try); True when it succeeded.
    ``waiting`` is called once, when the first try fails and there is time to wait: the one progress line."""
    if attempt():
        return True
    if seconds <= 0:
        return False
    waiting()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        if attempt():
            return True
    return False


def try_flock(fd: int) -> bool:
    """Take the flock on ``fd`` if no one else holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def package_lock_free(path: str) -> bool | None:
    """Whether the dpkg frontend lock at ``path`` is free now (taken and at once released: apt takes it next);
    None where there is no such file (no dpkg on this host), or it cannot be opened."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        # dpkg and apt lock it with fcntl(F_SETLK) (POSIX record locks), which lockf takes too.
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        return None
    finally:
        os.close(fd)  # releases the lock as well: this process holds no other on the file
    return True


def holder(path: str, fallback_pid: int | None = None) -> str:
    """Who holds the lock on ``path``, in words ("pid 4242 (apt-get)"), as far as it can be known: /proc/locks,
    else ``fallback_pid`` (the pid a holder wrote into the file); "" when neither says."""
    pid = _pid_in_proc_locks(path) or fallback_pid
    if not pid:
        return ""
    name = _process_name(pid)
    return f"pid {pid} ({name})" if name else f"pid {pid}"


def _pid_in_proc_locks(path: str) -> int | None:
    try:
        info = os.stat(path)
        with open(PROC_LOCKS, "rb") as table:
            text = table.read(_READ_LIMIT).decode("ascii", errors="replace")
    except OSError:
        return None
    wanted = (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    for line in text.splitlines():
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE 4242 08:01:1234 0 EOF"; a waiter's line has "->" after the number.
        if len(fields) < 6 or fields[1] == "->":
            continue
        pid, where = ascii_int(fields[4]), fields[5].split(":")
        if pid and len(where) == 3 and _same_file(where, wanted):
            return pid
    return None


def _same_file(where: list[str], wanted: tuple[int, int, int]) -> bool:
    try:
        return (int(where[0], 16), int(where[1], 16), int(where[2])) == wanted
    except ValueError:
        return False


def _process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", "rb") as comm:
            return printable(comm.read(64).decode("utf-8", errors="replace").strip(), keep_newlines=False)
    except OSError:
        return ""
