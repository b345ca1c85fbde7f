"""Probe: the NVIDIA GPUs (gpu.*).

By hand: ``nvidia-smi`` / ``nvidia-smi -q`` (what NVML says), and without a working driver
``lspci -nn | grep -i nvidia``, i.e. /sys/bus/pci/devices/*/{vendor,device,class}, with the name from
/proc/driver/nvidia/gpus/*/information when the kernel module is loaded. ``lspci -nn`` names each device from
the PCI ID database (``/usr/share/misc/pci.ids``), whose NVIDIA names start with the chip (``2b85  GB202
[GeForce RTX 5090]``): the chip tells the architecture and compute capability before any driver is installed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from setupkit.bounded import ascii_int, finite_number
from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.nvml_answer import device_error, nvml_answer, nvml_devices
from setupkit.probes.text import clean_lines, text_or_none

if TYPE_CHECKING:
    from setupkit.knowledge.pci_ids import PciDevice

PCI_DEVICES = "/sys/bus/pci/devices"
NVIDIA_GPUS = "/proc/driver/nvidia/gpus"
NVIDIA_VENDOR = "10de"
PCI_ID_FILES = ("/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids")
"""Where pciutils (Debian, Ubuntu, Arch, SUSE) and hwdata (RHEL, Fedora) put the PCI ID database; a pciutils
built with zlib reads pci.ids.gz beside them."""
MAX_PCI_IDS = 8 * 1024 * 1024
"""Bytes of an unpacked pci.ids.gz worth reading (the database is about 1.7 MB): a larger one is no pci.ids."""
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


def device_name(device_id: str, model: str | None, listed: PciDevice | None = None) -> str:
    """The driver's name for the GPU, else NVML's name of a well-known device, else the PCI ID database's."""
    if model or device_id in KNOWN_DEVICES:
        return model or KNOWN_DEVICES[device_id]
    return f"NVIDIA {listed.name}" if listed and listed.name else f"NVIDIA GPU {NVIDIA_VENDOR}:{device_id}"


def gunzip(data: bytes | None, limit: int = MAX_PCI_IDS) -> str | None:
    """The text of a gzip file of at most ``limit`` bytes unpacked; None for anything else (a gzip bomb, bytes
    that are no gzip)."""
    if not data:
        return None
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        text = unpacker.decompress(data, limit)
    except zlib.error:
        return None
    if unpacker.unconsumed_tail or not unpacker.eof:
        return None
    return text.decode("utf-8", errors="replace")


def pci_database(host: Host) -> dict[str, PciDevice] | None:
    """NVIDIA's devices in the host's PCI ID database (the first of PCI_ID_FILES, plain or gzip); None when the
    host carries none."""
    from setupkit.knowledge import pci_ids

    for path in PCI_ID_FILES:
        devices = pci_ids.nvidia_devices(host.read_text(path))
        if devices is not None:
            return devices
    for path in PCI_ID_FILES:
        devices = pci_ids.nvidia_devices(gunzip(host.read_bytes(f"{path}.gz")))
        if devices is not None:
            return devices
    return None


@dataclass(frozen=True)
class Identity:
    """What a GPU is, as far as this host tells: its chip, compute capability, architecture and the kernel modules
    that drive it (each None where unknown)."""

    chip: str | None
    compute_capability: str | None
    architecture: str | None
    kernel_modules: str | None


def identify(device_id: str | None, name: str | None, nvml_capability: str | None,
             database: dict[str, PciDevice] | None) -> Identity:
    """A GPU's identity from its PCI device id (the host's PCI ID database, else setupkit's table) and NVML's
    compute capability, which wins where NVML gives one. The name only tells Grace Hopper from an H100: a name
    pattern is a guess, left to the planner for a GPU the facts cannot tell."""
    from setupkit.knowledge import gpus, pci_ids  # the GPU tables, read only where there is a GPU

    listed = (database or {}).get(device_id or "")
    chip = (listed.chip if listed else None) or pci_ids.embedded_chip(device_id)
    capability = gpus.parse_compute_capability(nvml_capability)
    if capability is None:
        capability = gpus.chip_compute_capability(chip)
    generation = gpus.generation_of(capability) if capability is not None else None
    architecture = generation.architecture if generation else gpus.chip_architecture(chip)
    generation = generation or gpus.generation_of_architecture(architecture)
    return Identity(chip=chip,
                    compute_capability=None if capability is None else gpus.compute_capability_text(capability),
                    architecture=architecture,
                    kernel_modules=gpus.kernel_modules_for(generation, device_id, name))


def identity_facts(identities: list[Identity]) -> Facts:
    return {"gpu.chips": [i.chip for i in identities],
            "gpu.compute_capabilities": [i.compute_capability for i in identities],
            "gpu.architectures": [i.architecture for i in identities],
            "gpu.kernel_modules": [i.kernel_modules for i in identities]}


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


def database_if_needed(host: Host, device_ids: list[str], names_known: bool) -> dict[str, PciDevice] | None:
    """The host's PCI ID database, read only when setupkit's own table lacks a device or a GPU has no name from
    the driver or NVML: the database is 1.7 MB to read on every doctor run and to carry in every snapshot."""
    from setupkit.knowledge import pci_ids

    if names_known and all(pci_ids.embedded_chip(device_id) for device_id in device_ids):
        return None
    return pci_database(host)


def facts_from_pci(host: Host, devices: dict[str, str] | None) -> Facts:
    if devices is None:
        return {}
    models = {addr: parse_information_model(host.read_text(f"{NVIDIA_GPUS}/{addr}/information")) for addr in devices}
    known = all(model or devices[addr] in KNOWN_DEVICES for addr, model in models.items())
    database = database_if_needed(host, list(devices.values()), known) if devices else None
    names = [device_name(dev, models[addr], (database or {}).get(dev)) for addr, dev in devices.items()]
    identities = [identify(dev, name, None, database) for dev, name in zip(devices.values(), names, strict=True)]
    return {"gpu.count": len(devices), "gpu.names": names,
            "gpu.pci_ids": [f"{NVIDIA_VENDOR}:{dev}" for dev in devices.values()], **identity_facts(identities)}


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


def _device_ids(devices: list[dict[str, Any]], pci: dict[str, str] | None) -> list[str | None]:
    """The PCI device id of each NVML device, matched by bus address; None for one that cannot be told (WSL has
    no PCI)."""
    return [(pci or {}).get(sysfs_bus_id(dev.get("pci_bus_id")) or "") for dev in devices]


def _pci_ids(ids: list[str | None]) -> list[str] | None:
    """The vendor:device ids; None when any cannot be told."""
    known = [i for i in ids if i is not None]
    return None if len(known) != len(ids) else [f"{NVIDIA_VENDOR}:{i}" for i in known]


def facts_from_nvml(devices: list[dict[str, Any]], pci: dict[str, str] | None,
                    database: dict[str, PciDevice] | None = None) -> Facts:
    ids = _device_ids(devices, pci)
    names = [text_or_none(dev.get("name")) or None for dev in devices]
    identities = [identify(device_id, name, _capability(dev.get("compute_capability")), database)
                  for device_id, name, dev in zip(ids, names, devices, strict=True)]
    return {
        "gpu.count": len(devices),
        "gpu.names": names,
        "gpu.errors": [device_error(dev) for dev in devices],
        "gpu.pci_ids": _pci_ids(ids),
        "gpu.uuids": [text_or_none(dev.get("uuid")) or None for dev in devices],
        **identity_facts(identities),
        "gpu.memory_total_mib": [_mib(dev.get("memory_total")) for dev in devices],
        "gpu.memory_used_mib": [_mib(dev.get("memory_used")) for dev in devices],
        "gpu.processes": _processes(devices),
        "gpu.display_active": _display_active(devices),
    }


def probe(host: Host, facts: Facts) -> Facts:
    pci = nvidia_pci_devices(host)
    devices = nvml_devices(nvml_answer(host))
    if devices is not None:
        return facts_from_nvml(devices, pci, database_if_needed(host, list(pci.values()), True) if pci else None)
    return facts_from_pci(host, pci)
