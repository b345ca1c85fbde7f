"""Write setupkit/knowledge/nvidia_pci_ids.yaml, the embedded table of NVIDIA's GPUs by PCI device id, from a
pci.ids file (the PCI ID Project's database, as github.com/pciutils/pciids and hwdata carry it).

Only what setupkit needs is kept: the devices whose chip code belongs to a GPU family of gpu_generations.yaml
(GF ... GB), without the audio, USB, bridge and NVSwitch functions that carry the same chip codes, grouped by chip.
Run it from anywhere:

    python3 tests/knowledge/build_pci_ids.py PCI_IDS "pciutils/pciids@<commit> (pci.ids Version <version>)" DATE

DATE (YYYY-MM-DD) is the day the table was made from that file; tests/knowledge/test_pci_ids.py holds the
committed table to what this script writes from a pci.ids sample, and to the file's own form.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from setupkit.knowledge import gpus, pci_ids
from setupkit.knowledge.loader import TABLES_DIR

TARGET = TABLES_DIR / f"{pci_ids.TABLE}.yaml"
NOT_A_GPU = re.compile(r"audio|usb|ucsi|nvswitch|bridge|root port|pcie host|pci express|smbus|ethernet|sata|"
                       r"serial|memory controller", re.IGNORECASE)
"""Words of the functions a GPU's chip carries beside the GPU itself (its HDMI audio, its USB-C controller)."""

HEADER = """\
# NVIDIA's GPUs (display and 3D controllers) by PCI device id, grouped by chip: the chip code that starts each
# NVIDIA device name in the PCI ID database (pci.ids), its variant suffix dropped (GB202GL -> GB202). Read when a
# host carries no pci.ids of its own (or one older than its GPU); setupkit/knowledge/gpu_generations.yaml gives
# each chip's compute capability and architecture. Written by tests/knowledge/build_pci_ids.py: do not edit by
# hand, run it on a newer pci.ids instead.
"""


def gpu_devices(text: str) -> dict[str, str]:
    """{device id: chip} of the NVIDIA GPUs in a pci.ids text."""
    families = gpus.gpu_table().families
    found = {}
    for device, entry in sorted((pci_ids.nvidia_entries(text) or {}).items()):
        chip = pci_ids.device_entry(entry).chip
        if chip and chip[:2] in families and not NOT_A_GPU.search(entry):
            found[device] = chip
    return found


def table_text(devices: dict[str, str], source: str, checked: str) -> str:
    by_chip: dict[str, list[str]] = {}
    for device, chip in devices.items():
        by_chip.setdefault(chip, []).append(device)
    lines = [HEADER.rstrip("\n"), "sources:", f'  - "PCI ID Project, pci.ids: {source}"', f'checked: "{checked}"',
             "chips:"]
    lines += [f'  {chip}: "{" ".join(sorted(ids))}"' for chip, ids in sorted(by_chip.items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit(__doc__)
    path, source, checked = argv
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    TARGET.write_text(table_text(gpu_devices(text), source, checked), encoding="utf-8")
    print(TARGET)


if __name__ == "__main__":
    main(sys.argv[1:])
