"""NVIDIA's devices in the PCI ID database (``pci.ids``, the PCI ID Project's list that pciutils and hwdata ship to
every Linux host), and the table derived from it for hosts that carry none (``nvidia_pci_ids.yaml``).

NVIDIA writes each device's chip first: ``2b85  GB202 [GeForce RTX 5090]``, ``20f1  GA100 [A100 PCIe 40GB]``. The
chip names the GPU's architecture and compute capability (``setupkit.knowledge.gpus``), which is what the driver
and the CUDA toolkit care about; the name in brackets is the marketing name.

- ``nvidia_devices(text)`` -> {"2b85": PciDevice(chip="GB202", name="GeForce RTX 5090"), ...} from pci.ids text
- ``chip_code("GB203GLM")`` -> "GB203" (the chip without its variant suffix: GL workstation, M mobile ...)
- ``embedded_chip("2b85")`` -> "GB202" (the embedded table)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table
from setupkit.yamlio import brief

TABLE = "nvidia_pci_ids"
NVIDIA_VENDOR = "10de"
MAX_DEVICES = 10_000
"""More devices than one vendor's section holds (NVIDIA's has about 2,000): a longer section is no pci.ids."""

_DEVICE_LINE = re.compile(r"\t([0-9a-f]{4})\s+(\S.*)", re.ASCII)
_NEXT_VENDOR = re.compile(r"\n[0-9a-f]{4}\s", re.ASCII)
_BRACKETED = re.compile(r"\[([^\[\]]+)\]")
# A chip code and its variant suffix: GL (workstation), GLM (workstation mobile), M (mobile), BM. A "B" right after
# the number is part of the chip (GK110B, GK208B revisions; GA10B, GB10B Tegra chips), so it stays.
_CHIP = re.compile(r"([A-Z]{2}[0-9]{2,3}[A-Z]?)(?:GLM|GL|BM|M)?", re.ASCII)
_DEVICE_ID = re.compile(r"[0-9a-f]{4}", re.ASCII)


@dataclass(frozen=True)
class PciDevice:
    """One NVIDIA device of pci.ids: its chip code (None where the entry names none) and its bracketed name."""

    chip: str | None
    name: str | None


def chip_code(word: str) -> str | None:
    """The chip of a pci.ids device entry's first word, without its variant suffix: "GB202GL" -> "GB202",
    "GP104BM" -> "GP104", "GK110BGL" -> "GK110B"; None for a word that is no chip code ("G80", "MCP61")."""
    for suffix in ("GLM", "GL", "BM", "M"):
        if word.endswith(suffix) and _CHIP.fullmatch(word[: -len(suffix)]):
            return word[: -len(suffix)]
    return word if _CHIP.fullmatch(word) else None


def device_entry(text: str) -> PciDevice:
    """A device entry's text, "GB202 [GeForce RTX 5090]" -> PciDevice("GB202", "GeForce RTX 5090")."""
    words = text.split()
    bracketed = _BRACKETED.search(text)
    return PciDevice(chip=chip_code(words[0]) if words else None,
                     name=bracketed.group(1).strip() if bracketed else None)


def nvidia_entries(text: str | None) -> dict[str, str] | None:
    """NVIDIA's device entries of a pci.ids text as written ("GB202 [GeForce RTX 5090]"), by device id; None when
    the text has no NVIDIA section.

    Only the vendor's own lines are read (one tab, an id, a name); subsystem lines (two tabs) and comments are
    passed over, and the section ends at the next vendor line."""
    if not isinstance(text, str):
        return None
    start = text.find(f"\n{NVIDIA_VENDOR}  ")
    if start < 0:
        return None
    following = _NEXT_VENDOR.search(text, start + 1)
    section = text[start + 1:following.start() if following else len(text)]
    entries: dict[str, str] = {}
    for line in section.splitlines()[1:]:
        match = _DEVICE_LINE.fullmatch(line.rstrip())
        if match:
            entries[match.group(1)] = match.group(2)
            if len(entries) > MAX_DEVICES:
                return None
    return entries


def nvidia_devices(text: str | None) -> dict[str, PciDevice] | None:
    """NVIDIA's devices of a pci.ids text, by device id, each as its chip and name; None without an NVIDIA
    section."""
    entries = nvidia_entries(text)
    return None if entries is None else {device: device_entry(entry) for device, entry in entries.items()}


# -- the embedded table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PciTable:
    chips: Mapping[str, str]
    """device id -> chip code, for NVIDIA's display and 3D controllers."""


def parse_pci_table(table: Table) -> PciTable:
    """The embedded table: ``chips`` maps each chip code to its device ids, written as one text of ids."""
    rows = table.value("chips")
    if not isinstance(rows, dict) or not rows:
        raise table.fail(f"'chips' must map chip codes to their device ids, not {brief(rows)}")
    chips: dict[str, str] = {}
    for chip, ids in rows.items():
        if not isinstance(chip, str) or chip_code(chip) != chip or not isinstance(ids, str):
            raise table.fail(f"chip {brief(chip)}: a chip code must map to a text of 4-digit device ids")
        for device in ids.split():
            if not _DEVICE_ID.fullmatch(device):
                raise table.fail(f"chip {chip}: {brief(device)} is no 4-digit device id")
            if device in chips:
                raise table.fail(f"device {device} is listed under {chips[device]} and {chip}")
            chips[device] = chip
    return PciTable(chips=MappingProxyType(chips))


@lru_cache(maxsize=1)
def pci_table() -> PciTable:
    return parse_pci_table(loader.load_table(TABLE))


def embedded_chip(device_id: object) -> str | None:
    """The chip of NVIDIA device ``device_id`` ("2b85") by the embedded table; None for one it does not list."""
    if not isinstance(device_id, str):
        return None
    return pci_table().chips.get(device_id.lower())
