"""TensorFlow on Blackwell: the official 2.18 to 2.21 wheels are built with CUDA 12.5 for sm_60, sm_70, sm_80,
sm_89 and compute_90 PTX (tensorflow/tensorflow .bazelrc), so an RTX 5090 (12.0) or a B200 (10.0) gets no code of
its architecture. The plan says so where it installs one, and doctor's tensorflow.gpu-arch fails an installed one;
a Hopper GPU, which runs the compute_90 PTX of its own architecture, is served."""

from __future__ import annotations

import pytest

from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.knowledge import libraries, tensorflow
from setupkit.knowledge.gpus import Gpu
from tests.helpers.doctor import verdict
from tests.helpers.install import plan_for
from tests.helpers.scenarios import snapshot_facts

BLACKWELL = "ubuntu2404-rtx5090-nouveau"
RTX_5090 = "NVIDIA GeForce RTX 5090 (Blackwell, compute capability 12.0)"


def blackwell_warnings(plan) -> list[str]:
    return [warning for warning in plan.warnings if "carry no code for this GPU's architecture" in warning]


def test_the_rtx_5090_plan_installs_the_newest_tensorflow_and_says_it_has_no_blackwell_code():
    plan = plan_for(BLACKWELL)
    assert plan.choices["tensorflow"] == "2.21.0"
    assert blackwell_warnings(plan) == [
        "TensorFlow 2.21.0's wheels are built with CUDA 12.5 for sm_60, sm_70, sm_80, sm_89, compute_90 and carry no "
        f"code for this GPU's architecture ({RTX_5090}: no code of its architecture, only compute_90 PTX for the "
        "driver to compile): the first start compiles the PTX for many minutes, and on Blackwell users report "
        "CUDA_ERROR_INVALID_PTX and XLA's \"PTX version 8.5 does not support target 'sm_120'\" "
        "(tensorflow/tensorflow#89272, #111958); no TensorFlow on PyPI ships Blackwell code yet: build TensorFlow "
        "for this GPU (setupkit build-tf --cuda, CUDA 12.8 or newer) or use NVIDIA's NGC TensorFlow container"]


def test_a_b200_gets_the_same_warning_and_a_hopper_or_an_ada_gpu_none():
    b200 = snapshot_facts(BLACKWELL) | {"gpu.names": ["NVIDIA B200"], "gpu.compute_capabilities": ["10.0"]}
    assert "NVIDIA B200 (Blackwell, compute capability 10.0)" in blackwell_warnings(
        build_plan(b200, PlanOptions(gpu=True)))[0]
    assert blackwell_warnings(plan_for("h100")) == []
    ada = snapshot_facts(BLACKWELL) | {"gpu.names": ["NVIDIA GeForce RTX 4090"], "gpu.compute_capabilities": ["8.9"],
                                       "gpu.architectures": ["ada"]}
    assert blackwell_warnings(build_plan(ada, PlanOptions(gpu=True))) == []


def test_a_cpu_plan_on_the_same_host_says_nothing_of_gpu_code():
    plan = build_plan(snapshot_facts(BLACKWELL), PlanOptions(gpu=False))
    assert blackwell_warnings(plan) == []


@pytest.mark.parametrize(("cc", "code"), [
    (5.2, "none"), (6.1, "machine-code"), (7.5, "machine-code"), (8.6, "machine-code"), (8.9, "machine-code"),
    (9.0, "ptx"), (10.0, "ptx-jit"), (10.3, "ptx-jit"), (12.0, "ptx-jit"), (12.1, "ptx-jit"), (None, None),
])
def test_what_the_2_21_wheels_carry_for_each_compute_capability(cc, code):
    # sm_XY runs on X.Y to X.9; compute_XY PTX on X.Y and newer, compiled by the driver
    assert libraries.gpu_code_for(tensorflow.tested_build("2.21.0"), cc) == code


def test_a_release_without_a_gpu_code_list_cannot_be_told():
    assert libraries.gpu_code_gaps(tensorflow.tested_build("2.17.0"), [Gpu(compute_capability=12.0)]) is None
    assert libraries.gpu_code_gaps(tensorflow.tested_build("2.21.0"), [Gpu(compute_capability=8.0)]) == []


# -- doctor: tensorflow.gpu-arch ----------------------------------------------------------------------------------

def with_tensorflow(name: str, version: str = "2.21.0", package: str = "tensorflow", **more) -> dict:
    return snapshot_facts(name) | {"tensorflow.version": version, "tensorflow.package": package} | more


def test_doctor_fails_tensorflow_2_21_on_an_rtx_5090():
    finding = verdict("tensorflow.gpu-arch", with_tensorflow(BLACKWELL))
    assert finding.status == "fail"
    assert finding.message.startswith(
        f"TensorFlow 2.21.0's wheels (built with CUDA 12.5 for sm_60, sm_70, sm_80, sm_89, compute_90) carry no code "
        f"for this GPU's architecture: {RTX_5090}: no code of its architecture, only compute_90 PTX for the driver "
        f"to compile.")
    assert "CUDA_ERROR_INVALID_PTX" in finding.message
    assert finding.fix["commands"][0] == "setupkit build-tf --cuda --dry-run"


def test_doctor_passes_tensorflow_on_an_h100_and_skips_what_it_cannot_judge():
    h100 = verdict("tensorflow.gpu-arch", with_tensorflow("h100", "2.20.0"))
    assert h100.status == "pass" and "compute capability 9.0" in h100.message
    assert verdict("tensorflow.gpu-arch", snapshot_facts(BLACKWELL)).status == "skip"  # not installed
    assert verdict("tensorflow.gpu-arch", with_tensorflow(BLACKWELL, package="tensorflow-cpu")).status == "skip"
    older = verdict("tensorflow.gpu-arch", with_tensorflow(BLACKWELL, "2.17.0"))
    assert older.status == "skip" and "no GPU code for TensorFlow 2.17.0" in older.message
    assert verdict("tensorflow.gpu-arch", with_tensorflow(BLACKWELL, **{"gpu.count": 0})).status == "skip"
    unknown = with_tensorflow(BLACKWELL, **{"gpu.compute_capabilities": None, "gpu.architectures": None,
                                            "gpu.names": ["NVIDIA Graphics Device"]})
    assert verdict("tensorflow.gpu-arch", unknown).status == "unknown"


# -- Table 3's update rows in the plan ----------------------------------------------------------------------------

def kept_580_facts(driver: str) -> dict:
    return snapshot_facts("ubuntu2204-gtx1080ti-cuda13") | {"driver.version": driver,
                                                            "driver.userspace_version": driver}


def test_a_13_0_update_2_runfile_on_a_kept_580_65_driver_is_warned_of(tmp_path):
    runfile = tmp_path / "cuda_13.0.2_580.95.05_linux.run"
    runfile.write_text("#!/bin/sh\n")
    facts = kept_580_facts("580.65.06")
    gtx = facts | {"gpu.names": ["NVIDIA GeForce RTX 3090"], "gpu.compute_capabilities": ["8.6"],
                   "gpu.architectures": ["ampere"]}
    plan = build_plan(gtx, PlanOptions(gpu=True, cuda_runfile=str(runfile)))
    assert plan.choices["keep_driver"] is True
    assert ("CUDA 13.0.2 (the runfile) names driver 580.95.05 or newer; the driver kept here is 580.65.06: its "
            "programs run through minor-version compatibility only; update the driver within branch 580 to "
            "580.95.05 or newer" in plan.warnings)
    ga = tmp_path / "cuda_13.0.0_580.65.06_linux.run"
    ga.write_text("#!/bin/sh\n")
    assert not any("(the runfile) names driver" in warning
                   for warning in build_plan(gtx, PlanOptions(gpu=True, cuda_runfile=str(ga))).warnings)


# -- Python 2.7: in the table (2.1.0 and older list it), never planned -------------------------------------------

def test_python_2_7_is_in_the_table_but_no_plan_installs_a_tensorflow_for_it():
    assert tensorflow.tested_build("2.1.0").runs_on("2.7.18")
    facts = snapshot_facts(BLACKWELL) | {"python.version": "2.7.18"}
    for gpu in (True, False):
        plan = build_plan(facts, PlanOptions(gpu=gpu))
        assert plan.choices["tensorflow"] is None and plan.step("tensorflow").status == "skip"
        assert "Python 2.7.18 is Python 2, past its end of life" in plan.step("tensorflow").reason
