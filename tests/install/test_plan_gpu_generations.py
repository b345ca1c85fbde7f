"""Plans by GPU architecture, from the probes' facts (PCI id, NVML): the driver branch and module flavour each
architecture needs, and a CUDA toolkit that builds for it; the exact commands asserted."""

from __future__ import annotations

import pytest

from setupkit.errors import PreconditionError
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from tests.helpers.install import commands_of, plan_for, statuses, ubuntu_gpu_facts
from tests.helpers.scenarios import snapshot_facts

BLACKWELL = "ubuntu2404-rtx5090-nouveau"
PASCAL = "ubuntu2204-gtx1080ti-cuda13"


def test_an_rtx_5090_on_nouveau_gets_the_open_modules_and_cuda_12_8_or_newer():
    plan = plan_for(BLACKWELL, with_toolkit=True)
    assert commands_of(plan, "nouveau") == [["update-initramfs", "-u"]]
    assert commands_of(plan, "kernel-headers") == [["apt-get", "update"],
                                                   ["apt-get", "install", "-y", "linux-headers-6.8.0-71-generic"]]
    assert commands_of(plan, "display-stop") == [["systemctl", "stop", "gdm3"]]
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580-open"]]
    assert "open kernel modules" in plan.step("driver").reason
    assert commands_of(plan, "cuda-repo")[2][-1] == (
        "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/cuda-keyring_1.1-1_all.deb")
    # TensorFlow's tested CUDA is 12.5, too old to build for Blackwell: the toolkit moves up to 12.8
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-12-8"]]
    assert plan.choices["open_kernel_modules"] is True and plan.choices["cuda_toolkit"] == "12.8"
    assert not any("generation is unknown" in warning for warning in plan.warnings)
    assert plan.reboot_required


def test_an_rtx_5090_plan_without_a_toolkit_still_chooses_by_the_architecture():
    plan = plan_for(BLACKWELL)
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580-open"]]
    assert plan.choices["driver_branch"] == 580 and plan.choices["cuda_toolkit"] == "12.8"


def test_a_cuda_older_than_blackwell_asked_for_is_planned_with_a_warning():
    # CUDA 12.5 cannot compile for sm_120, but PTX built for an older architecture still runs there
    plan = plan_for(BLACKWELL, cuda_version="12.5")
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-12-5"]]
    assert ("CUDA 12.5 predates a GPU (NVIDIA GeForce RTX 5090 (Blackwell, compute capability 12.0): CUDA 12.8 is "
            "the first that builds for it): nvcc cannot compile for its architecture, only PTX for an older one runs "
            "there" in plan.warnings)


def test_a_blackwell_card_on_the_proprietary_module_gets_the_open_one():
    facts = snapshot_facts(BLACKWELL) | {"driver.loaded": True, "driver.version": "580.95.05",
                                         "driver.nvml_error": None, "driver.open_kernel_module": False,
                                         "driver.cuda_max": "13.0", "nouveau.loaded": False,
                                         "nouveau.blacklisted": True}
    plan = build_plan(facts, PlanOptions(gpu=True))
    assert plan.choices["keep_driver"] is False
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580-open"]]
    same_branch = build_plan(facts, PlanOptions(gpu=True, driver_branch=580))
    assert same_branch.step("driver").status == "todo" and same_branch.choices["open_kernel_modules"] is True


def test_a_pascal_card_keeps_driver_580_and_gets_a_cuda_12_toolkit_beside_cuda_13():
    plan = plan_for(PASCAL, with_toolkit=True)
    state = statuses(plan)
    assert state["driver"] == "done" and "580.95.05" in plan.step("driver").reason
    assert plan.choices["open_kernel_modules"] is False
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-12-5"]]
    assert state["cuda-toolkit"] == "todo" and "CUDA 13.0 is installed" in plan.step("cuda-toolkit").reason
    assert ("the installed CUDA 13.0 cannot build code for NVIDIA GeForce GTX 1080 Ti (Pascal, compute capability "
            "6.1): CUDA 13.0 dropped it, CUDA 12.x is the last; the toolkit this plan picks is CUDA 12.5"
            in plan.warnings)


def test_a_cuda_13_toolkit_for_pascal_is_refused():
    with pytest.raises(PreconditionError) as caught:
        plan_for(PASCAL, cuda_version="13.0")
    assert caught.value.message.startswith("CUDA 13.0 cannot build code for NVIDIA GeForce GTX 1080 Ti (Pascal")
    assert caught.value.hint == "pass --cuda-version 12.9"
    assert plan_for(PASCAL, cuda_version="12.9").choices["cuda_toolkit"] == "12.9"


def test_a_pascal_card_is_held_to_branch_580_and_the_proprietary_modules():
    with pytest.raises(PreconditionError, match="its last branch is 580$") as caught:
        plan_for(PASCAL, driver_branch=590)
    assert caught.value.hint == "pass --driver-branch 580"
    fresh = build_plan(snapshot_facts("ubuntu1604-gtx-nouveau") | {"os.version_id": "22.04",
                                                                   "os.pretty_name": "Ubuntu 22.04.5 LTS",
                                                                   "python.version": "3.10.12"}, PlanOptions(gpu=True))
    assert commands_of(fresh, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580"]]


def test_the_architecture_facts_decide_where_the_name_says_nothing():
    # no NVML: the probes told the architecture from the PCI id; the name is the PCI id's own
    facts = ubuntu_gpu_facts(**{"gpu.names": ["NVIDIA GPU 10de:2b85"], "gpu.compute_capabilities": ["12.0"],
                                "gpu.architectures": ["blackwell"], "gpu.kernel_modules": ["open"]})
    plan = build_plan(facts, PlanOptions(gpu=True))
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580-open"]]
    assert not any("generation is unknown" in warning for warning in plan.warnings)
    # a Blackwell chip whose compute capability is not published: the architecture alone decides
    unpublished = ubuntu_gpu_facts(**{"gpu.names": ["NVIDIA GPU 10de:3200"], "gpu.compute_capabilities": [None],
                                      "gpu.architectures": ["blackwell"]})
    assert commands_of(build_plan(unpublished, PlanOptions(gpu=True)), "driver") == [
        ["apt-get", "install", "-y", "nvidia-driver-580-open"]]


def test_grace_hopper_gets_the_open_modules_and_an_h100_the_default():
    gh200 = ubuntu_gpu_facts(**{"gpu.names": ["NVIDIA GH200 480GB"], "gpu.compute_capabilities": ["9.0"],
                                "gpu.architectures": ["hopper"], "gpu.kernel_modules": ["open"]})
    plan = build_plan(gh200, PlanOptions(gpu=True, driver_branch=550))
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-550-open"]]
    h100 = ubuntu_gpu_facts(**{"gpu.names": ["NVIDIA H100 PCIe"], "gpu.compute_capabilities": ["9.0"]})
    assert commands_of(build_plan(h100, PlanOptions(gpu=True, driver_branch=550)), "driver") == [
        ["apt-get", "install", "-y", "nvidia-driver-550"]]


def test_gpus_no_one_driver_drives_are_refused():
    facts = ubuntu_gpu_facts(**{"gpu.count": 2, "gpu.names": ["NVIDIA GeForce RTX 5090", "NVIDIA GeForce GTX 1080 Ti"],
                                "gpu.compute_capabilities": ["12.0", "6.1"]})
    with pytest.raises(PreconditionError, match="no one driver drives these GPUs together"):
        build_plan(facts, PlanOptions(gpu=True))
