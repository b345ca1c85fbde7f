"""Every required check, with a passing and a non-passing case on snapshot fixtures (the real H100 capture, the
scenario snapshots, and variants of them with one JSON file rewritten)."""

from __future__ import annotations

import json

import pytest

from tests.helpers.doctor import REQUIRED, verdict
from tests.helpers.scenarios import snapshot_facts

ON_SCENARIOS = [
    # (check, scenario, expected status)
    ("os.supported", "h100", "pass"),
    ("tensorflow.distributions", "h100", "pass"),
    ("tensorflow.distributions", "ubuntu2404-tensorflow-and-cpu", "warn"),
    ("os.supported", "centos7-no-avx", "warn"),
    ("os.supported", "ubuntu1404-upstart-lightdm", "warn"),
    ("host.wsl", "h100", "pass"),
    ("host.wsl", "wsl2-ubuntu2204", "info"),
    ("host.container", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("host.container", "docker-gpu-l4-ubuntu2204", "info"),
    ("host.container", "docker-build-debian12-nogpu", "info"),
    ("host.container", "h100", "unknown"),
    ("host.container-toolkit", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("host.container-toolkit", "h100", "skip"),
    ("host.container-toolkit", "docker-gpu-l4-ubuntu2204", "skip"),
    ("host.laptop", "h100", "pass"),
    ("host.laptop", "laptop-hybrid-secureboot", "warn"),
    ("cpu.avx", "h100", "pass"),
    ("cpu.avx", "centos7-no-avx", "fail"),
    ("cpu.native-build", "centos7-no-avx", "pass"),
    ("cpu.native-build", "h100", "info"),
    ("gpu.present", "h100", "pass"),
    ("gpu.present", "centos7-no-avx", "info"),
    ("nouveau.loaded", "h100", "pass"),
    ("nouveau.loaded", "ubuntu1604-gtx-nouveau", "fail"),
    ("nouveau.loaded", "centos7-no-avx", "skip"),
    ("driver.installed", "h100", "pass"),
    ("driver.installed", "wsl2-ubuntu2204", "pass"),
    ("driver.installed", "ubuntu1604-gtx-nouveau", "fail"),
    ("driver.installed", "ubuntu2204-driver-mismatch", "info"),
    ("driver.version-mismatch", "h100", "pass"),
    ("driver.version-mismatch", "ubuntu2204-driver-mismatch", "fail"),
    ("driver.cuda-compat", "h100", "pass"),
    ("driver.cuda-compat", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("driver.cuda-compat", "ubuntu1604-gtx-nouveau", "skip"),
    ("cuda.toolkit", "h100", "pass"),
    ("cuda.toolkit", "wsl2-ubuntu2204", "pass"),
    ("cuda.toolkit", "laptop-hybrid-secureboot", "warn"),
    ("cudnn.present", "h100", "pass"),
    ("cudnn.present", "laptop-hybrid-secureboot", "warn"),
    ("display.manager-running", "h100", "pass"),
    ("display.manager-running", "ubuntu1604-gtx-nouveau", "warn"),
    ("display.manager-running", "ubuntu1404-upstart-lightdm", "info"),
    ("secureboot.enabled", "h100", "pass"),
    ("secureboot.enabled", "laptop-hybrid-secureboot", "info"),
    ("python.supported", "h100", "pass"),
    ("python.supported", "centos7-no-avx", "fail"),
    ("python.supported", "ubuntu1604-gtx-nouveau", "fail"),
    ("pip.outdated", "h100", "pass"),
    ("pip.outdated", "centos7-no-avx", "fail"),
    ("pip.outdated", "ubuntu1404-upstart-lightdm", "fail"),
    ("libc.supported", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("libc.supported", "ubuntu1604-gtx-nouveau", "pass"),
    ("libc.supported", "h100", "unknown"),
    ("driver.end-of-life", "h100", "pass"),
    ("driver.end-of-life", "ubuntu2204-two-gpus-cuda118", "warn"),
    ("driver.end-of-life", "wsl2-ubuntu2204", "skip"),
    ("driver.end-of-life", "centos7-no-avx", "skip"),
    ("python.externally-managed", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("python.externally-managed", "h100", "unknown"),
    ("tensorflow.installed", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("tensorflow.installed", "h100", "warn"),
    ("tensorflow.cuda-compat", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("tensorflow.cuda-compat", "wsl2-ubuntu2204", "pass"),
    ("tensorflow.cuda-compat", "centos7-no-avx", "skip"),
    ("gpu.memory-held", "h100", "pass"),
    ("gpu.memory-held", "laptop-hybrid-secureboot", "pass"),
    ("gpu.memory-held", "ubuntu2204-two-gpus-cuda118", "warn"),
    ("gpu.memory-held", "ubuntu2204-driver-mismatch", "unknown"),
    ("env.cuda-visible-devices", "h100", "pass"),
    ("env.cuda-visible-devices", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("reboot.required", "h100", "pass"),
    ("reboot.required", "ubuntu1604-gtx-nouveau", "warn"),
    ("driver.gpu-support", "h100", "pass"),
    ("driver.gpu-support", "ubuntu2204-gtx1080ti-cuda13", "pass"),
    ("driver.gpu-support", "ubuntu2404-rtx5090-nouveau", "skip"),
    ("driver.gpu-support", "wsl2-ubuntu2204", "skip"),
    ("cuda.gpu-arch", "h100", "pass"),
    ("cuda.gpu-arch", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("cuda.gpu-arch", "ubuntu2204-gtx1080ti-cuda13", "fail"),
    ("cuda.gpu-arch", "ubuntu2404-rtx5090-nouveau", "skip"),
    ("torch.cuda-compat", "h100", "pass"),
    ("torch.cuda-compat", "ubuntu2404-torch-cu130-driver570", "fail"),
    ("torch.cuda-compat", "ubuntu2404-rtx5090-torch-cu126", "pass"),
    ("tensorflow.gpu-arch", "ubuntu2404-rtx4090-tensorflow221", "pass"),
    ("tensorflow.gpu-arch", "ubuntu2404-rtx5090-tensorflow221", "fail"),
    ("torch.gpu-arch", "h100", "pass"),
    ("torch.gpu-arch", "ubuntu2404-rtx5090-torch-cu126", "fail"),
    ("torch.gpu-arch", "ubuntu2404-torch-cu130-driver570", "pass"),
    ("jax.cuda-compat", "h100", "pass"),
    ("jax.cuda-compat", "ubuntu2404-torch-jax-mixed-cuda", "pass"),
    ("jax.cuda-compat", "ubuntu2404-torch-cu130-driver570", "skip"),
    ("python.cuda-wheels-mixed", "h100", "pass"),
    ("python.cuda-wheels-mixed", "ubuntu2404-torch-jax-mixed-cuda", "fail"),
    ("python.cuda-wheels-mixed", "ubuntu1604-gtx-nouveau", "skip"),
    # GPU health, level 1 (the real H100 capture predates the newer NVML fields: those checks say unknown)
    ("gpu.pcie-link", "ubuntu2404-torch-jax-mixed-cuda", "pass"),
    ("gpu.pcie-link", "docker-gpu-l4-ubuntu2204", "warn"),
    ("gpu.pcie-link", "h100", "pass"),
    ("gpu.pcie-link", "ubuntu1604-gtx-nouveau", "skip"),
    ("gpu.ecc", "ubuntu2404-torch-jax-mixed-cuda", "pass"),
    ("gpu.ecc", "docker-gpu-l4-ubuntu2204", "pass"),
    ("gpu.ecc", "ubuntu2204-two-gpus-cuda118", "skip"),
    ("gpu.ecc", "h100", "unknown"),
    ("gpu.retired-memory", "ubuntu2404-torch-jax-mixed-cuda", "pass"),
    ("gpu.retired-memory", "docker-gpu-l4-ubuntu2204", "warn"),
    ("gpu.retired-memory", "ubuntu2204-two-gpus-cuda118", "skip"),
    ("gpu.retired-memory", "h100", "unknown"),
    ("gpu.throttle", "ubuntu2404-torch-jax-mixed-cuda", "pass"),
    ("gpu.throttle", "docker-gpu-l4-ubuntu2204", "pass"),
    ("gpu.throttle", "ubuntu2204-two-gpus-cuda118", "warn"),
    ("gpu.throttle", "h100", "unknown"),
    ("gpu.throttle", "centos7-no-avx", "skip"),
    ("gpu.persistence", "h100", "pass"),
    ("gpu.persistence", "ubuntu2204-two-gpus-cuda118", "pass"),
    ("gpu.persistence", "docker-gpu-l4-ubuntu2204", "info"),
    ("gpu.persistence", "laptop-hybrid-secureboot", "info"),
    ("gpu.persistence", "wsl2-ubuntu2204", "skip"),
    ("gpu.xid", "ubuntu2404-torch-jax-mixed-cuda", "pass"),
    ("gpu.xid", "ubuntu2204-two-gpus-cuda118", "info"),
    ("gpu.xid", "docker-gpu-l4-ubuntu2204", "unknown"),
    ("gpu.xid", "h100", "unknown"),
    ("gpu.xid", "ubuntu1604-gtx-nouveau", "skip"),
]


@pytest.mark.parametrize(("check_id", "scenario", "status"), ON_SCENARIOS,
                         ids=[f"{c}-{s}" for c, s, _ in ON_SCENARIOS])
def test_verdict_on_scenario(check_id, scenario, status):
    finding = verdict(check_id, snapshot_facts(scenario))
    assert finding.status == status, finding.message
    if status in ("fail", "warn"):
        assert finding.fix and finding.fix["text"], "a fail or warn carries its fix"


NON_PASSING_VARIANTS = {
    # checks whose fail/warn case is a scenario with one JSON file rewritten: the test that holds it
    "env.cuda-visible-devices": "test_cuda_visible_devices_variants",
    "driver.cuda-compat": "test_toolkit_newer_than_the_driver_fails",
    "tensorflow.cuda-compat": "test_tensorflow_needing_a_cuda_nobody_provides_fails",
    "python.externally-managed": "test_a_python_the_distribution_manages_warns_with_a_venv_fix",
    "tensorflow.distributions": "test_two_tensorflow_distributions_in_one_environment_warn",
    "libc.supported": "test_an_old_glibc_warns_and_musl_fails",
}


def test_every_required_check_has_a_passing_and_a_non_passing_scenario():
    for check_id in REQUIRED:
        statuses = {status for c, _, status in ON_SCENARIOS if c == check_id}
        assert "pass" in statuses, check_id
        assert statuses - {"pass"} or NON_PASSING_VARIANTS.get(check_id) in globals(), check_id


def test_a_python_the_distribution_manages_warns_with_a_venv_fix(variant):
    def managed(python):
        python["executable"], python["externally_managed"] = "/usr/bin/python3", True

    finding = verdict("python.externally-managed", snapshot_facts(variant("ubuntu2204-two-gpus-cuda118",
                                                                          "python.json", managed)))
    assert finding.status == "warn" and "externally-managed-environment" in finding.message
    assert finding.fix["commands"][0] == "python3 -m venv ~/venvs/tf"


def test_cpu_avx_fix_names_build_tf():
    finding = verdict("cpu.avx", snapshot_facts("centos7-no-avx"))
    assert "setupkit build-tf" in finding.fix["commands"]
    assert "Illegal instruction" in finding.message


def test_nouveau_fix_rebuilds_the_initramfs_of_the_family():
    finding = verdict("nouveau.loaded", snapshot_facts("ubuntu1604-gtx-nouveau"))
    assert "sudo update-initramfs -u" in finding.fix["commands"]
    assert finding.fix["commands"][-1] == "sudo reboot"


def test_driver_mismatch_fix_is_a_reboot():
    finding = verdict("driver.version-mismatch", snapshot_facts("ubuntu2204-driver-mismatch"))
    assert finding.fix["commands"] == ["sudo reboot"]
    assert "535.104.05" in finding.message and "535.183.01" in finding.message


def test_pip_fix_upgrades_pip():
    finding = verdict("pip.outdated", snapshot_facts("centos7-no-avx"))
    assert finding.fix["commands"] == ["python3 -m pip install --upgrade pip"]
    assert "9.0.3" in finding.message


def test_upstart_display_manager_is_stopped_with_service(variant):
    # The 14.04 host with its driver gone: lightdm must be stopped the upstart way before an install.
    path = variant("ubuntu1404-upstart-lightdm", "nvml.json",
                   lambda _: {"error": "NVMLError_LibraryNotFound", "message": "NVML Shared Library Not Found"})
    facts = snapshot_facts(path) | {"driver.version": None}
    finding = verdict("display.manager-running", facts)
    assert finding.status == "warn"
    assert finding.fix["commands"] == ["sudo service lightdm stop"]


def test_secure_boot_warns_while_the_module_is_not_loaded():
    facts = snapshot_facts("laptop-hybrid-secureboot") | {"driver.loaded": False}
    finding = verdict("secureboot.enabled", facts)
    assert finding.status == "warn"
    assert "sudo mokutil --import /var/lib/shim-signed/mok/MOK.der" in finding.fix["commands"]


# -- variants: one JSON file of a scenario rewritten -----------------------------------------------------------

def _set_env(name, value):
    def change(env):
        env[name] = value
    return change


@pytest.mark.parametrize(("value", "status", "words"), [
    ("2", "warn", "names 2"),
    ("-1", "warn", "hides every GPU"),
    ("", "warn", "hides every GPU"),
    ("none", "warn", "hides every GPU"),
    ("0,2,-1,1", "warn", "before the first invalid entry: 0"),
    ("GPU-00000000-dead-beef-0000-000000000000", "warn", "names GPU-0000"),
    ("1,0", "pass", "sees GPU 1, 0 of 2"),
])
def test_cuda_visible_devices_variants(variant, value, status, words):
    path = variant("ubuntu2204-two-gpus-cuda118", "env.json", _set_env("CUDA_VISIBLE_DEVICES", value))
    finding = verdict("env.cuda-visible-devices", snapshot_facts(path))
    assert finding.status == status, finding.message
    assert words in finding.message


def test_cuda_visible_devices_by_uuid_of_a_real_gpu(variant):
    uuids = snapshot_facts("ubuntu2204-two-gpus-cuda118")["gpu.uuids"]
    path = variant("ubuntu2204-two-gpus-cuda118", "env.json", _set_env("CUDA_VISIBLE_DEVICES", uuids[1]))
    assert verdict("env.cuda-visible-devices", snapshot_facts(path)).status == "pass"


def test_toolkit_newer_than_the_driver_fails(variant):
    # The H100 host with a driver that reports CUDA 12.2 at most, under its CUDA 13.0 toolkit.
    def older_driver(nvml):
        nvml["cuda_driver_version"] = 12020

    facts = snapshot_facts(variant("h100", "nvml.json", older_driver))
    assert facts["driver.cuda_max"] == "12.2"
    finding = verdict("driver.cuda-compat", facts)
    assert finding.status == "fail"
    assert "13.0" in finding.message and "12.2" in finding.message
    assert "580.65.06" in finding.fix["text"]


def test_tensorflow_needing_a_cuda_nobody_provides_fails(variant):
    # TF 2.16.1 wants CUDA 12.3 and cuDNN 8.9; this host has CUDA 11.8 and cuDNN 8.6, and no nvidia-* wheels.
    def newer_tf(python):
        python["packages"]["tensorflow"] = "2.16.1"

    facts = snapshot_facts(variant("ubuntu2204-two-gpus-cuda118", "python.json", newer_tf))
    finding = verdict("tensorflow.cuda-compat", facts)
    assert finding.status == "fail"
    assert "CUDA 12.3" in finding.message
    assert finding.fix["commands"] == ["python3 -m pip install 'tensorflow[and-cuda]==2.16.1'"]


def test_old_pip_variant_against_a_new_one(variant):
    def old_pip(python):
        python["pip_version"] = "9.0.1"

    facts = snapshot_facts(variant("h100", "python.json", old_pip))
    assert verdict("pip.outdated", facts).status == "fail"


def test_python_36_variant_fails(variant):
    def py36(python):
        python["version"] = "3.6.15"

    facts = snapshot_facts(variant("h100", "python.json", py36))
    assert verdict("python.supported", facts).status == "fail"


def test_gpu_memory_held_by_another_process_variant(variant):
    def held(nvml):
        nvml["devices"][0]["processes"] = [{"pid": 4242, "used_memory": 70 * 2**30, "name": "python3"}]
        nvml["devices"][0]["memory_used"] = 71 * 2**30

    finding = verdict("gpu.memory-held", snapshot_facts(variant("h100", "nvml.json", held)))
    assert finding.status == "warn"
    assert "pid 4242" in finding.message
    assert "export TF_FORCE_GPU_ALLOW_GROWTH=true" in finding.fix["commands"]


def test_two_tensorflow_distributions_in_one_environment_warn(variant, run_setupkit):
    def both(python):
        python["packages"]["tensorflow"] = "2.21.0"
        python["packages"]["tensorflow-cpu"] = "2.21.0"

    path = variant("h100", "python.json", both)
    facts = snapshot_facts(path)
    assert facts["tensorflow.distributions"] == {"tensorflow": "2.21.0", "tensorflow-cpu": "2.21.0"}
    finding = verdict("tensorflow.distributions", facts)
    assert finding.status == "warn"
    assert "tensorflow=2.21.0, tensorflow-cpu=2.21.0" in finding.message
    result = run_setupkit("doctor", "--snapshot", str(path), "--only", "tensorflow.distributions", "--json")
    document = json.loads(result.stdout)
    assert document["findings"][0]["fix"]["commands"][0].endswith(
        "-m pip uninstall -y tensorflow tensorflow-cpu tensorflow-gpu tf-nightly tf-nightly-cpu intel-tensorflow")


def test_one_tensorflow_distribution_passes():
    facts = snapshot_facts("h100")
    assert len(facts["tensorflow.distributions"]) <= 1
    assert verdict("tensorflow.distributions", facts).status == "pass"


def test_an_old_glibc_warns_and_musl_fails(variant):
    def libc(value):
        return lambda python: python.update(libc=value)

    old = verdict("libc.supported", snapshot_facts(variant("laptop-hybrid-secureboot", "python.json",
                                                           libc("glibc 2.23"))))
    # TensorFlow 2.21's wheels are manylinux_2_27 only: pip takes 2.20 on glibc 2.23
    assert old.status == "warn" and "2.21.0" in old.message and "2.27" in old.message and "2.20.0" in old.message
    musl = verdict("libc.supported", snapshot_facts(variant("laptop-hybrid-secureboot", "python.json", libc("musl"))))
    assert musl.status == "fail" and "musl" in musl.message and musl.fix["commands"]


def test_an_installed_tensorflow_newer_than_glibc_takes_fails():
    from tests.helpers.doctor import facts_with

    facts = facts_with(libc__family="glibc", libc__version="2.17", python__version="3.12.3",
                       tensorflow__version="2.21.0", tensorflow__package="tensorflow")
    finding = verdict("libc.supported", facts)
    assert finding.status == "fail" and "glibc 2.27" in finding.message and "2.20.0" in finding.fix["commands"][0]


def test_pip_floor_follows_the_newest_wheels_for_this_python():
    from tests.helpers.doctor import facts_with

    # Ubuntu 20.04's pip 20.0.2 reads manylinux2014 but not manylinux_2_27 (PEP 600 came with pip 20.3)
    new_python = facts_with(pip__version="20.0.2", python__version="3.12.3", libc__version="2.35")
    finding = verdict("pip.outdated", new_python)
    assert finding.status == "fail" and "20.3" in finding.message and "manylinux_2_27" in finding.message
    old_python = facts_with(pip__version="20.0.2", python__version="3.8.10", libc__version="2.31")
    assert verdict("pip.outdated", old_python).status == "pass"  # TensorFlow 2.13.1: manylinux2014, pip 19.3
    old_glibc = facts_with(pip__version="20.0.2", python__version="3.12.3", libc__version="2.23")
    assert verdict("pip.outdated", old_glibc).status == "pass"  # pip takes 2.20.0 there, manylinux2014


def test_a_driver_branch_past_its_end_of_life_warns_with_the_branch_to_move_to():
    finding = verdict("driver.end-of-life", snapshot_facts("ubuntu2204-two-gpus-cuda118"))
    assert "535" in finding.message and "June 2026" in finding.message
    assert "--driver-branch 580" in finding.fix["commands"][0]
    undated = verdict("driver.end-of-life", snapshot_facts("laptop-hybrid-secureboot"))  # 550: ended, no date
    assert undated.status == "warn" and "ended branches" in undated.message


def test_pip_cuda_newer_than_the_driver_passes_by_minor_version_compatibility():
    from tests.helpers.doctor import facts_with

    pip_cuda = dict(gpu__count=1, driver__version="535.183.01", driver__cuda_max="12.2",
                    tensorflow__version="2.21.0", tensorflow__package="tensorflow", cuda__pip_runtime_version="12.5")
    finding = verdict("driver.cuda-compat", facts_with(**pip_cuda))
    assert finding.status == "pass" and "525.60.13" in finding.message and "pip wheels" in finding.message
    system_cuda = {**pip_cuda, "cuda__pip_runtime_version": None}  # a system CUDA 12.5 on it: still a caution
    assert verdict("driver.cuda-compat", facts_with(**system_cuda)).status == "warn"
    below = {**pip_cuda, "driver__version": "520.61.05", "driver__cuda_max": "11.8"}
    assert verdict("driver.cuda-compat", facts_with(**below)).status == "fail"
