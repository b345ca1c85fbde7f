"""The planner as a pure function of a facts dictionary and the options."""

from __future__ import annotations

import pytest

from setupkit import exitcodes
from setupkit.errors import PreconditionError, SetupkitError, UsageError
from setupkit.facts import empty_facts
from setupkit.install.context import NO_GPU_REASON
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan, select_steps
from setupkit.install.steps_stack import PIP_CUDA_REASON
from tests.helpers.install import commands_of, cpu_facts, ubuntu_gpu_facts

GPU = PlanOptions(gpu=True)


def rhel_facts(version: str = "9.4", os_id: str = "rocky", **overrides) -> dict:
    facts = ubuntu_gpu_facts(**{"os.id": os_id, "os.family": "rhel", "os.version_id": version,
                                "os.pretty_name": f"{os_id} {version}", "kernel.release": "5.14.0-427.el9.x86_64",
                                "display.manager": "gdm", "python.version": "3.9.18"})
    facts.update(overrides)
    return facts


def test_fresh_ubuntu_gets_the_whole_gpu_path_with_open_modules_for_ampere():
    plan = build_plan(ubuntu_gpu_facts(), GPU)
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580-open"]]
    assert commands_of(plan, "tensorflow") == [["/usr/bin/python3", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.21.0"]]
    assert commands_of(plan, "display-stop") == [["systemctl", "stop", "gdm3"]]
    assert plan.step("cudnn").status == "skip" and plan.reboot_required
    # tensorflow[and-cuda] brings its CUDA as wheels: no 3 GB system toolkit unless asked for
    assert plan.step("cuda-toolkit").status == "skip" and plan.step("cuda-toolkit").reason == PIP_CUDA_REASON
    assert plan.step("cuda-repo").status == "skip"


def test_pascal_gets_proprietary_modules_and_blackwell_open_ones():
    pascal = build_plan(ubuntu_gpu_facts(**{"gpu.names": ["NVIDIA GeForce GTX 1070"]}), GPU)
    assert commands_of(pascal, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580"]]
    blackwell = build_plan(ubuntu_gpu_facts(**{"gpu.compute_capabilities": ["12.0"]}), GPU)
    assert commands_of(blackwell, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580-open"]]
    with pytest.raises(PreconditionError, match="Blackwell") as caught:
        build_plan(ubuntu_gpu_facts(**{"gpu.compute_capabilities": ["10.0"]}), PlanOptions(gpu=True, driver_branch=550))
    assert caught.value.message.endswith("branch 550 cannot drive it")
    assert caught.value.hint == "pass --driver-branch 580"


def test_unknown_gpu_generation_takes_proprietary_modules_with_a_warning():
    plan = build_plan(ubuntu_gpu_facts(**{"gpu.names": ["10de:ffff"]}), GPU)
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580"]]
    assert any("generation is unknown" in w for w in plan.warnings)


def test_kepler_is_held_to_its_last_branch():
    plan = build_plan(ubuntu_gpu_facts(**{"gpu.compute_capabilities": ["3.5"]}), GPU)
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-470"]]
    with pytest.raises(PreconditionError, match="its last branch is 470$") as caught:
        build_plan(ubuntu_gpu_facts(**{"gpu.compute_capabilities": ["3.5"]}), PlanOptions(gpu=True, driver_branch=535))
    assert caught.value.hint == "pass --driver-branch 470"


def test_rhel_follows_nvidia_module_streams_and_el7_yum():
    plan = build_plan(rhel_facts(), GPU)
    assert commands_of(plan, "driver") == [["dnf", "config-manager", "--set-enabled", "crb"],
                                           ["dnf", "install", "-y", "epel-release"],
                                           ["dnf", "module", "enable", "-y", "nvidia-driver:580-open"],
                                           ["dnf", "install", "-y", "nvidia-open"]]
    assert commands_of(plan, "kernel-headers") == [["dnf", "install", "-y",
                                                    "kernel-devel-matched-5.14.0-427.el9.x86_64", "kernel-headers"]]
    assert commands_of(plan, "nouveau") == [["dracut", "--force"]]
    assert commands_of(plan, "cuda-repo") == [["dnf", "install", "-y", "dnf-plugins-core"], ["dnf", "config-manager",
        "--add-repo", "https://developer.download.nvidia.com/compute/cuda/repos/rhel9/x86_64/cuda-rhel9.repo"],
        ["dnf", "clean", "expire-cache"]]
    with_toolkit = build_plan(rhel_facts(), PlanOptions(gpu=True, with_toolkit=True))
    assert commands_of(with_toolkit, "cuda-toolkit") == [["dnf", "install", "-y", "cuda-toolkit-12-5"]]
    proprietary = build_plan(rhel_facts(**{"gpu.names": ["Tesla V100-SXM2-16GB"]}), GPU)
    assert commands_of(proprietary, "driver")[2:] == [["dnf", "module", "enable", "-y", "nvidia-driver:580-dkms"],
        ["dnf", "install", "-y", "nvidia-driver", "nvidia-driver-cuda", "kmod-nvidia-latest-dkms"]]
    el7 = build_plan(rhel_facts("7", "centos", **{"python.version": "3.6.8"}), GPU)
    assert commands_of(el7, "driver") == [["yum", "install", "-y", "nvidia-driver-latest-dkms"]]
    assert commands_of(el7, "cuda-repo")[0][0] == "yum-config-manager"
    assert el7.choices["driver_cuda_max"] == "12.4"


def test_debian_takes_the_driver_from_nvidia_repository_pinned_to_the_branch():
    facts = ubuntu_gpu_facts(**{"os.id": "debian", "os.version_id": "12", "os.pretty_name": "Debian 12",
                                "python.version": "3.11.2"})
    plan = build_plan(facts, GPU)
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-pinning-580"],
                                           ["apt-get", "install", "-y", "nvidia-driver", "nvidia-kernel-open-dkms"]]
    assert ["sh", "-c", '. /etc/os-release && echo "deb http://deb.debian.org/debian $VERSION_CODENAME contrib" '
            '> /etc/apt/sources.list.d/debian-contrib.list'] in commands_of(plan, "cuda-repo")
    assert "driver" in plan.step("cuda-repo").reason


@pytest.mark.parametrize("os_id, family", [("arch", "arch"), ("opensuse-leap", "suse"), (None, None)])
def test_other_distributions_are_refused_with_exit_3(os_id, family):
    facts = ubuntu_gpu_facts(**{"os.id": os_id, "os.family": family, "os.pretty_name": os_id})
    with pytest.raises(PreconditionError) as caught:
        build_plan(facts, GPU)
    assert caught.value.exit_code == exitcodes.PRECONDITION
    assert "supports Ubuntu/Debian (apt) and the RHEL family" in caught.value.message
    assert caught.value.hint == "install the driver with your distribution's own tools"


def test_cpu_host_gets_tensorflow_cpu_and_no_gpu_step():
    plan = build_plan(cpu_facts(), PlanOptions())
    assert plan.path == "cpu" and not plan.warnings
    assert commands_of(plan, "tensorflow") == [["/usr/bin/python3", "-m", "pip", "install", "tensorflow-cpu==2.21.0"]]
    for step_id in ("driver", "nouveau", "display-stop", "cuda-toolkit", "cudnn", "kernel-headers", "cuda-repo"):
        assert plan.step(step_id).status == "skip"
    installed = build_plan(cpu_facts(**{"tensorflow.version": "2.21.0", "tensorflow.package": "tensorflow-cpu"}),
                           PlanOptions())
    assert installed.step("tensorflow").status == "done"


def test_gpu_flag_without_a_visible_gpu_plans_the_user_space_stack_never_a_driver():
    """--gpu is the person's word (a build host, an image built for GPU machines): not overruled by the CPU path."""
    plan = build_plan(cpu_facts(), GPU)
    assert plan.path == "gpu" and any("no NVIDIA GPU is visible" in w and "never a driver" in w for w in plan.warnings)
    assert commands_of(plan, "tensorflow") == [["/usr/bin/python3", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.21.0"]]
    for step_id in ("driver", "nouveau", "display-stop", "display-start", "kernel-headers", "secureboot-mok"):
        assert plan.step(step_id).status == "skip" and plan.step(step_id).reason == NO_GPU_REASON
    assert plan.step("cuda-toolkit").reason == PIP_CUDA_REASON and plan.step("cudnn").status == "skip"
    assert [s.id for s in plan.todo()] == ["tensorflow", "verify"] and not plan.reboot_required
    toolkit = build_plan(cpu_facts(), PlanOptions(gpu=True, with_toolkit=True))
    assert commands_of(toolkit, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-12-5"]]
    assert [s.id for s in toolkit.todo()] == ["cuda-repo", "cuda-toolkit", "tensorflow", "verify"]
    assert toolkit.step("driver").status == "skip"
    branch = build_plan(cpu_facts(), PlanOptions(gpu=True, driver_branch=580))
    assert any(w.startswith("--driver-branch 580 is ignored") for w in branch.warnings)
    assert branch.step("driver").status == "skip"


def test_a_python_the_distribution_manages_gets_no_pip_step_and_is_told_to_use_a_venv():
    # Ubuntu 24.04's own /usr/bin/python3: pip refuses with "externally-managed-environment" (PEP 668).
    facts = ubuntu_gpu_facts(**{"os.version_id": "24.04", "python.version": "3.12.3", "pip.version": "24.0",
                                "python.externally_managed": True})
    plan = build_plan(facts, GPU)
    for step_id in ("pip", "tensorflow"):
        assert plan.step(step_id).status == "skip"
        assert "PEP 668" in plan.step(step_id).reason and "python3 -m venv" in plan.step(step_id).reason
    assert plan.step("driver").status == "todo"  # the system part of the plan stays
    assert any("virtual environment" in w for w in plan.warnings)
    in_a_venv = build_plan(facts | {"python.executable": "/home/me/tf/bin/python", "python.externally_managed": False},
                           GPU)
    assert in_a_venv.step("tensorflow").commands == [["/home/me/tf/bin/python", "-m", "pip", "install",
                                                      "tensorflow[and-cuda]==2.21.0"]]


def test_without_gpu_flag_a_gpu_host_gets_the_cpu_path():
    plan = build_plan(ubuntu_gpu_facts(), PlanOptions(gpu=False))
    assert plan.path == "cpu" and plan.step("driver").status == "skip"


def test_tensorflow_cpu_on_a_gpu_host_is_not_done():
    facts = ubuntu_gpu_facts(**{"driver.loaded": True, "driver.version": "580.95.05", "driver.nvml_error": None,
                                "driver.cuda_max": "13.0", "tensorflow.version": "2.21.0",
                                "tensorflow.package": "tensorflow-cpu"})
    assert build_plan(facts, GPU).step("tensorflow").status == "todo"


def test_no_avx_points_to_build_tf():
    plan = build_plan(cpu_facts(**{"cpu.flags": ["sse4_1", "sse4_2"]}), GPU)
    step = plan.step("tensorflow")
    assert step.status == "skip" and "setupkit build-tf" in step.reason and step.commands == []


def test_python_too_old_for_any_tensorflow_says_so():
    plan = build_plan(cpu_facts(**{"python.version": "2.7.18"}), GPU)
    assert plan.step("tensorflow").status == "skip"
    assert "Python 2.7.18" in plan.step("tensorflow").reason


def test_cuda_version_beyond_the_driver_or_the_release_is_refused():
    facts = ubuntu_gpu_facts(**{"driver.loaded": True, "driver.version": "470.256.02", "driver.nvml_error": None,
                                "driver.cuda_max": "11.4", "gpu.compute_capabilities": ["3.7"]})
    with pytest.raises(PreconditionError, match="CUDA 12.5 needs driver 555.42.02") as caught:
        build_plan(facts, PlanOptions(gpu=True, cuda_version="12.5"))
    assert caught.value.hint == "pass --driver-branch with a newer branch or a lower --cuda-version"
    old = ubuntu_gpu_facts(**{"os.version_id": "16.04", "os.pretty_name": "Ubuntu 16.04", "python.version": "3.5.2"})
    with pytest.raises(PreconditionError, match="NVIDIA published CUDA up to 11.3") as caught:
        build_plan(old, PlanOptions(gpu=True, cuda_version="12.0"))
    assert caught.value.message.endswith("CUDA 12.0 does not exist for it")
    assert caught.value.hint == "pass --cuda-version 11.3 (or older), or upgrade the OS"


def test_a_cuda_version_the_runfile_contradicts_is_refused():
    options = PlanOptions(gpu=True, cuda_version="12.4", cuda_runfile="/tmp/cuda_12.5.1_555.42.06_linux.run")
    with pytest.raises(UsageError) as caught:
        build_plan(ubuntu_gpu_facts(), options)
    assert caught.value.message == "--cuda-version 12.4 disagrees with the runfile's CUDA 12.5"
    assert caught.value.hint == "give one of them"


def test_requested_cuda_version_upgrades_a_driver_that_cannot_serve_it():
    facts = ubuntu_gpu_facts(**{"driver.loaded": True, "driver.version": "535.183.01", "driver.nvml_error": None,
                                "driver.cuda_max": "12.2", "nouveau.loaded": False, "nouveau.blacklisted": True})
    plan = build_plan(facts, PlanOptions(gpu=True, cuda_version="12.8"))
    assert plan.step("driver").status == "todo" and plan.choices["driver_branch"] == 580
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-12-8"]]


def test_cuda_version_must_be_a_version():
    with pytest.raises(SetupkitError) as caught:
        build_plan(ubuntu_gpu_facts(), PlanOptions(gpu=True, cuda_version="latest"))
    assert caught.value.exit_code == exitcodes.USAGE


def test_graphical_stop_is_skipped_when_the_display_manager_is_not_running():
    plan = build_plan(ubuntu_gpu_facts(**{"display.manager_active": False}), GPU)
    assert plan.step("display-stop").status == "skip" and "not running" in plan.step("display-stop").reason


def test_unknown_kernel_release_falls_back_to_uname_in_a_shell():
    plan = build_plan(ubuntu_gpu_facts(**{"kernel.release": None}), GPU)
    assert commands_of(plan, "kernel-headers")[-1] == ["sh", "-c", "apt-get install -y linux-headers-$(uname -r)"]


def test_missing_pip_is_installed_from_the_distribution_first():
    plan = build_plan(ubuntu_gpu_facts(**{"pip.version": None}), GPU)
    assert commands_of(plan, "pip") == [["apt-get", "install", "-y", "python3-pip"],
                                        ["/usr/bin/python3", "-m", "pip", "install", "--upgrade", "pip"]]


def test_old_pip_gets_the_plain_upgrade_on_a_current_python():
    plan = build_plan(ubuntu_gpu_facts(**{"pip.version": "9.0.1"}), GPU)
    assert commands_of(plan, "pip") == [["/usr/bin/python3", "-m", "pip", "install", "--upgrade", "pip"]]
    assert plan.step("pip").status == "todo"


def test_pending_reboot_without_a_stale_module_is_a_warning_not_a_block():
    plan = build_plan(ubuntu_gpu_facts(**{"reboot.required": True}), GPU)
    assert plan.blocked is None and any("reboot is pending" in w for w in plan.warnings)
    stale = ubuntu_gpu_facts(**{"reboot.required": True, "driver.loaded": True, "driver.version": "535.104.05",
                                "driver.userspace_version": "535.183.01", "driver.nvml_error": None})
    assert build_plan(stale, GPU).blocked.startswith("reboot first")


def test_only_and_skip_select_steps_and_unknown_ids_are_usage_errors():
    plan = select_steps(build_plan(ubuntu_gpu_facts(), GPU), ["driver", "nouveau"], [])
    assert [s.id for s in plan.todo()] == ["nouveau", "driver"]
    plan = select_steps(build_plan(ubuntu_gpu_facts(), GPU), [], ["tensorflow"])
    assert plan.step("tensorflow").status == "skip" and plan.step("tensorflow").reason == "left out by --skip"
    with pytest.raises(SetupkitError) as caught:
        select_steps(build_plan(ubuntu_gpu_facts(), GPU), ["drivers"], [])
    assert caught.value.exit_code == exitcodes.USAGE and "kernel-headers" in caught.value.message


def test_plan_json_has_the_schema_and_step_fields():
    doc = build_plan(ubuntu_gpu_facts(), GPU).to_json()
    assert doc["schema"] == "setupkit-install/1" and doc["reboot_required"] is True
    for step in doc["steps"]:
        assert {"id", "title", "status", "reason", "commands", "files", "reboot"} <= set(step)
        assert step["status"] in ("todo", "done", "skip") and step["reason"]


def test_empty_facts_are_refused_not_crashed():
    with pytest.raises(PreconditionError):
        build_plan(empty_facts(), GPU)


def test_runfile_only_flags_without_a_runfile_are_warned():
    plan = build_plan(ubuntu_gpu_facts(), PlanOptions(gpu=True, toolkit_path="/opt/cuda", override=True))
    assert any("--toolkit-path and --override only apply to --cuda-runfile" in w for w in plan.warnings)


def test_runfile_and_cuda_version_must_agree():
    with pytest.raises(SetupkitError) as caught:
        build_plan(ubuntu_gpu_facts(), PlanOptions(gpu=True, cuda_version="12.4",
                                                   cuda_runfile="/tmp/cuda_12.5.1_555.42.06_linux.run"))
    assert caught.value.exit_code == exitcodes.USAGE


# The facts the planner reads, with strings the probes may legitimately pass on (any text a tool printed) and
# values of the wrong form that a hand-made facts dictionary may hold.
ODD_FACT_VALUES = ("²", "١٢.٣", "9" * 5000, "", "x" * 10_000, "\x1b[2J[bold]x", "12.5.", ["a"], {"a": 1}, -1, 10**30,
                   float("nan"), True)
PLANNER_FACTS = ("os.id", "os.version_id", "os.pretty_name", "driver.version", "driver.userspace_version",
                 "driver.nvml_error", "driver.cuda_max", "cuda.toolkit_version", "cudnn.version", "python.version",
                 "pip.version", "tensorflow.version", "gpu.count", "gpu.names", "gpu.compute_capabilities")


@pytest.mark.parametrize("name", PLANNER_FACTS)
def test_odd_fact_values_give_a_plan_or_a_one_line_refusal(name):
    for value in ODD_FACT_VALUES:
        for facts in (ubuntu_gpu_facts(**{name: value}), ubuntu_gpu_facts(**{name: value, "driver.loaded": True,
                                                                              "driver.nvml_error": None})):
            try:
                plan = build_plan(facts, GPU)
            except SetupkitError as error:
                assert error.exit_code in (exitcodes.USAGE, exitcodes.PRECONDITION), (name, value, error)
                continue
            argvs = [argv for step in plan.steps for argv in step.commands]
            assert all(isinstance(word, str) for argv in argvs for word in argv), (name, value)


@pytest.mark.parametrize("version", ["١٢.٠٤", "22.04 LTS", "²", "22.04;reboot", "../22.04", "9" * 5000, ""])
def test_a_release_that_is_no_number_is_refused(version):
    with pytest.raises(PreconditionError, match="cannot tell the release") as caught:
        build_plan(ubuntu_gpu_facts(**{"os.version_id": version}), GPU)
    assert caught.value.hint == "check VERSION_ID in /etc/os-release"


@pytest.mark.parametrize("driver", ["99999999999.1", "5.1", "١٢٣.٤", "²"])
def test_a_driver_version_that_names_no_branch_is_not_kept(driver):
    plan = build_plan(ubuntu_gpu_facts(**{"driver.version": driver, "driver.loaded": True, "driver.nvml_error": None}),
                      GPU)
    assert plan.choices["driver_branch"] == 580 and plan.step("driver").status == "todo"


def test_odd_compute_capabilities_fall_back_to_the_names():
    for odd in (["²"], [["²", "0"]], [[900, 0]], "9.0", [None], [True], ["١٢.٣"]):
        plan = build_plan(ubuntu_gpu_facts(**{"gpu.compute_capabilities": odd,
                                              "gpu.names": ["NVIDIA GeForce GTX 1070"]}), GPU)
        assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-580"]], odd
