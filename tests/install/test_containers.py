"""Plans inside containers: the kernel driver, nouveau, kernel headers and the display manager are the host's and
are never planned there; `install --gpu` where no GPU is visible (a `docker build` on a CPU runner) plans the
user-space GPU stack, never a driver. The exact commands are asserted."""

from __future__ import annotations

import sys

import pytest

from setupkit.errors import PreconditionError
from setupkit.install.context import NO_GPU_REASON, container_reason
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan, select_steps
from setupkit.install.steps_stack import PIP_CUDA_REASON
from setupkit.versions import dashed
from tests.helpers.install import commands_of, plan_for, statuses, ubuntu_gpu_facts

DOCTOR = [sys.executable, "-m", "setupkit", "doctor"]
HOST_SIDE = ("kernel-headers", "nouveau", "display-stop", "driver", "secureboot-mok", "display-start")
# A slim image has neither wget nor ca-certificates, and no package lists until apt-get update.
FETCHERS = [["apt-get", "update"], ["apt-get", "install", "-y", "ca-certificates", "wget"]]
KEYRING = "https://developer.download.nvidia.com/compute/cuda/repos/{slug}/x86_64/cuda-keyring_1.1-1_all.deb"


def test_gpu_container_gets_the_user_space_stack_only():
    plan = plan_for("docker-gpu-l4-ubuntu2204")
    assert plan.path == "gpu" and not plan.reboot_required
    for step_id in HOST_SIDE:
        step = plan.step(step_id)
        assert step.status == "skip" and step.reason == container_reason("docker"), step_id
    assert statuses(plan) == {
        "pip": "done", "kernel-headers": "skip", "nouveau": "skip", "cuda-repo": "skip", "display-stop": "skip",
        "driver": "skip", "secureboot-mok": "skip", "cuda-toolkit": "skip", "cudnn": "skip", "display-start": "skip",
        "tensorflow": "todo", "verify": "todo"}
    assert plan.step("cuda-toolkit").reason == PIP_CUDA_REASON
    assert [(s.id, s.commands) for s in plan.todo()] == [
        ("tensorflow", [["/usr/bin/python3", "-m", "pip", "install", "tensorflow[and-cuda]==2.21.0"]]),
        ("verify", [DOCTOR])]
    # the host's driver stays the host's: kept, and what it serves bounds the CUDA of the plan
    assert plan.choices["keep_driver"] is True and plan.choices["driver_cuda_max"] == "13.0"
    assert plan.warnings == [
        "inside a docker container: only the user-space GPU stack is planned; the NVIDIA kernel driver, nouveau, "
        "kernel headers and the display manager belong to the host, whose driver reaches this container through "
        "the NVIDIA Container Toolkit"]


def test_gpu_container_with_the_toolkit_asked_for():
    plan = plan_for("docker-gpu-l4-ubuntu2204", with_toolkit=True)
    keyring = "/tmp/cuda-keyring_1.1-1_all.deb"
    toolkit = f"cuda-toolkit-{dashed(plan.choices['cuda_toolkit'])}"
    assert [(s.id, s.commands) for s in plan.todo()] == [
        ("cuda-repo", [*FETCHERS, ["wget", "-q", "-O", keyring, KEYRING.format(slug="ubuntu2204")],
                       ["dpkg", "-i", keyring], ["apt-get", "update"]]),
        ("cuda-toolkit", [["apt-get", "install", "-y", toolkit]]),
        ("tensorflow", [["/usr/bin/python3", "-m", "pip", "install", "tensorflow[and-cuda]==2.21.0"]]),
        ("verify", [DOCTOR])]
    assert all(plan.step(step_id).status == "skip" for step_id in HOST_SIDE)


def test_a_driver_branch_asked_for_in_a_container_is_ignored_with_a_warning():
    plan = plan_for("docker-gpu-l4-ubuntu2204", driver_branch=580)
    assert plan.step("driver").status == "skip" and plan.step("driver").commands == []
    assert "--driver-branch 580 is ignored: no driver is installed here" in plan.warnings


def test_gpu_less_container_build_plans_user_space_only_with_warnings():
    plan = plan_for("docker-build-debian12-nogpu")
    assert plan.path == "gpu" and not plan.reboot_required
    for step_id in HOST_SIDE:
        assert plan.step(step_id).reason == container_reason("docker"), step_id
    assert [(s.id, s.commands) for s in plan.todo()] == [
        ("tensorflow", [["/usr/local/bin/python3", "-m", "pip", "install", "tensorflow[and-cuda]==2.21.0"]]),
        ("verify", [DOCTOR])]
    assert plan.step("cuda-toolkit").reason == PIP_CUDA_REASON
    assert len(plan.warnings) == 2
    assert plan.warnings[0].startswith("inside a docker container: only the user-space GPU stack is planned")
    assert plan.warnings[1].startswith("no NVIDIA GPU is visible (a container build, or a machine without one): "
                                       "--gpu plans the user-space GPU stack only")


def test_gpu_less_container_build_with_the_toolkit():
    plan = plan_for("docker-build-debian12-nogpu", with_toolkit=True)
    keyring = "/tmp/cuda-keyring_1.1-1_all.deb"
    toolkit = f"cuda-toolkit-{dashed(plan.choices['cuda_toolkit'])}"
    assert commands_of(plan, "cuda-repo") == [
        *FETCHERS, ["wget", "-q", "-O", keyring, KEYRING.format(slug="debian12")], ["dpkg", "-i", keyring],
        ["apt-get", "update"]]
    # contrib as a list file of its own: debian:12-slim has no add-apt-repository (software-properties-common)
    assert [(f.path, f.content) for f in plan.step("cuda-repo").files] == [
        ("/etc/apt/sources.list.d/debian-contrib.list", "deb http://deb.debian.org/debian bookworm contrib\n")]
    assert commands_of(plan, "cuda-toolkit") == [["apt-get", "install", "-y", toolkit]]
    assert [s.id for s in plan.todo()] == ["cuda-repo", "cuda-toolkit", "tensorflow", "verify"]
    assert plan.step("driver").status == "skip"


def test_a_runfile_named_with_only_runs_where_no_gpu_is_visible():
    """`install --gpu --only cuda-toolkit --cuda-runfile F` on a build host: the toolkit is installed, no driver."""
    runfile = "/tmp/cuda_12.4.1_550.54.15_linux.run"
    plan = select_steps(plan_for("docker-build-debian12-nogpu", cuda_runfile=runfile), ["cuda-toolkit"], [])
    assert [(s.id, s.commands) for s in plan.todo()] == [
        ("cuda-toolkit", [["sh", runfile, "--silent", "--toolkit", "--toolkitpath=/usr/local/cuda-12.4"]])]


def test_the_driver_named_with_only_in_a_container_exits_3_saying_why():
    with pytest.raises(PreconditionError) as caught:
        select_steps(plan_for("docker-gpu-l4-ubuntu2204"), ["driver"], [])
    assert caught.value.exit_code == 3
    assert caught.value.message == f"--only driver: the step cannot run here: {container_reason('docker')}"


def test_no_gpu_outside_a_container_says_so_in_each_host_side_step():
    plan = build_plan(ubuntu_gpu_facts(**{"gpu.count": 0, "gpu.names": [], "host.container": "none"}),
                      PlanOptions(gpu=True))
    for step_id in HOST_SIDE:
        assert plan.step(step_id).reason == NO_GPU_REASON


def test_wsl_is_not_taken_for_a_container():
    assert plan_for("wsl2-ubuntu2204").step("driver").reason.startswith("inside WSL the Windows driver")
