"""Debian-family plans a real machine accepts: each release's NVIDIA keyring, apt-transport-https where apt needs it,
cuDNN 7/8 pinned to the build for the plan's CUDA and held, Debian's contrib without add-apt-repository, and the
end-of-life limits of Ubuntu 20.04 (CUDA 12.9, Ubuntu's driver 570) and Debian 11 (CUDA 12.6)."""

from __future__ import annotations

import re

import pytest

from setupkit.errors import PreconditionError
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.knowledge import cudnn_packages, distributions
from setupkit.knowledge.loader import read_table
from setupkit.versions import CudaVersion
from setupkit.yamlio import CatalogError
from tests.helpers.install import PLANNED_SCENARIOS, commands_of, plan_for, ubuntu_gpu_facts

GPU = PlanOptions(gpu=True)
NVIDIA = "https://developer.download.nvidia.com/compute/cuda/repos"
CONTRIB = "/etc/apt/sources.list.d/debian-contrib.list"


def focal(**overrides) -> dict:
    return ubuntu_gpu_facts(**{"os.version_id": "20.04", "os.pretty_name": "Ubuntu 20.04.6 LTS", "os.codename": "focal",
                               "python.version": "3.8.10", **overrides})


def debian(version: str, codename: str | None, **overrides) -> dict:
    return ubuntu_gpu_facts(**{"os.id": "debian", "os.version_id": version, "os.codename": codename,
                               "os.pretty_name": f"Debian GNU/Linux {version}", "python.version": "3.11.2",
                               **overrides})


def working_driver(version: str, cuda_max: str) -> dict:
    return {"driver.loaded": True, "driver.version": version, "driver.userspace_version": version,
            "driver.nvml_error": None, "driver.cuda_max": cuda_max, "gpu.compute_capabilities": ["8.6"],
            "nouveau.loaded": False, "nouveau.blacklisted": True}


# -- Ubuntu 20.04: CUDA 12.9 at most, the driver from Ubuntu's archive (570 at most) ------------------------------

def test_ubuntu_2004_is_capped_at_cuda_12_9():
    with pytest.raises(PreconditionError, match="NVIDIA published CUDA up to 12.9 for Ubuntu 20.04.6 LTS") as caught:
        build_plan(focal(), PlanOptions(gpu=True, cuda_version="13.0"))
    assert caught.value.hint == "pass --cuda-version 12.9 (or older), or upgrade the OS"
    plan = build_plan(focal(), GPU)
    assert any("end-of-life" in w and "the plan stays within CUDA 12.9" in w for w in plan.warnings)


def test_ubuntu_2004_installs_ubuntus_newest_driver_branch_570():
    """focal-updates restricted has nvidia-driver-570(-open) and nothing newer: 580, the default elsewhere, would
    not install."""
    plan = build_plan(focal(), GPU)
    assert plan.choices["driver_branch"] == 570 and plan.choices["driver_cuda_max"] == "12.8"
    assert commands_of(plan, "driver") == [["apt-get", "install", "-y", "nvidia-driver-570-open"]]  # RTX 3090
    with pytest.raises(PreconditionError, match="CUDA 12.9 needs driver 575.51.03"):
        build_plan(focal(), PlanOptions(gpu=True, cuda_version="12.9"))


def test_ubuntu_2004_with_a_working_575_driver_reaches_cuda_12_9():
    plan = build_plan(focal(**working_driver("575.57.08", "12.9")), PlanOptions(gpu=True, cuda_version="12.9"))
    assert plan.step("driver").status == "done"
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", "cuda-toolkit-12-9"]]
    assert commands_of(plan, "cuda-repo")[2] == [
        "wget", "-q", "-O", "/tmp/cuda-keyring_1.1-1_all.deb", f"{NVIDIA}/ubuntu2004/x86_64/cuda-keyring_1.1-1_all.deb"]


def test_cudnn_8_for_cuda_11_2_is_pinned_and_held_from_the_cuda_repository():
    """Driver 470 serves CUDA 11.4: TensorFlow 2.11 (CUDA 11.2, cuDNN 8.1). An unpinned libcudnn8 would be
    8.9.7.29-1+cuda12.2, which TensorFlow 2.11 cannot load."""
    plan = build_plan(focal(**working_driver("470.256.02", "11.4")), GPU)
    assert plan.choices["tensorflow"].startswith("2.11.")
    assert commands_of(plan, "cudnn") == [
        ["apt-get", "install", "-y", "libcudnn8=8.1.0.77-1+cuda11.2", "libcudnn8-dev=8.1.0.77-1+cuda11.2"],
        ["apt-mark", "hold", "libcudnn8", "libcudnn8-dev"]]
    repo = plan.step("cuda-repo")
    assert repo.files == [] and not any("machine-learning" in " ".join(argv) for argv in repo.commands)


def test_the_working_cuda_11_8_stack_names_the_pin_it_would_install():
    cudnn = plan_for("ubuntu2204-two-gpus-cuda118").step("cudnn")
    assert cudnn.status == "done" and cudnn.commands[0] == [
        "apt-get", "install", "-y", "libcudnn8=8.6.0.163-1+cuda11.8", "libcudnn8-dev=8.6.0.163-1+cuda11.8"]


# -- Debian 11: end of life, CUDA 12.6 at most ----------------------------------------------------------------------

def test_debian_11_is_end_of_life_and_capped_at_cuda_12_6():
    plan = build_plan(debian("11", "bullseye", **{"python.version": "3.9.2"}), GPU)
    warning = next(w for w in plan.warnings if "end-of-life" in w)
    assert "Debian 11 left long-term support on 2026-08-31" in warning and "stays within CUDA 12.6" in warning
    assert plan.choices["driver_branch"] == 560 and plan.choices["driver_cuda_max"] == "12.6"
    assert commands_of(plan, "driver")[0] == ["apt-get", "install", "-y", "nvidia-driver-pinning-560"]
    assert commands_of(plan, "cuda-repo")[2][-1] == f"{NVIDIA}/debian11/x86_64/cuda-keyring_1.1-1_all.deb"
    with pytest.raises(PreconditionError, match="NVIDIA published CUDA up to 12.6 for Debian GNU/Linux 11"):
        build_plan(debian("11", "bullseye"), PlanOptions(gpu=True, cuda_version="12.8"))


# -- Debian's contrib, without add-apt-repository -------------------------------------------------------------------

@pytest.mark.parametrize(("version", "codename"), [("11", "bullseye"), ("12", "bookworm"), ("13", "trixie")])
def test_debian_contrib_is_a_list_file_of_its_own(version, codename):
    """software-properties-common (add-apt-repository) is absent from slim images and from Debian 13 itself."""
    plan = build_plan(debian(version, codename), GPU)
    repo = plan.step("cuda-repo")
    assert [(f.path, f.content) for f in repo.files] == [
        (CONTRIB, f"deb http://deb.debian.org/debian {codename} contrib\n")]
    keyring = "/tmp/cuda-keyring_1.1-1_all.deb"
    url = f"{NVIDIA}/debian{version}/x86_64/cuda-keyring_1.1-1_all.deb"
    # slim images lack wget and ca-certificates, and have no package lists until apt-get update
    assert repo.commands == [["apt-get", "update"], ["apt-get", "install", "-y", "ca-certificates", "wget"],
                             ["wget", "-q", "-O", keyring, url], ["dpkg", "-i", keyring], ["apt-get", "update"]]
    assert not any(argv[0] == "add-apt-repository" for step in plan.steps for argv in step.commands)


def test_debian_contrib_without_a_known_codename_reads_it_from_os_release_at_run_time():
    for codename in (None, "bookworm; rm -rf /"):
        repo = build_plan(debian("12", codename), GPU).step("cuda-repo")
        assert repo.files == []
        assert repo.commands[4] == ["sh", "-c", '. /etc/os-release && echo "deb http://deb.debian.org/debian '
                                                '$VERSION_CODENAME contrib" > ' + CONTRIB]


# -- every scenario plan ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLANNED_SCENARIOS)
def test_no_scenario_plan_installs_an_unpinned_cudnn_7_or_8(name):
    plan = plan_for(name)
    for step in plan.steps:
        for argv in step.commands:
            for word in argv[3:] if argv[:3] == ["apt-get", "install", "-y"] else []:
                if re.match(r"^libcudnn[78](-dev)?(=|$)", word) and plan.distro["family"] == "debian":
                    cuda = plan.step("cudnn").title.rsplit(" ", 1)[-1]
                    assert word.endswith(f"+cuda{cuda}"), (name, word)


@pytest.mark.parametrize("name", PLANNED_SCENARIOS)
def test_add_apt_repository_always_comes_after_software_properties_common(name):
    for step in plan_for(name).steps:
        installs = [i for i, argv in enumerate(step.commands) if "software-properties-common" in argv]
        for index, argv in enumerate(step.commands):
            if argv[0] == "add-apt-repository":
                assert installs and installs[0] < index, (name, step.id)


# -- the knowledge behind it ----------------------------------------------------------------------------------------

def test_each_release_names_its_keyring_and_https_transport():
    assert distributions.cuda_keyring("ubuntu", "16.04") == "cuda-keyring_1.0-1_all.deb"
    assert distributions.cuda_keyring("ubuntu", "24.04") == distributions.default_keyring() == \
        "cuda-keyring_1.1-1_all.deb"
    assert [(v, distributions.end_of_life("ubuntu", v).apt_https_transport) for v in ("14.04", "16.04", "18.04")] == \
        [("14.04", True), ("16.04", True), ("18.04", False)]
    row = distributions.end_of_life("ubuntu", "20.04")
    assert (row.cuda_max, row.branch) == (CudaVersion(12, 9), 570)
    row = distributions.end_of_life("debian", "11")
    assert (row.cuda_max, row.branch) == (CudaVersion(12, 6), 560)


def test_cudnn_pins_are_the_builds_tensorflow_installed():
    assert cudnn_packages.package_for(7, CudaVersion(10, 1)).pins() == [
        "libcudnn7=7.6.5.32-1+cuda10.1", "libcudnn7-dev=7.6.5.32-1+cuda10.1"]
    assert cudnn_packages.package_for(8, CudaVersion(11, 0)).repository == cudnn_packages.MACHINE_LEARNING
    assert cudnn_packages.package_for(8, CudaVersion(11, 8)).repository == cudnn_packages.CUDA
    assert cudnn_packages.package_for(9, CudaVersion(12, 5)) is None
    assert cudnn_packages.machine_learning_repo("ubuntu1604")[1] == (
        "https://developer.download.nvidia.com/compute/machine-learning/repos/ubuntu1604/x86_64/7fa2af80.pub")


BAD_ROWS = {
    "keyring": ("distributions", 'cuda_keyring: "cuda-keyring_1.1-1_all.deb; rm"', "'cuda_keyring' must be"),
    "https": ("distributions", None, "'apt_https_transport' must be true or false"),
    "suffix": ("cudnn_packages", None, "built for CUDA 10.1"),
}


@pytest.mark.parametrize(("table", "replacement", "words"), BAD_ROWS.values(), ids=BAD_ROWS)
def test_a_malformed_row_is_refused(tmp_path, table, replacement, words):
    from setupkit.knowledge.loader import TABLES_DIR

    text = (TABLES_DIR / f"{table}.yaml").read_text()
    if table == "cudnn_packages":
        text = text.replace('version: "7.6.5.32-1+cuda10.1"', 'version: "7.6.5.32-1+cuda12.2"')
        parser = cudnn_packages.parse_cudnn_packages
    elif replacement:
        text = text.replace('cuda_keyring: "cuda-keyring_1.1-1_all.deb"', replacement)
        parser = distributions.parse_distributions
    else:
        text = text.replace(" apt_https_transport: true,", ' apt_https_transport: "yes",', 1)
        parser = distributions.parse_distributions
    path = tmp_path / f"{table}.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=re.escape(words)):
        parser(read_table(path))


# -- a driver branch the release never got ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "last"), [("ubuntu1604-gtx-nouveau", 460), ("ubuntu1404-upstart-lightdm", 418)])
def test_a_branch_newer_than_an_end_of_life_release_got_is_refused(name, last):
    """The graphics-drivers PPA and NVIDIA's repositories stopped building for these releases: nvidia-580 would
    be 'Unable to locate package' halfway through the install."""
    with pytest.raises(PreconditionError, match=f"never published for .*its last branch is {last}") as refused:
        plan_for(name, driver_branch=580)
    assert refused.value.hint == f"pass --driver-branch {last}, or upgrade the distribution"
    assert plan_for(name, driver_branch=last).choices["driver_branch"] == last
