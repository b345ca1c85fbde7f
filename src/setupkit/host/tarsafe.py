"""Unpack a snapshot .tar.gz without letting a hostile bundle write outside its own folder.

Every member is checked before anything is written: no absolute names, no ``..``, only files, folders and
symbolic links (no device nodes, FIFOs or hard links), links only under files/ and never leading out of the
snapshot. Members are then written one by one, and never through a link.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path

from setupkit.errors import SnapshotError

MAX_MEMBERS = 200_000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
"""A real snapshot is a few MiB; these bounds stop a decompression bomb."""


def extract(archive: Path, dest: Path) -> Path:
    """Check then unpack ``archive`` into ``dest``; return the snapshot's root (the folder holding manifest.json)."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            members = tar.getmembers()
            _check_names(members, archive)
            prefix = _common_root(members, archive)
            _check_members(members, archive, prefix)
            for member in members:
                _write_member(tar, member, dest, archive)
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise SnapshotError(f"snapshot {archive}: not a readable .tar.gz ({error})") from None
    return dest / prefix if prefix else dest


def _common_root(members: list[tarfile.TarInfo], archive: Path) -> str:
    """A bundle may hold its files directly or inside one top folder (``tar czf x.tar.gz snapshot/``)."""
    names = {_norm(m.name) for m in members}
    if "manifest.json" in names:
        return ""
    tops = {name.split("/", 1)[0] for name in names if name}
    if len(tops) == 1:
        top = tops.pop()
        if f"{top}/manifest.json" in names:
            return top
    raise SnapshotError(f"snapshot {archive}: manifest.json is missing")


def _check_members(members: list[tarfile.TarInfo], archive: Path, prefix: str) -> None:
    total = 0
    for member in members:
        _check_type(member, archive, prefix)
        total += max(member.size, 0)
        if total > MAX_TOTAL_BYTES:
            raise SnapshotError(f"snapshot {archive}: unpacks to more than 1 GiB; refusing to unpack")


def _check_names(members: list[tarfile.TarInfo], archive: Path) -> None:
    if len(members) > MAX_MEMBERS:
        raise SnapshotError(f"snapshot {archive}: more than {MAX_MEMBERS} members; refusing to unpack")
    for member in members:
        _check_name(member, archive)


def _check_name(member: tarfile.TarInfo, archive: Path) -> None:
    name = member.name
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise SnapshotError(f"snapshot {archive}: member {name!r} has an absolute path; refusing to unpack")
    if ".." in name.replace("\\", "/").split("/"):
        raise SnapshotError(f"snapshot {archive}: member {name!r} climbs out with '..'; refusing to unpack")
    if "\x00" in name:
        raise SnapshotError(f"snapshot {archive}: member {name!r} has a NUL byte; refusing to unpack")


def _check_type(member: tarfile.TarInfo, archive: Path, prefix: str) -> None:
    name = member.name
    if member.isfile() or member.isdir():
        return
    if member.issym():
        _check_link(member, archive, prefix)
        return
    kind = "a hard link" if member.islnk() else "a device file" if (member.ischr() or member.isblk()) else "a special file"
    raise SnapshotError(f"snapshot {archive}: member {name!r} is {kind}; refusing to unpack")


def _check_link(member: tarfile.TarInfo, archive: Path, prefix: str) -> None:
    """Links live only under files/; an absolute target means that path inside files/ (SNAPSHOT.md)."""
    name = _norm(member.name)
    files_root = posixpath.join(prefix, "files") if prefix else "files"
    if not name.startswith(files_root + "/"):
        raise SnapshotError(f"snapshot {archive}: member {name!r} is a link outside files/; refusing to unpack")
    target = member.linkname
    if target.startswith("/"):
        return
    landed = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if landed != files_root and not landed.startswith(files_root + "/"):
        raise SnapshotError(
            f"snapshot {archive}: link {name!r} -> {target!r} leads outside the snapshot; refusing to unpack"
        )


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, archive: Path) -> None:
    path = dest / _norm(member.name)
    _ensure_no_link_on_the_way(dest, path, archive)
    if member.isdir():
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if member.issym():
        os.symlink(member.linkname, path)
        return
    source = tar.extractfile(member)
    if source is None:
        raise SnapshotError(f"snapshot {archive}: member {member.name!r} cannot be read")
    # O_EXCL|O_NOFOLLOW: never write through a link or over something already written.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(1 << 20):
            out.write(chunk)


def _ensure_no_link_on_the_way(dest: Path, path: Path, archive: Path) -> None:
    current = dest
    for part in path.relative_to(dest).parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise SnapshotError(
                f"snapshot {archive}: member {str(path.relative_to(dest))!r} would be written through a link;"
                " refusing to unpack"
            )


def _norm(name: str) -> str:
    normal = posixpath.normpath(name)
    return "" if normal == "." else normal
