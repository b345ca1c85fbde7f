"""``setupkit snapshot``: record what the probes read on this machine, add the support minimum, and write it as a
bundle (SNAPSHOT.md) through the one bundle writer."""

from __future__ import annotations

import datetime as _dt
import socket
from collections.abc import Callable
from pathlib import Path

from setupkit.host.bundle import DEFAULT_NAME, SAFE_NAME, check_output, write_recording
from setupkit.host.live import LiveHost
from setupkit.host.recording import Recording, RecordingHost
from setupkit.probes import DeepRequest, collect_facts
from setupkit.probes.measure import MeasureRequest, parse_level
from setupkit.probes.measure import measure as run_measurements
from setupkit.snapshot.redact import redact_recording

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


Progress = Callable[[str], None]


def measure_request(level: str) -> MeasureRequest | None:
    """What `snapshot --level N` asks of the measurement probes: None at level 1; a bad level is exit 2."""
    return MeasureRequest() if parse_level(level) == 2 else None


def take_snapshot(output: str, note: str = "", redact: bool = False, deep: DeepRequest | None = None,
                  measure: MeasureRequest | None = None, progress: Progress | None = None) -> Path:
    """Record this host and write it at ``output``. A path that cannot take the bundle says so (exit 3) before
    the host is read, not after. Returns the path written."""
    check_output(output)
    return write_snapshot(record_live_host(deep=deep, measure=measure, progress=progress), output, note=note,
                          redact=redact)


def record_live_host(deep: DeepRequest | None = None, measure: MeasureRequest | None = None,
                     progress: Progress | None = None) -> Recording:
    """Run every probe against this machine through a recording host, then read the contract's minimum.
    With ``deep`` the deep probes run too, and with ``measure`` the level-2 measurements: the recording holds
    their runs (probes.json)."""
    host = RecordingHost(LiveHost())
    with host:
        facts = collect_facts(host, deep=deep)
        if measure is not None:
            run_measurements(host, facts, measure, progress)
        for path in CONTRACT_FILES:
            host.read_bytes(path)
        for path in CONTRACT_DIRS:
            host.list_dir(path)
        for path in CONTRACT_LINKS:
            host.read_link(path)
        host.glob_dir("/dev", prefix="nvidia")
        return host.record


def write_snapshot(record: Recording, output: str, note: str = "", redact: bool = False) -> Path:
    """Write ``record`` as a folder, or as .tar.gz when ``output`` ends so. Returns the path written."""
    check_output(output)
    if redact:
        record = redact_recording(record)
    return write_recording(record, output, note=note)


def default_output(redact: bool = False) -> str:
    """./setupkit-snapshot-<host>-<time>.tar.gz; without the host name when the bundle is to be redacted."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    if redact:
        return f"{DEFAULT_NAME}-{stamp}.tar.gz"
    host = socket.gethostname()
    return f"{DEFAULT_NAME}-{host if SAFE_NAME.fullmatch(host) else 'host'}-{stamp}.tar.gz"
