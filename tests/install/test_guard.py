"""No plan, for any scenario and any options, may install a driver through CUDA's packages or installer."""

from __future__ import annotations

import pytest

from setupkit.errors import SetupkitError
from setupkit.install import guard
from setupkit.install.model import Plan, Step
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from tests.helpers.install import PLANNED_SCENARIOS, ubuntu_gpu_facts
from tests.helpers.scenarios import snapshot_facts

OPTION_SETS = [
    PlanOptions(), PlanOptions(gpu=True), PlanOptions(gpu=True, cuda_version="11.8"),
    PlanOptions(gpu=True, driver_branch=580), PlanOptions(gpu=True, cuda_version="10.0"),
    PlanOptions(gpu=True, cuda_runfile="/tmp/cuda_12.5.1_555.42.06_linux.run"),
    PlanOptions(gpu=True, cuda_runfile="/tmp/cuda_10.0.130_410.48_linux", override=True),
    PlanOptions(gpu=True, cuda_runfile="/tmp/cuda_9.0.176_384.81_linux-run"),
    PlanOptions(gpu=True, with_toolkit=True), PlanOptions(gpu=True, upgrade_tensorflow=True),
]


def every_plan():
    for name in PLANNED_SCENARIOS:
        for options in OPTION_SETS:
            try:
                yield name, build_plan(snapshot_facts(name), options)
            except SetupkitError:
                continue  # a refused request (a CUDA the release never had) is no plan


@pytest.mark.parametrize("argv", [
    ["apt-get", "install", "-y", "cuda"], ["apt-get", "install", "-y", "cuda-12-5"],
    ["apt", "install", "cuda-drivers"], ["dnf", "install", "-y", "cuda-drivers-550"],
    ["yum", "install", "-y", "cuda-runtime-11-8"], ["apt-get", "install", "-y", "cuda=12.5.1-1"],
    ["sh", "-c", "apt-get install -y cuda-11-0"]])
def test_guard_names_driver_pulling_packages(argv):
    assert guard.driver_pulling_packages(argv)


@pytest.mark.parametrize("argv", [
    ["apt-get", "install", "-y", "cuda-toolkit-12-5"], ["dnf", "install", "-y", "cuda-toolkit"],
    ["apt-get", "install", "-y", "cuda-keyring"], ["pip", "install", "cuda"], ["wget", "cuda"]])
def test_guard_lets_toolkit_packages_through(argv):
    assert guard.driver_pulling_packages(argv) == []


def test_guard_rejects_a_runfile_with_driver_and_a_dialog_that_says_yes():
    with pytest.raises(guard.DriverFromCudaError):
        guard.check_plan(Plan([Step("x", "x", commands=[["sh", "cuda_12.5.1_555.42.06_linux.run", "--driver"]])],
                              "gpu", {}))
    with pytest.raises(guard.DriverFromCudaError):
        guard.check_plan(Plan([Step("x", "x", dialog={"answers": {"driver": "y"}})], "gpu", {}))
    with pytest.raises(guard.DriverFromCudaError):
        guard.check_plan(Plan([Step("x", "x", status="skip", commands=[["apt-get", "install", "-y", "cuda"]])],
                              "gpu", {}))


def test_no_plan_of_any_scenario_installs_a_driver_from_cuda():
    plans = list(every_plan())
    assert len(plans) >= 40  # most option sets give a plan on most scenarios
    for name, plan in plans:
        guard.check_plan(plan)  # raises on the first offence
        for step in plan.steps:
            for argv in step.commands:
                assert "--driver" not in argv, (name, step.id, argv)


def test_the_planner_applies_the_guard_itself(monkeypatch):
    from setupkit.install import steps_stack

    monkeypatch.setattr(steps_stack, "_toolkit_commands",
                        lambda ctx, step, target: setattr(step, "commands", [["apt-get", "install", "-y", "cuda"]]))
    with pytest.raises(guard.DriverFromCudaError):
        build_plan(ubuntu_gpu_facts(), PlanOptions(gpu=True, with_toolkit=True))
