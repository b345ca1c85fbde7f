"""Every pip requirement a scenario plan names, resolved against the real package index for that scenario's Python
and platform (``pip install --dry-run``, binary wheels, dependencies included): a pin that does not exist, has no
wheel for that Python, needs a newer glibc or pulls a dependency nobody published fails here, not on the host.

Offline these tests skip and say why; ``.ci/run`` reaches the index and runs them. The picks themselves are
checked without the network below them (test_the_pick_*)."""

from __future__ import annotations

import pytest

from setupkit import versions
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.install.tensorflow_pick import pick_tensorflow, pinned_release
from setupkit.knowledge import tensorflow as tested_builds
from setupkit.versions import CudaVersion
from tests.helpers.install import PLANNED_SCENARIOS, plan_for, ubuntu_gpu_facts
from tests.helpers.network import require_index, resolve

OLDEST_WHEEL_ONLY_PYTHON = (3, 7)
"""Before Python 3.7 TensorFlow's dependency trees hold projects that published only sdists for it (wrapt and
termcolor for 3.4 and 3.5), and pip takes no sdist for another machine's Python: there the pin itself is resolved
(its wheel for that Python and platform exists), without its dependencies."""


def pip_requirements(plan) -> list[tuple[str, str]]:
    """(step id, requirement) for every `python -m pip install` a plan's steps name, whatever their status: a done
    step names the release that is in place, a todo step the one it installs."""
    found = []
    for step in plan.steps:
        for argv in step.commands:
            if list(argv[1:4]) == ["-m", "pip", "install"]:
                found += [(step.id, arg) for arg in argv[4:] if not arg.startswith("-")]
    return found


def planned_requirements() -> list[tuple[str, str, str, str | None]]:
    """(scenario, requirement, Python X.Y, glibc) for every requirement of every scenario plan."""
    rows = []
    for name in PLANNED_SCENARIOS:
        plan = plan_for(name)
        python = versions.major_minor(plan_facts(name).get("python.version"))
        glibc = plan_facts(name).get("libc.version")
        rows += [(name, requirement, python, glibc) for _, requirement in pip_requirements(plan)]
    return rows


def plan_facts(name: str) -> dict:
    from tests.helpers.scenarios import snapshot_facts

    return snapshot_facts(name)


@pytest.mark.network
@pytest.mark.parametrize(("name", "requirement", "python", "glibc"), planned_requirements(),
                         ids=lambda value: str(value))
def test_every_planned_pip_requirement_resolves_on_the_index(name, requirement, python, glibc):
    require_index()
    with_deps = versions.major_minor_pair(python) >= OLDEST_WHEEL_ONLY_PYTHON
    found = resolve(requirement, python, glibc, with_deps)
    assert found.ok, f"{name}: pip cannot install {requirement} for Python {python} (glibc {glibc}): {found.error}"
    project = requirement.split("[")[0].split("=")[0].split("<")[0].lower()
    assert project in found.installs, found.installs
    pinned = requirement.partition("==")[2]
    if pinned:
        assert versions.same_release(found.installs[project], pinned), found.installs


def test_every_scenario_plan_names_a_pip_requirement():
    # the network test above is only as good as what it is given
    rows = planned_requirements()
    assert {name for name, *_ in rows} == set(PLANNED_SCENARIOS)
    assert all(python for _, _, python, _ in rows)


@pytest.mark.network
def test_the_uninstallable_and_cuda_pin_fails_on_the_index():
    """The counter-check: the index says no to what the table says cannot install (tensorflow/tensorflow#62498)."""
    require_index()
    found = resolve("tensorflow[and-cuda]==2.15.0", "3.10", "2.35", True)
    assert not found.ok and "tensorrt" in found.error


# -- the picks, without the network ----------------------------------------------------------------------------

def test_the_pick_on_ubuntu_2204_with_driver_535_never_pins_2_15_0():
    facts = ubuntu_gpu_facts(**{"driver.loaded": True, "driver.version": "535.183.01", "driver.nvml_error": None,
                                "driver.cuda_max": "12.2", "nouveau.loaded": False, "libc.family": "glibc",
                                "libc.version": "2.35"})
    plan = build_plan(facts, PlanOptions(gpu=True))
    assert plan.step("driver").status == "done"
    # CUDA 12 wheels run on driver 535 by minor-version compatibility: the newest TensorFlow, not 2.15
    assert plan.step("tensorflow").commands == [["/usr/bin/python3", "-m", "pip", "install",
                                                 "tensorflow[and-cuda]==2.21.0"]]
    # and where the 2.15 minor is the one wanted, its pin is a patch release whose and-cuda extra installs
    build = tested_builds.tested_build("2.15")
    assert pinned_release(build, True, facts).version == "2.15.1"
    assert pinned_release(build, False, facts).version == "2.15.1"


def test_the_pick_for_python_3_4_is_the_last_release_with_a_cp34_wheel():
    facts = ubuntu_gpu_facts(**{"python.version": "3.4.3", "libc.family": "glibc", "libc.version": "2.19"})
    build = pick_tensorflow(facts, gpu=True, driver="418.999.999", ceiling=CudaVersion(10, 1))
    assert build is not None and build.version == "1.14.0"  # 2.0 lists 3.3-3.7 but has no cp34 wheel
    assert pick_tensorflow(facts, gpu=False).version == "1.14.0"  # the tensorflow project has cp34 to 1.14 too


def test_the_pick_respects_glibc_and_musl():
    old_glibc = ubuntu_gpu_facts(**{"python.version": "3.12.3", "libc.family": "glibc", "libc.version": "2.23"})
    assert pick_tensorflow(old_glibc, gpu=False).version == "2.20.0"  # 2.21 is manylinux_2_27 only
    musl = ubuntu_gpu_facts(**{"python.version": "3.12.3", "libc.family": "musl", "libc.version": None})
    assert pick_tensorflow(musl, gpu=False) is None
    plan = build_plan(musl, PlanOptions(gpu=False))
    assert plan.step("tensorflow").status == "skip" and "musl" in plan.step("tensorflow").reason


def test_the_pip_floor_follows_the_picked_wheels():
    facts = ubuntu_gpu_facts(**{"pip.version": "20.0.2", "python.version": "3.12.3"})
    pip = build_plan(facts, PlanOptions(gpu=True)).step("pip")
    # TensorFlow 2.21's wheels are manylinux_2_27 only: pip 20.0 (Ubuntu 20.04's) cannot read that tag
    assert pip.status == "todo" and "needs 20.3 or newer" in pip.reason and "manylinux_2_27" in pip.reason
    older = build_plan(ubuntu_gpu_facts(**{"pip.version": "20.0.2", "python.version": "3.8.10"}),
                       PlanOptions(gpu=True)).step("pip")
    assert older.status == "done" and "needs 19.3 or newer" in older.reason  # TensorFlow 2.13: manylinux2014


def test_a_driver_below_the_minor_compatibility_floor_gets_no_cuda_12_wheels():
    from setupkit.install.tensorflow_pick import pip_cuda_runs

    cuda12 = CudaVersion(12, 5)
    assert pip_cuda_runs(cuda12, "525.60.13", None) and pip_cuda_runs(cuda12, "535.183.01", CudaVersion(12, 2))
    assert not pip_cuda_runs(cuda12, "520.61.05", CudaVersion(11, 8))
    assert pip_cuda_runs(cuda12, None, CudaVersion(12, 4))  # WSL: the Windows driver's CUDA says it
    assert not pip_cuda_runs(cuda12, None, CudaVersion(11, 8))
