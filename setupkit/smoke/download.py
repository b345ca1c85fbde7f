"""Fetch the official Python-format archive into the cache, MD5 verified, atomically.

The archive is streamed to a hidden temporary name in the cache folder and renamed to cifar-10-python.tar.gz
only once its MD5 matches, so an interrupted or corrupt download never counts as a cached copy. A network
that cannot be reached (no route, DNS failure, refused, a stall longer than ``TIMEOUT_S``) raises
``DownloadImpossible``, on which the smoke test falls back to synthetic data; everything else (an HTTP error,
a wrong checksum, a full disk) is a precondition error that says what to do.

SETUPKIT_CIFAR_URL points to a mirror (http, https or file), SETUPKIT_CIFAR_MD5 to its archive's MD5 when it is
not the official one.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import re
import socket
import stat
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from setupkit.bounded import ascii_int
from setupkit.errors import PreconditionError, UsageError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
"""The checksum published on https://www.cs.toronto.edu/~kriz/cifar.html."""
URL_VARIABLE = "SETUPKIT_CIFAR_URL"
MD5_VARIABLE = "SETUPKIT_CIFAR_MD5"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
TIMEOUT_S = 8
"""Bounds the connection and every read: a network that does not answer within it is a network we cannot use."""
DEADLINE_S = 1800
"""The whole download: the official 163 MiB at 100 KB/s."""
MAX_ARCHIVE_BYTES = 200 * 1024 * 1024
"""The official archive is 170,498,071 bytes."""
CHUNK = 1024 * 1024
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.EADDRNOTAVAIL}


class DownloadImpossible(Exception):
    """The network cannot be reached; the message says how it failed."""


@dataclass(frozen=True)
class Source:
    url: str = URL
    md5: str = MD5

    @classmethod
    def from_environment(cls, environ=None) -> Source:
        environ = os.environ if environ is None else environ
        url, md5 = environ.get(URL_VARIABLE) or URL, (environ.get(MD5_VARIABLE) or MD5).lower()
        if not re.fullmatch(r"(https?|file)://\S+", url):
            raise UsageError(f"{URL_VARIABLE}={url[:200]!r} is not a URL setupkit downloads from",
                             hint=f"give an http://, https:// or file:// URL of {ARCHIVE_NAME}")
        if not re.fullmatch(r"[0-9a-f]{32}", md5):
            raise UsageError(f"{MD5_VARIABLE}={md5[:200]!r} is not an MD5",
                             hint="give the archive's MD5 (32 hexadecimal digits)")
        return cls(url, md5)


def fetch(cache: Path, source: Source, progress) -> Path:
    """``cache/cifar-10-python.tar.gz``: the verified copy already there, else downloaded from ``source``."""
    archive = cache / ARCHIVE_NAME
    if md5_of_regular_file(archive) == source.md5:
        return archive
    try:
        cache.mkdir(parents=True, exist_ok=True)
        part = tempfile.NamedTemporaryFile(dir=cache, prefix=f".{ARCHIVE_NAME}.", suffix=".part", delete=False)
    except OSError as error:
        raise PreconditionError(f"{cache}: cannot write the CIFAR-10 download there ({error.strerror})",
                                hint="set SETUPKIT_CACHE_DIR to a writable folder, or give --data DIR") from None
    try:
        with part:
            digest = _download(source.url, part, progress, archive)
        if digest != source.md5:
            raise PreconditionError(f"{source.url}: download corrupt (md5 {digest}, expected {source.md5})",
                                    hint="run again; behind a proxy or captive portal, download it by hand and "
                                         "give --data DIR")
        os.replace(part.name, archive)
    finally:
        Path(part.name).unlink(missing_ok=True)
    return archive


def _download(url: str, out, progress, archive: Path) -> str:
    """Stream ``url`` into ``out``; its MD5."""
    digest, done, deadline = hashlib.md5(), 0, time.monotonic() + DEADLINE_S
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            total = _declared_size(response, url)
            progress.start_download(total, f"downloading {ARCHIVE_NAME}")
            while chunk := response.read1(CHUNK):
                done += len(chunk)
                if done > MAX_ARCHIVE_BYTES:
                    raise PreconditionError(f"{url}: more than {MAX_ARCHIVE_BYTES:,} bytes: not the CIFAR-10 "
                                            f"archive", hint=f"check {URL_VARIABLE}")
                if time.monotonic() > deadline:
                    raise DownloadImpossible(f"the download from {url} took more than {DEADLINE_S} s")
                digest.update(chunk)
                _write(out, chunk, archive)
                progress.downloaded(done)
            if total is not None and done < total:  # read1 ends quietly where the connection was cut
                raise DownloadImpossible(f"cannot download CIFAR-10 from {url}: the connection failed after "
                                         f"{done:,} of {total:,} bytes")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        _raise_for(error, url)
    finally:
        progress.finish()
    return digest.hexdigest()


def _declared_size(response, url: str) -> int | None:
    size = ascii_int(response.headers.get("Content-Length") or "")
    if size is not None and size > MAX_ARCHIVE_BYTES:
        raise PreconditionError(f"{url}: {size:,} bytes: not the CIFAR-10 archive", hint=f"check {URL_VARIABLE}")
    return size


def _write(out, chunk: bytes, archive: Path) -> None:
    try:
        out.write(chunk)
    except OSError as error:
        raise PreconditionError(f"{archive.parent}: cannot write the CIFAR-10 download ({error.strerror})",
                                hint="free some space, or set SETUPKIT_CACHE_DIR to another folder") from None


def _raise_for(error: Exception, url: str) -> NoReturn:
    """DownloadImpossible when the network cannot be reached, else a PreconditionError saying what failed."""
    if isinstance(error, urllib.error.HTTPError):
        raise PreconditionError(f"cannot download CIFAR-10 from {url}: HTTP {error.code} {error.reason}",
                                hint=f"check {URL_VARIABLE}, or give --data DIR") from None
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    unreachable = network_failure(reason)
    if unreachable:
        raise DownloadImpossible(f"cannot download CIFAR-10 from {url}: {unreachable}") from None
    raise PreconditionError(f"cannot download CIFAR-10 from {url}: {reason}",
                            hint="give --data DIR with the dataset, or --synthetic") from None


def network_failure(reason) -> str | None:
    """How the network failed (no route, DNS, refused, reset, timed out), or None for any other failure."""
    if isinstance(reason, socket.gaierror):
        return f"DNS failure ({reason.strerror or reason})"
    if isinstance(reason, TimeoutError):
        return f"no answer within {TIMEOUT_S} s"
    if isinstance(reason, (ConnectionError, http.client.IncompleteRead)):
        return f"the connection failed ({getattr(reason, 'strerror', None) or type(reason).__name__})"
    if isinstance(reason, OSError) and reason.errno in _UNREACHABLE:
        return f"no route to it ({reason.strerror})"
    return None


def md5_of_regular_file(path: Path) -> str | None:
    """The MD5 of a regular file no larger than an archive, else None (absent, a FIFO, a folder, too big)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ARCHIVE_BYTES:
            return None
        digest = hashlib.md5()
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
