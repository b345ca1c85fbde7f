"""Plans for the scenario snapshots, read through the real probes, with the exact commands asserted."""

from __future__ import annotations

import sys

from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.install.steps_host import NOUVEAU_CONF, NOUVEAU_CONTENT
from tests.helpers.install import commands_of, plan_for, statuses

DOCTOR = [sys.executable, "-m", "setupkit", "doctor"]


def test_ubuntu1404_upstart_stops_lightdm_with_upstart_and_stays_within_cuda_10_1():
    plan = plan_for("ubuntu1404-upstart-lightdm")
    assert commands_of(plan, "display-stop") == [["stop", "lightdm"]]
    assert commands_of(plan, "display-start") == [["start", "lightdm"]]
    # driver 352 serves CUDA 7.5 only: no TensorFlow wheel was built for it, so the driver moves to R418
    assert commands_of(plan, "driver") == [["add-apt-repository", "-y", "ppa:graphics-drivers/ppa"],
                                           ["apt-get", "update"], ["apt-get", "install", "-y", "nvidia-418"]]
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-10-0"]]
    assert commands_of(plan, "cudnn") == [["apt-get", "install", "-y", "libcudnn7", "libcudnn7-dev"]]
    assert commands_of(plan, "tensorflow") == [["/usr/bin/python3", "-m", "pip", "install", "tensorflow-gpu==2.0.0"]]
    # pip 1.5.4 ignores Requires-Python: the upgrade is held to the last pip for Python 3.4
    assert commands_of(plan, "pip") == [["/usr/bin/python3", "-m", "pip", "install", "--upgrade", "pip<=19.1.1"]]
    repo = plan.step("cuda-repo")
    assert repo.files[0].path == "/etc/apt/sources.list.d/cuda.list"
    assert repo.commands[0][:3] == ["apt-key", "adv", "--fetch-keys"]
    assert any("end-of-life" in w and "CUDA 10.1" in w for w in plan.warnings)
    assert plan.choices["driver_cuda_max"] == "10.1" and plan.reboot_required


def test_ubuntu1604_nouveau_lightdm_driver_toolkit_and_reboot():
    plan = plan_for("ubuntu1604-gtx-nouveau")
    state = statuses(plan)
    assert [s for s in state if state[s] == "todo"] == ["pip", "kernel-headers", "nouveau", "cuda-repo",
                                                        "display-stop", "driver", "cuda-toolkit", "cudnn",
                                                        "display-start", "tensorflow"]
    nouveau = plan.step("nouveau")
    assert [(f.path, f.content) for f in nouveau.files] == [(NOUVEAU_CONF, NOUVEAU_CONTENT)]
    assert NOUVEAU_CONTENT == "blacklist nouveau\noptions nouveau modeset=0\n"
    assert nouveau.commands == [["update-initramfs", "-u"]] and nouveau.reboot
    assert commands_of(plan, "display-stop") == [["systemctl", "stop", "lightdm"]]
    assert commands_of(plan, "kernel-headers") == [["apt-get", "update"],
                                                   ["apt-get", "install", "-y", "linux-headers-4.15.0-142-generic"]]
    assert commands_of(plan, "driver")[-1] == ["apt-get", "install", "-y", "nvidia-460"]  # GTX 1080 Ti: proprietary
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-10-1"]]
    assert commands_of(plan, "tensorflow") == [["/usr/bin/python3", "-m", "pip", "install", "tensorflow==2.3.0"]]
    assert commands_of(plan, "cuda-repo")[0][-1].endswith("/ubuntu1604/x86_64/cuda-keyring_1.1-1_all.deb")
    assert plan.reboot_required and state["verify"] == "skip"
    assert any("end-of-life" in w for w in plan.warnings)


def test_ubuntu2204_working_driver_is_kept_and_tensorflow_fits_it():
    plan = plan_for("ubuntu2204-two-gpus-cuda118")
    state = statuses(plan)
    assert state["driver"] == "done" and "535.183.01" in plan.step("driver").reason
    assert state["cuda-toolkit"] == "done" and state["nouveau"] == "done" and state["pip"] == "done"
    assert state["display-stop"] == "skip" and state["kernel-headers"] == "done"
    assert state["cudnn"] == "skip" and "brings its own cuDNN" in plan.step("cudnn").reason
    # driver 535 serves CUDA 12.2: TensorFlow 2.15 (tested with 12.2) is the newest that fits it
    assert commands_of(plan, "tensorflow") == [["/home/user/venvs/tf/bin/python", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.15.0"]]
    assert [s.id for s in plan.todo()] == ["tensorflow", "verify"]
    assert commands_of(plan, "verify") == [DOCTOR]
    assert not plan.reboot_required


def test_wsl_never_plans_a_driver_nouveau_or_display_step():
    plan = plan_for("wsl2-ubuntu2204")
    for step_id in ("driver", "nouveau", "display-stop", "display-start", "kernel-headers", "secureboot-mok"):
        assert plan.step(step_id).status == "skip"
        assert "Windows driver" in plan.step(step_id).reason
    assert commands_of(plan, "cuda-repo")[0][-1] == (
        "https://developer.download.nvidia.com/compute/cuda/repos/wsl-ubuntu/x86_64/cuda-keyring_1.1-1_all.deb")
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-12-3"]]
    assert commands_of(plan, "tensorflow") == [["/home/user/.venv/bin/python", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.17.0"]]
    assert not plan.reboot_required


def test_centos7_without_avx_gets_the_cpu_path_and_build_tf():
    plan = plan_for("centos7-no-avx")
    assert plan.path == "cpu" and plan.distro["package_manager"] == "yum"
    tensorflow = plan.step("tensorflow")
    assert tensorflow.status == "skip" and tensorflow.commands == []
    assert "AVX" in tensorflow.reason and "setupkit build-tf" in tensorflow.reason
    assert any("build-tf" in w for w in plan.warnings)
    assert any("end-of-life" in w and "CentOS Linux 7" in w for w in plan.warnings)
    assert any("no NVIDIA GPU" in w for w in plan.warnings)
    assert [s.id for s in plan.todo()] == ["pip", "verify"]
    assert commands_of(plan, "pip") == [["/usr/bin/python3", "-m", "pip", "install", "--upgrade", "pip<=21.3.1"]]


def test_centos7_missing_pip_is_installed_with_yum():
    from tests.helpers.scenarios import snapshot_facts

    facts = snapshot_facts("centos7-no-avx")
    facts["pip.version"] = None
    plan = build_plan(facts, PlanOptions(gpu=True))
    assert commands_of(plan, "pip")[0] == ["yum", "install", "-y", "python3-pip"]


def test_laptop_secureboot_keeps_its_working_driver():
    plan = plan_for("laptop-hybrid-secureboot")
    assert plan.step("driver").status == "done"
    assert plan.step("secureboot-mok").status == "done"
    assert plan.step("display-stop").status == "skip"


def test_laptop_secureboot_driver_change_prepares_mok_and_stops_gdm3():
    plan = plan_for("laptop-hybrid-secureboot", driver_branch=580)
    assert commands_of(plan, "display-stop") == [["systemctl", "stop", "gdm3"]]
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580-open"]]  # RTX 4060: Ada
    mok = plan.step("secureboot-mok")
    assert mok.status == "todo" and mok.reboot and mok.interactive
    assert mok.commands == [["update-secureboot-policy", "--new-key"],
                            ["mokutil", "--import", "/var/lib/shim-signed/mok/MOK.der"]]
    assert "Enroll MOK" in mok.reason and "unsigned" in mok.reason
    order = [s.id for s in plan.steps]
    assert order.index("display-stop") < order.index("driver") < order.index("secureboot-mok")
    assert order.index("secureboot-mok") < order.index("display-start") < order.index("tensorflow")


def test_driver_mismatch_is_reboot_first_and_nothing_else():
    plan = plan_for("ubuntu2204-driver-mismatch")
    assert plan.reboot_required and plan.blocked.startswith("reboot first")
    assert [s.id for s in plan.todo()] == ["reboot"]
    assert plan.step("reboot").commands == []


def test_h100_driver_and_toolkit_are_done():
    plan = plan_for("h100")
    state = statuses(plan)
    assert state["driver"] == "done" and "580.159.04" in plan.step("driver").reason
    assert state["cuda-toolkit"] == "done" and "13.0" in plan.step("cuda-toolkit").reason
    assert state["nouveau"] == "skip" and state["display-stop"] == "skip" and state["pip"] == "done"
    assert commands_of(plan, "tensorflow") == [["/opt/torch/.venv/bin/python3", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.21.0"]]
    assert [s.id for s in plan.todo()] == ["tensorflow", "verify"]


def test_steps_keep_their_order_in_every_plan():
    expected = ["pip", "kernel-headers", "nouveau", "cuda-repo", "display-stop", "driver", "secureboot-mok",
                "cuda-toolkit", "cudnn", "display-start", "tensorflow", "verify"]
    for name in ("ubuntu1604-gtx-nouveau", "h100", "centos7-no-avx"):
        assert [s.id for s in plan_for(name).steps] == expected
