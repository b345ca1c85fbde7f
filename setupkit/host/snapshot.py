"""A host read from a snapshot bundle (SNAPSHOT.md): a folder, or the same folder packed as .tar.gz.

Nothing in a snapshot is executed or unpickled. Paths are resolved by hand inside ``files/`` as in a chroot:
an absolute link target means that path inside files/, ``..`` stops at its root, and no link is ever followed
out of it. A packed bundle is checked member by member before anything is written (see ``tarsafe``).

Every read is bounded (docs/snapshot.md, "Bounds"): a file under files/ is read only when it is a regular file
of at most the live host's MAX_FILE_BYTES (else it is absent, as a FIFO or a device is), a JSON document only
when it is a regular file of at most MAX_JSON_BYTES, shallow, without NaN; and what the loader hands on is
well typed (a string or None, an int or None), whatever the document held.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from setupkit import bounded
from setupkit.errors import SnapshotError
from setupkit.host import tarsafe
from setupkit.host.base import DEFAULT_TIMEOUT, ENV_KEYS, NOT_INSTALLED, CommandResult, Host, PythonInfo
from setupkit.host.live import MAX_FILE_BYTES

FORMAT = "setupkit-snapshot"
VERSION = 1
KEEP = ".keep"
MAX_LINK_HOPS = 40
MAX_JSON_BYTES = 16 * 1024 * 1024
"""Far above any real document (a capture's commands.json is a few hundred KiB), and low enough that the worst
one (a single 16 MiB string) parses in seconds; a sparse 4 GiB one is refused by its size."""
MAX_FLATTENED_LINK = 1024
RETURNCODES = range(-255, 256)
"""What a program can end with: 0-255, or minus the signal that ended it."""
_COMMAND_SHAPE = ('each entry is {"argv": [strings], "returncode": an integer from -255 to 255 or null,'
                  ' "stdout": string, "stderr": string}')
_PROBE_SHAPE = ('it maps a probe name to {"argv": [strings], "returncode": an integer from -255 to 255 or null,'
                ' "stdout": string, "stderr": string}')

# A link that travelled through a tool without link support (git with core.symlinks=false, some archivers)
# arrives as a small regular file holding only its target, with no newline. Such a file is read as the link
# it was when its target exists in the snapshot.
_FLATTENED_LINK = re.compile(r"[A-Za-z0-9._+@/-]{1,1024}")


class SnapshotHost(Host):
    """A frozen host. Use as a context manager when it may have unpacked a .tar.gz into a temporary folder."""

    def __init__(self, path: str | os.PathLike[str]):
        self.source = Path(path)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        try:
            self.root = self._open(self.source)
            self.files = self.root / "files"
            self.manifest = self._load_json("manifest.json", dict)
            self._check_manifest()
            self._commands = self._load_commands()
            self._nvml: dict[str, Any] = self._load_json("nvml.json", dict)
            self._env = self._load_json("env.json", dict)
            self._python = self._load_python()
            self._probes = self._load_probes()
        except BaseException:
            self.close()  # a bundle unpacked for nothing goes away now, not when the collector gets to it
            raise

    # -- opening ---------------------------------------------------------------------------------------------

    def _open(self, source: Path) -> Path:
        if not source.exists():
            raise SnapshotError(f"snapshot {source}: no such file or folder")
        if source.is_dir():
            root = source
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="setupkit-snapshot-")
            root = tarsafe.extract(source, Path(self._tmp.name))
        if not stat.S_ISDIR(_mode(root / "files")):
            raise SnapshotError(f"snapshot {source}: it has no files/ folder; is this a setupkit snapshot?")
        return root

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _load_json(self, name: str, kind: type) -> Any:
        path = self.root / name
        try:
            mode = path.lstat().st_mode
        except OSError:
            raise SnapshotError(f"snapshot {self.source}: {name} is missing", hint=tarsafe.RETAKE) from None
        if stat.S_ISLNK(mode):  # it could lead anywhere on this machine, /dev/zero included
            raise SnapshotError(f"snapshot {self.source}: {name} is a symbolic link, not a regular file",
                                hint=tarsafe.RETAKE)
        try:
            data = bounded.loads_json(bounded.read_regular_file(path, MAX_JSON_BYTES, follow_links=False))
        except bounded.BoundError as error:
            raise SnapshotError(f"snapshot {self.source}: {name} {error}", hint=tarsafe.RETAKE) from None
        if not isinstance(data, kind):
            raise SnapshotError(f"snapshot {self.source}: {name} must hold a JSON {kind.__name__}",
                                hint=tarsafe.RETAKE)
        return data

    def _check_manifest(self) -> None:
        found = (self.manifest.get("format"), self.manifest.get("version"))
        if found != (FORMAT, VERSION) or type(found[1]) is not int:  # JSON true == 1 in Python
            raise SnapshotError(
                f"snapshot {self.source}: manifest.json says format {_short(repr(found[0]), 40)} version"
                f" {_short(repr(found[1]), 20)};"
                f" setupkit reads format {FORMAT!r} version {VERSION}"
            )

    def _load_commands(self) -> dict[tuple[str, ...], CommandResult]:
        records = self._load_json("commands.json", list)
        commands: dict[tuple[str, ...], CommandResult] = {}
        for index, record in enumerate(records):
            result = _command_from_json(record)
            if result is None:
                raise SnapshotError(f"snapshot {self.source}: commands.json has a malformed entry"
                                    f" (number {index}): {_short(record)}", hint=_COMMAND_SHAPE)
            commands[result.argv] = result
        return commands

    def _load_probes(self) -> dict[str, CommandResult]:
        """The deep probes' runs by probe name; none when the snapshot was taken without them (no probes.json)."""
        if not os.path.lexists(self.root / "probes.json"):
            return {}
        records = self._load_json("probes.json", dict)
        probes: dict[str, CommandResult] = {}
        for name, record in records.items():
            result = _command_from_json(record)
            if result is None:
                raise SnapshotError(f"snapshot {self.source}: probes.json has a malformed entry"
                                    f" ({_short(repr(name), 40)}): {_short(record)}", hint=_PROBE_SHAPE)
            probes[name] = result
        return probes

    def _load_python(self) -> PythonInfo:
        data = self._load_json("python.json", dict)
        packages = data.get("packages") or {}
        if not isinstance(packages, dict):
            raise SnapshotError(f"snapshot {self.source}: python.json 'packages' must be an object",
                                hint=tarsafe.RETAKE)
        bits = data.get("bits")
        return PythonInfo(
            executable=_opt_str(data.get("executable")),
            version=_opt_str(data.get("version")),
            bits=bits if type(bits) is int and bits in (32, 64) else None,
            pip_version=_opt_str(data.get("pip_version")),
            # A version that is not a string is no version: the package is left out (unknown), not str()-ed.
            packages={name: version for name, version in packages.items() if isinstance(version, str)},
            externally_managed=_opt_bool(data.get("externally_managed")),
            include=_opt_str(data.get("include")),
            ensurepip=_opt_bool(data.get("ensurepip")),
            libc=_opt_str(data.get("libc")),
        )

    # -- the Host contract -----------------------------------------------------------------------------------

    def read_bytes(self, path: str) -> bytes | None:
        real = self._resolve(path)
        if real is None:
            return None
        try:
            # The live host's cap; a FIFO or a device node is absent, as the live host sees it.
            return bounded.read_regular_file(real, MAX_FILE_BYTES, follow_links=False)
        except bounded.BoundError:
            return None

    def list_dir(self, path: str) -> list[str] | None:
        real = self._resolve(path)
        if real is None or not stat.S_ISDIR(_mode(real)):
            return None
        try:
            names = sorted(os.listdir(real))
        except OSError:
            return None
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
        return real is not None and stat.S_ISDIR(_mode(real))

    def run(self, argv: list[str] | tuple[str, ...], timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        found = self._commands.get(tuple(argv))
        if found is None:
            return CommandResult(tuple(argv), NOT_INSTALLED, "", f"{argv[0]}: command not found")
        return found

    def run_probe(self, name: str, argv: list[str] | tuple[str, ...], timeout: float,
                  env: Mapping[str, str] | None = None) -> CommandResult | None:
        # The run the captured machine made, whatever is asked here: its interpreter, its timeout.
        return self._probes.get(name)

    def nvml(self) -> dict[str, Any]:
        return self._nvml

    def env(self) -> dict[str, str | None]:
        return {key: _opt_str(self._env.get(key)) for key in ENV_KEYS}

    def python(self) -> PythonInfo:
        return self._python

    def free_bytes(self, path: str) -> int | None:
        return None  # a snapshot freezes what was read, and free disk was not: unknown

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
            info = real.lstat()
            if stat.S_ISLNK(info.st_mode):
                return os.readlink(real)
        except OSError:
            return None
        if stat.S_ISREG(info.st_mode) and 0 < info.st_size <= MAX_FLATTENED_LINK:
            return self._flattened_target(real)
        return None

    def _flattened_target(self, real: Path) -> str | None:
        try:
            text = bounded.read_regular_file(real, MAX_FLATTENED_LINK, follow_links=False).decode("ascii")
        except (bounded.BoundError, UnicodeDecodeError):
            return None
        if not _FLATTENED_LINK.fullmatch(text) or "/" not in text and "." not in text:
            return None
        host_path = "/" + str(real.relative_to(self.files))
        target = text if text.startswith("/") else posixpath.join(posixpath.dirname(host_path), text)
        target = posixpath.normpath(target)
        if target == host_path or not os.path.lexists(self.files / target.lstrip("/")):
            return None
        return text


def _mode(real: Path) -> int:
    """The file type and mode bits without following a link; 0 (no type) when it went away."""
    try:
        return real.lstat().st_mode
    except OSError:
        return 0


def _clean(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/"))


def _command_from_json(record: Any) -> CommandResult | None:
    if not isinstance(record, dict):
        return None
    argv = record.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return None
    code = record.get("returncode")
    if code is not None and (type(code) is not int or code not in RETURNCODES):  # not a bool, a float, a googol
        return None
    return CommandResult(tuple(argv), code, _opt_str(record.get("stdout")) or "", _opt_str(record.get("stderr")) or "")


def _opt_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
