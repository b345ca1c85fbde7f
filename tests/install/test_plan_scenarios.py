"""Plans for the scenario snapshots, read through the real probes, with the exact commands asserted."""

from __future__ import annotations

import sys

from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.install.steps_host import NOUVEAU_CONF, NOUVEAU_CONTENT
from setupkit.install.steps_stack import PIP_CUDA_REASON
from setupkit.versions import dashed
from tests.helpers.install import commands_of, plan_for, statuses

DOCTOR = [sys.executable, "-m", "setupkit", "doctor"]


NVIDIA = "https://developer.download.nvidia.com/compute"
APT_HTTPS = [["apt-get", "update"], ["apt-get", "install", "-y", "ca-certificates", "wget", "apt-transport-https"]]
PPA_DRIVER = [["apt-get", "update"], ["apt-get", "install", "-y", "software-properties-common"],
              ["add-apt-repository", "-y", "ppa:graphics-drivers/ppa"], ["apt-get", "update"]]


def test_ubuntu1404_upstart_stops_lightdm_with_upstart_and_stays_within_cuda_10_1():
    plan = plan_for("ubuntu1404-upstart-lightdm")
    assert commands_of(plan, "display-stop") == [["stop", "lightdm"]]
    assert commands_of(plan, "display-start") == [["start", "lightdm"]]
    # driver 352 serves CUDA 7.5 only: no TensorFlow wheel was built for it, so the driver moves to R418, from the
    # graphics-drivers PPA, whose add-apt-repository comes with software-properties-common
    assert commands_of(plan, "driver") == PPA_DRIVER + [["apt-get", "install", "-y", "nvidia-418"]]
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-10-0"]]
    # cuDNN 7 for CUDA 10.0, pinned to that build (apt would take the newest, built for CUDA 12) and held
    pins = ["libcudnn7=7.6.5.32-1+cuda10.0", "libcudnn7-dev=7.6.5.32-1+cuda10.0"]
    assert commands_of(plan, "cudnn") == [["apt-get", "install", "-y", *pins],
                                          ["apt-mark", "hold", "libcudnn7", "libcudnn7-dev"]]
    # TensorFlow 2.0 lists Python 3.3-3.7 but ships no cp34 wheel: 1.14.0 is the newest that has one
    assert commands_of(plan, "tensorflow") == [["/usr/bin/python3", "-m", "pip", "install", "tensorflow-gpu==1.14.0"]]
    # pip 1.5.4 ignores Requires-Python: the upgrade is held to the last pip for Python 3.4
    assert commands_of(plan, "pip") == [["/usr/bin/python3", "-m", "pip", "install", "--upgrade", "pip<=19.1.1"]]
    # no cuda-keyring for 14.04: list files and the pre-2022 key, fetched with wget (apt-key's own https fetch
    # needs gnupg-curl); apt 1.0 reads https only with apt-transport-https; cuDNN 7 is in the machine-learning
    # repository
    repo = plan.step("cuda-repo")
    assert [(f.path, f.content) for f in repo.files] == [
        ("/etc/apt/sources.list.d/cuda.list", f"deb {NVIDIA}/cuda/repos/ubuntu1404/x86_64 /\n"),
        ("/etc/apt/sources.list.d/nvidia-ml.list", f"deb {NVIDIA}/machine-learning/repos/ubuntu1404/x86_64 /\n")]
    assert repo.commands == APT_HTTPS + [
        ["wget", "-q", "-O", "/tmp/cuda-7fa2af80.pub", f"{NVIDIA}/cuda/repos/ubuntu1404/x86_64/7fa2af80.pub"],
        ["apt-key", "add", "/tmp/cuda-7fa2af80.pub"],
        ["wget", "-q", "-O", "/tmp/nvidia-ml-7fa2af80.pub",
         f"{NVIDIA}/machine-learning/repos/ubuntu1404/x86_64/7fa2af80.pub"],
        ["apt-key", "add", "/tmp/nvidia-ml-7fa2af80.pub"], ["apt-get", "update"]]
    assert repo.status == "todo" and repo.reason == "needed by cuda-toolkit, cudnn"
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
    # GTX 1080 Ti: proprietary modules, R460 from the graphics-drivers PPA
    assert commands_of(plan, "driver") == PPA_DRIVER + [["apt-get", "install", "-y", "nvidia-460"]]
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-10-1"]]
    pins = ["libcudnn7=7.6.5.32-1+cuda10.1", "libcudnn7-dev=7.6.5.32-1+cuda10.1"]
    assert commands_of(plan, "cudnn") == [["apt-get", "install", "-y", *pins],
                                          ["apt-mark", "hold", "libcudnn7", "libcudnn7-dev"]]
    assert "pinned to the build for CUDA 10.1 (7.6.5.32-1+cuda10.1) and held" in plan.step("cudnn").reason
    # the newest 2.3 patch release with a cp35 wheel (2.3.2 and later have none)
    assert commands_of(plan, "tensorflow") == [["/usr/bin/python3", "-m", "pip", "install", "tensorflow==2.3.1"]]
    # ubuntu1604 has only cuda-keyring 1.0-1 (1.1-1 is a 404); apt 1.2 needs apt-transport-https for https; the
    # machine-learning repository (cuDNN 7) keeps the pre-2022 key, which the keyring does not hold
    keyring = "/tmp/cuda-keyring_1.0-1_all.deb"
    repo = plan.step("cuda-repo")
    assert repo.commands == APT_HTTPS + [
        ["wget", "-q", "-O", keyring, f"{NVIDIA}/cuda/repos/ubuntu1604/x86_64/cuda-keyring_1.0-1_all.deb"],
        ["dpkg", "-i", keyring],
        ["wget", "-q", "-O", "/tmp/nvidia-ml-7fa2af80.pub",
         f"{NVIDIA}/machine-learning/repos/ubuntu1604/x86_64/7fa2af80.pub"],
        ["apt-key", "add", "/tmp/nvidia-ml-7fa2af80.pub"], ["apt-get", "update"]]
    assert [(f.path, f.content) for f in repo.files] == [
        ("/etc/apt/sources.list.d/nvidia-ml.list", f"deb {NVIDIA}/machine-learning/repos/ubuntu1604/x86_64 /\n")]
    assert plan.reboot_required and state["verify"] == "skip"
    assert any("end-of-life" in w and "CUDA 11.3" in w for w in plan.warnings)
    assert plan.choices["driver_branch"] == 460 and plan.choices["driver_cuda_max"] == "11.2"


def test_ubuntu2204_working_stack_is_left_alone():
    """TensorFlow 2.12 on the system CUDA 11.8 and cuDNN 8.6 it was built with, on driver 535: it works, so no
    unasked change of version; the toolkit and cuDNN it loads are done too."""
    plan = plan_for("ubuntu2204-two-gpus-cuda118")
    state = statuses(plan)
    assert state["driver"] == "done" and "535.183.01" in plan.step("driver").reason
    assert state["nouveau"] == "done" and state["pip"] == "done"
    assert state["display-stop"] == "skip" and state["kernel-headers"] == "done"
    assert state["cuda-toolkit"] == "done" and "CUDA 11.8 is installed" in plan.step("cuda-toolkit").reason
    assert state["cudnn"] == "done" and plan.step("cudnn").reason == "cuDNN 8.6.0 is installed"
    tensorflow = plan.step("tensorflow")
    assert tensorflow.status == "done" and tensorflow.reason.startswith("TensorFlow 2.12.0 (tensorflow) is installed: "
                                                                        "its CUDA 11.8")
    assert "--upgrade-tensorflow installs" in tensorflow.reason
    assert commands_of(plan, "tensorflow") == [["/home/user/venvs/tf/bin/python", "-m", "pip", "install",
                                                "tensorflow==2.12.0"]]
    assert plan.choices["tensorflow"] == "2.12.0" and plan.choices["cuda_toolkit"] == "11.8"
    assert [s.id for s in plan.todo()] == ["verify"]
    assert commands_of(plan, "verify") == [DOCTOR]
    assert not plan.reboot_required


def test_ubuntu2204_upgrade_tensorflow_is_an_explicit_option():
    plan = plan_for("ubuntu2204-two-gpus-cuda118", upgrade_tensorflow=True)
    newest = plan.choices["tensorflow"]
    assert newest != "2.12.0" and plan.step("tensorflow").status == "todo"
    assert commands_of(plan, "tensorflow") == [["/home/user/venvs/tf/bin/python", "-m", "pip", "install",
                                                f"tensorflow[and-cuda]=={newest}"]]
    # the new TensorFlow brings its CUDA and cuDNN as wheels: the system 11.8 stays, nothing is added
    assert plan.step("cuda-toolkit").status == "skip" and plan.step("cudnn").status == "skip"
    assert [s.id for s in plan.todo()] == ["tensorflow", "verify"]


def test_wsl_never_plans_a_driver_nouveau_or_display_step():
    plan = plan_for("wsl2-ubuntu2204")
    for step_id in ("driver", "nouveau", "display-stop", "display-start", "kernel-headers", "secureboot-mok"):
        assert plan.step(step_id).status == "skip"
        assert "Windows driver" in plan.step(step_id).reason
    # TensorFlow 2.16.1 with pip's CUDA 12.3 on the Windows driver 552 (CUDA 12.4) works: kept, no toolkit
    assert plan.step("tensorflow").status == "done" and "so it is kept" in plan.step("tensorflow").reason
    assert plan.step("cuda-toolkit").status == "skip" and plan.step("cuda-repo").status == "skip"
    assert [s.id for s in plan.todo()] == ["verify"]
    toolkit = plan_for("wsl2-ubuntu2204", with_toolkit=True)
    assert commands_of(toolkit, "cuda-repo")[2][-1] == (
        "https://developer.download.nvidia.com/compute/cuda/repos/wsl-ubuntu/x86_64/cuda-keyring_1.1-1_all.deb")
    assert commands_of(toolkit, "cuda-toolkit") == [["apt-get", "install", "-y",
                                                     f"cuda-toolkit-{dashed(toolkit.choices['cuda_toolkit'])}"]]
    assert toolkit.step("tensorflow").status == "done"
    assert not plan.reboot_required


def test_centos7_without_avx_or_gpu_gets_no_driver_and_build_tf():
    plan = plan_for("centos7-no-avx")
    assert plan.path == "gpu" and plan.distro["package_manager"] == "yum"
    tensorflow = plan.step("tensorflow")
    assert tensorflow.status == "skip" and tensorflow.commands == []
    assert "AVX" in tensorflow.reason and "setupkit build-tf" in tensorflow.reason
    assert any("build-tf" in w for w in plan.warnings)
    assert any("end-of-life" in w and "CentOS Linux 7" in w for w in plan.warnings)
    assert any("no NVIDIA GPU is visible" in w for w in plan.warnings)
    # no TensorFlow wheel runs here, so none of its CUDA libraries is planned either
    assert plan.step("cuda-toolkit").status == "skip" and plan.step("cudnn").status == "skip"
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


def test_h100_driver_is_done_and_the_toolkit_left_out_unless_asked():
    plan = plan_for("h100")
    state = statuses(plan)
    assert state["driver"] == "done" and "580.159.04" in plan.step("driver").reason
    assert state["cuda-toolkit"] == "skip" and plan.step("cuda-toolkit").reason == PIP_CUDA_REASON
    assert state["nouveau"] == "skip" and state["display-stop"] == "skip" and state["pip"] == "done"
    assert commands_of(plan, "tensorflow") == [["/opt/torch/.venv/bin/python3", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.21.0"]]
    assert [s.id for s in plan.todo()] == ["tensorflow", "verify"]
    asked = plan_for("h100", with_toolkit=True).step("cuda-toolkit")
    assert asked.status == "done" and "13.0" in asked.reason


def test_steps_keep_their_order_in_every_plan():
    expected = ["pip", "kernel-headers", "nouveau", "cuda-repo", "display-stop", "driver", "secureboot-mok",
                "cuda-toolkit", "cudnn", "display-start", "tensorflow", "verify"]
    for name in ("ubuntu1604-gtx-nouveau", "h100", "centos7-no-avx"):
        assert [s.id for s in plan_for(name).steps] == expected
