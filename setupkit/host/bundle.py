"""The bundle writer: the one code that writes the snapshot format (SNAPSHOT.md) from a ``Recording``.

``bundle_entries`` turns a recording into the bundle's entries (pure, in memory) and ``write_bundle`` puts them
at a path, as a folder or a .tar.gz, all or nothing: everything is written under a temporary name in the
target's own folder and renamed into place at the end; on any failure the temporary is removed, so a retry
finds nothing in its way. ``write_recording`` is the two together.
"""

from __future__ import annotations

import datetime as _dt
import errno
import gzip
import io
import json
import math
import os
import posixpath
import re
import secrets
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from setupkit.bounded import describe_mode
from setupkit.errors import ActionFailed, PreconditionError
from setupkit.host.base import PythonInfo
from setupkit.host.recording import Recording
from setupkit.host.snapshot import FORMAT, KEEP, VERSION

TARBALL_SUFFIXES = (".tar.gz", ".tgz")
TAR_MTIME = 946684800
"""2000-01-01T00:00:00Z for every member and the gzip header: a bundle says when it was taken in manifest.json
only, and two captures of the same host give the same bytes but for that line. (0 makes GNU tar warn.)"""
DEFAULT_NAME = "setupkit-snapshot"
"""The stem of a bundle's default file name, of its temporary name, and its top folder when its own is odd."""
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]*")
"""A name that makes a plain file or folder name (no leading dot, no markup, no spaces)."""


def write_recording(record: Recording, output: str, note: str = "", created: str | None = None) -> Path:
    """Write ``record`` at ``output`` (a folder, or a .tar.gz when it ends so). Returns the path written."""
    return write_bundle(bundle_entries(record, note, created), output)


# -- the bundle's entries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One entry of a bundle, at ``path`` relative to its root: a folder, a file (``data``) or a link (``target``)."""

    path: str
    kind: str  # dir, file, link
    data: bytes = b""
    target: str = ""


def bundle_entries(record: Recording, note: str = "", created: str | None = None) -> list[Entry]:
    """The entries of the bundle that holds ``record`` (SNAPSHOT.md's layout), parents before children.
    ``created`` (ISO 8601, default now) is the bundle's only time: the same one gives the same bytes."""
    manifest = {"format": FORMAT, "version": VERSION, "created": created or _now(), "note": note or "setupkit snapshot"}
    documents: dict[str, Any] = {
        "manifest.json": manifest,
        "commands.json": [result.to_json() for result in record.commands.values()],
        "nvml.json": record.nvml or {"error": "NVMLError_Uninitialized", "message": "not queried"},
        "env.json": record.env or {},
        "python.json": (record.python or PythonInfo()).to_json(),
    }
    if record.probes:
        documents["probes.json"] = {name: result.to_json() for name, result in record.probes.items()}
    entries = [Entry(name, "file", _json_bytes(doc)) for name, doc in documents.items()]
    entries.append(Entry("files", "dir"))
    tree = _files_tree(record)
    for path in sorted(tree, key=lambda p: p.split("/")):
        node = tree[path]
        entries.append(Entry(f"files/{path}", node.kind, node.data, node.target))
    return entries


def _files_tree(record: Recording) -> dict[str, Entry]:
    """What goes under files/, keyed by path relative to it. Folders first, then links, then files: an entry
    whose place is taken, or whose folder is a link (the link says where the content lives), is left out."""
    tree: dict[str, Entry] = {}
    for path in sorted(record.dirs):
        _place(tree, path, "dir")
    for path, target in sorted(record.links.items()):
        _place(tree, path, "link", target=target)
    for path, data in sorted(record.files.items()):
        _place(tree, path, "file", data=data)
    parents = {posixpath.dirname(path) for path in tree}
    for path, node in list(tree.items()):
        if node.kind == "dir" and path not in parents:
            tree[f"{path}/{KEEP}"] = Entry(f"{path}/{KEEP}", "file")  # an empty folder survives tools that drop them
    if not tree:
        tree[KEEP] = Entry(KEEP, "file")
    return tree


def _place(tree: dict[str, Entry], host_path: str, kind: str, data: bytes = b"", target: str = "") -> None:
    # normpath of an absolute path cannot climb above its root: nothing lands outside files/.
    relative = posixpath.normpath("/" + host_path).lstrip("/")
    if not relative or relative in tree:
        return
    ancestors = _ancestors(relative)
    if any(a in tree and tree[a].kind != "dir" for a in ancestors):
        return
    for ancestor in ancestors:
        tree.setdefault(ancestor, Entry(ancestor, "dir"))
    tree[relative] = Entry(relative, kind, data, target)


def _ancestors(relative: str) -> list[str]:
    parts = relative.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(_finite(document), indent=1, sort_keys=False) + "\n").encode("utf-8")


def _finite(value: Any) -> Any:
    """NaN and Infinity as null: json.dumps would write them, and they are not JSON (the reader refuses them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- writing, all or nothing ---------------------------------------------------------------------------------


def check_output(output: str) -> Path:
    """The target path, when a bundle can be written there: nothing is in the way (an empty folder may take a
    folder bundle) and its folder exists. Raises PreconditionError (exit 3) saying what to do otherwise."""
    target = Path(output)
    try:
        info: os.stat_result | None = os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):
        info = None
    except OSError as error:
        raise PreconditionError(f"cannot write {target}: {_reason(error)}", hint="choose another -o PATH") from None
    if info is not None and not (_is_folder_output(output) and stat.S_ISDIR(info.st_mode) and _is_empty(target)):
        kind = "a file" if stat.S_ISREG(info.st_mode) else describe_mode(info.st_mode)
        raise PreconditionError(f"{target} already exists ({kind})", hint="choose another -o PATH, or remove it first")
    parent = target.parent
    if not parent.is_dir():
        what = "is not a folder" if os.path.lexists(parent) else "does not exist"
        raise PreconditionError(f"cannot write {target}: the folder {parent} {what}",
                                hint=f"create it first (mkdir -p {parent}), or choose another -o PATH")
    return target


def write_bundle(entries: list[Entry], output: str) -> Path:
    """Write ``entries`` at ``output`` (a folder, or a .tar.gz when it ends so), under a temporary name renamed
    into place at the end. Exit 3 when it cannot start there, 4 when it fails midway; nothing is left behind."""
    target = check_output(output)
    folder = _is_folder_output(output)
    temp = _reserve_temp(target, folder)
    try:
        if folder:
            _write_folder(entries, temp)
        else:
            _write_tarball(entries, temp, _top_folder(target))
        _move_into_place(temp, target)
    except BaseException as error:
        _remove(temp)
        if isinstance(error, OSError):
            raise ActionFailed(f"writing the snapshot {target} failed: {_reason(error)}; nothing was left behind",
                               hint=_hint(error, target.parent)) from None
        raise
    return target


def _is_folder_output(output: str) -> bool:
    return not output.endswith(TARBALL_SUFFIXES)


def _is_empty(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def _reserve_temp(target: Path, folder: bool) -> Path:
    """A new, unique name beside the target (the same file system, so the final rename is atomic)."""
    temp = target.parent / f".{DEFAULT_NAME}-{secrets.token_hex(8)}.partial"
    try:
        if folder:
            os.mkdir(temp)
        else:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))
    except OSError as error:
        raise PreconditionError(f"cannot write the snapshot in {target.parent}: {_reason(error)}",
                                hint=_hint(error, target.parent)) from None
    return temp


def _write_folder(entries: list[Entry], root: Path) -> None:
    for entry in entries:
        path = root / entry.path
        if entry.kind == "dir":
            os.mkdir(path)
        elif entry.kind == "link":
            os.symlink(entry.target, path)
        else:
            # O_EXCL|O_NOFOLLOW: into a folder just made, never through a link or over anything.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
            with open(fd, "wb") as handle:
                handle.write(entry.data)


def _write_tarball(entries: list[Entry], path: Path, top: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    with open(fd, "wb") as raw:
        # No file name in the gzip header (the temporary one, or a host name), and the fixed time.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=TAR_MTIME) as packed:
            with tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.addfile(_tar_info(top, "dir"))
                for entry in entries:
                    info = _tar_info(f"{top}/{entry.path}", entry.kind, len(entry.data), entry.target)
                    tar.addfile(info, io.BytesIO(entry.data) if entry.kind == "file" else None)
        raw.flush()
        os.fsync(raw.fileno())  # a full disk says so now, before the rename, not after


def _tar_info(name: str, kind: str, size: int = 0, target: str = "") -> tarfile.TarInfo:
    """A member that says nothing of who wrote it, or when: root/root, uid 0, the fixed time."""
    info = tarfile.TarInfo(name)
    info.type = {"dir": tarfile.DIRTYPE, "link": tarfile.SYMTYPE, "file": tarfile.REGTYPE}[kind]
    info.mode = {"dir": 0o755, "link": 0o777, "file": 0o644}[kind]
    info.size = size if kind == "file" else 0
    info.linkname = target
    info.mtime = TAR_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _top_folder(target: Path) -> str:
    """The folder a bundle unpacks into: the file's name without .tar.gz, or a neutral one when that name would
    make an odd folder ('.x', '[red]x', empty)."""
    name = target.name
    for suffix in TARBALL_SUFFIXES:
        name = name.removesuffix(suffix)
    return name if SAFE_NAME.fullmatch(name) else DEFAULT_NAME


def _move_into_place(temp: Path, target: Path) -> None:
    if os.path.lexists(target) and not (temp.is_dir() and target.is_dir() and _is_empty(target)):
        raise PreconditionError(f"{target} appeared while the snapshot was written",
                                hint="choose another -o PATH, or remove it first")
    os.rename(temp, target)  # over an empty folder too: rename(2) replaces one


def _remove(temp: Path) -> None:
    try:
        if temp.is_dir() and not temp.is_symlink():
            shutil.rmtree(temp)
        else:
            temp.unlink()
    except OSError:
        pass  # the failure being reported matters more than a leftover with a name no retry will meet


_HINTS = {
    errno.EACCES: "choose -o PATH in a folder you may write to",
    errno.EPERM: "choose -o PATH in a folder you may write to",
    errno.EROFS: "that file system is read-only; choose -o PATH on another one",
    errno.ENOSPC: "free some space on the file system of {parent}, or choose -o PATH on another one",
    errno.EDQUOT: "your disk quota is used up; free some space, or choose -o PATH elsewhere",
    errno.EFBIG: "the bundle is larger than this shell lets a program write (ulimit -f); raise the limit",
}


def _hint(error: OSError, parent: Path) -> str:
    return _HINTS.get(error.errno or 0, "choose another -o PATH").format(parent=parent)


def _reason(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)
