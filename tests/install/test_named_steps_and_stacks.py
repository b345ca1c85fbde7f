"""A step named with --only runs or the command exits 3 saying why; the system CUDA toolkit only where TensorFlow
loads it or where it is asked for; a TensorFlow stack that works is left alone, and one doctor calls broken is
never done: install and doctor agree."""

from __future__ import annotations

import pytest

from setupkit.errors import PreconditionError, SetupkitError, UsageError
from setupkit.install.options import PlanOptions
from setupkit.install.planner import STEP_IDS, build_plan, select_steps
from setupkit.install.steps_stack import PIP_CUDA_REASON
from setupkit.knowledge import tensorflow as builds
from tests.helpers.doctor import verdict
from tests.helpers.install import PLANNED_SCENARIOS, commands_of
from tests.helpers.scenarios import snapshot_facts

OPTION_SETS = [PlanOptions(), PlanOptions(gpu=True), PlanOptions(gpu=True, with_toolkit=True),
               PlanOptions(gpu=True, upgrade_tensorflow=True), PlanOptions(gpu=True, driver_branch=580),
               PlanOptions(gpu=True, cuda_runfile="/tmp/cuda_12.4.1_550.54.15_linux.run")]


def plans():
    for name in PLANNED_SCENARIOS:
        for options in OPTION_SETS:
            try:
                yield name, options, snapshot_facts(name), build_plan(snapshot_facts(name), options)
            except SetupkitError:
                continue  # a request this host refuses is no plan


# -- --only --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_a_step_named_with_only_runs_or_exits_3_with_its_reason(step_id):
    seen = set()
    for name, options, facts, plan in plans():
        if step_id not in {s.id for s in plan.steps}:
            continue  # "reboot" leads blocked plans only
        named = plan.step(step_id)
        status, reason = named.status, named.reason
        if status == "skip":
            with pytest.raises(PreconditionError) as caught:
                select_steps(build_plan(facts, options), [step_id], [])
            assert caught.value.exit_code == 3
            assert caught.value.message == f"--only {step_id}: the step cannot run here: {reason}", (name, options)
        else:
            selected = select_steps(build_plan(facts, options), [step_id], [])
            assert selected.step(step_id).status == status, (name, options)
            assert all(s.status != "todo" for s in selected.steps if s.id != step_id)
        seen.add(status)
    assert "skip" in seen or step_id == "reboot", f"no scenario skips {step_id}: the exit 3 goes untested"


def test_a_step_named_by_only_and_skip_is_a_usage_error():
    plan = build_plan(snapshot_facts("h100"), PlanOptions(gpu=True))
    with pytest.raises(UsageError, match="named by both --only and --skip"):
        select_steps(plan, ["tensorflow"], ["tensorflow"])


def test_only_in_the_cli_exits_3_with_the_reason_and_a_fix(run_setupkit, h100_snapshot):
    result = run_setupkit("install", "--gpu", "--dry-run", "--only", "cuda-toolkit", "--snapshot", str(h100_snapshot))
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"setupkit: --only cuda-toolkit: the step cannot run here: {PIP_CUDA_REASON}",
        "fix: `setupkit install --dry-run` with the same options shows every step and why"]
    asked = run_setupkit("install", "--gpu", "--dry-run", "--only", "cuda-toolkit", "--with-toolkit", "--snapshot",
                         str(h100_snapshot))
    assert asked.returncode == 0, asked.stderr  # the CUDA 13.0 toolkit is there: done


# -- the system toolkit ------------------------------------------------------------------------------------------


def test_the_system_toolkit_is_planned_only_where_tensorflow_loads_it_or_when_asked():
    for name, options, _facts, plan in plans():
        if plan.blocked:
            continue  # reboot first: every step waits
        toolkit, build = plan.step("cuda-toolkit"), builds.tested_build(plan.choices["tensorflow"])
        asked = options.with_toolkit or options.cuda_version or options.cuda_runfile
        tensorflow_needs_it = build is not None and not build.pip_brings_cuda and \
            plan.step("tensorflow").status != "skip"
        if toolkit.status in ("todo", "done"):
            assert options.gpu and (asked or tensorflow_needs_it), (name, options, toolkit.reason)
        elif options.gpu and not asked and build is not None and build.pip_brings_cuda:
            assert toolkit.reason == PIP_CUDA_REASON, (name, options)


def test_tensorflow_before_and_cuda_still_gets_its_system_toolkit():
    plan = build_plan(snapshot_facts("ubuntu1604-gtx-nouveau"), PlanOptions(gpu=True))
    assert not builds.tested_build(plan.choices["tensorflow"]).pip_brings_cuda
    assert plan.step("cuda-toolkit").status == "todo" and plan.step("cudnn").status == "todo"


# -- stacks that work, stacks that do not ------------------------------------------------------------------------


def broken_two_gpus():
    """TensorFlow 2.15 installed without its CUDA 12 wheels beside the system CUDA 11.8 (pip install tensorflow
    instead of tensorflow[and-cuda]): doctor's tensorflow.cuda-compat fails."""
    facts = snapshot_facts("ubuntu2204-two-gpus-cuda118")
    facts.update({"tensorflow.version": "2.15.1", "tensorflow.distributions": {"tensorflow": "2.15.1"}})
    return facts


def h100_without_wheels():
    """TensorFlow 2.21 from `pip install tensorflow` on the H100: its CUDA 12 wheels are missing (the 13.0 of
    PyTorch's wheels and of the system is another major release)."""
    facts = snapshot_facts("h100")
    facts.update({"tensorflow.version": "2.21.0", "tensorflow.package": "tensorflow",
                  "tensorflow.distributions": {"tensorflow": "2.21.0"}})
    return facts


def test_a_broken_tensorflow_is_never_done():
    facts = broken_two_gpus()
    assert verdict("tensorflow.cuda-compat", facts).status == "fail"
    step = build_plan(facts, PlanOptions(gpu=True)).step("tensorflow")
    assert step.status == "todo"
    assert ("TensorFlow 2.15.1 (tensorflow) is installed but cannot use the GPU: TensorFlow 2.15.1 needs CUDA 12.2, "
            "which neither the system (toolkit: 11.8) nor pip (nvidia-cuda-runtime: none) provides") in step.reason


def test_the_same_release_without_its_wheels_is_reinstalled_with_them():
    facts = h100_without_wheels()
    assert verdict("tensorflow.cuda-compat", facts).status == "fail"
    plan = build_plan(facts, PlanOptions(gpu=True))
    assert plan.choices["tensorflow"] == "2.21.0" and plan.step("tensorflow").status == "todo"
    assert commands_of(plan, "tensorflow") == [["/opt/torch/.venv/bin/python3", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.21.0"]]
    fixed = facts | {"cuda.pip_runtime_version": "12.5"}
    assert verdict("tensorflow.cuda-compat", fixed).status == "pass"
    assert build_plan(fixed, PlanOptions(gpu=True)).step("tensorflow").status == "done"


def test_older_minor_releases_than_tensorflow_was_built_with_are_not_done():
    facts = h100_without_wheels() | {"cuda.pip_runtime_version": "12.4"}
    assert verdict("tensorflow.cuda-compat", facts).status == "warn"
    step = build_plan(facts, PlanOptions(gpu=True)).step("tensorflow")
    assert step.status == "todo" and "finds older minor releases than the CUDA 12.5 and cuDNN 9.3" in step.reason


def test_a_working_tensorflow_on_pip_cuda_is_kept_not_upgraded():
    """TensorFlow 2.16.1 with pip's CUDA 12.3 on driver 550 (CUDA 12.4) runs: no unasked change of version."""
    facts = snapshot_facts("laptop-hybrid-secureboot")
    facts.update({"tensorflow.version": "2.16.1", "tensorflow.package": "tensorflow",
                  "tensorflow.distributions": {"tensorflow": "2.16.1"}, "cuda.pip_runtime_version": "12.3",
                  "cudnn.pip_version": "8.9.7.29"})
    assert verdict("tensorflow.cuda-compat", facts).status == "pass"
    plan = build_plan(facts, PlanOptions(gpu=True))
    step = plan.step("tensorflow")
    assert step.status == "done" and plan.choices["tensorflow"] == "2.16.1"
    assert step.reason.startswith("TensorFlow 2.16.1 (tensorflow) is installed: its CUDA 12.3 and cuDNN 8.9 are "
                                  "in place on a driver serving CUDA up to 12.4, so it is kept")
    assert plan.step("cuda-toolkit").status == "skip" and plan.step("driver").status == "done"
    upgraded = build_plan(facts, PlanOptions(gpu=True, upgrade_tensorflow=True))
    assert upgraded.step("tensorflow").status == "todo" and upgraded.choices["tensorflow"] != "2.16.1"
    assert f"--upgrade-tensorflow installs {upgraded.choices['tensorflow']}" in step.reason


def test_a_system_cuda_asked_for_that_the_kept_tensorflow_cannot_load_replaces_it():
    # TensorFlow 2.12 loads CUDA 11: asked for CUDA 12.2, the plan installs a TensorFlow that uses it.
    plan = build_plan(snapshot_facts("ubuntu2204-two-gpus-cuda118"), PlanOptions(gpu=True, cuda_version="12.2"))
    assert plan.choices["tensorflow"] != "2.12.0" and plan.step("tensorflow").status == "todo"


def variants():
    for name in PLANNED_SCENARIOS:
        yield name, snapshot_facts(name)
    yield "broken-two-gpus", broken_two_gpus()
    yield "h100-without-wheels", h100_without_wheels()
    cpu_build = snapshot_facts("wsl2-ubuntu2204") | {"tensorflow.package": "tensorflow-cpu"}
    yield "wsl-tensorflow-cpu", cpu_build
    no_cudnn = snapshot_facts("wsl2-ubuntu2204") | {"cudnn.pip_version": None}
    yield "wsl-without-cudnn", no_cudnn
    yield "h100-older-wheels", h100_without_wheels() | {"cuda.pip_runtime_version": "12.4"}


@pytest.mark.parametrize("options", [PlanOptions(gpu=True), PlanOptions(gpu=True, upgrade_tensorflow=True)])
def test_install_and_doctor_agree_on_every_scenario(options):
    """Where doctor's tensorflow.cuda-compat fails or warns, the tensorflow step is not done; where it passes on a
    GPU plan and the installed release runs on this Python, the stack is kept unless an upgrade is asked for."""
    checked = 0
    for name, facts in variants():
        try:
            plan = build_plan(facts, options)
        except SetupkitError:
            continue
        if plan.blocked:
            continue  # reboot first: every step waits
        finding = verdict("tensorflow.cuda-compat", facts).status
        step = plan.step("tensorflow")
        if finding in ("fail", "warn"):
            assert step.status != "done", (name, step.reason)
            checked += 1
        installed = builds.tested_build(facts["tensorflow.version"])
        if finding == "pass" and installed and installed.runs_on(facts["python.version"]) \
                and not options.upgrade_tensorflow and step.status != "skip":
            assert step.status == "done", (name, step.reason)
            checked += 1
    assert checked >= 3
