"""Probe: each GPU's health, level 1 (the gpu.* health facts): what NVML says of its PCIe link, its memory (ECC,
retired pages, remapped rows), its clocks and power limit, persistence and MIG mode; and the driver's Xid errors
in the kernel log.

By hand: ``nvidia-smi -q -d PCIE,ECC,PAGE_RETIREMENT,ROW_REMAPPER,PERFORMANCE,POWER`` and
``sudo dmesg | grep -i xid``. The NVML fields are nvml.json's (host/nvml.py asks them); the kernel log is read
through the host's door for probes (``Host.run_probe``), and only where a GPU is present and the nvidia module is
loaded: a host without either has no Xid to read and pays for no program.
"""

from __future__ import annotations

import re
from typing import Any

from setupkit.bounded import ascii_int, finite_number
from setupkit.facts import Facts
from setupkit.host.base import CommandResult, Host
from setupkit.probes.nvml_answer import nvml_answer, nvml_devices

DMESG = "dmesg"
"""The probe's name in a snapshot's probes.json."""
DMESG_ARGV = ("sh", "-c", "log=$(dmesg) || exit $?; printf '%s\\n' \"$log\" | grep -F 'NVRM: Xid' || true")
"""util-linux's and busybox's dmesg alike (no option only one of them knows), cut to the driver's Xid lines: the
rest of the kernel log is none of doctor's business, and a snapshot of it would carry disk serials, MAC and IP
addresses. dmesg's own exit status and message ("Operation not permitted") come through unchanged."""
DMESG_TIMEOUT_S = 3.0
"""dmesg copies a few MiB at most; it takes milliseconds."""
DMESG_ENV = {"LC_ALL": "C", "LANG": "C"}
"""dmesg's own messages ("Operation not permitted") in English, as the probe reads them."""
MAX_EVENTS = 64
"""Distinct Xid/GPU pairs kept: a flood of one Xid counts up, it is not copied."""
MAX_MESSAGE = 200
"""Characters kept of an Xid's text: the driver's are one line of a few words and numbers."""
MAX_COUNT = 1 << 31

# NVML's clocks event reasons (nvml.h, nvmlClocksEventReason*; pynvml.py gives the same bits), by bit.
CLOCKS_EVENT_REASONS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
MAX_MASK = 1 << 64
NOT_SUPPORTED = "NVMLError_NotSupported"

# "NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python3, GPU has fallen off the bus." (drivers before about
# 400 wrote "Xid (0000:01:00): 3, ..."); the PCI address is the GPU's bus:device, without the function.
_XID = re.compile(r"NVRM: Xid \((?:PCI:)?(?P<pci>[0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)\): "
                  r"(?P<xid>[0-9]{1,4})(?:,\s*(?P<message>[^\r\n]*))?")

_FLAGS = ("persistence_mode", "mig_mode", "ecc_mode", "retired_pages_pending", "remapped_rows_pending",
          "remapped_rows_failed")


def probe(host: Host, facts: Facts) -> Facts:
    devices = nvml_devices(nvml_answer(host))
    found = nvml_health_facts(devices) if devices is not None else {}
    if facts.get("gpu.count") and facts.get("driver.loaded") is True:
        found.update(kernel_log_facts(host.run_probe(DMESG, DMESG_ARGV, DMESG_TIMEOUT_S, env=DMESG_ENV)))
    return found


# -- NVML's answer --------------------------------------------------------------------------------------------


def nvml_health_facts(devices: list[dict[str, Any]]) -> Facts:
    """The gpu.* health facts from nvml.json's devices, each a list in the devices' order."""

    def each(field: str, read: Any) -> list[Any]:
        return [read(device.get(field)) for device in devices]

    pcie_gen = [_pair(device.get("pcie_gen")) for device in devices]
    pcie_width = [_pair(device.get("pcie_width")) for device in devices]
    return {
        "gpu.pcie_gen": [current for current, _ in pcie_gen],
        "gpu.pcie_gen_max": [maximum for _, maximum in pcie_gen],
        "gpu.pcie_gen_gpu_max": each("pcie_gen_gpu_max", _small_count),
        "gpu.pcie_width": [current for current, _ in pcie_width],
        "gpu.pcie_width_max": [maximum for _, maximum in pcie_width],
        "gpu.ecc_mode": each("ecc_mode", _bool),
        "gpu.ecc_uncorrected_volatile": each("ecc_uncorrected_volatile", _count),
        "gpu.ecc_uncorrected_aggregate": each("ecc_uncorrected_aggregate", _count),
        "gpu.retired_pages_pending": each("retired_pages_pending", _bool),
        "gpu.remapped_rows_pending": each("remapped_rows_pending", _bool),
        "gpu.remapped_rows_failed": each("remapped_rows_failed", _bool),
        "gpu.throttle_reasons": each("clocks_event_reasons", throttle_reasons),
        "gpu.power_limit_w": each("power_limit_w", _watts),
        "gpu.power_default_limit_w": each("power_default_limit_w", _watts),
        "gpu.persistence_mode": each("persistence_mode", _bool),
        "gpu.mig_mode": each("mig_mode", _bool),
        "gpu.nvml_unsupported": [_unsupported(device) for device in devices],
    }


def throttle_reasons(mask: Any) -> list[str] | None:
    """NVML's clocks event reasons bit mask -> the reasons' names ([] for none); a bit NVML has not named is
    "unknown_0x200"; None when the mask is no 64-bit count."""
    if type(mask) is not int or not 0 <= mask < MAX_MASK:
        return None
    names = []
    bit = 1
    while bit <= mask:
        if mask & bit:
            names.append(CLOCKS_EVENT_REASONS.get(bit, f"unknown_{bit:#x}"))
        bit <<= 1
    return names


def _unsupported(device: dict[str, Any]) -> list[str] | None:
    """The health fields NVML said NotSupported for on this GPU (its "errors" object names why a field is null)."""
    errors = device.get("errors")
    if not isinstance(errors, dict):
        return [] if "error" not in device else None
    return sorted(field for field, why in errors.items()
                  if isinstance(field, str) and isinstance(why, str) and why.startswith(NOT_SUPPORTED)
                  and field in _HEALTH_FIELDS)


_HEALTH_FIELDS = frozenset({*_FLAGS, "pcie_gen", "pcie_width", "pcie_gen_gpu_max", "ecc_uncorrected_volatile",
                            "ecc_uncorrected_aggregate", "remapped_rows_correctable", "remapped_rows_uncorrectable",
                            "clocks_event_reasons", "power_limit_w", "power_management_limit_w",
                            "power_default_limit_w"})


def _pair(value: Any) -> tuple[int | None, int | None]:
    """nvml.json's [current, max] -> both as small counts; (None, None) when not a pair."""
    if not isinstance(value, list) or len(value) != 2:
        return None, None
    return _small_count(value[0]), _small_count(value[1])


def _small_count(value: Any) -> int | None:
    """A PCIe generation or lane count: 1 to 64 (NVML says 0 for a link it cannot read: unknown)."""
    number = ascii_int(value) if type(value) is int else None
    return number if number is not None and 0 < number <= 64 else None


def _count(value: Any) -> int | None:
    """An error count: a non-negative 64-bit int."""
    return value if type(value) is int and 0 <= value < MAX_MASK else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _watts(value: Any) -> float | None:
    number = finite_number(value) if not isinstance(value, bool) else None
    return float(number) if number is not None and 0 < number < 100_000 else None


# -- the kernel log -------------------------------------------------------------------------------------------


def kernel_log_facts(done: CommandResult | None) -> Facts:
    """gpu.kernel_log and gpu.xid_events from dmesg's run (None: a snapshot that holds none)."""
    if done is None:
        return {"gpu.kernel_log": "not-recorded", "gpu.xid_events": None}
    if done.returncode == 0:
        return {"gpu.kernel_log": "read", "gpu.xid_events": xid_events(done.stdout)}
    # dmesg_restrict=1 (Debian, Ubuntu 20.10 and later): "dmesg: read kernel buffer failed: Operation not permitted"
    denied = done.returncode == 1 and "not permitted" in done.stderr.lower()
    return {"gpu.kernel_log": "denied" if denied else "unreadable", "gpu.xid_events": None}


def xid_events(log: str) -> list[dict[str, Any]]:
    """The driver's Xid lines of a kernel log, one entry an Xid and GPU, in the order first seen:
    {"xid": 79, "pci": "0000:3b:00", "count": 2, "message": the first one's text}."""
    events: dict[tuple[int, str], dict[str, Any]] = {}
    for match in _XID.finditer(log):
        xid = int(match["xid"])
        key = (xid, match["pci"].lower())
        if key in events:
            events[key]["count"] = min(events[key]["count"] + 1, MAX_COUNT)
        elif len(events) < MAX_EVENTS:
            message = (match["message"] or "").strip()[:MAX_MESSAGE]
            events[key] = {"xid": xid, "pci": key[1], "count": 1, "message": _printable(message)}
    return list(events.values())


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() else "?" for char in text)
