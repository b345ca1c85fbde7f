"""torch.cuda-compat, torch.gpu-arch, jax.cuda-compat and python.cuda-wheels-mixed: PyTorch's and JAX's CUDA
against the driver and the GPUs, and the NVIDIA wheels of one environment, on the scenarios and on cases the
release matrices name."""

from __future__ import annotations

import pytest

from tests.helpers.doctor import builtin_checks, facts_with, verdict
from tests.helpers.scenarios import H100, snapshot_facts

FRAMEWORK_CHECKS = ("torch.cuda-compat", "torch.gpu-arch", "jax.cuda-compat", "python.cuda-wheels-mixed")
RTX_4090 = {"gpu__count": 1, "gpu__names": ["NVIDIA GeForce RTX 4090"], "gpu__compute_capabilities": ["8.9"],
            "gpu__architectures": ["ada"]}
RTX_5090 = {"gpu__count": 1, "gpu__names": ["NVIDIA GeForce RTX 5090"], "gpu__compute_capabilities": ["12.0"],
            "gpu__architectures": ["blackwell"]}
GTX_1080_TI = {"gpu__count": 1, "gpu__names": ["NVIDIA GeForce GTX 1080 Ti"], "gpu__compute_capabilities": ["6.1"],
               "gpu__architectures": ["pascal"]}
DGX_SPARK = {"gpu__count": 1, "gpu__names": ["NVIDIA GB10"], "gpu__compute_capabilities": ["12.1"],
             "gpu__architectures": ["blackwell"]}


def test_the_catalog_holds_the_framework_checks():
    assert set(FRAMEWORK_CHECKS) <= set(builtin_checks())
    assert {builtin_checks()[name].section for name in FRAMEWORK_CHECKS} == {"PyTorch and JAX"}


# -- the scenarios -------------------------------------------------------------------------------------------------

def test_a_cu130_wheel_on_driver_570_fails_torch_cuda_compat():
    facts = snapshot_facts("ubuntu2404-torch-cu130-driver570")
    finding = verdict("torch.cuda-compat", facts)
    assert finding.status == "fail"
    assert finding.message == (
        "PyTorch 2.13.0+cu130 is built for CUDA 13.0, but driver 570.172.08 runs CUDA 12.8 at most (CUDA 13.0 needs "
        "driver 580 or newer): torch.cuda.is_available() is False, with \"The NVIDIA driver on your system is too "
        "old\".")
    # the fix names the variant this driver runs that has kernels for an RTX 4090
    assert finding.fix["commands"][-1].endswith("--index-url https://download.pytorch.org/whl/cu126")
    assert "580 or newer" in finding.fix["text"]
    # the wheel itself serves Ada: sm_86 machine code runs on compute capability 8.9
    arch = verdict("torch.gpu-arch", facts)
    assert arch.status == "pass" and "sm_86" in arch.message
    assert verdict("python.cuda-wheels-mixed", facts).status == "pass"
    assert verdict("jax.cuda-compat", facts).status == "skip"


def test_a_cu126_wheel_on_an_rtx_5090_fails_torch_gpu_arch():
    facts = snapshot_facts("ubuntu2404-rtx5090-torch-cu126")
    finding = verdict("torch.gpu-arch", facts)
    assert finding.status == "fail"
    assert finding.message == (
        "PyTorch 2.13.0+cu126 (CUDA 12.6) has no kernels for NVIDIA GeForce RTX 5090 (Blackwell, compute capability "
        "12.0): it was built for sm_50, sm_60, sm_70, sm_75, sm_80, sm_86, sm_90. PyTorch warns that the GPU \"is not "
        "compatible with the current PyTorch installation\" and CUDA calls fail with \"no kernel image is available "
        "for execution on the device\".")
    assert finding.fix["commands"] == [
        "/home/user/venv/bin/python -m pip install --force-reinstall torch --index-url "
        "https://download.pytorch.org/whl/cu130"]  # the newest variant driver 580 runs in full, as install picks
    # driver 580 (CUDA 13.0) runs CUDA 12.6 fully
    assert verdict("torch.cuda-compat", facts).status == "pass"
    assert verdict("python.cuda-wheels-mixed", facts).status == "pass"


def test_cuda_12_and_13_wheels_in_one_environment_fail_python_cuda_wheels_mixed():
    facts = snapshot_facts("ubuntu2404-torch-jax-mixed-cuda")
    finding = verdict("python.cuda-wheels-mixed", facts)
    assert finding.status == "fail"
    assert finding.message.startswith(
        "NVIDIA wheels overwrite each other's files: nvidia-cudnn-cu12 9.10.2.21 and nvidia-cudnn-cu13 9.20.0.48 both "
        "install nvidia/cudnn/lib, nvidia-nccl-cu12 2.27.3 and nvidia-nccl-cu13 2.29.7 both install nvidia/nccl/lib.")
    assert finding.fix["commands"]
    # each framework on its own is fine with driver 580
    torch = verdict("torch.cuda-compat", facts)
    assert torch.status == "pass" and "CUDA 12.8" in torch.message
    jax = verdict("jax.cuda-compat", facts)
    assert jax.status == "pass"
    assert jax.message == ("Driver 580.95.05 (CUDA 13.0) runs JAX's CUDA plugin (jax-cuda13-plugin=0.10.2, "
                           "CUDA 13.0).")
    assert verdict("torch.gpu-arch", facts).status == "pass"


def test_the_captured_h100_with_pypi_torch_and_jax_passes():
    facts = snapshot_facts(H100)
    for name in FRAMEWORK_CHECKS:
        assert verdict(name, facts).status == "pass", name
    assert "sm_90" in verdict("torch.gpu-arch", facts).message


def test_scenarios_without_frameworks_skip_them():
    facts = snapshot_facts("ubuntu2204-gtx1080ti-cuda13")
    assert [verdict(name, facts).status for name in FRAMEWORK_CHECKS] == ["skip"] * 4


# -- torch.cuda-compat ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("version", "cuda", "driver", "driver_cuda", "status", "words"), [
    ("2.13.0+cu130", "13.0", "580.65.06", "13.0", "pass", "runs PyTorch 2.13.0+cu130's CUDA 13.0"),
    ("2.14.1+cu132", "13.2", "580.95.05", "13.0", "warn", "minor-version compatibility"),
    ("2.8.0+cu128", "12.8", "535.274.02", "12.2", "warn", "Upgrade the driver to 570.26 or newer"),
    ("2.13.0+cu126", "12.6", "470.256.02", "11.4", "fail", "needs driver 525.60.13 or newer"),
])
def test_torch_cuda_compat_follows_minor_version_compatibility(version, cuda, driver, driver_cuda, status, words):
    finding = verdict("torch.cuda-compat", facts_with(
        **RTX_4090, torch__version=version, torch__build="cuda", torch__cuda_version=cuda, driver__version=driver,
        driver__cuda_max=driver_cuda))
    assert finding.status == status
    assert words in finding.message + (finding.fix or {}).get("text", "")


def test_a_cpu_build_on_a_gpu_host_warns_with_the_variant_the_driver_runs():
    finding = verdict("torch.cuda-compat", facts_with(
        **RTX_4090, torch__version="2.13.0+cpu", torch__build="cpu", driver__version="580.95.05",
        driver__cuda_max="13.0", python__executable="/usr/bin/python3"))
    assert finding.status == "warn" and "is a cpu build" in finding.message
    assert finding.fix["commands"][-1] == ("/usr/bin/python3 -m pip install --force-reinstall torch --index-url "
                                           "https://download.pytorch.org/whl/cu130")


def test_a_source_build_cannot_be_told():
    finding = verdict("torch.cuda-compat", facts_with(
        **RTX_4090, torch__version="2.14.0a0+git5f2e1c4", torch__build="other", driver__version="580.95.05"))
    assert finding.status == "unknown" and "a source build" in finding.message


# -- torch.gpu-arch ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("gpu", "version", "cuda", "status", "words"), [
    (GTX_1080_TI, "2.13.0+cu130", "13.0", "fail", "GTX 1080 Ti (Pascal, compute capability 6.1)"),
    (GTX_1080_TI, "2.13.0+cu126", "12.6", "pass", "sm_60"),
    (RTX_5090, "2.9.0+cu128", "12.8", "pass", "sm_120"),
    (DGX_SPARK, "2.13.0+cu130", "13.0", "pass", "sm_120"),  # sm_120 machine code runs on 12.1
    (DGX_SPARK, "2.9.0+cu128", "12.8", "pass", "sm_120"),
    ({**RTX_5090, "gpu__compute_capabilities": ["13.0"], "gpu__architectures": [None]}, "2.13.0+cu130", "13.0",
     "warn", "through PTX alone"),
    (RTX_5090, "2.3.1+cu121", "12.1", "unknown", "no arch list"),
    ({**RTX_5090, "gpu__compute_capabilities": [None]}, "2.13.0+cu130", "13.0", "unknown", "capability is unknown"),
])
def test_torch_gpu_arch_reads_the_wheels_arch_list(gpu, version, cuda, status, words):
    finding = verdict("torch.gpu-arch", facts_with(
        **gpu, torch__version=version, torch__build="cuda", torch__cuda_version=cuda, driver__version="580.95.05",
        driver__cuda_max="13.0"))
    assert finding.status == status
    assert words in finding.message


# -- jax.cuda-compat -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("plugins", "cuda", "driver", "driver_cuda", "status", "words"), [
    ({}, None, "580.95.05", "13.0", "warn", "runs on the CPU only"),
    ({"jax-cuda13-plugin": "0.10.2"}, "13.0", "570.172.08", "12.8", "fail", "needs driver 580 or newer"),
    ({"jax-cuda12-plugin": "0.10.2"}, "12.9", "550.163.01", "12.4", "warn", "disables parallel compilation"),
    ({"jax-cuda12-plugin": "0.10.2"}, "12.9", "575.57.08", "12.9", "pass", "runs JAX's CUDA plugin"),
    ({"jax-cuda12-plugin": "0.10.2", "jax-cuda13-plugin": "0.10.2"}, "13.0", "580.95.05", "13.0", "warn",
     "Two JAX CUDA plugins"),
])
def test_jax_cuda_compat(plugins, cuda, driver, driver_cuda, status, words):
    finding = verdict("jax.cuda-compat", facts_with(
        **RTX_4090, jax__version="0.10.2", jax__cuda_plugin=plugins, jax__cuda_version=cuda, driver__version=driver,
        driver__cuda_max=driver_cuda))
    assert finding.status == status
    assert words in finding.message


# -- python.cuda-wheels-mixed --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("wheels", "status", "words"), [
    ({"nvidia-cuda-runtime-cu12": "12.8.90", "nvidia-cuda-runtime": "13.0.96"}, "warn", "CUDA 12, 13"),
    ({"nvidia-cudnn-cu11": "8.9.6.50", "nvidia-cudnn-cu12": "9.10.2.21"}, "warn", "Two cuDNN major versions"),
    ({"nvidia-cudnn-cu11": "9.1.0.70", "nvidia-cudnn-cu12": "9.10.2.21"}, "fail", "both install nvidia/cudnn/lib"),
    ({"nvidia-cufft": "12.0.0.61", "nvidia-curand": "10.4.0.35"}, "pass", "all of CUDA 13"),
    ({}, "skip", "No NVIDIA CUDA wheels"),
])
def test_python_cuda_wheels_mixed(wheels, status, words):
    finding = verdict("python.cuda-wheels-mixed", facts_with(python__cuda_wheels=wheels))
    assert finding.status == status
    assert words in finding.message
