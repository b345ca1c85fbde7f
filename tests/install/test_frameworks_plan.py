"""`setupkit install --framework torch|jax`: the plans of the scenario snapshots, with the exact commands, the
variant each takes and why; never a system CUDA toolkit for them; an installed framework that works is kept and one
doctor fails on never is; and the PyPI-hosted requirements resolve on the real index (marked network)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from setupkit.errors import PreconditionError, UsageError
from setupkit.install.options import PlanOptions
from setupkit.install.planner import ALL_STEP_IDS, build_plan, check_step_names, select_steps
from setupkit.knowledge import framework_wheels
from tests.helpers.doctor import verdict
from tests.helpers.install import PLANNED_SCENARIOS, commands_of, cpu_facts, plan_for
from tests.helpers.network import manylinux_platforms, require_index, url_unreachable
from tests.helpers.scenarios import snapshot_facts

BOTH = ("torch", "jax")
VENV = "/home/user/venv/bin/python"
CU126 = "https://download.pytorch.org/whl/cu126"
TORCH_SCENARIOS = ["ubuntu2404-torch-cu130-driver570", "ubuntu2404-rtx5090-torch-cu126",
                   "ubuntu2404-torch-jax-mixed-cuda", "ubuntu2404-rtx4090-tensorflow221",
                   "ubuntu2404-rtx5090-tensorflow221"]
ALL_SCENARIOS = PLANNED_SCENARIOS + TORCH_SCENARIOS


def pip_install(python: str, *arguments: str) -> list[list[str]]:
    return [[python, "-m", "pip", "install", *arguments]]


# -- the scenarios, exact commands -------------------------------------------------------------------------------


def test_torch_cu130_on_driver_570_gets_the_cu126_variant_from_pytorchs_index():
    plan = plan_for("ubuntu2404-torch-cu130-driver570", frameworks=BOTH)
    torch = plan.step("torch")
    assert torch.status == "todo"
    assert torch.commands == pip_install(VENV, "torch==2.14.1+cu126", "--index-url", CU126)
    assert torch.reason.startswith("PyTorch 2.13.0+cu130 (CUDA 13.0) is installed but it is built for CUDA 13.0, "
                                   "which driver 570.172.08 does not run (it needs driver 580 or newer); cu126")
    assert "cu130 needs driver 580 or newer" in torch.reason
    # the driver that works stays: the variant follows it, not the other way round
    assert plan.step("driver").status == "done"
    assert commands_of(plan, "jax") == pip_install(VENV, "jax[cuda12]==0.12.0.1")
    assert "jax[cuda13] needs driver 580 or newer" in plan.step("jax").reason
    assert plan.choices["torch"] == {"version": "2.14.1", "variant": "cu126", "requirement": "torch==2.14.1+cu126",
                                     "index_url": CU126, "cuda": "12.6"}
    assert plan.choices["jax"]["variant"] == "cuda12"


def test_rtx5090_with_a_cu126_wheel_gets_pypis_cu130_wheel():
    plan = plan_for("ubuntu2404-rtx5090-torch-cu126", frameworks=BOTH)
    torch = plan.step("torch")
    assert torch.status == "todo" and torch.commands == pip_install(VENV, "torch==2.14.1")
    assert "it has no kernels for NVIDIA GeForce RTX 5090 (Blackwell, compute capability 12.0)" in torch.reason
    assert "cu130 (CUDA 13.0) is the variant of PyTorch 2.14.1 that driver 580.95.05 runs in full" in torch.reason
    assert "PyPI's default wheel is this variant" in torch.reason
    # cu132 is newer, but driver 580.95.05 is below CUDA 13.2's minimum (595.45.04): doctor would warn
    assert "cu132 would run through minor-version compatibility only" in torch.reason
    assert commands_of(plan, "jax") == pip_install(VENV, "jax[cuda13]==0.12.0.1")
    # the cu126 wheel's nvidia-*-cu12 wheels stay behind: the plan says so
    assert any(w.startswith("torch==2.14.1 brings NVIDIA's CUDA 13 wheels into an environment that holds CUDA 12")
               for w in plan.warnings)


def test_gtx1080ti_pascal_gets_the_last_variant_with_sm_60_kernels_and_jax_for_python_310():
    plan = plan_for("ubuntu2204-gtx1080ti-cuda13", frameworks=BOTH)
    torch = plan.step("torch")
    assert torch.commands == pip_install(VENV, "torch==2.14.1+cu126", "--index-url", CU126)
    assert "cu130 has no kernels for NVIDIA GeForce GTX 1080 Ti (Pascal, compute capability 6.1)" in torch.reason
    assert "built for sm_50, sm_60, sm_70, sm_75, sm_80, sm_86, sm_90" in torch.reason
    # Python 3.10: JAX 0.6.2 is the last release for it, and has jax[cuda12] only (CUDA 13 needs 7.5 anyway)
    assert commands_of(plan, "jax") == pip_install(VENV, "jax[cuda12]==0.6.2")
    # the CUDA 13.0 toolkit on this host is no concern of theirs
    assert plan.step("cuda-toolkit").status != "todo"


def test_h100_keeps_the_working_torch_and_jax_unless_upgraded():
    plan = plan_for("h100", frameworks=BOTH)
    python = "/opt/torch/.venv/bin/python3"
    torch, jax = plan.step("torch"), plan.step("jax")
    assert torch.status == "done" and jax.status == "done"
    assert torch.reason == ("PyTorch 2.11.0 (CUDA 13.0) is installed and works with this driver and GPU, so it is "
                            "kept; --upgrade-frameworks installs torch==2.14.1")
    assert jax.reason == ("JAX 0.11.2 with jax-cuda13-plugin is installed and works with this driver and GPU, so it "
                          "is kept; --upgrade-frameworks installs jax[cuda13]==0.12.0.1")
    upgraded = plan_for("h100", frameworks=BOTH, upgrade_frameworks=True)
    assert upgraded.step("torch").status == "todo"
    assert commands_of(upgraded, "torch") == pip_install(python, "torch==2.14.1")
    assert commands_of(upgraded, "jax") == pip_install(python, "jax[cuda13]==0.12.0.1")


def test_docker_gpu_container_gets_the_user_space_wheels_only():
    plan = plan_for("docker-gpu-l4-ubuntu2204", frameworks=BOTH)
    assert commands_of(plan, "torch") == pip_install("/usr/bin/python3", "torch==2.14.1")
    assert commands_of(plan, "jax") == pip_install("/usr/bin/python3", "jax[cuda12]==0.6.2")
    assert "driver 580.95.05 runs in full" in plan.step("torch").reason  # the host's driver, through the toolkit
    for step_id in ("driver", "kernel-headers", "nouveau", "cuda-toolkit", "cudnn", "tensorflow"):
        assert plan.step(step_id).status == "skip", step_id


def test_a_container_build_without_a_gpu_takes_pypis_default_and_says_what_the_runner_needs():
    plan = plan_for("docker-build-debian12-nogpu", frameworks=("torch",))
    torch = plan.step("torch")
    assert torch.commands == pip_install("/usr/local/bin/python3", "torch==2.14.1")
    assert ("cu130 (CUDA 13.0) is PyTorch 2.14.1's default variant: no GPU or driver is visible here, and the "
            "machine that runs it needs driver 580 or newer") in torch.reason


def test_wsl_takes_the_variant_the_windows_drivers_cuda_runs():
    plan = plan_for("wsl2-ubuntu2204", frameworks=("torch",))
    assert commands_of(plan, "torch") == pip_install("/home/user/.venv/bin/python", "torch==2.14.1+cu126",
                                                     "--index-url", CU126)
    assert "the driver (CUDA 12.4 at most) runs through minor-version compatibility only" in plan.step("torch").reason


def test_centos7_without_avx_and_python_36_gets_neither_with_the_reason():
    for gpu in (True, False):
        plan = build_plan(snapshot_facts("centos7-no-avx"), PlanOptions(gpu=gpu, frameworks=BOTH))
        torch, jax = plan.step("torch"), plan.step("jax")
        assert torch.status == "skip" and torch.reason.startswith(
            "no PyTorch release setupkit installs has a wheel for Python 3.6.8 (they cover 3.9 to 3.14)")
        assert jax.status == "skip" and jax.reason.startswith("this CPU has no AVX: jaxlib's x86_64 wheels are built "
                                                              "with AVX")


def test_the_cpu_path_takes_pytorchs_cpu_wheel_and_plain_jax():
    plan = build_plan(cpu_facts(), PlanOptions(frameworks=BOTH))
    assert commands_of(plan, "torch") == pip_install("/usr/bin/python3", "torch==2.14.1+cpu", "--index-url",
                                                     "https://download.pytorch.org/whl/cpu")
    assert commands_of(plan, "jax") == pip_install("/usr/bin/python3", "jax==0.6.2")
    installed = build_plan(cpu_facts(**{"torch.version": "2.8.0", "torch.build": "cuda"}), PlanOptions(frameworks=BOTH))
    assert installed.step("torch").status == "done"  # a CUDA build runs on the CPU too


def test_the_mixed_environment_keeps_what_works_and_says_what_mixes():
    plan = plan_for("ubuntu2404-torch-jax-mixed-cuda", frameworks=BOTH)
    assert plan.step("torch").status == "done" and plan.step("jax").status == "done"
    assert any("this environment holds NVIDIA wheels of CUDA 12 and 13 (doctor's python.cuda-wheels-mixed)" in w
               for w in plan.warnings)


# -- the rules, on facts beside the scenarios -------------------------------------------------------------------


def blackwell_on(driver: str, cuda_max: str, **more) -> dict:
    facts = snapshot_facts("ubuntu2404-torch-cu130-driver570")
    facts.update({"gpu.names": ["NVIDIA GeForce RTX 5090"], "gpu.compute_capabilities": ["12.0"],
                  "gpu.architectures": ["blackwell"], "driver.version": driver, "driver.userspace_version": driver,
                  "driver.cuda_max": cuda_max, "driver.open_kernel_module": True, "torch.version": None,
                  "torch.build": None, "torch.cuda_version": None, **more})
    return facts


def test_an_rtx5090_on_driver_570_gets_the_newest_release_with_a_cu128_variant():
    plan = build_plan(blackwell_on("570.172.08", "12.8"), PlanOptions(gpu=True, frameworks=("torch",)))
    assert plan.step("driver").status == "done"
    torch = plan.step("torch")
    # 2.14's cu126 stops at sm_90 and its CUDA 13 variants need 580: 2.8's PyPI wheel is cu128, with sm_120
    assert torch.commands == pip_install(VENV, "torch==2.8.0")
    assert "no variant of the newest, PyTorch 2.14.1, serves this host (cu126 has no kernels for NVIDIA GeForce " \
           "RTX 5090" in torch.reason


def test_a_gpu_no_variant_has_kernels_for_is_refused_clearly():
    facts = blackwell_on("470.256.02", "11.4", **{"gpu.names": ["Tesla K80"], "gpu.compute_capabilities": ["3.7"],
                                                   "gpu.architectures": ["kepler"], "driver.open_kernel_module": False})
    plan = build_plan(facts, PlanOptions(gpu=True, frameworks=("torch",), driver_branch=470))
    torch = plan.step("torch")
    assert torch.status == "skip" and torch.commands == []
    assert torch.reason.startswith("no CUDA variant of PyTorch 2.14.1 serves this host (cu126 has no kernels for "
                                   "Tesla K80 (Kepler, compute capability 3.7)")
    assert torch.reason.endswith("build PyTorch from source for this GPU, or install the CPU wheel without --gpu")


def test_a_driver_from_595_takes_cu132():
    plan = build_plan(blackwell_on("595.58.03", "13.2"), PlanOptions(gpu=True, frameworks=("torch",)))
    assert commands_of(plan, "torch") == pip_install(VENV, "torch==2.14.1+cu132", "--index-url",
                                                     "https://download.pytorch.org/whl/cu132")


def test_the_same_release_of_another_variant_is_replaced_with_force_reinstall():
    # pip counts torch==2.14.1 as met by 2.14.1+cu126, so PyPI's wheel of the same release needs --force-reinstall
    facts = blackwell_on("580.95.05", "13.0", **{"torch.version": "2.14.1+cu126", "torch.build": "cuda",
                                                  "torch.cuda_version": "12.6"})
    plan = build_plan(facts, PlanOptions(gpu=True, frameworks=("torch",)))
    assert commands_of(plan, "torch") == pip_install(VENV, "--force-reinstall", "torch==2.14.1")


def test_a_cpu_build_on_a_gpu_plan_is_replaced():
    facts = blackwell_on("580.95.05", "13.0", **{"torch.version": "2.14.1+cpu", "torch.build": "cpu"})
    torch = build_plan(facts, PlanOptions(gpu=True, frameworks=("torch",))).step("torch")
    assert torch.status == "todo" and "it is a cpu build: torch.cuda.is_available() is False" in torch.reason


def test_jax_with_the_other_plugin_has_it_removed_first():
    facts = blackwell_on("580.95.05", "13.0", **{"jax.version": "0.12.0.1", "jax.cuda_version": "12.9",
                                                  "jax.cuda_plugin": {"jax-cuda12-plugin": "0.12.0.1",
                                                                      "jax-cuda13-plugin": "0.12.0.1"}})
    jax = build_plan(facts, PlanOptions(gpu=True, frameworks=("jax",))).step("jax")
    assert jax.status == "todo" and "two CUDA plugins are installed" in jax.reason
    assert jax.commands == [[VENV, "-m", "pip", "uninstall", "-y", "jax-cuda12-plugin", "jax-cuda12-pjrt"],
                            [VENV, "-m", "pip", "install", "jax[cuda13]==0.12.0.1"]]


def test_a_pep_668_python_gets_no_framework():
    facts = cpu_facts(**{"python.externally_managed": True})
    plan = build_plan(facts, PlanOptions(frameworks=BOTH))
    assert all("PEP 668" in plan.step(step_id).reason and plan.step(step_id).status == "skip" for step_id in BOTH)


# -- what every plan holds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_SCENARIOS)
def test_the_default_plan_is_tensorflows_alone_and_unchanged(name):
    plan = plan_for(name)
    assert [s.id for s in plan.steps if s.id in BOTH] == []
    assert plan.to_json() == plan_for(name, frameworks=("tensorflow",)).to_json()


@pytest.mark.parametrize("name", ALL_SCENARIOS)
def test_torch_and_jax_plans_never_bring_a_system_toolkit_and_keep_the_step_order(name):
    plan = plan_for(name, frameworks=BOTH)
    assert plan.step("cuda-toolkit").status != "todo" and plan.step("cudnn").status != "todo"
    assert plan.step("tensorflow").status == "skip"
    assert plan.blocked or "not asked for" in plan.step("tensorflow").reason  # a blocked plan skips all for a reboot
    ids = [s.id for s in plan.steps]
    assert ids == [step_id for step_id in ALL_STEP_IDS if step_id in ids]
    assert ids[-3:] == ["torch", "jax", "verify"] and "TensorFlow 2.21.0's wheels" not in " ".join(plan.warnings)


@pytest.mark.parametrize("name", ALL_SCENARIOS)
def test_a_framework_doctor_fails_on_is_never_done(name):
    facts = snapshot_facts(name)
    plan = plan_for(name, frameworks=BOTH)
    for step_id, checks in (("torch", ("torch.cuda-compat", "torch.gpu-arch")), ("jax", ("jax.cuda-compat",))):
        failing = [check for check in checks if verdict(check, facts).status == "fail"]
        if failing:
            assert plan.step(step_id).status != "done", (name, failing)


def test_the_scenarios_cover_both_verdicts():
    """The test above is only as good as the scenarios: doctor fails on torch in some, passes in others."""
    statuses = {verdict(check, snapshot_facts(name)).status for name in TORCH_SCENARIOS + ["h100"]
                for check in ("torch.cuda-compat", "torch.gpu-arch")}
    assert {"fail", "pass"} <= statuses


# -- options ------------------------------------------------------------------------------------------------------


def test_framework_values_are_checked_and_kept_once_in_order():
    assert PlanOptions().frameworks == ("tensorflow",)
    assert PlanOptions(frameworks=("jax", "torch", "jax")).frameworks == ("jax", "torch")
    with pytest.raises(UsageError) as caught:
        PlanOptions(frameworks=("pytorch",))
    assert caught.value.message == "--framework pytorch is not a framework setupkit installs"
    assert caught.value.hint == "give one of tensorflow, torch, jax (repeat --framework for more than one)"


def test_only_and_skip_name_the_framework_steps():
    assert check_step_names(["torch", "jax"], "--only") == ["torch", "jax"]
    plan = select_steps(plan_for("ubuntu2404-rtx5090-torch-cu126", frameworks=BOTH), ["torch"], [])
    assert [s.id for s in plan.steps if s.status == "todo"] == ["torch"]
    with pytest.raises(PreconditionError, match="^--only jax: the step cannot run here: this CPU has no AVX"):
        select_steps(build_plan(snapshot_facts("centos7-no-avx"), PlanOptions(frameworks=BOTH)), ["jax"], [])


def test_the_cli_plans_torch_with_json(run_setupkit):
    from tests.helpers.scenarios import snapshot_path

    result = run_setupkit("install", "--gpu", "--dry-run", "--json", "--framework", "torch", "--snapshot",
                          str(snapshot_path("ubuntu2404-torch-cu130-driver570")))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["choices"]["torch"]["requirement"] == "torch==2.14.1+cu126" and "jax" not in document["choices"]
    bad = run_setupkit("install", "--dry-run", "--framework", "mxnet", "--snapshot",
                       str(snapshot_path("ubuntu2404-torch-cu130-driver570")))
    assert bad.returncode == 2 and bad.stderr.startswith("setupkit: --framework mxnet is not a framework")


# -- against the real index (network) -----------------------------------------------------------------------------

RESOLVED = [("ubuntu2404-rtx5090-torch-cu126", BOTH), ("ubuntu2404-torch-cu130-driver570", BOTH),
            ("ubuntu2204-gtx1080ti-cuda13", BOTH), ("h100", BOTH), ("docker-gpu-l4-ubuntu2204", BOTH)]


def framework_requirements() -> list[tuple[str, str, str | None, str, str | None]]:
    """(scenario, step, index URL or None, requirement, Python X.Y) for every framework step of those plans."""
    rows = []
    for name, frameworks in RESOLVED:
        plan = plan_for(name, frameworks=frameworks, upgrade_frameworks=True)
        python = ".".join(str(snapshot_facts(name).get("python.version")).split(".")[:2])
        for step_id in frameworks:
            pick = plan.choices[step_id]
            rows.append((name, step_id, pick["index_url"], pick["requirement"], python))
    return rows


def resolve_on(requirement: str, python: str, glibc: str | None, index: str,
               ignore_requires_python: bool = False) -> tuple[bool, dict[str, str], str]:
    """pip's dry run of ``requirement`` for another machine's Python X.Y and glibc from ``index``: (ok, what it
    installs, its last error line)."""
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "report.json"
        argv = [sys.executable, "-m", "pip", "install", "--isolated", "--index-url", index, "--dry-run", "--quiet",
                "--ignore-installed", "--only-binary=:all:", "--target", str(Path(work) / "target"), "--report",
                str(report), "--python-version", python, "--implementation", "cp"]
        for platform in manylinux_platforms(glibc):
            argv += ["--platform", platform]
        if ignore_requires_python:
            argv.append("--ignore-requires-python")
        done = subprocess.run([*argv, requirement], capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
            return False, {}, errors[-1] if errors else done.stderr[-500:]
        installs = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                    for item in json.loads(report.read_text())["install"]}
        return True, installs, ""


@pytest.mark.network
@pytest.mark.parametrize(("name", "step_id", "index", "requirement", "python"), framework_requirements(),
                         ids=lambda value: str(value))
def test_the_framework_requirements_resolve_on_their_index(name, step_id, index, requirement, python):
    if index is not None:
        reason = url_unreachable(f"{index}/torch/", "PyTorch's index")
        if reason:
            pytest.skip(f"{requirement} comes from PyTorch's own index, which this test cannot read ({reason}); "
                        f"the PyPI-hosted wheels of the other plans are resolved instead")
    require_index()
    glibc = snapshot_facts(name).get("libc.version")
    ok, installs, error = resolve_on(requirement, python, glibc, index or "https://pypi.org/simple/")
    if not ok and f"requires a different Python: {sys.version.split()[0]} not in" in error:
        # pip before the fix of pypa/pip#12216 checks Requires-Python against the Python running it, not the one
        # --python-version names: resolve again without that check; the cpXY wheel tags still hold it to that
        # Python (jaxlib and the plugins have no wheel for another)
        ok, installs, error = resolve_on(requirement, python, glibc, index or "https://pypi.org/simple/", True)
    assert ok, f"{name}: pip cannot install {requirement} for Python {python} (glibc {glibc}): {error}"
    project = requirement.split("[")[0].split("=")[0]
    assert installs[project].split("+")[0] == requirement.split("==")[1].split("+")[0]
    if step_id == "torch" and index is None:
        cuda = framework_wheels.framework_wheels().torch_pypi_cuda[".".join(installs["torch"].split(".")[:2])]
        runtime = installs.get(f"nvidia-cuda-runtime-cu{cuda.major}") or installs.get("nvidia-cuda-runtime")
        assert runtime and runtime.startswith(f"{cuda.major}."), installs  # PyPI's wheel is the variant planned
    if "[cuda" in requirement:
        major = requirement.split("[cuda")[1][:2]
        assert f"jax-cuda{major}-plugin" in installs, installs


# -- a pip that reads the framework's wheels ----------------------------------------------------------------------


def test_a_torch_plan_upgrades_a_pip_too_old_for_pep_600_wheels():
    """PyTorch's manylinux_2_28 wheels carry a PEP 600 tag, which pip reads from 20.3 on: an older pip finds no
    torch at all ("No matching distribution found"), whatever TensorFlow's wheels would need."""
    plan = build_plan(cpu_facts(**{"pip.version": "20.2.4", "python.version": "3.12.3"}),
                      PlanOptions(frameworks=("torch",)))
    pip = plan.step("pip")
    assert pip.status == "todo"
    assert pip.reason == ("pip 20.2.4 is too old for PyTorch 2.14.1's manylinux_2_28 wheels (needs 20.3 or newer): "
                          "'No matching distribution found' otherwise")
    assert pip.commands[-1][-1] == "pip"
    done = build_plan(cpu_facts(**{"pip.version": "20.3", "python.version": "3.12.3"}),
                      PlanOptions(frameworks=("torch",))).step("pip")
    assert done.status == "done"
    assert done.reason == "pip 20.3 reads PyTorch 2.14.1's manylinux_2_28 wheels (needs 20.3 or newer)"


def test_the_pip_step_names_the_wheels_that_need_the_newest_pip():
    facts = cpu_facts(**{"pip.version": "19.3.1", "python.version": "3.10.12", "libc.version": "2.35"})
    jax_alone = build_plan(facts, PlanOptions(frameworks=("jax",))).step("pip")  # jax 0.6.2: manylinux2014
    assert jax_alone.status == "done" and "JAX 0.6.2's manylinux2014 wheels (needs 19.3 or newer)" in jax_alone.reason
    both = build_plan(facts, PlanOptions(frameworks=("jax", "torch"))).step("pip")
    assert both.status == "todo" and "PyTorch 2.14.1's manylinux_2_28 wheels (needs 20.3 or newer)" in both.reason
    tensorflow_too = build_plan(facts, PlanOptions(frameworks=("tensorflow", "jax"))).step("pip")
    assert "TensorFlow" in tensorflow_too.reason


def test_every_pinned_framework_release_names_the_pip_its_wheels_need():
    for release in framework_wheels.torch_releases() + framework_wheels.jax_releases():
        expected = "19.3" if release.platform == "manylinux2014_x86_64" else "20.3"
        assert release.pip_floor() == expected, release
