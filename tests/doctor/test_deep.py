"""The deep probe: TensorFlow imported for real in a subprocess on this machine (tensorflow-cpu: the CPU line, no
GPU), and the failures it must survive, from fake interpreters: SIGILL, exit 132, a hang, ImportError."""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from pathlib import Path

import pytest

from setupkit.host.live import LiveHost
from setupkit.probes import tensorflow
from setupkit.probes.deep import DEFAULT_TIMEOUT, DeepRequest
from setupkit.probes.tensorflow import MAX_TIMEOUT, bounded_timeout, interpret, parse_cpu_log
from tests.helpers.doctor import facts_with, verdict

FAKES = Path(__file__).parent / "fakes"


def run_deep_probe(python: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """The tfprobe.* facts the deep probe gives on this machine (what `doctor --deep --deep-python` adds)."""
    return tensorflow.probe(LiveHost(), DeepRequest(python, timeout))

TF_29 = ("I0000 00:00:1795770314.005264   10577 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
         "available CPU instructions in performance-critical operations.\n"
         "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
         "appropriate compiler flags.\n")
TF_24 = ("2021-01-05 10:00:00.123456: I tensorflow/core/platform/cpu_feature_guard.cc:142] This TensorFlow binary is "
         "optimized with oneAPI Deep Neural Network Library (oneDNN)to use the following CPU instructions in "
         "performance-critical operations:  AVX2 FMA\nTo enable them in other operations, rebuild TensorFlow with the "
         "appropriate compiler flags.\n")
TF_1X = ("2018-05-20 12:00:00.000000: I tensorflow/core/platform/cpu_feature_guard.cc:140] Your CPU supports "
         "instructions that this TensorFlow binary was not compiled to use: AVX2 FMA\n")
FATAL = ("F tensorflow/core/platform/cpu_feature_guard.cc:37] The TensorFlow library was compiled to use AVX "
         "instructions, but these aren't available on your machine.\n")


@pytest.mark.parametrize(("stderr", "instructions", "starts"), [
    (TF_29, ["AVX2", "AVX512F", "FMA"], "This TensorFlow binary is optimized to use available CPU instructions"),
    (TF_24, ["AVX2", "FMA"], "This TensorFlow binary is optimized with oneAPI"),
    (TF_1X, ["AVX2", "FMA"], "Your CPU supports instructions"),
    (FATAL, ["AVX"], "The TensorFlow library was compiled to use AVX"),
    ("", None, None),
])
def test_cpu_log_line_in_every_known_form(stderr, instructions, starts):
    line, found = parse_cpu_log(stderr)
    assert found == instructions
    assert (line is None) if starts is None else line.startswith(starts)


def test_real_tensorflow_on_this_machine():
    if importlib.util.find_spec("tensorflow") is None:  # looked up, not imported: this process stays light
        pytest.skip("TensorFlow is not installed (the test extra installs it)")
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("tensorflow-cpu")
        cpu_only = True
    except PackageNotFoundError:
        cpu_only = False
    facts = run_deep_probe(timeout=120)
    assert facts["tfprobe.status"] == "ok", facts["tfprobe.error"]
    assert facts["tfprobe.version"].startswith("2.")
    # PyPI's tensorflow wheel for Linux is built with CUDA (it loads the pip CUDA wheels when they are there);
    # tensorflow-cpu is not.
    assert facts["tfprobe.built_with_cuda"] is (not cpu_only)
    assert facts["tfprobe.gpus"] == [] and facts["tfprobe.gpu_count"] == 0
    assert facts["tfprobe.cpu_op_ok"] is True
    assert "rebuild TensorFlow with the appropriate compiler flags" in facts["tfprobe.cpu_log"]
    assert facts["tfprobe.cpu_instructions"], "this CPU has instructions beyond the wheel's baseline"
    merged = facts_with(gpu__count=0) | facts
    assert verdict("tensorflow.import", merged).status == "pass"
    assert verdict("tensorflow.gpu-visible", merged).status == "skip"


@pytest.mark.parametrize("fake", ["python-sigill", "python-exit132"])
def test_illegal_instruction_is_a_failing_finding(fake):
    facts = run_deep_probe(str(FAKES / fake), timeout=20)
    assert facts["tfprobe.status"] == "crashed"
    assert "Illegal instruction" in facts["tfprobe.error"]
    finding = verdict("tensorflow.import", facts_with() | facts)
    assert finding.status == "fail"
    assert finding.fix["commands"] == ["setupkit build-tf"]


def test_a_hang_is_cut_by_the_timeout():
    facts = run_deep_probe(str(FAKES / "python-hang"), timeout=1.5)
    assert facts["tfprobe.status"] == "timeout"
    assert verdict("tensorflow.import", facts_with() | facts).status == "fail"


def test_tensorflow_not_installed_is_a_warning(monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    facts = run_deep_probe(str(FAKES / "python-no-site"), timeout=30)
    assert facts["tfprobe.status"] == "not-installed", facts
    assert verdict("tensorflow.import", facts_with() | facts).status == "warn"


def test_an_import_error_is_a_failing_finding(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(FAKES / "broken_tf"))
    facts = run_deep_probe(str(FAKES / "python-no-site"), timeout=30)
    assert facts["tfprobe.status"] == "import-error"
    assert "libcudart.so.12" in facts["tfprobe.error"]
    finding = verdict("tensorflow.import", facts_with() | facts)
    assert finding.status == "fail" and finding.fix


def test_a_missing_interpreter_is_a_finding(tmp_path):
    facts = run_deep_probe(str(tmp_path / "no-python"), timeout=5)
    assert facts["tfprobe.status"] == "import-error" and "cannot run" in facts["tfprobe.error"]


def test_interpret_from_strings():
    ok = 'noise\nSETUPKIT-TFPROBE {"status": "ok", "version": "2.15.1", "built_with_cuda": true, ' \
         '"cuda_version": "12.2", "cudnn_version": "8", "gpus": ["/device:GPU:0"], ' \
         '"cpu_op": {"ok": true}, "gpu_ops": [{"device": "/device:GPU:0", "ok": false, "error": "OOM"}]}\n'
    facts = interpret(0, ok, "")
    assert facts["tfprobe.gpu_count"] == 1 and facts["tfprobe.gpu_ops_ok"] is False
    assert interpret(-11, "", "")["tfprobe.error"] == "killed by signal 11 (SIGSEGV)"
    assert interpret(1, "", "Traceback\nRuntimeError: boom\n")["tfprobe.error"] == "exit 1: RuntimeError: boom"
    assert interpret(0, "SETUPKIT-TFPROBE {broken", "")["tfprobe.status"] == "no-output"


def test_cli_deep_with_a_crashing_interpreter_exits_1_with_the_fix(run_setupkit):
    done = run_setupkit("doctor", "--deep", "--deep-python", str(FAKES / "python-sigill"), "--only",
                        "tensorflow.import", "--json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    (finding,) = document["findings"]
    assert finding["status"] == "fail" and finding["fix"]["commands"] == ["setupkit build-tf"]
    assert document["facts"]["tfprobe.status"] == "crashed"


def test_cli_deep_timeout_option(run_setupkit):
    done = run_setupkit("doctor", "--deep", "--deep-python", str(FAKES / "python-hang"), "--deep-timeout", "1",
                        "--only", "tensorflow.import")
    assert done.returncode == 1
    assert "hangs" in done.stdout


def test_fakes_are_executable():
    for fake in ("python-sigill", "python-exit132", "python-hang", "python-no-site"):
        assert shutil.which(str(FAKES / fake)), fake


def fake_interpreter(folder: Path, body: str) -> str:
    path = folder / "python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_a_segfault_is_a_crash_finding(tmp_path):
    facts = run_deep_probe(fake_interpreter(tmp_path, "kill -SEGV $$"), timeout=20)
    assert facts["tfprobe.status"] == "crashed" and facts["tfprobe.error"] == "killed by signal 11 (SIGSEGV)"
    assert verdict("tensorflow.import", facts_with() | facts).status == "fail"


def test_a_flooding_interpreter_is_cut_by_the_timeout_and_leaves_nothing_running(tmp_path):
    pid_file = tmp_path / "pid"
    python = fake_interpreter(tmp_path, f"echo $$ > {pid_file}\nexec yes SETUPKIT-TFPROBE")
    started = time.monotonic()
    facts = run_deep_probe(python, timeout=1)
    assert facts["tfprobe.status"] == "timeout" and time.monotonic() - started < 6
    assert ended(int(pid_file.read_text()))


def ended(pid: int) -> bool:
    """Gone, or a zombie waiting for its parent's wait."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize(("given", "used"), [
    (float("nan"), DEFAULT_TIMEOUT), (-5, DEFAULT_TIMEOUT), (0, DEFAULT_TIMEOUT), (float("inf"), DEFAULT_TIMEOUT),
    ("30", DEFAULT_TIMEOUT), (None, DEFAULT_TIMEOUT), (True, DEFAULT_TIMEOUT), (1e308, MAX_TIMEOUT), (2.5, 2.5),
])
def test_any_timeout_number_gives_a_bounded_one(given, used):
    assert bounded_timeout(given) == used


def test_the_probe_runs_under_the_bounded_timeout(monkeypatch):
    from setupkit import process

    seen = []
    monkeypatch.setattr(process, "run", lambda argv, **kw: seen.append(kw) or process.Completed(tuple(argv), 0))
    assert run_deep_probe("python3", timeout=float("nan"))["tfprobe.status"] == "no-output"
    assert seen[0]["timeout"] == DEFAULT_TIMEOUT and seen[0]["max_output"] > 0


@pytest.mark.parametrize("line", [
    "SETUPKIT-TFPROBE " + "[" * 50_000 + "]" * 50_000,
    "SETUPKIT-TFPROBE [1, 2]",
    'SETUPKIT-TFPROBE {"status": "ok", "x": NaN}',
])
def test_a_result_line_that_is_no_object_is_no_output(line):
    assert interpret(0, line + "\n", "")["tfprobe.status"] == "no-output"


def test_fields_of_the_wrong_type_are_unknown_not_a_crash():
    line = ('SETUPKIT-TFPROBE {"status": "ok", "version": 2, "built_with_cuda": "yes", "gpus": 5, '
            '"gpu_ops": "x", "cpu_op": [1], "error": {"a": 1}}')
    facts = interpret(0, line, "")
    assert facts["tfprobe.status"] == "ok" and facts["tfprobe.version"] is None
    assert facts["tfprobe.built_with_cuda"] is None and facts["tfprobe.gpus"] is None
    assert facts["tfprobe.gpu_count"] is None and facts["tfprobe.gpu_ops"] == [] and facts["tfprobe.cpu_op_ok"] is None
    assert interpret(0, 'SETUPKIT-TFPROBE {"status": "pwned"}', "")["tfprobe.status"] == "no-output"
