"""The deep PyTorch and JAX probes: each framework imported for real in a child interpreter, through the host's door.

Against the real CPU wheels (an interpreter with torch and jax: the one SETUPKIT_TEST_FRAMEWORK_PYTHON names, this
one if it has both, else a virtual environment the tests make from the package index), the facts must say what
those wheels are: their versions, a CPU build, no GPU. The GPU side, and the failures the probes must survive, come
from fake packages named torch and jax on PYTHONPATH (tests/probes/fakes/frameworks): one answering as a CUDA build
on an H100 does (same attribute names, same return shapes), one killed by SIGSEGV as it loads, one that hangs, one
whose import raises ImportError. A recording host keeps every run, and the snapshot written from it gives the same
facts offline.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from setupkit.facts import FACTS
from setupkit.host.base import CommandResult
from setupkit.host.bundle import write_recording
from setupkit.host.live import LiveHost
from setupkit.host.recording import RecordingHost
from setupkit.host.snapshot import SnapshotHost
from setupkit.probes import collect_facts, framework_child, jax_deep, torch_deep
from setupkit.probes.deep import DeepRequest
from tests.helpers.doctor import facts_with, verdict
from tests.helpers.scenarios import H100, REPO
from tests.helpers.venvs import install_cpu_torch, interpreter, make_venv

FAKES = REPO / "tests" / "probes" / "fakes" / "frameworks"
NO_SITE = str(REPO / "tests" / "doctor" / "fakes" / "python-no-site")
"""A Python without site-packages: only what PYTHONPATH adds is importable."""
PROBES = {"torch": torch_deep, "jax": jax_deep}
PREFIX = {"torch": "torchprobe", "jax": "jaxprobe"}
IMPORT_CHECK = {"torch": "torch.imports", "jax": "jax.imports"}
DEEP_FACTS = [name for name in FACTS if name.startswith(("torchprobe.", "jaxprobe."))]


def probe(framework: str, python: str | None, timeout: float = 60) -> dict:
    return PROBES[framework].probe(LiveHost(), DeepRequest(python, timeout))


def with_fake(monkeypatch, folder: str) -> str:
    """The interpreter that imports the fake packages of ``folder`` (and nothing else)."""
    monkeypatch.setenv("PYTHONPATH", str(FAKES / folder))
    return NO_SITE


def fact(framework: str, facts: dict, name: str):
    return facts[f"{PREFIX[framework]}.{name}"]


# -- the real CPU wheels ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def framework_python(tmp_path_factory) -> str:
    """An interpreter that has the CPU wheels of torch and jax: the one SETUPKIT_TEST_FRAMEWORK_PYTHON names, this
    one where it has both, else a virtual environment made here from the package index (skipped offline)."""
    given = os.environ.get("SETUPKIT_TEST_FRAMEWORK_PYTHON")
    if given:
        return given
    if importlib.util.find_spec("torch") and importlib.util.find_spec("jax"):  # looked up, not imported
        return sys.executable
    venv = make_venv(tmp_path_factory.mktemp("frameworks"), with_setupkit=False)
    install_cpu_torch(venv, "jax")
    return interpreter(venv)


def installed_version(python: str, distribution: str) -> str:
    done = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


@pytest.mark.slow
@pytest.mark.network
def test_real_torch_cpu_wheel(framework_python):
    python = framework_python
    version = installed_version(python, "torch")
    if "+cpu" not in version:
        pytest.skip(f"torch {version} in {python} is not a CPU wheel")
    facts = probe("torch", python, timeout=120)
    assert facts["torchprobe.status"] == "ok", facts["torchprobe.error"]
    assert facts["torchprobe.python"] == python and facts["torchprobe.returncode"] == 0
    assert facts["torchprobe.version"] == version
    # A CPU build: no CUDA, no cuDNN, no NCCL, no device, no architecture.
    assert facts["torchprobe.cuda"] is None and facts["torchprobe.cudnn"] is None and facts["torchprobe.nccl"] is None
    assert facts["torchprobe.cuda_available"] is False and facts["torchprobe.device_count"] == 0
    assert facts["torchprobe.devices"] == [] and facts["torchprobe.arch_list"] == []
    assert facts["torchprobe.error"] is None and facts["torchprobe.cuda_error"] is None
    merged = facts_with(gpu__count=0) | facts
    assert verdict("torch.imports", merged).status == "pass"
    assert "a CPU build" in verdict("torch.imports", merged).message
    assert verdict("torch.gpu-visible", merged).status == "skip"


@pytest.mark.slow
@pytest.mark.network
def test_real_jax_cpu_wheel(framework_python):
    python = framework_python
    facts = probe("jax", python, timeout=120)
    assert facts["jaxprobe.status"] == "ok", facts["jaxprobe.error"]
    assert facts["jaxprobe.version"] == installed_version(python, "jax")
    assert facts["jaxprobe.backend"] == "cpu"
    assert facts["jaxprobe.devices"] == [{"platform": "cpu", "device_kind": "cpu"}]
    assert facts["jaxprobe.gpus"] == [] and facts["jaxprobe.gpu_count"] == 0
    assert facts["jaxprobe.cuda_plugins"] == {} and facts["jaxprobe.cuda_error"] is None
    merged = facts_with(gpu__count=0) | facts
    assert verdict("jax.imports", merged).status == "pass"
    assert verdict("jax.gpu-visible", merged).status == "skip"


@pytest.mark.slow
@pytest.mark.network
def test_real_wheels_recorded_and_read_back(tmp_path, framework_python):
    python = framework_python
    with RecordingHost(LiveHost()) as host:
        live = collect_facts(host, deep=DeepRequest(python, 120))
    assert {"tensorflow", "torch", "jax"} <= set(host.record.probes)
    with SnapshotHost(write_recording(host.record, str(tmp_path / "snapshot"))) as snapshot:
        offline = collect_facts(snapshot, deep=DeepRequest())
    assert {name: offline[name] for name in DEEP_FACTS} == json.loads(json.dumps({name: live[name]
                                                                                  for name in DEEP_FACTS}))
    assert offline["torchprobe.status"] == offline["jaxprobe.status"] == "ok"


# -- the GPU side, from a fake CUDA build ---------------------------------------------------------------------------


def test_a_cuda_torch_on_an_h100(monkeypatch):
    facts = probe("torch", with_fake(monkeypatch, "cuda"))
    assert facts["torchprobe.status"] == "ok", facts["torchprobe.error"]
    assert facts["torchprobe.version"] == "2.13.0+cu130" and facts["torchprobe.cuda"] == "13.0"
    assert facts["torchprobe.cudnn"] == 91002 and facts["torchprobe.nccl"] == "2.27.7"
    assert facts["torchprobe.cuda_available"] is True and facts["torchprobe.device_count"] == 1
    assert facts["torchprobe.devices"] == ["NVIDIA H100 80GB HBM3"]
    assert facts["torchprobe.arch_list"] == ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]
    assert facts["torchprobe.cuda_error"] is None


def test_a_cuda_torch_on_a_driver_too_old_keeps_torchs_warning(monkeypatch):
    monkeypatch.setenv("FAKE_TORCH_CUDA", "old-driver")
    facts = probe("torch", with_fake(monkeypatch, "cuda"))
    assert facts["torchprobe.status"] == "ok" and facts["torchprobe.cuda_available"] is False
    assert facts["torchprobe.device_count"] == 0 and facts["torchprobe.devices"] == []
    assert facts["torchprobe.cuda_error"].startswith("CUDA initialization: The NVIDIA driver on your system is too old")


def test_a_cuda_jax_on_an_h100(monkeypatch):
    facts = probe("jax", with_fake(monkeypatch, "cuda"))
    assert facts["jaxprobe.status"] == "ok", facts["jaxprobe.error"]
    assert facts["jaxprobe.backend"] == "gpu"
    assert facts["jaxprobe.devices"] == [{"platform": "gpu", "device_kind": "NVIDIA H100 80GB HBM3"}]
    assert facts["jaxprobe.gpus"] == ["NVIDIA H100 80GB HBM3"] and facts["jaxprobe.gpu_count"] == 1
    assert facts["jaxprobe.cuda_plugins"] == {"jax-cuda13-plugin": "0.10.2"}


def test_a_jax_whose_plugin_cannot_start_keeps_jaxs_reason(monkeypatch):
    monkeypatch.setenv("FAKE_JAX_CUDA", "fallback")
    facts = probe("jax", with_fake(monkeypatch, "cuda"))
    assert facts["jaxprobe.status"] == "ok" and facts["jaxprobe.backend"] == "cpu"
    assert facts["jaxprobe.gpu_count"] == 0
    assert "Found CUDA driver version 12080" in facts["jaxprobe.cuda_error"]


# -- what the probes must survive -----------------------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_a_segfault_on_import_is_a_crash_naming_the_signal(monkeypatch, framework):
    facts = probe(framework, with_fake(monkeypatch, "segfault"), timeout=30)
    assert fact(framework, facts, "status") == "crashed"
    assert fact(framework, facts, "error").startswith("Segmentation fault: killed by signal 11 (SIGSEGV)")
    assert fact(framework, facts, "returncode") == -11
    finding = verdict(IMPORT_CHECK[framework], facts_with() | facts)
    assert finding.status == "fail" and "SIGSEGV" in finding.message
    assert any("faulthandler" in command for command in finding.fix["commands"])


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_a_hang_on_import_is_cut_by_the_timeout(monkeypatch, framework):
    facts = probe(framework, with_fake(monkeypatch, "hang"), timeout=1.5)
    assert fact(framework, facts, "status") == "timeout"
    assert "within 1.5 s" in fact(framework, facts, "error")
    finding = verdict(IMPORT_CHECK[framework], facts_with() | facts)
    assert finding.status == "fail" and "hangs" in finding.message
    assert "dump_traceback_later" in finding.fix["commands"][0]


@pytest.mark.parametrize(("framework", "said"), [
    ("torch", "ImportError: libcudnn.so.9: cannot open shared object file"),
    ("jax", "ImportError: jaxlib version 0.4.30 is installed"),
])
def test_an_import_error_is_a_failing_finding(monkeypatch, framework, said):
    facts = probe(framework, with_fake(monkeypatch, "broken"), timeout=30)
    assert fact(framework, facts, "status") == "import-error"
    assert fact(framework, facts, "error").startswith(said)
    finding = verdict(IMPORT_CHECK[framework], facts_with() | facts)
    assert finding.status == "fail" and said in finding.message and finding.fix["commands"]


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_not_installed_is_skipped(monkeypatch, framework):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    facts = probe(framework, NO_SITE, timeout=30)
    assert fact(framework, facts, "status") == "not-installed", facts
    assert fact(framework, facts, "error") == f"ModuleNotFoundError: No module named '{framework}'"
    assert verdict(IMPORT_CHECK[framework], facts_with() | facts).status == "skip"


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_a_missing_interpreter_is_an_import_error(tmp_path, framework):
    facts = probe(framework, str(tmp_path / "no-python"), timeout=5)
    assert fact(framework, facts, "status") == "import-error"
    assert "cannot run" in fact(framework, facts, "error")


# -- the probes run only when asked, and travel in a snapshot -------------------------------------------------------


def test_plain_collection_runs_no_framework():
    with RecordingHost(LiveHost()) as host:
        facts = collect_facts(host)
    assert host.record.probes == {}
    assert all(facts[name] is None for name in DEEP_FACTS)


def test_a_deep_recording_holds_every_framework_and_reads_back_alike(monkeypatch, tmp_path):
    python = with_fake(monkeypatch, "cuda")
    with RecordingHost(LiveHost()) as host:
        live = collect_facts(host, deep=DeepRequest(python, 60))
    assert set(host.record.probes) == {"tensorflow", "torch", "jax"}
    assert live["torchprobe.devices"] == ["NVIDIA H100 80GB HBM3"] and live["jaxprobe.gpu_count"] == 1
    monkeypatch.delenv("PYTHONPATH")
    with SnapshotHost(write_recording(host.record, str(tmp_path / "snapshot"))) as snapshot:
        offline = collect_facts(snapshot, deep=DeepRequest())
    assert {name: offline[name] for name in DEEP_FACTS} == {name: live[name] for name in DEEP_FACTS}


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_a_snapshot_without_the_run_says_not_recorded(framework):
    with SnapshotHost(H100) as host:
        facts = PROBES[framework].probe(host, DeepRequest())
    assert fact(framework, facts, "status") == "not-recorded"
    assert "`setupkit snapshot --deep`" in fact(framework, facts, "error")
    prefix = PREFIX[framework]
    assert all(value is None for name, value in facts.items() if name not in (f"{prefix}.status", f"{prefix}.error"))


# -- the run read back, from strings ---------------------------------------------------------------------------------


def run(returncode: int | None, stdout: str = "", stderr: str = "") -> CommandResult:
    return CommandResult(("/usr/bin/python3", "-c", "..."), returncode, stdout, stderr)


TORCH_OK = 'SETUPKIT-TORCHPROBE {"status": "ok", "version": "2.13.0+cu130", "cuda": "13.0", "devices": ["H100"]}'


@pytest.mark.parametrize(("returncode", "starts"), [
    (-4, "Illegal instruction: killed by signal 4 (SIGILL): PyTorch or a library it loads uses CPU instructions"),
    (132, "Illegal instruction: exit 132 (SIGILL, as a shell reports it)"),
    (139, "Segmentation fault: exit 139 (SIGSEGV, as a shell reports it)"),
    (-6, "killed by signal 6 (SIGABRT)"),
])
def test_every_crash_is_named(returncode, starts):
    outcome = framework_child.read_run(run(returncode), 60, torch_deep.CHILD)
    assert outcome.status == "crashed" and outcome.error.startswith(starts), outcome.error


def test_a_crash_after_the_answer_keeps_the_answer():
    facts = torch_deep.facts_of(framework_child.read_run(run(-11, TORCH_OK + "\n"), 60, torch_deep.CHILD))
    assert facts["torchprobe.status"] == "crashed" and facts["torchprobe.error"].endswith("after it answered")
    assert facts["torchprobe.cuda"] == "13.0" and facts["torchprobe.devices"] == ["H100"]


@pytest.mark.parametrize(("stdout", "error"), [
    ("", "the probe printed no answer"),
    ("SETUPKIT-TORCHPROBE {broken", "the probe printed no answer"),
    ("SETUPKIT-TORCHPROBE [1, 2]", "the probe printed no answer"),
    ('SETUPKIT-TORCHPROBE {"status": "pwned"}', "the answer's status is not one the probe gives: pwned"),
])
def test_no_answer_is_no_output(stdout, error):
    outcome = framework_child.read_run(run(0, stdout), 60, torch_deep.CHILD)
    assert (outcome.status, outcome.error) == ("no-output", error)


def test_a_failing_exit_without_an_answer_says_the_last_line():
    outcome = framework_child.read_run(run(1, "", "Traceback\nRuntimeError: boom\n"), 60, torch_deep.CHILD)
    assert (outcome.status, outcome.error) == ("no-output", "exit 1: RuntimeError: boom")


def test_a_recorded_timeout_says_the_seconds_it_had():
    outcome = framework_child.read_run(run(None, "", "timed out after 7s"), 120, jax_deep.CHILD)
    assert (outcome.status, outcome.error) == ("timeout", "no answer within 7 s (importing JAX hangs)")


def test_fields_of_the_wrong_type_are_unknown_not_a_crash():
    torch_line = ('SETUPKIT-TORCHPROBE {"status": "ok", "version": 2, "cuda": ["13"], "cudnn": "9", '
                  '"cuda_available": "yes", "device_count": -1, "devices": [1], "arch_list": "sm_90"}')
    facts = torch_deep.facts_of(framework_child.read_run(run(0, torch_line), 60, torch_deep.CHILD))
    assert facts["torchprobe.status"] == "ok"
    assert all(facts[f"torchprobe.{name}"] is None
               for name in ("version", "cuda", "cudnn", "cuda_available", "device_count", "devices", "arch_list"))
    jax_line = ('SETUPKIT-JAXPROBE {"status": "ok", "devices": [{"platform": 1}], "cuda_plugins": [1], '
                '"backend": null}')
    facts = jax_deep.facts_of(framework_child.read_run(run(0, jax_line), 60, jax_deep.CHILD))
    assert facts["jaxprobe.devices"] is None and facts["jaxprobe.gpu_count"] is None
    assert facts["jaxprobe.cuda_plugins"] is None and facts["jaxprobe.backend"] is None


def test_jax_preallocates_no_gpu_memory_in_the_probe():
    assert jax_deep.CHILD.env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"


def test_the_scripts_import_nothing_from_setupkit():
    for script in (torch_deep.CHILD.script, jax_deep.CHILD.script):
        assert "setupkit" not in "\n".join(line for line in script.read_text().splitlines()
                                           if line.startswith(("import", "from")))


def test_the_fakes_are_found():
    assert shutil.which(NO_SITE)
    assert (FAKES / "cuda" / "torch" / "__init__.py").is_file() and Path(FAKES / "segfault" / "jax").is_dir()
