"""A GPU's chip, architecture, compute capability and kernel module flavour, told before any driver is installed:
from the host's PCI ID database (plain or gzip), else setupkit's table; NVML's compute capability wins where a
driver answers."""

from __future__ import annotations

import gzip

from setupkit.probes import gpu
from tests.helpers.scenarios import snapshot_facts

PCI_IDS = ("#\n#\tList of PCI IDs\n#\n10dd  Evans & Sutherland\n10de  NVIDIA Corporation\n"
           "\t2b85  GB202 [GeForce RTX 5090]\n\t2342  GH100 [GH200 120GB / 480GB]\n\t3200  GB112\n"
           "\tfff0  GB299 [GeForce RTX 9990]\n10df  Emulex Corporation\n")


def card(device: str, address: str = "0000:01:00.0", pci_class: str = "0x030000") -> dict[str, str]:
    base = f"/sys/bus/pci/devices/{address}"
    return {f"{base}/vendor": "0x10de\n", f"{base}/device": f"0x{device}\n", f"{base}/class": f"{pci_class}\n"}


def test_an_rtx_5090_on_nouveau_is_blackwell_by_the_hosts_pci_ids(make_host):
    host = make_host(files={**card("2b85"), "/usr/share/misc/pci.ids": PCI_IDS})
    facts = gpu.probe(host, {})
    assert facts["gpu.names"] == ["NVIDIA GeForce RTX 5090"]  # pci.ids names it, as lspci would
    assert facts["gpu.chips"] == ["GB202"] and facts["gpu.architectures"] == ["blackwell"]
    assert facts["gpu.compute_capabilities"] == ["12.0"] and facts["gpu.kernel_modules"] == ["open"]


def test_without_pci_ids_setupkits_table_tells_the_chip(make_host):
    facts = gpu.probe(make_host(files=card("20f1")), {})  # A100 PCIe 40GB, no pci.ids on the host
    assert facts["gpu.names"] == ["NVIDIA GPU 10de:20f1"]
    assert facts["gpu.chips"] == ["GA100"] and facts["gpu.compute_capabilities"] == ["8.0"]
    assert facts["gpu.architectures"] == ["ampere"] and facts["gpu.kernel_modules"] == ["either"]


def test_hwdata_and_gzip_databases_are_read_and_a_bomb_is_not(make_host):
    hwdata = make_host(files={**card("2b85"), "/usr/share/hwdata/pci.ids": PCI_IDS})
    assert gpu.probe(hwdata, {})["gpu.names"] == ["NVIDIA GeForce RTX 5090"]
    packed = make_host(files={**card("2b85"), "/usr/share/misc/pci.ids.gz": gzip.compress(PCI_IDS.encode())})
    assert gpu.probe(packed, {})["gpu.names"] == ["NVIDIA GeForce RTX 5090"]
    bomb = gzip.compress(b"#" * (gpu.MAX_PCI_IDS + 1))
    assert len(bomb) < 20_000 and gpu.gunzip(bomb) is None
    assert gpu.gunzip(b"not gzip") is None and gpu.gunzip(None) is None
    assert gpu.gunzip(gzip.compress(PCI_IDS.encode())[:-8]) is None  # cut short


def test_a_chip_pci_ids_knows_better_than_the_table(make_host):
    host = make_host(files={**card("fff0"), **card("3200", "0000:02:00.0"), "/usr/share/misc/pci.ids": PCI_IDS})
    facts = gpu.probe(host, {})
    # GB299 and GB112 are chips the table gives no compute capability: Blackwell by their family, no more
    assert facts["gpu.chips"] == ["GB299", "GB112"]
    assert facts["gpu.architectures"] == ["blackwell", "blackwell"]
    assert facts["gpu.compute_capabilities"] == [None, None]
    assert facts["gpu.kernel_modules"] == ["open", "open"]


def test_grace_hopper_needs_the_open_modules_where_an_h100_does_not(make_host):
    host = make_host(files={**card("2342"), **card("2330", "0000:02:00.0")})
    facts = gpu.probe(host, {})
    assert facts["gpu.architectures"] == ["hopper", "hopper"]
    assert facts["gpu.kernel_modules"] == ["open", "either"]


def test_an_unknown_device_is_unknown(make_host):
    facts = gpu.probe(make_host(files=card("ffff")), {})
    assert facts["gpu.count"] == 1 and facts["gpu.names"] == ["NVIDIA GPU 10de:ffff"]
    for name in ("gpu.chips", "gpu.architectures", "gpu.compute_capabilities", "gpu.kernel_modules"):
        assert facts[name] == [None]


def test_nvmls_compute_capability_wins_and_fills_in_from_the_chip(make_host):
    nvml = {"driver_version": "580.95.05", "cuda_driver_version": 13000, "devices": [
        {"index": 0, "name": "NVIDIA GeForce RTX 5090", "pci_bus_id": "00000000:01:00.0",
         "compute_capability": [12, 0]},
        {"index": 1, "name": "NVIDIA A100-PCIE-40GB", "pci_bus_id": "00000000:02:00.0", "compute_capability": None},
        {"index": 2, "name": "odd", "pci_bus_id": "00000000:03:00.0", "compute_capability": [8, 6]}]}
    host = make_host(files={**card("2b85"), **card("20f1", "0000:02:00.0"), **card("2204", "0000:03:00.0")},
                     nvml=nvml)
    facts = gpu.probe(host, {})
    assert facts["gpu.compute_capabilities"] == ["12.0", "8.0", "8.6"]
    assert facts["gpu.chips"] == ["GB202", "GA100", "GA102"]
    assert facts["gpu.architectures"] == ["blackwell", "ampere", "ampere"]


def test_wsl_has_no_pci_devices_and_nvml_tells_the_rest():
    facts = snapshot_facts("wsl2-ubuntu2204")
    assert facts["gpu.pci_ids"] is None and facts["gpu.chips"] == [None]
    assert facts["gpu.architectures"] == ["ampere"] and facts["gpu.compute_capabilities"] == ["8.6"]


def test_the_identity_of_the_scenario_gpus():
    blackwell = snapshot_facts("ubuntu2404-rtx5090-nouveau")
    assert (blackwell["gpu.chips"], blackwell["gpu.architectures"], blackwell["gpu.kernel_modules"]) == (
        ["GB202"], ["blackwell"], ["open"])
    pascal = snapshot_facts("ubuntu2204-gtx1080ti-cuda13")
    assert (pascal["gpu.chips"], pascal["gpu.architectures"], pascal["gpu.kernel_modules"]) == (
        ["GP102"], ["pascal"], ["proprietary"])
    h100 = snapshot_facts("h100")
    assert (h100["gpu.chips"], h100["gpu.architectures"], h100["gpu.compute_capabilities"]) == (
        ["GH100"], ["hopper"], ["9.0"])


def test_the_module_flavour_from_its_taint_flags_where_proc_driver_is_absent(make_host):
    from setupkit.probes import driver

    assert driver.parse_taint("(POE)") is False and driver.parse_taint("OE") is True
    assert driver.parse_taint("(O)") is True and driver.parse_taint("") is None and driver.parse_taint("(P)") is None
    assert driver.parse_taint("x" * 100) is None and driver.parse_taint(None) is None
    open_module = make_host(files={"/proc/modules": "nvidia 14299136 - - Live 0x0 (OE)\n",
                                   "/sys/module/nvidia/version": "580.95.05\n"})
    assert driver.probe(open_module, {})["driver.open_kernel_module"] is True
    by_sysfs = make_host(files={"/sys/module/nvidia/taint": "POE\n", "/sys/module/nvidia/version": "580.95.05\n"})
    assert driver.probe(by_sysfs, {})["driver.open_kernel_module"] is False
    nouveau = make_host(files={"/proc/modules": "nouveau 3096576 24 - Live 0x0\n"})
    assert driver.probe(nouveau, {})["driver.open_kernel_module"] is None


def reads_of(host) -> list[str]:
    """The paths ``host`` is asked to read from now on."""
    asked: list[str] = []
    read_bytes = host.read_bytes

    def reading(path: str) -> bytes | None:
        asked.append(path)
        return read_bytes(path)

    host.read_bytes = reading
    return asked


def test_the_hosts_pci_ids_is_read_only_when_setupkits_table_and_the_driver_cannot_tell(make_host):
    nvml = {"driver_version": "580.95.05", "cuda_driver_version": 13000, "devices": [
        {"index": 0, "name": "NVIDIA GeForce RTX 5090", "pci_bus_id": "00000000:01:00.0",
         "compute_capability": [12, 0]}]}
    named = make_host(files={**card("2b85"), "/usr/share/misc/pci.ids": PCI_IDS}, nvml=nvml)
    asked = reads_of(named)
    assert gpu.probe(named, {})["gpu.chips"] == ["GB202"]
    assert "/usr/share/misc/pci.ids" not in asked, "1.7 MB read (and recorded in a snapshot) for nothing"

    nameless = make_host(files={**card("2b85"), "/usr/share/misc/pci.ids": PCI_IDS})  # nouveau: no other name
    asked = reads_of(nameless)
    assert gpu.probe(nameless, {})["gpu.names"] == ["NVIDIA GeForce RTX 5090"]
    assert "/usr/share/misc/pci.ids" in asked
