"""NVIDIA's devices in the PCI ID database: the pci.ids text a host carries, read as pciutils writes it, and the
embedded table derived from it (setupkit/knowledge/nvidia_pci_ids.yaml) for hosts that carry none."""

from __future__ import annotations

import pytest

from setupkit.knowledge import gpus, pci_ids
from setupkit.knowledge.loader import read_table
from setupkit.knowledge.pci_ids import PciDevice
from setupkit.yamlio import CatalogError
from tests.knowledge import build_pci_ids

# Lines of pci.ids as the PCI ID Project publishes it (pciutils/pciids, Version 2026.08.22), with the vendors
# around NVIDIA's: a device line has one tab, a subsystem line two.
SAMPLE = (
    "#\n#\tList of PCI IDs\n#\n#\tVersion: 2026.08.22\n#\n"
    "10dd  Evans & Sutherland\n\t0100  Lightning 1200\n\t\t10dd 0023  Lightning 1200 15+16M\n"
    "10de  NVIDIA Corporation\n"
    "\t0008  NV1 [STG2000X-B Series]\n"
    "\t0e0f  GK208 HDMI/DP Audio Controller\n"
    "\t102d  GK210GL [Tesla K80]\n"
    "\t1287  GK208B [GeForce GT 730]\n"
    "\t1299  GK208BM [GeForce 920M]\n"
    "\t1380  GM107 [GeForce GTX 750 Ti]\n"
    "\t1b06  GP102 [GeForce GTX 1080 Ti]\n"
    "\t\t10de 120f  GeForce GTX 1080 Ti\n"
    "\t1eb0  TU104GL [Quadro RTX 5000]\n"
    "\t1af1  GA100 [A100 NVSwitch]\n"
    "\t20f1  GA100 [A100 PCIe 40GB]\n"
    "\t22e8  GB202 High Definition Audio Controller\n"
    "\t2302  GH100\n"
    "\t2342  GH100 [GH200 120GB / 480GB]\n"
    "\t2b85  GB202 [GeForce RTX 5090]\n"
    "\t2bb1  GB202GL [RTX PRO 6000 Blackwell Workstation Edition]\n"
    "\t2c18  GB203M / GN22 [GeForce RTX 5090 Max-Q / Mobile]\n"
    "\t2d2c  GB6-128 (N22Y-ES-A1)\n"
    "\t3182  GB110 [B300 SXM6 AC]\n"
    "\t3200  GB112\n"
    "10df  Emulex Corporation\n\t0720  OneConnect NIC (Skyhawk)\n"
)


@pytest.mark.parametrize(("word", "chip"), [
    ("GB202", "GB202"), ("GB202GL", "GB202"), ("GB203GLM", "GB203"), ("GB203M", "GB203"), ("GP104BM", "GP104"),
    ("GK110BGL", "GK110B"), ("GK208BM", "GK208"), ("GB10B", "GB10B"), ("GA10B", "GA10B"), ("TU117GLM", "TU117"),
    ("G80", None), ("MCP61", None), ("GK11x", None), ("GB6-128", None), ("", None), ("gb202", None),
])
def test_chip_codes_lose_their_variant_suffix(word, chip):
    assert pci_ids.chip_code(word) == chip


def test_the_nvidia_section_is_read_as_pciutils_writes_it():
    devices = pci_ids.nvidia_devices(SAMPLE)
    assert devices["2b85"] == PciDevice("GB202", "GeForce RTX 5090")
    assert devices["20f1"] == PciDevice("GA100", "A100 PCIe 40GB")
    assert devices["2c18"] == PciDevice("GB203", "GeForce RTX 5090 Max-Q / Mobile")
    assert devices["2302"] == PciDevice("GH100", None)
    assert devices["2d2c"] == PciDevice(None, None)
    assert "0100" not in devices and "0720" not in devices  # the vendors before and after are not NVIDIA's
    assert "120f" not in devices  # a subsystem line is no device
    assert pci_ids.nvidia_devices("10dd  Evans & Sutherland\n\t0100  Lightning 1200\n") is None
    assert pci_ids.nvidia_devices(None) is None and pci_ids.nvidia_devices("") is None


def test_a_section_too_long_to_be_pci_ids_is_refused():
    lines = "".join(f"\t{index:04x}  GB202 [x]\n" for index in range(pci_ids.MAX_DEVICES + 1))
    assert pci_ids.nvidia_devices("#\n10de  NVIDIA Corporation\n" + lines) is None


def test_the_builder_keeps_the_gpus_and_leaves_their_audio_usb_and_switch_functions():
    devices = build_pci_ids.gpu_devices(SAMPLE)
    assert devices == {"102d": "GK210", "1287": "GK208B", "1299": "GK208", "1380": "GM107", "1b06": "GP102",
                       "1eb0": "TU104", "20f1": "GA100", "2302": "GH100", "2342": "GH100", "2b85": "GB202",
                       "2bb1": "GB202", "2c18": "GB203", "3182": "GB110", "3200": "GB112"}
    text = build_pci_ids.table_text(devices, "a sample", "2026-12-01")
    assert '  GB202: "2b85 2bb1"' in text and 'checked: "2026-12-01"' in text


def test_the_builder_writes_what_the_loader_reads(tmp_path):
    path = tmp_path / "nvidia_pci_ids.yaml"
    path.write_text(build_pci_ids.table_text(build_pci_ids.gpu_devices(SAMPLE), "a sample", "2026-12-01"))
    table = pci_ids.parse_pci_table(read_table(path))
    assert table.chips["2b85"] == "GB202" and table.chips["1299"] == "GK208" and len(table.chips) == 14


def test_the_embedded_table_knows_todays_gpus_by_pci_id():
    # the PCI ids of the issue's cases, and the scenarios' cards
    assert pci_ids.embedded_chip("20f1") == "GA100"  # A100 PCIe 40GB
    assert pci_ids.embedded_chip("2b85") == "GB202"  # GeForce RTX 5090
    assert pci_ids.embedded_chip("2B85") == "GB202"
    assert pci_ids.embedded_chip("1b06") == "GP102"  # GeForce GTX 1080 Ti
    assert pci_ids.embedded_chip("2330") == "GH100"  # H100 SXM5 80GB (the H100 capture)
    assert pci_ids.embedded_chip("2335") == "GH100"  # H200 SXM 141GB
    assert pci_ids.embedded_chip("2901") == "GB100"  # B200
    assert pci_ids.embedded_chip("3182") == "GB110"  # B300
    assert pci_ids.embedded_chip("102d") == "GK210"  # Tesla K80
    assert pci_ids.embedded_chip("22e8") is None  # the RTX 5090's audio function
    assert pci_ids.embedded_chip("ffff") is None and pci_ids.embedded_chip(None) is None


def test_every_chip_of_the_embedded_table_has_an_architecture():
    chips = set(pci_ids.pci_table().chips.values())
    assert chips and all(gpus.chip_architecture(chip) for chip in chips)
    # Chips pci.ids lists before NVIDIA publishes their compute capability: known as Blackwell, no more.
    assert {chip for chip in chips if gpus.chip_compute_capability(chip) is None} <= {"GB112", "GB120"}


def test_the_embedded_table_names_its_source_commit():
    table = read_table(build_pci_ids.TARGET)
    assert table.checked == "2026-12-01"
    assert any("github.com/pciutils/pciids" in source and "c1c12547d626ebf05fd0223144ad87fab5e95d06" in source
               for source in table.sources)


@pytest.mark.parametrize(("chips", "words"), [
    ("chips: []\n", "'chips' must map chip codes"),
    ("chips: {GB202: [2b85]}\n", "a chip code must map to a text"),
    ("chips: {gb202: \"2b85\"}\n", "a chip code must map to a text"),
    ("chips: {GB202: \"2b85 2b8\"}\n", "is no 4-digit device id"),
    ("chips: {GB202: \"2b85\", GB203: \"2b85\"}\n", "listed under GB202 and GB203"),
])
def test_a_malformed_embedded_table_is_refused(tmp_path, chips, words):
    path = tmp_path / "nvidia_pci_ids.yaml"
    path.write_text('sources: ["a"]\nchecked: null\n' + chips)
    with pytest.raises(CatalogError, match=words):
        pci_ids.parse_pci_table(read_table(path))


def test_this_hosts_own_pci_ids_agrees_with_the_embedded_table():
    from pathlib import Path

    from setupkit.probes.gpu import PCI_ID_FILES

    found = next((Path(path) for path in PCI_ID_FILES if Path(path).is_file()), None)
    if found is None:
        pytest.skip(f"this host carries no PCI ID database ({', '.join(PCI_ID_FILES)})")
    devices = pci_ids.nvidia_devices(found.read_text(encoding="utf-8", errors="replace")) or {}
    assert len(devices) > 100, f"{found} has no NVIDIA section worth the name"
    both = {device: entry.chip for device, entry in devices.items() if entry.chip and pci_ids.embedded_chip(device)}
    differ = {device: (chip, pci_ids.embedded_chip(device)) for device, chip in both.items()
              if gpus.chip_architecture(chip) != gpus.chip_architecture(pci_ids.embedded_chip(device))}
    assert not differ, f"{found} and the embedded table disagree on the architecture of {differ}"
