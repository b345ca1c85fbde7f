"""GPU generations: a GPU's architecture and compute capability from its chip or its name, as NVIDIA's CUDA GPUs
pages give them, and what a driver branch, a module flavour or a CUDA toolkit leaves out."""

from __future__ import annotations

import pytest

from setupkit.knowledge import gpus
from setupkit.knowledge.gpus import Gpu
from setupkit.knowledge.loader import read_table
from setupkit.versions import CudaVersion
from setupkit.yamlio import CatalogError

# Names as NVML (or pci.ids) writes them, and their compute capability on https://developer.nvidia.com/cuda-gpus
# and https://developer.nvidia.com/cuda-legacy-gpus: each line a name a name pattern once misread, or missed.
NAMES = {
    "Quadro RTX 5000": 7.5, "Quadro RTX 4000": 7.5, "Quadro RTX 8000": 7.5,  # Turing, not Blackwell or Ada
    "NVIDIA RTX 5000 Ada Generation": 8.9, "NVIDIA RTX 4500 Ada Generation": 8.9,
    "NVIDIA RTX 4000 SFF Ada Generation": 8.9,
    "NVIDIA GeForce RTX 5090": 12.0, "NVIDIA GeForce RTX 5060": 12.0, "NVIDIA GeForce RTX 5090 D": 12.0,
    "NVIDIA RTX PRO 6000 Blackwell Workstation Edition": 12.0, "NVIDIA RTX PRO 6000D Blackwell Server Edition": 12.0,
    "NVIDIA RTX PRO 4000 Blackwell SFF Edition": 12.0,
    "NVIDIA B200": 10.0, "NVIDIA GB200": 10.0, "NVIDIA B300 SXM6 AC": 10.3, "NVIDIA GB300": 10.3,
    "NVIDIA GB10": 12.1,
    "NVIDIA H100 80GB HBM3": 9.0, "NVIDIA H200": 9.0, "NVIDIA GH200 480GB": 9.0, "NVIDIA H100L 94GB": 9.0,
    "NVIDIA GeForce RTX 4090": 8.9, "NVIDIA L40S": 8.9, "NVIDIA L4": 8.9,
    "NVIDIA GeForce RTX 3090": 8.6, "NVIDIA RTX A6000": 8.6, "NVIDIA A10G": 8.6, "NVIDIA A100-PCIE-40GB": 8.0,
    "NVIDIA GeForce RTX 2080 Ti": 7.5, "Tesla T4": 7.5, "NVIDIA GeForce GTX 1660 SUPER": 7.5, "NVIDIA T1000": 7.5,
    "Tesla V100-SXM2-16GB": 7.0, "NVIDIA TITAN V": 7.0,
    "Tesla P100-PCIE-16GB": 6.0, "NVIDIA GeForce GTX 1080 Ti": 6.1, "TITAN X (Pascal)": 6.1,
    "NVIDIA TITAN Xp": 6.1, "Tesla P40": 6.1,
    "GeForce GTX 750 Ti": 5.0, "GeForce GTX 750": 5.0, "GeForce GTX 960M": 5.0, "GeForce GTX 950M": 5.0,
    "GeForce GTX 970": 5.2, "GeForce GTX 980 Ti": 5.2, "GeForce GTX TITAN X": 5.2, "GeForce GTX 970M": 5.2,
    "Tesla M60": 5.2,
    "Tesla K80": 3.7, "Tesla K40c": 3.5, "Tesla K20Xm": 3.5, "GeForce GTX 780 Ti": 3.5, "GeForce GTX TITAN": 3.5,
    "GeForce GTX 680": 3.0, "GeForce GTX 660 Ti": 3.0, "GeForce GTX 650": 3.0, "GeForce GTX 760": 3.0,
    "GeForce GTX 770": 3.0, "Tesla K10": 3.0,
}


@pytest.mark.parametrize(("name", "capability"), NAMES.items())
def test_a_name_tells_its_compute_capability(name, capability):
    assert gpus.compute_capability_from_name(name) == capability


def test_a_name_the_table_does_not_know_tells_nothing():
    for name in ("Matrox G200", "NVIDIA GPU 10de:ffff", "GeForce GTX 670M", "", "x" * 100_000, 7, None):
        assert gpus.compute_capability_from_name(name) is None


# Devices of pci.ids (pciutils/pciids, Version 2026.08.22): the chip and the name must tell the same compute
# capability, so that a host with a driver (NVML's name) and one without (the PCI id) agree.
PCI_ENTRIES = [
    ("GB202", "GeForce RTX 5090"), ("GB202", "RTX PRO 6000 Blackwell Workstation Edition"),
    ("GB203", "GeForce RTX 5080"), ("GB206", "GeForce RTX 5060 Ti"), ("GB100", "B200"), ("GB110", "B300 SXM6 AC"),
    ("GB20B", "GB10"), ("GH100", "H100 SXM5 80GB"), ("GH100", "GH200 120GB / 480GB"), ("AD102", "GeForce RTX 4090"),
    ("AD102", "RTX 5000 Ada Generation"), ("AD104", "RTX 4000 SFF Ada Generation"), ("GA100", "A100 PCIe 40GB"),
    ("GA102", "RTX A5000"), ("TU104", "Quadro RTX 5000"), ("TU104", "Quadro RTX 4000"), ("TU102", "TITAN RTX"),
    ("GV100", "Tesla V100 SXM2 16GB"), ("GP100", "Tesla P100 PCIe 16GB"), ("GP102", "TITAN X Pascal"),
    ("GP102", "GeForce GTX 1080 Ti"), ("GM200", "GeForce GTX TITAN X"), ("GM204", "GeForce GTX 970"),
    ("GM107", "GeForce GTX 750 Ti"), ("GM107", "GeForce GTX 960M"), ("GK210", "Tesla K80"),
    ("GK180", "Tesla K40c"), ("GK110", "GeForce GTX 780 Ti"), ("GK104", "GeForce GTX 770"),
    ("GK104", "GeForce GTX 680"),
]


@pytest.mark.parametrize(("chip", "name"), PCI_ENTRIES)
def test_the_chip_and_the_name_agree(chip, name):
    capability = gpus.chip_compute_capability(chip)
    assert capability is not None and gpus.compute_capability_from_name(name) == capability
    assert gpus.generation_of(capability).architecture == gpus.chip_architecture(chip)


def test_every_chip_belongs_to_the_architecture_of_its_family():
    table = gpus.gpu_table()
    for chip, capability in table.chips.items():
        assert gpus.generation_of(capability).architecture == table.families[chip[:2]], chip
    assert gpus.chip_architecture("GB112") == "blackwell" and gpus.chip_compute_capability("GB112") is None
    assert gpus.chip_architecture("NV43") is None and gpus.chip_architecture(None) is None
    assert gpus.architectures() == ("fermi", "kepler", "maxwell", "pascal", "volta", "turing", "ampere", "ada",
                                    "hopper", "blackwell")


def test_which_kernel_modules_drive_a_gpu():
    modules = gpus.kernel_modules_for
    assert modules(gpus.generation_of(12.0)) == "open" and modules(gpus.generation_of(10.0)) == "open"
    assert modules(gpus.generation_of(9.0)) == "either" and modules(gpus.generation_of(7.5)) == "either"
    assert modules(gpus.generation_of(7.0)) == "proprietary" and modules(gpus.generation_of(6.1)) == "proprietary"
    # Grace Hopper: a GH100 like the H100, but only the open modules drive it (by PCI id, or by name)
    assert modules(gpus.generation_of(9.0), "2342") == "open" and modules(gpus.generation_of(9.0), "2348") == "open"
    assert modules(gpus.generation_of(9.0), "2330", "NVIDIA H100 80GB HBM3") == "either"
    assert modules(gpus.generation_of(9.0), None, "NVIDIA GH200 480GB") == "open"
    assert modules(None) is None and modules(None, "2342") == "open"


@pytest.mark.parametrize(("value", "capability"), [
    ("8.6", 8.6), ("12.0", 12.0), ("10.3", 10.3), ([9, 0], 9.0), ((6, 1), 6.1),
    ("9", None), ("8.6.1", None), ("12.10", None), ("²", None), ("١٢.٣", None), ([9, "0"], None), ([True, 0], None),
    (["²", "0"], None), ([900, 0], None), (8.6, None), (None, None), ("9" * 5000, None), ("x.y", None),
])
def test_compute_capabilities_of_the_wrong_form_are_unknown(value, capability):
    assert gpus.parse_compute_capability(value) == capability


PASCAL = Gpu(name="NVIDIA GeForce GTX 1080 Ti", compute_capability=6.1, architecture="pascal")
BLACKWELL = Gpu(name="NVIDIA GeForce RTX 5090", compute_capability=12.0, architecture="blackwell")
KEPLER = Gpu(name="Tesla K80", compute_capability=3.7)
HOPPER = Gpu(name="NVIDIA H100 80GB HBM3", compute_capability=9.0)
GRACE_HOPPER = Gpu(name="NVIDIA GH200 480GB", compute_capability=9.0)
UNKNOWN = Gpu(name="NVIDIA GPU 10de:ffff")


def test_what_a_driver_leaves_out():
    assert gpus.driver_gaps([PASCAL], 580, False) == []
    assert gpus.driver_gaps([PASCAL], 590, False) == [
        "NVIDIA GeForce GTX 1080 Ti (Pascal, compute capability 6.1): branch 580 is the last that drives it"]
    assert gpus.driver_gaps([PASCAL], 580, True) == [
        "NVIDIA GeForce GTX 1080 Ti (Pascal, compute capability 6.1): the open kernel modules drive Turing and newer "
        "only"]
    assert gpus.driver_gaps([BLACKWELL], 580, True) == []
    assert gpus.driver_gaps([BLACKWELL], 580, False) == [
        "NVIDIA GeForce RTX 5090 (Blackwell, compute capability 12.0): only the open kernel modules drive it"]
    assert gpus.driver_gaps([BLACKWELL], 565, True) == [
        "NVIDIA GeForce RTX 5090 (Blackwell, compute capability 12.0): it needs branch 570 or newer"]
    assert gpus.driver_gaps([KEPLER], 535, False) == [
        "Tesla K80 (Kepler, compute capability 3.7): branch 470 is the last that drives it"]
    assert gpus.driver_gaps([HOPPER], 580, False) == [] and gpus.driver_gaps([HOPPER], 580, True) == []
    assert gpus.driver_gaps([GRACE_HOPPER], 580, False) == [
        "NVIDIA GH200 480GB (Hopper, compute capability 9.0): only the open kernel modules drive it"]
    # what cannot be told is unknown, unless another GPU already fails
    assert gpus.driver_gaps([UNKNOWN], 580, False) is None
    assert gpus.driver_gaps([PASCAL], 580, None) is None and gpus.driver_gaps([HOPPER], 580, None) == []
    assert len(gpus.driver_gaps([UNKNOWN, PASCAL], 590, False) or []) == 1


def test_what_a_toolkit_leaves_out():
    # CUDA 13.0 dropped Maxwell, Pascal and Volta (CUDA 13.0 release notes); Blackwell needs 12.8 (12.8's)
    assert gpus.toolkit_gaps([PASCAL], CudaVersion(13, 0)) == [
        "NVIDIA GeForce GTX 1080 Ti (Pascal, compute capability 6.1): CUDA 13.0 dropped it, CUDA 12.x is the last"]
    assert gpus.toolkit_gaps([PASCAL], CudaVersion(12, 9)) == []
    assert gpus.toolkit_gaps([BLACKWELL], CudaVersion(12, 5)) == [
        "NVIDIA GeForce RTX 5090 (Blackwell, compute capability 12.0): CUDA 12.8 is the first that builds for it"]
    assert gpus.toolkit_gaps([BLACKWELL], CudaVersion(12, 8)) == []
    assert gpus.toolkit_gaps([Gpu(name="NVIDIA B300", compute_capability=10.3)], CudaVersion(12, 8)) != []
    assert gpus.toolkit_gaps([KEPLER], CudaVersion(12, 0)) != []
    assert gpus.toolkit_gaps([KEPLER], CudaVersion(11, 8)) == []
    assert gpus.toolkit_gaps([UNKNOWN], CudaVersion(13, 0)) is None
    # a toolkit older than the GPU still runs PTX there; one that dropped it runs nothing
    assert gpus.toolkit_gaps([BLACKWELL], CudaVersion(12, 5), dropped_only=True) == []
    assert gpus.toolkit_gaps([PASCAL], CudaVersion(13, 0), dropped_only=True) != []
    assert gpus.toolkit_dropped_gpus("12.5", ["NVIDIA GeForce RTX 5090"], ["12.0"], ["blackwell"]) == []
    assert gpus.toolkit_dropped_gpus("13.0", ["NVIDIA GeForce GTX 1080 Ti"], ["6.1"], None) != []
    assert gpus.toolkit_dropped_gpus(None, ["x"], None, None) is None
    assert gpus.cuda_window([PASCAL, BLACKWELL]) == (CudaVersion(12, 8), CudaVersion(13, 0))
    assert gpus.newest_cuda_for([PASCAL]) == CudaVersion(12, 9)
    assert gpus.newest_cuda_for([PASCAL, BLACKWELL]) == CudaVersion(12, 9)
    assert gpus.newest_cuda_for([BLACKWELL], CudaVersion(12, 5)) is None
    assert gpus.newest_cuda_for([KEPLER]) == CudaVersion(11, 8)


def test_the_check_functions_read_fact_values_of_any_form():
    names, ccs, archs = ["NVIDIA GeForce GTX 1080 Ti"], ["6.1"], ["pascal"]
    assert gpus.driver_gpu_gaps("580.95.05", False, names, ccs, archs, ["proprietary"]) == []
    assert gpus.driver_gpu_gaps("590.44.01", False, names, ccs, archs, ["proprietary"]) != []
    assert gpus.driver_gpu_gaps("580.95.05", True, names, ccs, archs, None) != []
    assert gpus.driver_gpu_gaps(None, False, names, ccs, archs, None) is None
    assert gpus.driver_gpu_gaps("580.95.05", False, None, None, None, None) is None
    assert gpus.driver_gpu_gaps("580.95.05", "yes", names, ccs, archs, None) is None  # no flavour: cannot tell
    assert gpus.driver_gpu_gaps("580.95.05", False, names, [{"a": 1}], ["martian"], [7]) is None
    assert gpus.toolkit_gpu_gaps("13.0", names, ccs, archs) != []
    assert gpus.toolkit_gpu_gaps("12.5", names, ccs, archs) == []
    assert gpus.toolkit_gpu_gaps(None, names, ccs, archs) is None
    assert gpus.toolkit_gpu_gaps(13, names, ccs, archs) is None
    assert gpus.cuda_for_gpus(names, ccs, archs, "13.0") == "12.9"
    assert gpus.cuda_for_gpus(["NVIDIA GeForce RTX 5090"], ["12.0"], ["blackwell"], "12.8") == "12.8"
    assert gpus.cuda_for_gpus(["x"], [None], [None], "13.0") is None and gpus.cuda_for_gpus([], [], [], None) is None
    # the architecture alone (a chip whose compute capability is not published) still tells the generation
    assert gpus.toolkit_gpu_gaps("12.5", ["NVIDIA GPU 10de:3200"], [None], ["blackwell"]) != []
    assert gpus.driver_gpu_gaps("580.95.05", False, [None], [None], ["blackwell"], None) != []


HEADER = 'sources: ["a"]\nchecked: null\n'
MODULES = "open_kernel_modules: {min_compute_capability: 7.5, required_from_compute_capability: 10.0, " \
          "default_from_branch: 560}\n"
GENERATION = "generations:\n  - {name: Pascal, compute_capability: 6.0, first_cuda: '8.0', cuda_dropped: '13.0'}\n"


@pytest.mark.parametrize(("text", "words"), [
    (HEADER + "generations:\n  - {name: X, compute_capability: 6.0, first_cuda: '8.0', cuda_dropped: '7.0'}\n"
     "names: []\n" + MODULES, "'cuda_dropped' must be a CUDA version after 'first_cuda'"),
    (HEADER + GENERATION + "names: []\n" + MODULES + "families: {GP: volta}\n", "'families' must map"),
    (HEADER + GENERATION + "names: []\n" + MODULES + "families: {GP: pascal}\n"
     "chips:\n  - {chips: [GP102], compute_capability: 6.1}\n  - {chips: [GP102], compute_capability: 6.0}\n",
     "'GP102' is listed twice"),
    (HEADER + GENERATION + "names: []\n" + MODULES + "families: {GP: pascal}\n"
     "chips:\n  - {chips: [GV100], compute_capability: 7.0}\n", "has no family"),
])
def test_a_malformed_generations_table_is_refused(tmp_path, text, words):
    path = tmp_path / "gpu_generations.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=words):
        gpus.parse_gpus(read_table(path))
