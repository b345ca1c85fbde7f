"""Probe: the NVIDIA GPUs (gpu.*).

By hand: ``nvidia-smi`` / ``nvidia-smi -q`` (what NVML says), and without a working driver
``lspci -nn | grep -i nvidia``, i.e. /sys/bus/pci/devices/*/{vendor,device,class}, with the name from
/proc/driver/nvidia/gpus/*/information when the kernel module is loaded.
"""

from __future__ import annotations

from typing import Any

from setupkit.bounded import ascii_int, finite_number
from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.nvml_answer import device_error, nvml_answer, nvml_devices
from setupkit.probes.text import clean_lines, text_or_none

PCI_DEVICES = "/sys/bus/pci/devices"
NVIDIA_GPUS = "/proc/driver/nvidia/gpus"
NVIDIA_VENDOR = "10de"
MIB = 1024 * 1024
MAX_BYTES = 1 << 64
"""NVML counts memory in 64-bit integers: a larger number (or NaN, a negative) is not a measurement."""

# Names of well-known NVIDIA PCI device ids, for a GPU that no driver names (as NVML would name it).
KNOWN_DEVICES = {
    "13c2": "NVIDIA GeForce GTX 970",
    "17c8": "NVIDIA GeForce GTX 980 Ti",
    "1b06": "NVIDIA GeForce GTX 1080 Ti",
    "1b80": "NVIDIA GeForce GTX 1080",
    "1b81": "NVIDIA GeForce GTX 1070",
    "1c03": "NVIDIA GeForce GTX 1060 6GB",
    "1c82": "NVIDIA GeForce GTX 1050 Ti",
    "1db1": "Tesla V100-SXM2-16GB",
    "1db4": "Tesla V100-PCIE-16GB",
    "1eb8": "Tesla T4",
    "20b0": "NVIDIA A100-SXM4-40GB",
    "20b2": "NVIDIA A100-SXM4-80GB",
    "2204": "NVIDIA GeForce RTX 3090",
    "2206": "NVIDIA GeForce RTX 3080",
    "2330": "NVIDIA H100 80GB HBM3",
    "2684": "NVIDIA GeForce RTX 4090",
    "25a2": "NVIDIA GeForce RTX 3050 Ti Laptop GPU",
    "28e0": "NVIDIA GeForce RTX 4060 Laptop GPU",
}


def parse_hex_id(text: str | None) -> str | None:
    """A sysfs id file ("0x10de\\n") -> "10de"; None when empty or not hex."""
    lines = clean_lines(text)
    if not lines:
        return None
    value = lines[0].strip().lower().removeprefix("0x")
    return value if 0 < len(value) <= 8 and all(c in "0123456789abcdef" for c in value) else None


def is_display_class(pci_class: str | None) -> bool:
    """PCI class 0x03xxxx: VGA (0x0300), 3D controller (0x0302), other display (0x0380)."""
    return pci_class is not None and len(pci_class) == 6 and pci_class.startswith("03")


def parse_information_model(text: str | None) -> str | None:
    """/proc/driver/nvidia/gpus/<bus>/information "Model: \\t\\t NVIDIA H100 80GB HBM3" -> the name."""
    for line in clean_lines(text):
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Model" and value.strip():
            return value.strip()
    return None


def sysfs_bus_id(nvml_bus_id: str | None) -> str | None:
    """NVML's "00000000:0A:00.0" -> sysfs's "0000:0a:00.0" (a 4-digit domain, lower case)."""
    if not isinstance(nvml_bus_id, str) or ":" not in nvml_bus_id:
        return None
    domain, rest = nvml_bus_id.split(":", 1)
    return f"{domain[-4:]}:{rest}".lower()


def device_name(device_id: str, model: str | None) -> str:
    return model or KNOWN_DEVICES.get(device_id) or f"NVIDIA GPU {NVIDIA_VENDOR}:{device_id}"


def nvidia_pci_devices(host: Host) -> dict[str, str] | None:
    """{bus address: device id} of the NVIDIA display-class PCI devices; None when PCI is unreadable."""
    addresses = host.list_dir(PCI_DEVICES)
    if addresses is None:
        return None
    found = {}
    for address in addresses:
        base = f"{PCI_DEVICES}/{address}"
        if parse_hex_id(host.read_text(f"{base}/vendor")) != NVIDIA_VENDOR:
            continue
        device = parse_hex_id(host.read_text(f"{base}/device"))
        if device and is_display_class(parse_hex_id(host.read_text(f"{base}/class"))):
            found[address] = device
    return found


def facts_from_pci(host: Host, devices: dict[str, str] | None) -> Facts:
    if devices is None:
        return {}
    names = [device_name(dev, parse_information_model(host.read_text(f"{NVIDIA_GPUS}/{addr}/information")))
             for addr, dev in devices.items()]
    return {"gpu.count": len(devices), "gpu.names": names,
            "gpu.pci_ids": [f"{NVIDIA_VENDOR}:{dev}" for dev in devices.values()]}


def _mib(value: Any) -> int | None:
    number = finite_number(value)
    return int(number) // MIB if number is not None and 0 <= number < MAX_BYTES else None


def _capability(value: Any) -> str | None:
    """NVML's [major, minor] -> "X.Y"; None unless both are small ints."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    major, minor = (ascii_int(part, max_digits=2) if isinstance(part, int) else None for part in value)
    if major is None or minor is None or min(major, minor) < 0:
        return None
    return f"{major}.{minor}"


def _processes(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for dev in devices:
        procs = dev.get("processes")
        for proc in procs if isinstance(procs, list) else []:
            if isinstance(proc, dict):
                found.append({"gpu": _count(dev.get("index")), "pid": _count(proc.get("pid")),
                              "name": text_or_none(proc.get("name")), "used_mib": _mib(proc.get("used_memory"))})
    return found


def _count(value: Any) -> int | None:
    """A GPU index or a process id: a non-negative int (never a bool, a float or a string), else None."""
    number = ascii_int(value) if isinstance(value, int) else None
    return number if number is not None and number >= 0 else None


def _display_active(devices: list[dict[str, Any]]) -> bool | None:
    flags = [dev.get("display_active") for dev in devices]
    if any(flag is True for flag in flags):
        return True
    return False if flags and all(flag is False for flag in flags) else None


def _pci_ids(devices: list[dict[str, Any]], pci: dict[str, str] | None) -> list[str] | None:
    """The PCI id of each NVML device, matched by bus address; None when any cannot be told (WSL has no PCI)."""
    ids = [(pci or {}).get(sysfs_bus_id(dev.get("pci_bus_id")) or "") for dev in devices]
    return None if any(i is None for i in ids) else [f"{NVIDIA_VENDOR}:{i}" for i in ids]


def facts_from_nvml(devices: list[dict[str, Any]], pci: dict[str, str] | None) -> Facts:
    return {
        "gpu.count": len(devices),
        "gpu.names": [text_or_none(dev.get("name")) or None for dev in devices],
        "gpu.errors": [device_error(dev) for dev in devices],
        "gpu.pci_ids": _pci_ids(devices, pci),
        "gpu.uuids": [text_or_none(dev.get("uuid")) or None for dev in devices],
        "gpu.compute_capabilities": [_capability(dev.get("compute_capability")) for dev in devices],
        "gpu.memory_total_mib": [_mib(dev.get("memory_total")) for dev in devices],
        "gpu.memory_used_mib": [_mib(dev.get("memory_used")) for dev in devices],
        "gpu.processes": _processes(devices),
        "gpu.display_active": _display_active(devices),
    }


def probe(host: Host, facts: Facts) -> Facts:
    pci = nvidia_pci_devices(host)
    devices = nvml_devices(nvml_answer(host))
    if devices is not None:
        return facts_from_nvml(devices, pci)
    return facts_from_pci(host, pci)
