"""Reading what others wrote without letting it cost more than it is worth: one place for the bounds.

A snapshot, a check file or a dataset may be hostile or broken: a FIFO that never ends, a link to /dev/zero,
a sparse file of 4 GiB, JSON nested ten thousand deep, bytes that steer the operator's terminal. Everything
here refuses those in bounded time and memory, with a one-line reason (``BoundError``) for the caller to
turn into its own message.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from typing import Any

MAX_JSON_DEPTH = 64
"""Deeper than any document setupkit writes (a snapshot's nvml.json is 4 deep); far below the recursion limit."""


class BoundError(ValueError):
    """The input is not a regular file, is too large, or is malformed past what we read."""


def read_regular_file(path: str | os.PathLike[str], limit: int, follow_links: bool = True) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Opened with O_NONBLOCK so that a FIFO or a device never blocks the open, then checked on the open
    descriptor (no race between the check and the read); read at most ``limit + 1`` bytes, so a sparse or
    growing file costs no more than its bound.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise BoundError(_os_reason(error)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BoundError(f"is {describe_mode(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise BoundError(f"is {info.st_size:,} bytes, more than the {limit:,} allowed")
        data = _read_at_most(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise BoundError(f"holds more than the {limit:,} bytes allowed")
    return data


def _read_at_most(fd: int, count: int) -> bytes:
    chunks, left = [], count
    while left > 0:
        try:
            chunk = os.read(fd, min(left, 1 << 20))
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def describe_mode(mode: int) -> str:
    """'a folder', 'a FIFO', 'a device' ... for a message."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISREG(mode):
        return "a regular file"  # where a folder was wanted
    return "a special file"


def _os_reason(error: OSError) -> str:
    if error.errno is not None and error.strerror:
        return error.strerror.lower()
    return str(error)


def loads_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses nesting past ``max_depth`` and the non-JSON constants NaN and Infinity
    (Python's parser accepts them; no JSON writer produces them)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BoundError(f"is not UTF-8 (byte {error.start})") from None
    _check_depth(text, max_depth)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise BoundError(f"nests deeper than {max_depth} levels") from None
    except ValueError as error:
        if isinstance(error, BoundError):
            raise
        raise BoundError(f"is not valid JSON ({error})") from None


def _refuse_constant(name: str) -> float:
    raise BoundError(f"holds {name}, which is not JSON")


def _check_depth(text: str, max_depth: int) -> None:
    """Count bracket depth outside strings, in one linear pass, before the recursive parser sees it."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group(0)
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise BoundError(f"nests deeper than {max_depth} levels")
        elif token in "]}":
            depth -= 1


# A string is skipped as runs of plain characters, not one character a step: a 60 MB string costs a second.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def finite_number(value: Any) -> float | None:
    """A real, finite number (bool excluded), else None: NaN and Infinity are not measurements."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def ascii_int(text: Any, max_digits: int = 18) -> int | None:
    """An int from ASCII digits only: ``str.isdigit()`` also accepts '²' and '١', which ``int()`` refuses or
    reads as another digit; a 5000-digit string is no version part either."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if abs(text) < 10**max_digits else None
    if not isinstance(text, str) or not _ASCII_DIGITS.fullmatch(text) or len(text) > max_digits:
        return None
    return int(text)


_ASCII_DIGITS = re.compile(r"[0-9]+")

# C0 and C1 controls except tab and newline, DEL, and the Unicode bidirectional overrides that make a text
# read differently from what it is.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, keep_newlines: bool = True) -> str:
    """``text`` safe for a terminal: every control character (an escape sequence's ESC, a carriage return
    that overwrites a line, a bell) shown as its ``\\xNN`` code instead of acting."""

    def show(match: re.Match[str]) -> str:
        char = match.group(0)
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    cleaned = _UNPRINTABLE.sub(show, text)
    return cleaned if keep_newlines else cleaned.replace("\n", "\\n")


MAX_LINE_SHOWN = 4000
"""Characters of one value on the terminal: a report line of megabytes costs seconds to wrap and says nothing
more (the JSON output keeps the whole value)."""


def one_line(value: object, limit: int = MAX_LINE_SHOWN) -> str:
    """``value`` as one terminal-safe line: ``printable`` with newlines shown as \\n, cut past ``limit``
    characters with the length it had."""
    text = str(value)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text):,} characters)"
    return printable(text, keep_newlines=False)
