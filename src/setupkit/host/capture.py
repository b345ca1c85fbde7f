"""``setupkit snapshot``: record what the probes read on this machine and write it as a bundle (SNAPSHOT.md)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import posixpath
import re
import socket
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Callable

from setupkit.errors import PreconditionError
from setupkit.host.base import CommandResult, PythonInfo
from setupkit.host.recording import Recording, RecordingHost
from setupkit.host.snapshot import FORMAT, KEEP, VERSION

# Read beside what the probes read, so that a support team has the contract's minimum (SNAPSHOT.md, "What
# `setupkit snapshot` captures") even where a probe found what it needed elsewhere.
CONTRACT_FILES = (
    "/etc/os-release", "/usr/lib/os-release", "/etc/lsb-release", "/etc/debian_version", "/etc/redhat-release",
    "/proc/version", "/proc/cpuinfo", "/proc/meminfo", "/proc/modules", "/proc/cmdline",
    "/sys/class/dmi/id/chassis_type", "/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name",
    "/proc/driver/nvidia/version", "/sys/module/nvidia/version", "/etc/X11/default-display-manager",
    "/var/run/reboot-required",
)
CONTRACT_DIRS = (
    "/etc/modprobe.d", "/sys/class/power_supply", "/proc/driver/nvidia/gpus", "/run/systemd/system",
    "/sys/firmware/efi",
)
CONTRACT_LINKS = ("/etc/systemd/system/display-manager.service", "/usr/local/cuda")
_GPU_UUID = re.compile(r"\b(GPU|MIG)-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def record_live_host() -> Recording:
    """Run every probe against this machine through a recording host, then read the contract's minimum."""
    from setupkit.host.live import LiveHost
    from setupkit.probes import collect_facts

    host = RecordingHost(LiveHost())
    collect_facts(host)
    for path in CONTRACT_FILES:
        host.read_bytes(path)
    for path in CONTRACT_DIRS:
        host.list_dir(path)
    for path in CONTRACT_LINKS:
        host.read_link(path)
    host.glob_dir("/dev", prefix="nvidia")
    return host.record


def default_output() -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"setupkit-snapshot-{socket.gethostname() or 'host'}-{stamp}.tar.gz"


def write_snapshot(record: Recording, output: str, note: str = "", redact: bool = False) -> Path:
    """Write ``record`` as a folder, or as .tar.gz when ``output`` ends so. Returns the path written."""
    out = Path(output)
    if out.exists() and (out.is_file() or any(out.iterdir())):
        raise PreconditionError(f"{out} already exists; choose another -o PATH or remove it first")
    if redact:
        record = redact_recording(record)
    if output.endswith((".tar.gz", ".tgz")):
        with tempfile.TemporaryDirectory(prefix="setupkit-snapshot-") as tmp:
            folder = Path(tmp) / out.name.split(".")[0]
            _write_folder(record, folder, note)
            with tarfile.open(out, "w:gz") as tar:
                tar.add(folder, arcname=folder.name)
        return out
    _write_folder(record, out, note)
    return out


def _write_folder(record: Recording, root: Path, note: str) -> None:
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    for path in sorted(record.dirs):
        (files / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for path, target in sorted(record.links.items()):
        _place(files, path, lambda dest, t=target: os.symlink(t, dest))
    for path, data in sorted(record.files.items()):
        _place(files, path, lambda dest, d=data: dest.write_bytes(d))
    _mark_empty_dirs(files)
    manifest = {"format": FORMAT, "version": VERSION, "created": _now(), "note": note or "setupkit snapshot"}
    _dump(root / "manifest.json", manifest)
    _dump(root / "commands.json", [result.to_json() for result in record.commands.values()])
    _dump(root / "nvml.json", record.nvml or {"error": "NVMLError_Uninitialized", "message": "not queried"})
    _dump(root / "env.json", record.env or {})
    _dump(root / "python.json", (record.python or PythonInfo()).to_json())


def _place(files: Path, path: str, make: Callable[[Path], None]) -> None:
    dest = files / path.lstrip("/")
    if os.path.lexists(dest) or any(p.is_symlink() for p in dest.parents if files in p.parents):
        return  # already placed, or its folder is a link: the link says where the content lives
    dest.parent.mkdir(parents=True, exist_ok=True)
    make(dest)


def _mark_empty_dirs(files: Path) -> None:
    for folder, subdirs, names in os.walk(files):
        if not subdirs and not names:
            (Path(folder) / KEEP).write_bytes(b"")


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- redaction -----------------------------------------------------------------------------------------------


def redact_recording(record: Recording) -> Recording:
    """Replace hostnames, user names, GPU UUIDs and serial numbers everywhere: contents, paths, JSON."""
    replace = _replacer()
    return Recording(
        files={replace(p): replace(d.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
               for p, d in record.files.items() if not _is_serial(p)},
        links={replace(p): replace(t) for p, t in record.links.items()},
        dirs={replace(p) for p in record.dirs},
        commands={tuple(replace(a) for a in argv): _redact_command(r, replace) for argv, r in record.commands.items()},
        nvml=json.loads(replace(json.dumps(record.nvml))) if record.nvml is not None else None,
        env={k: replace(v) if v else v for k, v in (record.env or {}).items()},
        python=_redact_python(record.python, replace),
    )


def _replacer() -> Callable[[str], str]:
    secrets = _secrets()
    uuids: dict[str, str] = {}

    def replace(text: str) -> str:
        for secret, stand_in in secrets:
            text = text.replace(secret, stand_in)
        return _GPU_UUID.sub(lambda m: uuids.setdefault(m.group(0), _stand_in_uuid(m.group(1), len(uuids))), text)

    return replace


def _secrets() -> list[tuple[str, str]]:
    """The host's names and its users' names, longest first so that no part of one is left behind."""
    found: dict[str, str] = {}
    for name in {socket.gethostname(), socket.getfqdn()}:
        if name and name not in ("localhost", "localhost.localdomain"):
            found[name] = "redacted-host"
    for name in {os.environ.get("USER"), os.environ.get("SUDO_USER"), os.environ.get("LOGNAME"), _home_user()}:
        if name and name != "root" and len(name) > 1:
            found[name] = "user"
    return sorted(found.items(), key=lambda item: -len(item[0]))


def _home_user() -> str | None:
    home = os.path.expanduser("~")
    return posixpath.basename(home) if home.startswith("/home/") else None


def _stand_in_uuid(kind: str, index: int) -> str:
    return f"{kind}-00000000-0000-0000-0000-{index:012d}"


def _is_serial(path: str) -> bool:
    return posixpath.basename(path) in ("product_serial", "board_serial", "chassis_serial", "product_uuid")


def _redact_command(result: CommandResult, replace: Callable[[str], str]) -> CommandResult:
    return CommandResult(tuple(replace(a) for a in result.argv), result.returncode,
                         replace(result.stdout), replace(result.stderr))


def _redact_python(info: PythonInfo | None, replace: Callable[[str], str]) -> PythonInfo | None:
    if info is None:
        return None
    return PythonInfo(replace(info.executable or "") or None, info.version, info.bits, info.pip_version,
                      dict(info.packages), info.externally_managed)
