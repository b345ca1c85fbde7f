"""Doctor's advice and install's pick of a PyTorch CUDA variant are one rule
(``framework_wheels.choose_torch_variant``): on every scenario snapshot, the variant doctor's torch checks name in
their fix (``pip install torch --index-url .../<variant>``) is the variant `setupkit install --gpu --framework torch`
plans, judged on the driver the plan leaves."""

from __future__ import annotations

import pytest

from setupkit.doctor.conditions import Scope
from setupkit.errors import PreconditionError
from setupkit.install.choices import current_cuda_max
from setupkit.install.framework_pick import DriverView, FrameworkPick, pick_torch
from setupkit.install.gpus import host_gpus
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.knowledge import framework_wheels
from tests.helpers.doctor import builtin_checks
from tests.helpers.scenarios import snapshot_facts, snapshot_names

ADVISING_CHECKS = ("torch.cuda-compat", "torch.gpu-arch", "torch.gpu-visible")
"""The checks whose fix names a PyTorch variant (their ``variant`` let)."""


def doctor_advice(facts: dict) -> dict[str, str | None]:
    return {check_id: Scope(facts, builtin_checks()[check_id].lets).var("variant") for check_id in ADVISING_CHECKS}


def install_pick(facts: dict) -> tuple[FrameworkPick | str, str | None]:
    """(the plan's PyTorch pick, the CUDA the driver it judged by serves). Where the plan refuses the host (an
    unsupported distribution), the pick the planner would make on the driver that is there."""
    try:
        plan = build_plan(facts, PlanOptions(gpu=True, frameworks=("torch",)))
    except PreconditionError:
        cuda_max = current_cuda_max(facts)
        driver = DriverView(None if facts.get("kernel.wsl") else facts.get("driver.version"), cuda_max)
        return pick_torch(facts, gpu=True, driver=driver, host_gpus=host_gpus(facts)), \
            None if cuda_max is None else str(cuda_max)
    torch = plan.choices["torch"]
    pick = "no pick" if torch is None else FrameworkPick("torch", torch["version"], torch["variant"],
                                                          torch["requirement"], torch["index_url"], "")
    return pick, plan.choices["driver_cuda_max"]


@pytest.mark.parametrize("name", snapshot_names())
def test_doctor_advises_the_variant_install_picks(name):
    facts = snapshot_facts(name)
    pick, driver_cuda = install_pick(facts)
    # Doctor judges the driver it sees; the plan, the driver it leaves (the same where it keeps it).
    advice = doctor_advice({**facts, "driver.cuda_max": driver_cuda})
    if driver_cuda is None:
        # Nothing tells which CUDA the driver will run: doctor names no variant, install takes PyPI's default one.
        assert set(advice.values()) == {None}
        assert not isinstance(pick, FrameworkPick) or pick.variant == framework_wheels.torch_pypi_variant(pick.version)
        return
    picked = pick.variant if isinstance(pick, FrameworkPick) else None
    assert advice == dict.fromkeys(ADVISING_CHECKS, picked), pick


def test_the_scenarios_cover_the_rule_s_branches():
    """The agreement above is no accident of a single answer: the scenarios take different variants."""
    picks = {name: install_pick(snapshot_facts(name))[0] for name in snapshot_names()}
    variants = {pick.variant for pick in picks.values() if isinstance(pick, FrameworkPick)}
    assert {"cu126", "cu130"} <= variants
    assert picks["ubuntu2404-torch-cu130-driver570"].variant == "cu126"  # CUDA 12.8 driver
    assert picks["ubuntu2404-rtx5090-torch-cu126"].variant == "cu130"  # sm_120 needs CUDA 12.8+


@pytest.mark.parametrize(("driver_version", "driver_cuda", "ccs", "variant"), [
    ("570.172.08", "12.8", [8.9], "cu126"),  # CUDA 13 wheels need 580
    ("580.95.05", "13.0", [12.0], "cu130"),  # cu132 would run through minor-version compatibility only
    ("580.95.05", "13.0", [6.1], "cu126"),  # CUDA 13 dropped Pascal
    ("570.172.08", "12.8", [12.0], None),  # no variant of 2.14 has sm_120 on CUDA 12
    (None, None, [], "cu130"),  # nothing known of the driver: PyPI's default wheel
])
def test_the_one_rule_with_and_without_the_driver_version(driver_version, driver_cuda, ccs, variant):
    cuda = framework_wheels.CudaVersion.parse(driver_cuda)
    chosen = framework_wheels.choose_torch_variant("2.14.1", driver_version, cuda, ccs)
    assert (chosen.variant if chosen else None) == variant
    if driver_version is not None:  # the CUDA the driver serves tells the same as its version
        alone = framework_wheels.choose_torch_variant("2.14.1", None, cuda, ccs)
        assert (alone.variant if alone else None) == variant


def test_machine_code_is_preferred_to_a_newer_cuda_with_ptx_only(monkeypatch):
    """A variant that serves a GPU through PTX alone (compiled by the driver as it loads) loses to one with machine
    code for it, though its CUDA is newer; both run in full here."""
    variant = framework_wheels.TorchVariant
    rows = (variant("cu130", framework_wheels.CudaVersion(13, 0), ("2.14",), (8.0, 12.0), None),
            variant("cu132", framework_wheels.CudaVersion(13, 2), ("2.14",), (8.0, 10.0), 10.0))
    monkeypatch.setattr(framework_wheels, "torch_variants_of", lambda version: rows)
    cuda = framework_wheels.CudaVersion(13, 2)
    assert framework_wheels.kernel_for(rows[1], 12.0) == "ptx"
    assert framework_wheels.choose_torch_variant("2.14.1", None, cuda, [12.0]).variant == "cu130"
    assert framework_wheels.choose_torch_variant("2.14.1", None, cuda, [8.0]).variant == "cu132"
