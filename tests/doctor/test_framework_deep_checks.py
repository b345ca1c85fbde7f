"""torch.imports, torch.gpu-visible, jax.imports and jax.gpu-visible (the deep checks of PyTorch and JAX), and
torch.gpu-arch preferring the arch list the build itself names (torchprobe.arch_list) to the release table."""

from __future__ import annotations

import json

import pytest

from setupkit.doctor import torch_arch
from setupkit.probes import jax_deep, torch_deep
from tests.helpers.doctor import builtin_checks, facts_with, verdict
from tests.helpers.scenarios import H100, snapshot_facts

DEEP_CHECKS = ("torch.imports", "torch.gpu-visible", "jax.imports", "jax.gpu-visible")
H100_HOST = {"gpu__count": 1, "gpu__names": ["NVIDIA H100 80GB HBM3"], "gpu__compute_capabilities": ["9.0"],
             "gpu__architectures": ["hopper"], "gpu__uuids": ["GPU-1b2c3d4e"], "driver__version": "580.95.05",
             "driver__cuda_max": "13.0"}
TORCH_H100 = {"torchprobe__status": "ok", "torchprobe__python": "/srv/venv/bin/python",
              "torchprobe__version": "2.13.0+cu130", "torchprobe__cuda": "13.0", "torchprobe__cudnn": 91002,
              "torchprobe__nccl": "2.27.7", "torchprobe__cuda_available": True, "torchprobe__device_count": 1,
              "torchprobe__devices": ["NVIDIA H100 80GB HBM3"],
              "torchprobe__arch_list": ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]}
TORCH_BLIND = TORCH_H100 | {"torchprobe__cuda_available": False, "torchprobe__device_count": 0,
                            "torchprobe__devices": []}
JAX_H100 = {"jaxprobe__status": "ok", "jaxprobe__python": "/srv/venv/bin/python", "jaxprobe__version": "0.10.2",
            "jaxprobe__backend": "gpu", "jaxprobe__gpus": ["NVIDIA H100 80GB HBM3"], "jaxprobe__gpu_count": 1,
            "jaxprobe__devices": [{"platform": "gpu", "device_kind": "NVIDIA H100 80GB HBM3"}],
            "jaxprobe__cuda_plugins": {"jax-cuda13-plugin": "0.10.2"}, "jax__cuda_version": "13.0"}
JAX_BLIND = JAX_H100 | {"jaxprobe__backend": "cpu", "jaxprobe__gpus": [], "jaxprobe__gpu_count": 0,
                        "jaxprobe__devices": [{"platform": "cpu", "device_kind": "cpu"}]}


def test_the_deep_checks_are_in_the_catalog_and_deep():
    checks = builtin_checks()
    assert all(checks[check_id].deep for check_id in DEEP_CHECKS)
    assert {checks[check_id].section for check_id in DEEP_CHECKS} == {"PyTorch and JAX"}
    assert not checks["torch.gpu-arch"].deep  # it reads the deep arch list when there is one, and runs without


# -- torch.imports and jax.imports ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "check_id"), [("torchprobe", "torch.imports"), ("jaxprobe", "jax.imports")])
@pytest.mark.parametrize(("status", "error", "expected"), [
    ("not-recorded", "this snapshot holds no import; take one with `setupkit snapshot --deep`", "unknown"),
    ("not-installed", "ModuleNotFoundError: No module named 'x'", "skip"),
    ("crashed", "Segmentation fault: killed by signal 11 (SIGSEGV): a native library crashed", "fail"),
    ("timeout", "no answer within 120 s", "fail"),
    ("import-error", "ImportError: libcudnn.so.9: cannot open shared object file", "fail"),
    ("no-output", "exit 1: RuntimeError: boom", "fail"),
])
def test_every_import_outcome_has_its_verdict(prefix, check_id, status, error, expected):
    facts = facts_with(**{f"{prefix}__status": status, f"{prefix}__error": error,
                          f"{prefix}__python": "/srv/venv/bin/python"})
    finding = verdict(check_id, facts)
    assert finding.status == expected, finding
    if expected != "skip":
        assert error in finding.message
    if expected == "fail":
        assert finding.fix["commands"] and all("/srv/venv/bin/python" in command
                                                for command in finding.fix["commands"]
                                                if "python" in command)


def test_a_torch_that_imports_says_what_it_loaded():
    finding = verdict("torch.imports", facts_with(**TORCH_H100))
    assert finding.status == "pass"
    assert finding.message == ("PyTorch 2.13.0+cu130 imports in /srv/venv/bin/python (CUDA 13.0, cuDNN 91002, "
                               "NCCL 2.27.7).")


def test_a_jax_that_imports_names_its_plugins_or_their_absence():
    assert verdict("jax.imports", facts_with(**JAX_H100)).message == (
        "JAX 0.10.2 imports in /srv/venv/bin/python and runs on the gpu backend (CUDA plugins: "
        "jax-cuda13-plugin=0.10.2).")
    assert verdict("jax.imports", facts_with(**JAX_BLIND | {"jaxprobe__cuda_plugins": {}})).message.endswith(
        "runs on the cpu backend (no CUDA plugin installed).")


def test_a_crash_on_import_fails_with_faulthandler():
    finding = verdict("torch.imports", facts_with(torchprobe__status="crashed", torchprobe__python="/p/python",
                                                  torchprobe__error="Segmentation fault: killed by signal 11 "
                                                                    "(SIGSEGV): a native library PyTorch loads "
                                                                    "crashed"))
    assert finding.message.startswith("Importing PyTorch crashed: Segmentation fault: killed by signal 11 (SIGSEGV)")
    assert finding.fix["commands"][0] == "/p/python -X faulthandler -c 'import torch'"


# -- torch.gpu-visible ---------------------------------------------------------------------------------------------


def torch_visible(**values):
    return verdict("torch.gpu-visible", facts_with(**H100_HOST | values))


def test_torch_seeing_the_h100_passes():
    finding = torch_visible(**TORCH_H100)
    assert finding.status == "pass"
    assert finding.message == "PyTorch 2.13.0+cu130 (CUDA 13.0, cuDNN 91002) sees 1 GPU(s): NVIDIA H100 80GB HBM3."


@pytest.mark.parametrize(("values", "status"), [
    ({"gpu__count": 0}, "skip"),
    ({"torchprobe__status": "import-error"}, "skip"),
    ({"torchprobe__status": "not-installed"}, "skip"),
    ({"driver__nvml_error": "NVMLError_DriverNotLoaded"}, "skip"),
])
def test_torch_gpu_visible_skips_what_it_cannot_judge(values, status):
    assert torch_visible(**TORCH_BLIND | values).status == status


def test_not_recorded_is_unknown_in_every_deep_check():
    facts = facts_with(**H100_HOST, torchprobe__status="not-recorded", torchprobe__error=torch_deep.NOT_RECORDED,
                       jaxprobe__status="not-recorded", jaxprobe__error=jax_deep.NOT_RECORDED)
    for check_id in DEEP_CHECKS:
        finding = verdict(check_id, facts)
        assert finding.status == "unknown" and "setupkit snapshot --deep" in finding.message, (check_id, finding)


def test_a_cpu_torch_on_a_gpu_host_warns_with_the_variant_to_install():
    finding = torch_visible(**TORCH_BLIND | {"torchprobe__version": "2.13.0+cpu", "torchprobe__cuda": None,
                                             "torchprobe__arch_list": []})
    assert finding.status == "warn"
    assert finding.message == ("PyTorch 2.13.0+cpu in /srv/venv/bin/python is a CPU build (torch.version.cuda is "
                               "None): it never uses the 1 NVIDIA GPU(s).")
    # the newest variant of that release that driver 580 (CUDA 13.0) runs in full, with kernels for Hopper
    assert finding.fix["commands"] == ["/srv/venv/bin/python -m pip install --force-reinstall torch --index-url "
                                       "https://download.pytorch.org/whl/cu130"]


@pytest.mark.parametrize("hidden", ["", "-1", "NoDevFiles", "7"])
def test_cuda_visible_devices_hiding_every_gpu_is_named(hidden):
    finding = torch_visible(**TORCH_BLIND, env__cuda_visible_devices=hidden)
    assert finding.status == "warn"
    assert finding.message.startswith(f"CUDA_VISIBLE_DEVICES={hidden} hides every GPU")
    assert finding.fix["commands"][0] == "unset CUDA_VISIBLE_DEVICES"


def test_a_driver_too_old_for_the_builds_cuda_is_named_with_torchs_warning():
    warning = "CUDA initialization: The NVIDIA driver on your system is too old (found version 12080)."
    finding = torch_visible(**TORCH_BLIND, driver__version="570.172.08", driver__cuda_max="12.8",
                            torchprobe__cuda_error=warning)
    assert finding.status == "fail"
    assert finding.message == (
        "PyTorch 2.13.0+cu130 is built for CUDA 13.0, but driver 570.172.08 runs CUDA 12.8 at most (CUDA 13.0 needs "
        "driver 580 or newer), so it sees no GPU; torch said: " + warning)
    assert finding.fix["commands"][-1].endswith("--index-url https://download.pytorch.org/whl/cu126")


def test_a_cuda_build_that_sees_no_gpu_for_another_reason_fails_with_torchs_reason():
    finding = torch_visible(**TORCH_BLIND, env__cuda_visible_devices="0",
                            torchprobe__cuda_error="RuntimeError: CUDA error: CUDA-capable device(s) is/are busy")
    assert finding.status == "fail"
    assert finding.message.endswith("though the host has 1 working one(s): RuntimeError: CUDA error: "
                                    "CUDA-capable device(s) is/are busy.")
    assert "nvidia-smi" in finding.fix["commands"]


def test_unknown_gpu_uuids_do_not_hide_the_verdict():
    # CUDA_VISIBLE_DEVICES by UUID with no UUID known: the hiding rule cannot tell, the next one judges.
    finding = torch_visible(**TORCH_BLIND, gpu__uuids=None, env__cuda_visible_devices="GPU-1b2c")
    assert finding.status == "fail" and "torch gave no reason" in finding.message


# -- jax.gpu-visible -----------------------------------------------------------------------------------------------


def jax_visible(**values):
    return verdict("jax.gpu-visible", facts_with(**H100_HOST | values))


def test_jax_seeing_the_h100_passes():
    finding = jax_visible(**JAX_H100)
    assert finding.status == "pass"
    assert finding.message == "JAX 0.10.2 (gpu backend) sees 1 GPU(s): NVIDIA H100 80GB HBM3."


def test_jax_without_a_plugin_warns():
    finding = jax_visible(**JAX_BLIND | {"jaxprobe__cuda_plugins": {}})
    assert finding.status == "warn"
    assert finding.message == ("JAX 0.10.2 in /srv/venv/bin/python has no CUDA plugin: it runs on the cpu backend, "
                               "though the host has 1 NVIDIA GPU(s).")
    assert finding.fix["commands"] == ["/srv/venv/bin/python -m pip install --upgrade 'jax[cuda13]'"]


def test_jax_hidden_by_cuda_visible_devices_warns():
    finding = jax_visible(**JAX_BLIND, env__cuda_visible_devices="")
    assert finding.status == "warn" and finding.message.startswith("CUDA_VISIBLE_DEVICES= hides every GPU")


def test_jax_on_a_driver_too_old_fails_naming_it():
    said = "FAILED_PRECONDITION: Found CUDA driver version 12080"
    finding = jax_visible(**JAX_BLIND, driver__version="570.172.08", driver__cuda_max="12.8",
                          jaxprobe__cuda_error=said)
    assert finding.status == "fail"
    assert finding.message == (
        "JAX's CUDA plugin (jax-cuda13-plugin=0.10.2) runs CUDA 13.0, but driver 570.172.08 runs CUDA 12.8 at most "
        "(it needs driver 580 or newer), so JAX fell back to the cpu backend; JAX said: " + said)
    assert finding.fix["commands"][-1] == "/srv/venv/bin/python -m pip install --upgrade 'jax[cuda12]'"


def test_jax_that_falls_back_for_another_reason_fails_with_its_reason():
    finding = jax_visible(**JAX_BLIND, jaxprobe__cuda_error="INTERNAL: no supported devices found for platform CUDA")
    assert finding.status == "fail"
    assert finding.message.endswith("1 working one(s): INTERNAL: no supported devices found for platform CUDA.")


# -- torch.gpu-arch with the build's own arch list ----------------------------------------------------------------

RTX_5090 = {"gpu__count": 1, "gpu__names": ["NVIDIA GeForce RTX 5090"], "gpu__compute_capabilities": ["12.0"],
            "gpu__architectures": ["blackwell"], "driver__version": "580.95.05", "driver__cuda_max": "13.0"}


def test_without_deep_the_table_judges_as_before():
    facts = snapshot_facts("ubuntu2404-rtx5090-torch-cu126")
    finding = verdict("torch.gpu-arch", facts)
    assert finding.status == "fail" and "built for sm_50, sm_60, sm_70, sm_75, sm_80, sm_86, sm_90." in finding.message
    # an empty deep arch list (a release that names it only with CUDA available) tells nothing: the table judges
    assert verdict("torch.gpu-arch", facts | {"torchprobe.arch_list": []}) == finding


def test_the_builds_arch_list_is_preferred_to_the_tables():
    # A build of 2.13.0+cu126 with Blackwell added (a source or conda build of that tag): the table says no kernel.
    facts = snapshot_facts("ubuntu2404-rtx5090-torch-cu126") | {
        "torchprobe.arch_list": ["sm_80", "sm_90", "sm_120"], "torchprobe.cuda": "12.6"}
    finding = verdict("torch.gpu-arch", facts)
    assert finding.status == "pass", finding
    assert finding.message.endswith(": sm_80, sm_90, sm_120.")


def test_a_custom_build_without_the_gpus_arch_fails_where_the_table_would_pass():
    facts = facts_with(**RTX_5090, torch__version="2.13.0+cu130", torch__build="cuda", torch__cuda_version="13.0",
                       python__executable="/srv/venv/bin/python")
    assert verdict("torch.gpu-arch", facts).status == "pass"  # the table: cu130 has sm_120
    finding = verdict("torch.gpu-arch", facts | {"torchprobe.arch_list": ["sm_80", "sm_90"]})
    assert finding.status == "fail"
    assert finding.message.startswith("PyTorch 2.13.0+cu130 (CUDA 13.0) has no kernels for NVIDIA GeForce RTX 5090 "
                                      "(Blackwell, compute capability 12.0): it was built for sm_80, sm_90.")


def test_a_source_build_is_judged_by_its_own_arch_list():
    facts = facts_with(**RTX_5090, torch__version="2.14.0a0+git1234abc", torch__build="other",
                       torch__cuda_version=None, python__executable="/srv/venv/bin/python")
    assert verdict("torch.gpu-arch", facts).status == "skip"  # without --deep: no CUDA build it can tell of
    deep = facts | {"torchprobe.arch_list": ["sm_90", "compute_90"], "torchprobe.cuda": "12.8"}
    finding = verdict("torch.gpu-arch", deep)
    assert finding.status == "warn", finding
    assert finding.message.startswith("PyTorch 2.14.0a0+git1234abc (CUDA 12.8, built for sm_90, compute_90) serves "
                                      "NVIDIA GeForce RTX 5090 (Blackwell, compute capability 12.0) through PTX alone")


@pytest.mark.parametrize(("arch_list", "cc", "kernel"), [
    (["sm_86"], 8.9, "sass"),  # machine code runs on a higher minor of its major
    (["sm_86"], 8.0, None),
    (["sm_90"], 10.0, None),  # not on the next major
    (["sm_90a"], 9.0, "sass"),
    (["sm_100a"], 10.3, None),  # arch-specific code runs on its own compute capability alone
    (["sm_120f"], 12.1, "sass"),
    (["sm_80", "compute_80"], 12.0, "ptx"),  # PTX serves any newer GPU
    (["compute_90"], 8.6, None),
])
def test_kernels_by_arch_list(arch_list, cc, kernel):
    arches = torch_arch.parse_arch_list(arch_list)
    assert arches is not None and torch_arch._kernel(arches, cc) == kernel


@pytest.mark.parametrize("arch_list", [None, [], "sm_90", ["gfx90a", "gfx942"], [1, 2], ["sm_x"]])
def test_an_arch_list_that_names_no_cuda_arch_tells_nothing(arch_list):
    assert torch_arch.parse_arch_list(arch_list) is None
    assert torch_arch.arch_list_text(arch_list) is None
    assert torch_arch.arch_list_gaps(arch_list, ["GPU"], ["9.0"]) is None


def test_gaps_are_unknown_when_a_gpus_compute_capability_is():
    assert torch_arch.arch_list_gaps(["sm_90"], ["A", "B"], ["9.0", None]) is None
    assert torch_arch.arch_list_gaps(["sm_90"], ["A"], ["9.0"]) == []


# -- the CLI -------------------------------------------------------------------------------------------------------


def test_plain_doctor_runs_no_deep_check(run_setupkit):
    done = run_setupkit("doctor", "--snapshot", str(H100), "--json")
    document = json.loads(done.stdout)
    assert not {found["id"] for found in document["findings"]} & set(DEEP_CHECKS)
    assert all(value is None for name, value in document["facts"].items()
               if name.startswith(("torchprobe.", "jaxprobe.")))


def test_a_deep_check_asked_for_without_deep_is_a_usage_error(run_setupkit):
    done = run_setupkit("doctor", "--snapshot", str(H100), "--only", "torch.gpu-visible")
    assert done.returncode == 2 and "needs --deep" in done.stderr


def test_doctor_deep_on_a_snapshot_without_the_runs_answers_unknown(run_setupkit):
    done = run_setupkit("doctor", "--snapshot", str(H100), "--deep", "--json")
    document = json.loads(done.stdout)
    statuses = {found["id"]: found["status"] for found in document["findings"]}
    assert {statuses[check_id] for check_id in DEEP_CHECKS} == {"unknown"}
    assert document["facts"]["torchprobe.status"] == document["facts"]["jaxprobe.status"] == "not-recorded"
