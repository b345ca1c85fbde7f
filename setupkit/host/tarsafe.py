"""Unpack a snapshot .tar.gz without letting a hostile bundle cost more than a real one, or write outside its folder.

CPython's ``tarfile`` does not read these bundles: a tiny archive can make it loop forever or burn minutes
(negative sizes in base-256 or pax fields, huge or numerous pax headers: CVE-2025-8194, CVE-2024-6232), it loads
every member before a count can be checked, and its extraction filters do not exist before Python 3.11.4.
Instead, in three bounded steps, all under one wall-clock budget (MAX_SECONDS):

1. the archive (a regular file: never a FIFO or a device) is decompressed into a temporary file, refusing
   more than MAX_UNPACKED_BYTES;
2. its 512-byte headers are walked here, refusing what a hostile archive uses (negative or non-octal sizes,
   pax and GNU long-name headers over MAX_META_BYTES, bad checksums, sparse files), counting as it goes;
3. every member is checked before anything is written: no absolute names, no ``..``, only files, folders and
   symbolic links (no device nodes, FIFOs or hard links), links only under files/ and never leading out of the
   snapshot. Members are then written one by one, never through a link, never over something already there.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import struct
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from setupkit.bounded import describe_mode
from setupkit.errors import SnapshotError

MAX_ARCHIVE_BYTES = 256 * 1024 * 1024
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""A real snapshot is well under 10 MiB packed or not (the capture cuts each file at 8 MiB)."""
MAX_MEMBERS = 50_000
"""Headers of any kind, pax and GNU long-name headers included; a real snapshot has a few hundred."""
MAX_META_BYTES = 64 * 1024
"""A pax or GNU long-name header; one member's extended attributes need a few hundred bytes."""
MAX_NAME_BYTES = 2048
MAX_PART_BYTES = 255
"""A name, and one folder or file name in it, as long as the file system takes below a temporary folder."""
MAX_GZIP_MEMBERS = 1000
"""gzip streams in one file; a tarball has one. Each costs a copy of what follows it in the input buffer, so a
file of a million empty members would cost quadratic time."""
MAX_SECONDS = 30.0
"""Unpacking a real snapshot takes well under a second."""

RETAKE = "take the snapshot again on that host with `setupkit snapshot -o FILE.tar.gz`"
BLOCK = 512
CHUNK = 1024 * 1024
_ZERO_BLOCK = bytes(BLOCK)
_GZIP_MAGIC = b"\x1f\x8b"
_OTHER_COMPRESSIONS = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}
_KINDS = {b"0": "file", b"\x00": "file", b"7": "file", b"5": "dir", b"2": "symlink", b"1": "hardlink",
          b"3": "device", b"4": "device", b"6": "fifo"}
_META = (b"x", b"g", b"L", b"K")  # pax extended, pax global, GNU long name, GNU long link name
_OCTAL = re.compile(rb"[0-7]*")
_DECIMAL = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class Member:
    """One archive member as the header walk found it: where its data lies in the unpacked stream."""

    name: str
    kind: str  # file, dir, symlink, hardlink, device, fifo, special
    size: int
    offset: int
    linkname: str = ""


class _Budget:
    """The wall-clock bound: checked in every loop, so no archive keeps the reader for longer than MAX_SECONDS."""

    def __init__(self, archive: Path):
        self.archive = archive
        self.deadline = time.monotonic() + MAX_SECONDS

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            _refuse(self.archive, f"unpacking took more than {MAX_SECONDS:g} s")


def extract(archive: Path, dest: Path) -> Path:
    """Check then unpack ``archive`` into ``dest``; return the snapshot's root (the folder holding manifest.json)."""
    budget = _Budget(archive)
    try:
        with _open_regular(archive) as packed, tempfile.TemporaryFile(prefix="setupkit-bundle-") as stream:
            length = _unpack_stream(packed, stream, archive, budget)
            members = _walk(stream, length, archive, budget)
            _check_names(members, archive)
            prefix = _common_root(members, archive)
            for member in members:
                _check_type(member, archive, prefix)
            for member in members:
                budget.check()
                _write_member(stream, member, dest, archive, budget)
    except OSError as error:
        raise SnapshotError(f"snapshot {archive}: cannot unpack it ({_reason(error)})",
                            hint="free some space in the temporary folder ($TMPDIR), or unpack it yourself and"
                                 " give the folder") from None
    return dest / prefix if prefix else dest


# -- step 1: the archive, decompressed under a bound ---------------------------------------------------------


def _open_regular(archive: Path) -> BinaryIO:
    # O_NONBLOCK: opening a FIFO for reading would wait for a writer; fstat on the open descriptor then says
    # what it really is, with no race between the check and the read.
    try:
        fd = os.open(archive, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise SnapshotError(f"snapshot {archive}: cannot be opened ({_reason(error)})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SnapshotError(f"snapshot {archive}: is {describe_mode(info.st_mode)}, not a folder or a .tar.gz file",
                            hint="give the snapshot's folder or its .tar.gz file")
    if info.st_size > MAX_ARCHIVE_BYTES:
        os.close(fd)
        _refuse(archive, f"it is {info.st_size:,} bytes, more than the {MAX_ARCHIVE_BYTES:,} a snapshot may be")
    return os.fdopen(fd, "rb")


def _unpack_stream(packed: BinaryIO, stream: BinaryIO, archive: Path, budget: _Budget) -> int:
    """Write the tar stream (gunzipped if need be) into ``stream``; return its length."""
    head = packed.read(8)
    packed.seek(0)
    if not head:
        _malformed(archive, "the file is empty")
    for magic, name in _OTHER_COMPRESSIONS.items():
        if head.startswith(magic):
            _malformed(archive, f"it is compressed with {name}; setupkit reads .tar.gz or plain .tar")
    chunks = _gunzip(packed, archive, budget) if head.startswith(_GZIP_MAGIC) else _plain(packed, budget)
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_UNPACKED_BYTES:
            _refuse(archive, f"it unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB")
        stream.write(chunk)
    return total


def _plain(packed: BinaryIO, budget: _Budget) -> Iterator[bytes]:
    while chunk := packed.read(CHUNK):
        budget.check()
        yield chunk


def _gunzip(packed: BinaryIO, archive: Path, budget: _Budget) -> Iterator[bytes]:
    """The decompressed bytes of each gzip member in turn, at most CHUNK at a time: a bomb is cut at the bound,
    and a file of a million empty members still meets the budget check once per member."""
    decompressor = zlib.decompressobj(wbits=31)
    data = packed.read(CHUNK)
    members = 1
    while True:
        budget.check()
        try:
            out = decompressor.decompress(data, CHUNK)
        except zlib.error as error:
            _malformed(archive, f"gzip: {error}")
        yield out
        if decompressor.eof:
            data = decompressor.unused_data or packed.read(CHUNK)
            if not data.startswith(_GZIP_MAGIC):
                _expect_only_padding(data, packed, archive, budget)
                return
            members += 1
            if members > MAX_GZIP_MEMBERS:
                _refuse(archive, f"more than {MAX_GZIP_MEMBERS:,} gzip streams one after the other")
            decompressor = zlib.decompressobj(wbits=31)
            continue
        # Input left over because the output was bounded, else more input; with none, drain what zlib holds.
        data = decompressor.unconsumed_tail or packed.read(CHUNK)
        if not data and not out:
            _malformed(archive, "the gzip stream is cut short")


def _expect_only_padding(data: bytes, packed: BinaryIO, archive: Path, budget: _Budget) -> None:
    """After the last gzip member only zero bytes may follow (some writers pad to a block size)."""
    while data:
        budget.check()
        if data.strip(b"\x00"):
            _malformed(archive, "there is data after the end of the gzip stream")
        data = packed.read(CHUNK)


# -- step 2: the headers, walked by hand ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    name: str
    linkname: str
    typeflag: bytes
    size: int


def _walk(stream: BinaryIO, length: int, archive: Path, budget: _Budget) -> list[Member]:
    members: list[Member] = []
    pending: dict[str, str] = {}  # what pax and GNU long-name headers say of the next member
    offset = headers = 0
    while offset < length:
        budget.check()
        stream.seek(offset)
        block = stream.read(BLOCK)
        if block == _ZERO_BLOCK:
            break  # the end-of-archive marker; what follows is padding
        if len(block) < BLOCK:
            _malformed(archive, f"it ends inside the header at byte {offset}")
        headers += 1
        if headers > MAX_MEMBERS:
            _refuse(archive, f"more than {MAX_MEMBERS:,} members")
        header = _parse_header(block, offset, archive)
        data_at = offset + BLOCK
        if header.typeflag in _META:
            if header.size > MAX_META_BYTES:
                _refuse(archive, f"a pax or GNU long-name header of {header.size:,} bytes at byte {offset}"
                                 f" (more than {MAX_META_BYTES:,})")
            _check_fits(data_at, header.size, length, archive, offset)
            stream.seek(data_at)
            _apply_meta(header.typeflag, stream.read(header.size), pending, archive, offset)
            offset = data_at + _padded(header.size)
            continue
        member = _member(header, pending, data_at, archive, offset)
        pending = {}
        _check_fits(data_at, member.size, length, archive, offset)
        members.append(member)
        offset = data_at + _padded(member.size)
    if pending:
        _malformed(archive, "it ends with a pax or GNU long-name header that no member follows")
    return members


def _parse_header(block: bytes, offset: int, archive: Path) -> _Header:
    stored = _number(block[148:156], "checksum", offset, archive)
    # The checksum counts its own field as spaces; some old writers summed signed bytes.
    unsigned = sum(block) - sum(block[148:156]) + 8 * 32
    if stored != unsigned and stored != sum(struct.unpack_from("148b8x356b", block)) + 8 * 32:
        _malformed(archive, f"bad header checksum at byte {offset}")
    name = _text(block[0:100])
    if block[257:263] == b"ustar\x00":  # POSIX ustar: a prefix field holds the name's leading folders
        prefix = _text(block[345:500])
        name = f"{prefix}/{name}" if prefix else name
    size = _number(block[124:136], "size", offset, archive)
    return _Header(name, _text(block[157:257]), block[156:157], size)


def _number(field: bytes, what: str, offset: int, archive: Path) -> int:
    """A header number: octal digits, or GNU base-256 for big values. Negative values are refused: they are what
    makes tarfile seek backwards forever."""
    if field[0] & 0x80:
        if field[0] != 0x80:
            _refuse(archive, f"a negative or malformed {what} in the header at byte {offset}")
        return int.from_bytes(field[1:], "big")
    digits = field.split(b"\x00", 1)[0].strip(b" ")
    if not _OCTAL.fullmatch(digits):
        _refuse(archive, f"a {what} that is not an octal number in the header at byte {offset}")
    return int(digits or b"0", 8)


def _apply_meta(typeflag: bytes, data: bytes, pending: dict[str, str], archive: Path, offset: int) -> None:
    if typeflag == b"L":
        pending["path"] = _text(data)
    elif typeflag == b"K":
        pending["linkpath"] = _text(data)
    else:
        for key, value in _pax_records(data, archive, offset):
            if key.startswith("GNU.sparse."):
                _refuse(archive, f"a sparse file (pax header at byte {offset})")
            if typeflag == b"x" and key in ("path", "linkpath", "size"):
                pending[key] = value  # a global header (g) says nothing setupkit needs; it is only checked


def _pax_records(data: bytes, archive: Path, offset: int) -> list[tuple[str, str]]:
    """Records "LENGTH KEY=VALUE\\n"; a length that does not move forward is refused (a parser loop in others)."""
    records, at = [], 0
    data = data.rstrip(b"\x00")
    while at < len(data):
        space = data.find(b" ", at, at + 20)
        digits = _DECIMAL.fullmatch(data[at:space].decode("ascii", "replace")) if space > at else None
        end = at + int(digits.group(0)) if digits else 0
        if not digits or end <= space + 1 or end > len(data) or data[end - 1:end] != b"\n":
            _malformed(archive, f"a malformed pax record in the header at byte {offset}")
        key, equals, value = data[space + 1:end - 1].partition(b"=")
        if not equals or not key:
            _malformed(archive, f"a malformed pax record in the header at byte {offset}")
        records.append((key.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")))
        at = end
    return records


def _member(header: _Header, pending: dict[str, str], data_at: int, archive: Path, offset: int) -> Member:
    if header.typeflag == b"S":
        _refuse(archive, f"a sparse file in the header at byte {offset}")
    name = pending.get("path", header.name)
    kind = _KINDS.get(header.typeflag, "special")
    if header.typeflag == b"\x00" and name.endswith("/"):
        kind = "dir"  # the pre-POSIX way of writing a folder
    size = header.size
    if "size" in pending:
        if not _DECIMAL.fullmatch(pending["size"]):
            _refuse(archive, f"a pax size {pending['size'][:20]!r} that is not a number, at byte {offset}")
        size = int(pending["size"])
    # Only a file's data follows its header (as tar itself reads it); the others carry none.
    return Member(name, kind, size if kind == "file" else 0, data_at, pending.get("linkpath", header.linkname))


def _check_fits(data_at: int, size: int, length: int, archive: Path, offset: int) -> None:
    if data_at + size > length:
        _malformed(archive, f"the member at byte {offset} runs past the end of the archive")


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _text(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


# -- step 3: checks, then writing ----------------------------------------------------------------------------


def _common_root(members: list[Member], archive: Path) -> str:
    """A bundle may hold its files directly or inside one top folder (``tar czf x.tar.gz snapshot/``)."""
    names = {_norm(m.name) for m in members}
    if "manifest.json" in names:
        return ""
    tops = {name.split("/", 1)[0] for name in names if name}
    if len(tops) == 1:
        top = tops.pop()
        if f"{top}/manifest.json" in names:
            return top
    raise SnapshotError(f"snapshot {archive}: manifest.json is missing", hint=RETAKE)


def _check_names(members: list[Member], archive: Path) -> None:
    kinds: dict[str, str] = {}
    for member in members:
        _check_name(member, archive)
        name = _norm(member.name)
        if name in kinds and (kinds[name], member.kind) != ("dir", "dir"):  # a folder may be listed twice
            _refuse(archive, f"member {member.name!r} appears twice")
        kinds[name] = member.kind
    for name in kinds:
        parent = posixpath.dirname(name)
        while parent:
            if kinds.get(parent) == "file":
                _refuse(archive, f"member {name!r} lies inside the file {parent!r}")
            parent = posixpath.dirname(parent)


def _check_name(member: Member, archive: Path) -> None:
    name = member.name
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        _refuse(archive, f"member {name!r} has an absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        _refuse(archive, f"member {name!r} climbs out with '..'")
    if "\x00" in name or "\x00" in member.linkname:
        _refuse(archive, f"member {name!r} has a NUL byte")
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_NAME_BYTES or any(len(part) > MAX_PART_BYTES for part in encoded.split(b"/")):
        _refuse(archive, f"member {name[:60]!r} has a name longer than a snapshot's paths can be")


def _check_type(member: Member, archive: Path, prefix: str) -> None:
    if member.kind in ("file", "dir"):
        return
    if member.kind == "symlink":
        _check_link(member, archive, prefix)
        return
    kind = {"hardlink": "a hard link", "device": "a device file"}.get(member.kind, "a special file")
    _refuse(archive, f"member {member.name!r} is {kind}")


def _check_link(member: Member, archive: Path, prefix: str) -> None:
    """Links live only under files/; an absolute target means that path inside files/ (SNAPSHOT.md)."""
    name = _norm(member.name)
    files_root = posixpath.join(prefix, "files") if prefix else "files"
    if not name.startswith(files_root + "/"):
        _refuse(archive, f"member {name!r} is a link outside files/")
    target = member.linkname
    if not target:
        _refuse(archive, f"link {name!r} has no target")
    if target.startswith("/"):
        return
    landed = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if landed != files_root and not landed.startswith(files_root + "/"):
        _refuse(archive, f"link {name!r} -> {target!r} leads outside the snapshot")


def _write_member(stream: BinaryIO, member: Member, dest: Path, archive: Path, budget: _Budget) -> None:
    relative = _norm(member.name)
    if not relative:
        return  # the archive's own top folder ("./")
    path = dest / relative
    _ensure_no_link_on_the_way(dest, path, archive)
    if member.kind == "dir":
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if member.kind == "symlink":
        os.symlink(member.linkname, path)
        return
    # O_EXCL|O_NOFOLLOW: never write through a link or over something already written.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        stream.seek(member.offset)
        left = member.size
        while left > 0:
            budget.check()
            chunk = stream.read(min(left, CHUNK))
            out.write(chunk)
            left -= len(chunk)


def _ensure_no_link_on_the_way(dest: Path, path: Path, archive: Path) -> None:
    current = dest
    for part in path.relative_to(dest).parts[:-1]:
        current = current / part
        if current.is_symlink():
            _refuse(archive, f"member {str(path.relative_to(dest))!r} would be written through a link")


def _norm(name: str) -> str:
    normal = posixpath.normpath(name) if name else "."
    return "" if normal == "." else normal


def _refuse(archive: Path, why: str) -> None:
    raise SnapshotError(f"snapshot {archive}: {why}; refusing to unpack", hint=RETAKE)


def _malformed(archive: Path, why: str) -> None:
    raise SnapshotError(f"snapshot {archive}: not a readable .tar.gz ({why})", hint=RETAKE)


def _reason(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)
