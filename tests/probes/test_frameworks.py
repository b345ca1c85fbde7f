"""The frameworks probe (torch.*, jax.*, python.cuda_wheels) and the framework_wheels table behind it: everything
told from distribution names and versions, nothing imported, and carried by snapshots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from setupkit.host.base import PythonInfo
from setupkit.host.bundle import write_recording
from setupkit.host.live import installed_packages
from setupkit.host.recording import Recording
from setupkit.knowledge import framework_wheels as fw
from setupkit.knowledge.loader import load_table
from setupkit.probes import read_facts
from setupkit.probes.frameworks import cuda_wheels
from setupkit.versions import CudaVersion

REPO = Path(__file__).resolve().parents[2]
CU130_WHEELS = {"nvidia-cuda-runtime": "13.0.96", "nvidia-cudnn-cu13": "9.20.0.48", "nvidia-cufft": "12.0.0.61"}


def dist_info(site: Path, *names: str) -> Path:
    """``NAME-VERSION.dist-info`` folders in ``site``, as pip leaves them (the wheel's own spelling)."""
    for name in names:
        (site / f"{name}.dist-info").mkdir(parents=True)
    return site


def snapshot_of(tmp_path: Path, packages: dict[str, str]) -> str:
    """A snapshot whose Python holds ``packages``, written by setupkit's own bundle writer."""
    folder = tmp_path / "snap"
    write_recording(Recording(python=PythonInfo(executable="/venv/bin/python", version="3.12.3", bits=64,
                                                pip_version="25.2", packages={"pip": "25.2", **packages})),
                    str(folder), note="frameworks", created="2026-12-01T00:00:00Z")
    return str(folder)


# -- the facts, through a snapshot -------------------------------------------------------------------------------

def test_a_snapshot_carries_the_framework_facts(tmp_path):
    facts = read_facts(snapshot_of(tmp_path, {"torch": "2.13.0+cu130", "jax": "0.10.2",
                                              "jax-cuda13-plugin": "0.10.2", "nvidia-ml-py": "13.615.71",
                                              **CU130_WHEELS}))
    assert facts["torch.version"] == "2.13.0+cu130"
    assert (facts["torch.build"], facts["torch.cuda_version"]) == ("cuda", "13.0")
    assert facts["jax.version"] == "0.10.2"
    assert facts["jax.cuda_plugin"] == {"jax-cuda13-plugin": "0.10.2"}
    assert facts["jax.cuda_version"] == "13.0"
    assert facts["python.cuda_wheels"] == CU130_WHEELS  # nvidia-ml-py (pynvml) is no CUDA library


def test_no_framework_means_empty_facts(tmp_path):
    facts = read_facts(snapshot_of(tmp_path, {"numpy": "2.4.6"}))
    assert [facts[name] for name in ("torch.version", "torch.build", "torch.cuda_version", "jax.version",
                                     "jax.cuda_version")] == [None] * 5
    assert facts["jax.cuda_plugin"] == {} and facts["python.cuda_wheels"] == {}


@pytest.mark.parametrize(("version", "wheels", "build", "cuda"), [
    ("2.13.0+cpu", {}, "cpu", None),                       # the CPU wheel of PyTorch's cpu index
    ("2.11.0+cu130", {}, "cuda", "13.0"),
    ("2.7.1+cu118", {}, "cuda", "11.8"),
    ("2.5.1+rocm6.2", {}, "rocm", None),
    ("2.8.0+xpu", {}, "xpu", None),
    ("2.14.0a0+git5f2e1c4", {}, "other", None),             # a source build
    ("2.8.0", {"nvidia-cuda-runtime-cu12": "12.8.90"}, "cuda", "12.8"),   # PyPI's: its runtime wheel
    ("2.11.0", {"nvidia-cuda-runtime": "13.0.96"}, "cuda", "13.0"),
    ("2.11.0", {}, "cuda", "13.0"),                         # the release's pin, its wheels removed
    # jax[cuda12] beside torch 2.11: the runtime of the major release torch requires, not the other one
    ("2.11.0", {"nvidia-cuda-runtime-cu12": "12.9.79", "nvidia-cuda-runtime": "13.0.96"}, "cuda", "13.0"),
    ("2.99.0", {"nvidia-cuda-runtime-cu12": "12.9.79"}, "cuda", "12.9"),   # a release the table lacks
    ("2.99.0", {}, None, None),
])
def test_torch_build_from_the_tag_or_the_runtime_wheel(tmp_path, version, wheels, build, cuda):
    facts = read_facts(snapshot_of(tmp_path, {"torch": version, **wheels}))
    assert (facts["torch.build"], facts["torch.cuda_version"]) == (build, cuda)


# -- a live read: metadata only --------------------------------------------------------------------------------

def test_the_live_scan_reads_the_wheels_own_folder_names(tmp_path):
    site = dist_info(tmp_path, "torch-2.13.0+cpu", "jax-0.10.2", "jaxlib-0.10.2", "nvidia_cudnn_cu13-9.20.0.48",
                     "nvidia_ml_py-13.615.71", "nvidia_cuda_runtime-13.0.96")
    packages = installed_packages([str(site)])
    assert packages["torch"] == "2.13.0+cpu" and packages["jax"] == "0.10.2"
    assert cuda_wheels(packages) == {"nvidia-cuda-runtime": "13.0.96", "nvidia-cudnn-cu13": "9.20.0.48"}


def test_the_probe_never_imports_a_framework(tmp_path):
    # A torch and a jax that stop the interpreter if imported: the probe must read their metadata only.
    site = dist_info(tmp_path, "torch-2.13.0+cu130", "jax-0.10.2", "jax_cuda13_plugin-0.10.2")
    for package in ("torch", "jax", "jax_plugins"):
        (site / package).mkdir()
        (site / package / "__init__.py").write_text("raise SystemExit('imported ' + __name__)\n")
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from setupkit.probes import read_facts; "
              "facts = read_facts(); print(facts['torch.version'], facts['jax.cuda_plugin'])")
    done = subprocess.run([sys.executable, "-c", script, str(site)], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2.13.0+cu130 {'jax-cuda13-plugin': '0.10.2'}"


# -- the table -------------------------------------------------------------------------------------------------

def test_the_table_names_its_sources_and_loads_into_frozen_rows():
    table = load_table(fw.TABLE)
    assert table.checked == "2026-12-01" and any("build_cuda.sh" in source for source in table.sources)
    parsed = fw.parse_framework_wheels(table)
    assert {row.variant for row in parsed.torch_variants} >= {"cu126", "cu128", "cu130"}
    with pytest.raises(AttributeError):
        parsed.torch_variants[0].variant = "cu999"  # type: ignore[misc]


def test_the_rows_the_sources_quote():
    cu126 = fw.torch_variant("2.13.0+cu126", "12.6")
    assert cu126 is not None and cu126.arch_list() == "sm_50, sm_60, sm_70, sm_75, sm_80, sm_86, sm_90"
    cu130 = fw.torch_variant("2.13.0+cu130", "13.0")
    assert cu130 is not None and cu130.arch_list() == "sm_75, sm_80, sm_86, sm_90, sm_100, sm_120, compute_120"
    cu128 = fw.torch_variant("2.9.1+cu128", "12.8")
    assert cu128 is not None and 7.0 in cu128.sass and cu128.ptx is None  # pytorch/pytorch#157517 kept sm_70
    assert fw.framework_wheels().torch_pypi_cuda["2.8"] == CudaVersion(12, 8)
    assert fw.framework_wheels().torch_pypi_cuda["2.11"] == CudaVersion(13, 0)


@pytest.mark.parametrize(("cc", "kernel"), [(8.9, "sass"), (7.5, "sass"), (12.1, "sass"), (7.0, None),
                                            (13.0, "ptx"), (6.1, None)])
def test_binary_compatibility_within_a_major_release_and_ptx_beyond(cc, kernel):
    cu130 = fw.torch_variant("2.13.0+cu130", "13.0")
    assert cu130 is not None and fw.kernel_for(cu130, cc) == kernel


@pytest.mark.parametrize(("name", "version", "major"), [
    ("nvidia-cudnn-cu12", "9.10.2.21", 12), ("nvidia-cudnn-cu13", "9.20.0.48", 13),
    ("nvidia-cuda-runtime", "13.0.96", 13), ("nvidia-cublas", "13.1.0.3", 13),
    ("nvidia-cufft", "12.0.0.61", None),       # versioned as cuFFT, not as CUDA
    ("nvidia-ml-py", "13.615.71", None), (None, "1", None),
])
def test_wheel_cuda_major(name, version, major):
    assert fw.wheel_cuda_major(name, version) == major


def test_the_wheel_questions_of_a_mixed_environment():
    wheels = {"nvidia-cudnn-cu12": "9.10.2.21", "nvidia-cudnn-cu13": "9.20.0.48", "nvidia-cufft": "12.0.0.61",
              "nvidia-nccl-cu12": "2.27.3", "nvidia-ml-py": "13.615.71", "nvidia-cuda-runtime-cu12": 12}
    assert fw.cuda_wheel_majors(wheels) == [12, 13]
    assert fw.cudnn_wheel_majors(wheels) == [9]
    assert fw.clashing_cuda_wheels(wheels) == [
        "nvidia-cudnn-cu12 9.10.2.21 and nvidia-cudnn-cu13 9.20.0.48 both install nvidia/cudnn/lib"]
    assert fw.cuda_wheel_majors({"nvidia-cufft": "12.0.0.61"}) == [13]  # suffix-free: CUDA 13 on
    assert fw.cuda_wheel_majors(None) is None and fw.clashing_cuda_wheels("garbage") == []


def test_the_variant_to_install_fits_the_driver_and_the_gpus():
    # driver 580 (CUDA 13.0) runs cu130 in full, cu132 only through minor-version compatibility: cu130, as the
    # install plan picks
    assert fw.torch_variant_for("2.13.0+cu126", "13.0", ["RTX 5090"], ["12.0"]) == "cu130"
    assert fw.torch_variant_for("2.13.0+cu126", "13.2", ["RTX 5090"], ["12.0"]) == "cu132"
    assert fw.torch_variant_for("2.13.0+cu130", "12.8", ["RTX 4090"], ["8.9"]) == "cu126"
    assert fw.torch_variant_for("2.13.0+cu130", "12.8", ["RTX 5090"], ["12.0"]) is None  # cu126 stops at sm_90
    assert fw.torch_variant_for("2.13.0", "12.9", ["GTX 1080 Ti"], ["6.1"]) == "cu126"
    assert fw.torch_variant_for("1.0.0", "13.2") == "cu132"  # a release the table lacks: its newest
    assert fw.torch_variant_for("2.13.0", None) is None
