"""Plans for the RHEL family and Fedora follow NVIDIA's Driver Installation Guide per release: the repository in
the syntax each dnf has, EPEL and CRB for DKMS, the driver held on the plan's branch (module streams on EL8/EL9,
versionlock on EL10 and Fedora), open or proprietary modules, and the running kernel's kernel-devel."""

from __future__ import annotations

import pytest

from setupkit import exitcodes
from setupkit.errors import PreconditionError
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from tests.helpers.install import commands_of, plan_for
from tests.helpers.scenarios import snapshot_facts

GPU = PlanOptions(gpu=True)
REPOS = "https://developer.download.nvidia.com/compute/cuda/repos"
SERVER = "rhel9-server-a100"
EL9_KERNEL = "5.14.0-570.12.1.el9_6.x86_64"


def server_facts(**overrides) -> dict:
    """The RHEL 9 A100 server's facts, with some changed: another release, GPU or desktop."""
    facts = snapshot_facts(SERVER)
    facts.update(overrides)
    return facts


def release(os_id: str, version: str, kernel: str, **overrides) -> dict:
    return server_facts(**{"os.id": os_id, "os.version_id": version, "os.pretty_name": f"{os_id} {version}",
                           "kernel.release": kernel, **overrides})


def desktop(**overrides) -> dict:
    return {"display.manager": "gdm", "display.manager_active": True, **overrides}


PASCAL = {"gpu.names": ["NVIDIA Tesla P100-PCIE-16GB"], "gpu.pci_ids": ["10de:15f8"], "gpu.chips": ["GP100"],
          "gpu.compute_capabilities": ["6.0"], "gpu.architectures": ["pascal"], "gpu.kernel_modules": ["proprietary"]}


def test_rhel9_a100_server_gets_the_compute_only_open_driver_on_its_module_stream():
    plan = plan_for(SERVER)
    assert plan.distro == {"family": "rhel", "id": "rhel", "version": "9.6",
                           "name": "Red Hat Enterprise Linux 9.6 (Plow)", "package_manager": "dnf"}
    assert commands_of(plan, "kernel-headers") == [["dnf", "install", "-y", f"kernel-devel-matched-{EL9_KERNEL}",
                                                    "kernel-headers"]]
    assert commands_of(plan, "nouveau") == [["dracut", "--force"]]
    assert plan.step("nouveau").status == "todo"
    assert commands_of(plan, "cuda-repo") == [
        ["dnf", "install", "-y", "dnf-plugins-core"],
        ["dnf", "config-manager", "--add-repo", f"{REPOS}/rhel9/x86_64/cuda-rhel9.repo"],
        ["dnf", "clean", "expire-cache"]]
    assert plan.step("cuda-repo").reason == "needed by driver"
    assert commands_of(plan, "driver") == [
        ["subscription-manager", "repos", "--enable", "codeready-builder-for-rhel-9-x86_64-rpms"],
        ["dnf", "install", "-y", "https://dl.fedoraproject.org/pub/epel/epel-release-latest-9.noarch.rpm"],
        ["dnf", "module", "enable", "-y", "nvidia-driver:580-open"],
        ["dnf", "install", "-y", "nvidia-driver-cuda", "kmod-nvidia-open-dkms"]]
    assert plan.step("driver").status == "todo" and "open kernel modules" in plan.step("driver").reason
    assert plan.step("display-stop").status == "skip" and plan.step("secureboot-mok").status == "skip"
    assert commands_of(plan, "tensorflow") == [["/opt/ml/venv/bin/python", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.21.0"]]
    assert plan.step("cuda-toolkit").status == "skip" and plan.reboot_required


def test_the_chosen_branch_is_the_one_held():
    plan = plan_for(SERVER, driver_branch=570)
    assert ["dnf", "module", "enable", "-y", "nvidia-driver:570-open"] in commands_of(plan, "driver")
    el10 = build_plan(release("rocky", "10.0", "6.12.0-55.9.1.el10_0.x86_64"), PlanOptions(gpu=True, driver_branch=570))
    assert ["dnf", "versionlock", "add", "*nvidia*570*"] in commands_of(el10, "driver")


def test_rocky8_enables_powertools_and_installs_kernel_devel_of_the_running_kernel():
    kernel = "4.18.0-553.22.1.el8_10.x86_64"
    plan = build_plan(release("rocky", "8.10", kernel), GPU)
    assert commands_of(plan, "cuda-repo")[1] == ["dnf", "config-manager", "--add-repo",
                                                 f"{REPOS}/rhel8/x86_64/cuda-rhel8.repo"]
    assert commands_of(plan, "driver") == [["dnf", "config-manager", "--set-enabled", "powertools"],
                                           ["dnf", "install", "-y", "epel-release"],
                                           ["dnf", "module", "enable", "-y", "nvidia-driver:580-open"],
                                           ["dnf", "install", "-y", "nvidia-driver-cuda", "kmod-nvidia-open-dkms"]]
    assert commands_of(plan, "kernel-headers") == [["dnf", "install", "-y", f"kernel-devel-{kernel}",
                                                    "kernel-headers"]]


def test_rhel10_has_no_module_streams_and_holds_the_branch_with_versionlock():
    plan = build_plan(release("rhel", "10.0", "6.12.0-55.9.1.el10_0.x86_64"), GPU)
    assert plan.distro["package_manager"] == "dnf"
    assert commands_of(plan, "cuda-repo") == [  # RHEL 10 keeps dnf 4: config-manager --add-repo
        ["dnf", "install", "-y", "dnf-plugins-core"],
        ["dnf", "config-manager", "--add-repo", f"{REPOS}/rhel10/x86_64/cuda-rhel10.repo"],
        ["dnf", "clean", "expire-cache"]]
    assert commands_of(plan, "driver") == [
        ["subscription-manager", "repos", "--enable", "codeready-builder-for-rhel-10-x86_64-rpms"],
        ["dnf", "install", "-y", "https://dl.fedoraproject.org/pub/epel/epel-release-latest-10.noarch.rpm"],
        ["dnf", "install", "-y", "python3-dnf-plugin-versionlock"],
        ["dnf", "versionlock", "add", "*nvidia*580*"],
        ["dnf", "install", "-y", "nvidia-driver-cuda", "kmod-nvidia-open-dkms"]]
    assert not any("module" in argv for argv in commands_of(plan, "driver"))
    assert commands_of(plan, "kernel-headers") == [["dnf", "install", "-y",
                                                    "kernel-devel-matched-6.12.0-55.9.1.el10_0.x86_64",
                                                    "kernel-headers"]]


def test_fedora_uses_dnf5_syntax_and_versionlock_without_epel():
    kernel = "6.17.7-300.fc44.x86_64"
    plan = build_plan(release("fedora", "44", kernel, **desktop()), GPU)
    assert commands_of(plan, "cuda-repo") == [
        ["dnf", "install", "-y", "dnf5-plugins"],
        ["dnf", "config-manager", "addrepo", f"--from-repofile={REPOS}/fedora44/x86_64/cuda-fedora44.repo",
         "--overwrite"],
        ["dnf", "clean", "expire-cache"]]
    # Fedora carries dkms itself; dnf5 has versionlock built in; a desktop gets the whole driver.
    assert commands_of(plan, "driver") == [["dnf", "versionlock", "add", "*nvidia*580*"],
                                           ["dnf", "install", "-y", "nvidia-open"]]
    assert commands_of(plan, "kernel-headers") == [["dnf", "install", "-y", f"kernel-devel-matched-{kernel}",
                                                    "kernel-headers"]]
    assert commands_of(plan, "display-stop") == [["systemctl", "stop", "gdm"]]
    assert not plan.warnings


def test_fedora_42_is_planned_with_its_end_of_life_warned():
    plan = build_plan(release("fedora", "42", "6.14.0-63.fc42.x86_64"), GPU)
    assert commands_of(plan, "cuda-repo")[1][3] == f"--from-repofile={REPOS}/fedora42/x86_64/cuda-fedora42.repo"
    assert any("end-of-life" in warning and "2026-05-28" in warning for warning in plan.warnings)


def test_proprietary_modules_for_a_pascal_card_never_through_cuda_drivers():
    headless = build_plan(server_facts(**PASCAL), GPU)
    assert commands_of(headless, "driver")[2:] == [
        ["dnf", "module", "enable", "-y", "nvidia-driver:580-dkms"],
        ["dnf", "install", "-y", "nvidia-driver-cuda", "kmod-nvidia-latest-dkms"]]
    assert "proprietary kernel modules" in headless.step("driver").reason
    fedora = build_plan(release("fedora", "43", "6.17.7-200.fc43.x86_64", **PASCAL, **desktop()), GPU)
    assert commands_of(fedora, "driver") == [
        ["dnf", "versionlock", "add", "*nvidia*580*"],
        ["dnf", "install", "-y", "nvidia-driver", "nvidia-driver-cuda", "kmod-nvidia-latest-dkms"]]
    for plan in (headless, fedora):
        assert not any("cuda-drivers" in argv for step in plan.steps for argv in step.commands)


def test_oracle_linux_enables_its_own_codeready_builder_and_epel():
    plan = build_plan(release("ol", "9.5", "5.14.0-503.11.1.el9_5.x86_64"), GPU)
    assert commands_of(plan, "driver")[:2] == [["dnf", "config-manager", "--set-enabled", "ol9_codeready_builder"],
                                               ["dnf", "install", "-y", "oracle-epel-release-el9"]]


def test_kernel_devel_says_what_to_do_when_the_running_kernel_is_gone_from_the_mirrors():
    step = plan_for(SERVER).step("kernel-headers")
    assert step.status == "todo"
    assert f"kernel-devel-matched-{EL9_KERNEL} must match the running kernel" in step.reason
    assert "older than the repositories' newest" in step.reason
    assert "update the kernel first (dnf upgrade 'kernel*'), reboot, then run setupkit install again" in step.reason
    unknown = build_plan(server_facts(**{"kernel.release": None}), GPU)
    assert commands_of(unknown, "kernel-headers") == [
        ["sh", "-c", "dnf install -y kernel-devel-matched-$(uname -r) kernel-headers"]]
    installed = build_plan(server_facts(**{"kernel.headers_installed": True}), GPU)
    assert installed.step("kernel-headers").status == "done"


def test_centos7_keeps_its_yum_plan():
    plan = build_plan(release("centos", "7", "3.10.0-1160.el7.x86_64", **{"python.version": "3.6.8"}), GPU)
    assert commands_of(plan, "cuda-repo") == [["yum-config-manager", "--add-repo",
                                               f"{REPOS}/rhel7/x86_64/cuda-rhel7.repo"]]
    assert commands_of(plan, "driver") == [["yum", "install", "-y", "nvidia-driver-latest-dkms"]]
    assert commands_of(plan, "kernel-headers") == [["yum", "install", "-y", "kernel-devel-3.10.0-1160.el7.x86_64",
                                                    "kernel-headers-3.10.0-1160.el7.x86_64"]]


@pytest.mark.parametrize(("os_id", "version"), [("fedora", "41"), ("fedora", "39"), ("rhel", "6.10"),
                                                ("rocky", "11.0")])
def test_a_release_without_an_nvidia_repository_is_refused(os_id, version):
    with pytest.raises(PreconditionError) as caught:
        build_plan(release(os_id, version, "6.0.0"), GPU)
    assert caught.value.exit_code == exitcodes.PRECONDITION
    assert caught.value.message == (
        f"NVIDIA publishes no driver repository that setupkit knows for {os_id} {version}; setupkit install plans "
        f"RHEL and its rebuilds 7, 8, 9 and 10, Fedora 42, 43 and 44")
    assert caught.value.hint.startswith("upgrade to a release NVIDIA's Driver Installation Guide lists")
