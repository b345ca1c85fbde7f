"""A host read from a snapshot bundle (SNAPSHOT.md): a folder, or the same folder packed as .tar.gz.

Nothing in a snapshot is executed or unpickled. Paths are resolved by hand inside ``files/`` as in a chroot:
an absolute link target means that path inside files/, ``..`` stops at its root, and no link is ever followed
out of it. A packed bundle is checked member by member before anything is written (see ``tarsafe``).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from setupkit.errors import SnapshotError
from setupkit.host.base import DEFAULT_TIMEOUT, ENV_KEYS, NOT_INSTALLED, CommandResult, Host, PythonInfo
from setupkit.host import tarsafe

FORMAT = "setupkit-snapshot"
VERSION = 1
KEEP = ".keep"
MAX_LINK_HOPS = 40
JSON_FILES = ("manifest.json", "commands.json", "nvml.json", "env.json", "python.json")

# A link that travelled through a tool without link support (git with core.symlinks=false, some archivers)
# arrives as a small regular file holding only its target, with no newline. Such a file is read as the link
# it was when its target exists in the snapshot.
_FLATTENED_LINK = re.compile(r"[A-Za-z0-9._+@/-]{1,1024}")


class SnapshotHost(Host):
    """A frozen host. Use as a context manager when it may have unpacked a .tar.gz into a temporary folder."""

    def __init__(self, path: str | os.PathLike[str]):
        self.source = Path(path)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.root = self._open(self.source)
        self.files = self.root / "files"
        self.manifest = self._load_json("manifest.json", dict)
        self._check_manifest()
        self._commands = self._load_commands()
        self._nvml = self._load_json("nvml.json", dict)
        self._env = self._load_json("env.json", dict)
        self._python = self._load_python()

    # -- opening ---------------------------------------------------------------------------------------------

    def _open(self, source: Path) -> Path:
        if not source.exists():
            raise SnapshotError(f"snapshot {source}: no such file or folder")
        if source.is_dir():
            if not (source / "files").is_dir() or (source / "files").is_symlink():
                raise SnapshotError(f"snapshot {source}: it has no files/ folder; is this a setupkit snapshot?")
            return source
        self._tmp = tempfile.TemporaryDirectory(prefix="setupkit-snapshot-")
        try:
            return tarsafe.extract(source, Path(self._tmp.name))
        except SnapshotError:
            self.close()
            raise

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "SnapshotHost":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load_json(self, name: str, kind: type) -> Any:
        path = self.root / name
        if path.is_symlink() or not path.is_file():
            raise SnapshotError(f"snapshot {self.source}: {name} is missing")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise SnapshotError(f"snapshot {self.source}: {name} is not valid JSON ({_short(error)})") from None
        if not isinstance(data, kind):
            raise SnapshotError(f"snapshot {self.source}: {name} must hold a JSON {kind.__name__}")
        return data

    def _check_manifest(self) -> None:
        found = (self.manifest.get("format"), self.manifest.get("version"))
        if found != (FORMAT, VERSION):
            raise SnapshotError(
                f"snapshot {self.source}: manifest.json says format {found[0]!r} version {found[1]!r};"
                f" setupkit reads format {FORMAT!r} version {VERSION}"
            )

    def _load_commands(self) -> dict[tuple[str, ...], CommandResult]:
        records = self._load_json("commands.json", list)
        commands: dict[tuple[str, ...], CommandResult] = {}
        for record in records:
            result = _command_from_json(record)
            if result is None:
                raise SnapshotError(f"snapshot {self.source}: commands.json has a malformed entry: {_short(record)}")
            commands[result.argv] = result
        return commands

    def _load_python(self) -> PythonInfo:
        data = self._load_json("python.json", dict)
        packages = data.get("packages") or {}
        if not isinstance(packages, dict):
            raise SnapshotError(f"snapshot {self.source}: python.json 'packages' must be an object")
        return PythonInfo(
            executable=_opt_str(data.get("executable")),
            version=_opt_str(data.get("version")),
            bits=data.get("bits") if isinstance(data.get("bits"), int) else None,
            pip_version=_opt_str(data.get("pip_version")),
            packages={str(k): str(v) for k, v in packages.items()},
            externally_managed=_opt_bool(data.get("externally_managed")),
        )

    # -- the Host contract -----------------------------------------------------------------------------------

    def read_bytes(self, path: str) -> bytes | None:
        real = self._resolve(path)
        if real is None or not stat.S_ISREG(real.lstat().st_mode):
            return None
        try:
            return real.read_bytes()
        except OSError:
            return None

    def list_dir(self, path: str) -> list[str] | None:
        real = self._resolve(path)
        if real is None or not stat.S_ISDIR(real.lstat().st_mode):
            return None
        names = sorted(os.listdir(real))
        return [] if names == [KEEP] else names

    def read_link(self, path: str) -> str | None:
        parent = self._resolve(posixpath.dirname(_clean(path)))
        if parent is None:
            return None
        return self._link_target(parent / posixpath.basename(_clean(path)))

    def exists(self, path: str) -> bool:
        return self._resolve(path) is not None

    def is_dir(self, path: str) -> bool:
        real = self._resolve(path)
        return real is not None and stat.S_ISDIR(real.lstat().st_mode)

    def run(self, argv: list[str] | tuple[str, ...], timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        found = self._commands.get(tuple(argv))
        if found is None:
            return CommandResult(tuple(argv), NOT_INSTALLED, "", f"{argv[0]}: command not found")
        return found

    def nvml(self) -> dict[str, Any]:
        return self._nvml

    def env(self) -> dict[str, str | None]:
        return {key: _opt_str(self._env.get(key)) for key in ENV_KEYS}

    def python(self) -> PythonInfo:
        return self._python

    # -- resolution inside files/ ----------------------------------------------------------------------------

    def _resolve(self, path: str) -> Path | None:
        """The real path under files/ that a host path names, links followed as in a chroot; None if absent."""
        parts = [p for p in _clean(path).split("/") if p]
        current = self.files
        depth: list[Path] = [current]
        hops = 0
        while parts:
            name = parts.pop(0)
            if name == ".":
                continue
            if name == "..":
                if len(depth) > 1:
                    depth.pop()
                current = depth[-1]
                continue
            candidate = current / name
            if not os.path.lexists(candidate):
                return None
            target = self._link_target(candidate)
            if target is not None:
                hops += 1
                if hops > MAX_LINK_HOPS:
                    return None
                if target.startswith("/"):
                    depth = [self.files]
                parts = [p for p in target.split("/") if p] + parts
                current = depth[-1]
                continue
            current = candidate
            depth.append(current)
        return current

    def _link_target(self, real: Path) -> str | None:
        try:
            mode = real.lstat().st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            return os.readlink(real)
        if stat.S_ISREG(mode) and 0 < real.lstat().st_size <= 1024:
            return self._flattened_target(real)
        return None

    def _flattened_target(self, real: Path) -> str | None:
        try:
            text = real.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None
        if not _FLATTENED_LINK.fullmatch(text) or "/" not in text and "." not in text:
            return None
        host_path = "/" + str(real.relative_to(self.files))
        target = text if text.startswith("/") else posixpath.join(posixpath.dirname(host_path), text)
        target = posixpath.normpath(target)
        if target == host_path or not os.path.lexists(self.files / target.lstrip("/")):
            return None
        return text


def _clean(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/"))


def _command_from_json(record: Any) -> CommandResult | None:
    if not isinstance(record, dict):
        return None
    argv = record.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return None
    code = record.get("returncode")
    if code is not None and not isinstance(code, int):
        return None
    return CommandResult(tuple(argv), code, _opt_str(record.get("stdout")) or "", _opt_str(record.get("stderr")) or "")


def _opt_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
