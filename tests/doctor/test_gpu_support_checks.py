"""driver.gpu-support and cuda.gpu-arch: the driver branch and module flavour, and the CUDA toolkit, against every
GPU's architecture, on the scenarios and on the cases NVIDIA's release notes name."""

from __future__ import annotations

import pytest

from tests.helpers.doctor import facts_with, verdict
from tests.helpers.scenarios import snapshot_facts

PASCAL = {"gpu__count": 1, "gpu__names": ["NVIDIA GeForce GTX 1080 Ti"], "gpu__compute_capabilities": ["6.1"],
          "gpu__architectures": ["pascal"], "gpu__kernel_modules": ["proprietary"]}
BLACKWELL = {"gpu__count": 1, "gpu__names": ["NVIDIA GeForce RTX 5090"], "gpu__compute_capabilities": ["12.0"],
             "gpu__architectures": ["blackwell"], "gpu__kernel_modules": ["open"]}


def test_a_pascal_card_with_a_cuda_13_toolkit_fails_cuda_gpu_arch():
    facts = snapshot_facts("ubuntu2204-gtx1080ti-cuda13")
    finding = verdict("cuda.gpu-arch", facts)
    assert finding.status == "fail"
    assert finding.message == (
        "CUDA toolkit 13.0 (/usr/local/cuda-13.0) cannot build code for every GPU: NVIDIA GeForce GTX 1080 Ti "
        "(Pascal, compute capability 6.1): CUDA 13.0 dropped it, CUDA 12.x is the last. nvcc stops with "
        "\"Unsupported gpu architecture\".")
    assert finding.fix["commands"][0] == "setupkit install --gpu --dry-run --cuda-version 12.9"
    assert "CUDA 12.9" in finding.fix["text"]
    # driver 580 with the proprietary module is Pascal's last branch, and serves it
    support = verdict("driver.gpu-support", facts)
    assert support.status == "pass"
    assert support.message == ("Driver 580.95.05 (open kernel module: no) serves every GPU (pascal).")


def test_an_rtx_5090_on_nouveau_has_no_driver_or_toolkit_to_judge_yet():
    facts = snapshot_facts("ubuntu2404-rtx5090-nouveau")
    support = verdict("driver.gpu-support", facts)
    assert support.status == "skip" and "for blackwell" in support.message
    assert verdict("cuda.gpu-arch", facts).status == "skip"
    assert verdict("nouveau.loaded", facts).status == "fail"


@pytest.mark.parametrize(("gpu", "driver", "open_module", "status", "words"), [
    (BLACKWELL, "580.95.05", False, "fail", "only the open kernel modules drive it"),
    (BLACKWELL, "565.77", True, "fail", "it needs branch 570 or newer"),
    (BLACKWELL, "570.195.03", True, "pass", "serves every GPU (blackwell)"),
    (PASCAL, "590.44.01", False, "fail", "branch 580 is the last that drives it"),
    (PASCAL, "580.95.05", True, "fail", "the open kernel modules drive Turing and newer only"),
    (PASCAL, "580.95.05", None, "unknown", "kernel module's flavour"),
    ({"gpu__count": 1, "gpu__names": ["Tesla K80"], "gpu__compute_capabilities": ["3.7"],
      "gpu__architectures": ["kepler"]}, "535.274.02", False, "fail", "branch 470 is the last"),
    ({"gpu__count": 1, "gpu__names": ["NVIDIA GH200 480GB"], "gpu__compute_capabilities": ["9.0"],
      "gpu__architectures": ["hopper"], "gpu__kernel_modules": ["open"]}, "580.95.05", False, "fail",
     "only the open kernel modules"),
    ({"gpu__count": 1, "gpu__names": ["NVIDIA GPU 10de:ffff"], "gpu__compute_capabilities": [None],
      "gpu__architectures": [None]}, "580.95.05", False, "unknown", "architecture"),
])
def test_driver_gpu_support(gpu, driver, open_module, status, words):
    facts = facts_with(**gpu, driver__version=driver, driver__open_kernel_module=open_module, kernel__wsl=False)
    finding = verdict("driver.gpu-support", facts)
    assert finding.status == status and words in finding.message, finding.message
    if status == "fail":
        assert "nvidia-driver-<branch>-open" in finding.fix["text"]


def test_driver_gpu_support_leaves_wsl_and_gpu_less_hosts_alone():
    assert verdict("driver.gpu-support", facts_with(gpu__count=0)).status == "skip"
    wsl = facts_with(**BLACKWELL, driver__version="581.57", kernel__wsl=True)
    assert verdict("driver.gpu-support", wsl).status == "skip"
    assert verdict("driver.gpu-support", snapshot_facts("h100")).status == "pass"


@pytest.mark.parametrize(("gpu", "toolkit", "status", "words"), [
    (BLACKWELL, "12.5", "warn", "predates a GPU: NVIDIA GeForce RTX 5090 (Blackwell, compute capability 12.0): "
                                "CUDA 12.8 is the first that builds for it"),
    (BLACKWELL, "12.8", "pass", "builds code for every GPU (compute capability 12.0)"),
    (PASCAL, "12.9", "pass", "builds code for every GPU"),
    ({"gpu__count": 1, "gpu__names": ["NVIDIA B300"], "gpu__compute_capabilities": ["10.3"],
      "gpu__architectures": ["blackwell"]}, "12.8", "warn", "CUDA 12.9 is the first"),
    ({"gpu__count": 1, "gpu__names": ["Tesla K80"], "gpu__compute_capabilities": ["3.7"],
      "gpu__architectures": ["kepler"]}, "12.2", "fail", "CUDA 12.0 dropped it"),
    ({"gpu__count": 1, "gpu__names": ["NVIDIA GPU 10de:ffff"], "gpu__compute_capabilities": [None],
      "gpu__architectures": [None]}, "13.0", "unknown", "architecture is unknown"),
])
def test_cuda_gpu_arch(gpu, toolkit, status, words):
    facts = facts_with(**gpu, cuda__toolkit_version=toolkit, cuda__toolkit_path=f"/usr/local/cuda-{toolkit}")
    finding = verdict("cuda.gpu-arch", facts)
    assert finding.status == status and words in finding.message, finding.message


def test_the_fix_names_a_cuda_the_driver_serves():
    facts = facts_with(**BLACKWELL, cuda__toolkit_version="12.5", driver__cuda_max="12.8")
    assert verdict("cuda.gpu-arch", facts).fix["commands"][0] == "setupkit install --gpu --dry-run --cuda-version 12.8"
