"""Unpack cifar-10-python.tar.gz, checking every member ourselves (tarfile's ``filter=`` needs Python 3.10.12 or
3.11.4; the project runs on 3.10.0 and Debian 12's 3.11.2).

The archive holds one folder, cifar-10-batches-py, with eight regular files. Anything else is refused before a
byte of it is written: a name outside that folder or below it, a link, a device, a FIFO, a member larger than a
batch, more members or more bytes than the dataset. tarfile itself reads the headers from a stream that refuses
a read past those bounds, so that a hostile header (a negative size, a pax header of gigabytes) costs no more
than the dataset. Extraction goes to a fresh hidden folder beside the target, which is renamed into place
only when complete: a half-unpacked folder is never taken for the dataset.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

from setupkit.errors import PreconditionError
from setupkit.smoke.safe_pickle import MAX_BATCH_BYTES

TOP = "cifar-10-batches-py"
MAX_MEMBERS = 16
"""The official archive has 9: the folder, data_batch_1-5, test_batch, batches.meta, readme.html."""
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
"""The official archive unpacks to 186 MB."""
MAX_READ = 1024 * 1024
"""The most tarfile may read at once; a CIFAR header is 512 bytes and file data is read in chunks of this size."""
_MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class _BoundedStream:
    """The decompressed archive as tarfile sees it: no read of more than MAX_READ bytes (a header claiming a
    huge or negative size), nothing past MAX_UNPACKED_BYTES (a decompression bomb)."""

    def __init__(self, raw, archive: Path):
        self.raw, self.archive = raw, archive

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > MAX_READ:
            raise _refused(self.archive, f"a header asks for a read of {size} bytes")
        if self.raw.tell() + size > MAX_UNPACKED_BYTES + MAX_READ:
            raise _refused(self.archive, f"it unpacks to more than {MAX_UNPACKED_BYTES:,} bytes")
        return self.raw.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence != os.SEEK_SET or not 0 <= offset <= MAX_UNPACKED_BYTES + MAX_READ:
            raise _refused(self.archive, f"a header points to offset {offset}")
        return self.raw.seek(offset)

    def tell(self) -> int:
        return self.raw.tell()

    def write(self, data: bytes) -> int:
        raise io.UnsupportedOperation("the archive is only read")

    def close(self) -> None:
        """The decompressed stream is closed by whoever opened it."""


def _refused(archive: Path, why: str) -> PreconditionError:
    return PreconditionError(f"{archive}: not the CIFAR-10 archive ({why}); refusing to unpack it",
                             hint=f"delete {archive} and run again to download it anew")


def unpack(archive: Path, cache: Path) -> Path:
    """Unpack ``archive`` into ``cache/cifar-10-batches-py`` (renamed into place once complete)."""
    final = cache / TOP
    staging = Path(tempfile.mkdtemp(prefix=f".{TOP}.", dir=cache))
    try:
        _extract_checked(archive, staging / TOP)
        _move_into_place(staging / TOP, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _extract_checked(archive: Path, folder: Path) -> None:
    folder.mkdir()
    try:
        with gzip.open(archive, "rb") as raw, tarfile.open(fileobj=_BoundedStream(raw, archive), mode="r:") as tar:
            _extract_members(tar, archive, folder)
    except PreconditionError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError, RecursionError) as error:
        raise _refused(archive, f"{type(error).__name__}: {error}") from None


def _extract_members(tar: tarfile.TarFile, archive: Path, folder: Path) -> None:
    count = total = 0
    while (member := tar.next()) is not None:
        count += 1
        if count > MAX_MEMBERS:
            raise _refused(archive, f"more than {MAX_MEMBERS} members")
        name = _member_name(member, archive)
        if name is None:
            continue  # the top folder itself
        total += member.size
        if total > MAX_UNPACKED_BYTES:
            raise _refused(archive, f"it unpacks to more than {MAX_UNPACKED_BYTES:,} bytes")
        _write(tar, member, folder / name)


def _member_name(member: tarfile.TarInfo, archive: Path) -> str | None:
    """The file name below the top folder, None for the top folder; any other member is refused."""
    path = member.name.rstrip("/")
    if member.isdir() and path == TOP:
        return None
    top, _, name = path.partition("/")
    if top != TOP or not _MEMBER_NAME.fullmatch(name):
        raise _refused(archive, f"member {member.name[:100]!r} is not a file directly in {TOP}/")
    if not member.isreg() or member.issparse():
        raise _refused(archive, f"member {member.name!r} is not a regular file (a link, a folder or a device)")
    if not 0 <= member.size <= MAX_BATCH_BYTES:
        raise _refused(archive, f"member {member.name!r} claims {member.size:,} bytes, more than a batch")
    return name


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
    source = tar.extractfile(member)
    if source is None:  # only for what is not a regular file, which _member_name refused
        raise tarfile.ExtractError(f"member {member.name!r} cannot be read")
    # O_EXCL|O_NOFOLLOW in a folder of our own: never over something already there, never through a link.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(MAX_READ):
            out.write(chunk)


def _move_into_place(staged: Path, final: Path) -> None:
    """Rename the complete folder into place; an empty leftover is replaced, anything else is left alone
    (unless it is the dataset itself, put there by a run of setupkit at the same time)."""
    try:
        os.replace(staged, final)
    except OSError as error:
        if (final / "data_batch_1").is_file() and (final / "test_batch").is_file():
            return
        raise PreconditionError(f"{final}: cannot put the unpacked dataset there ({error.strerror}); it is in "
                                f"the way", hint=f"move {final} away and run again") from None
