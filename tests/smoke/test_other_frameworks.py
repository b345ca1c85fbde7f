"""`setupkit smoke-test` without --backend in real virtual environments that hold no TensorFlow: one with the CPU
wheel of PyTorch 2.13.0, Keras 3 and numpy, trained for real (on synthetic data: the CIFAR download goes to a
closed local port, see conftest), and one with setupkit alone.

Each environment is made with `python -m venv` and pip (setupkit installed editable from this checkout), so the
tests need the package index and are slow (about a minute to make each). PyTorch's CPU wheel: where pip takes
`torch==2.13.0` from a CUDA build instead (PyPI's own, several GB with its NVIDIA wheels), the training test skips
and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.venvs import install_cpu_torch, interpreter, make_venv, pip

pytestmark = [pytest.mark.slow, pytest.mark.network]

FAST = ["--steps", "16", "--warmup", "4", "--batch-size", "32"]


def smoke(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    env.pop("KERAS_BACKEND", None)
    return subprocess.run([str(venv / "bin" / "python"), "-m", "setupkit", "smoke-test", *args],
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory) -> Path:
    return make_venv(tmp_path_factory.mktemp("bare"))


@pytest.fixture(scope="module")
def torch_venv(tmp_path_factory) -> Path:
    venv = make_venv(tmp_path_factory.mktemp("torch"))
    install_cpu_torch(venv, "keras", "numpy")
    return venv


@pytest.fixture(scope="module")
def torch_json(torch_venv):
    done = smoke(torch_venv, "--json", *FAST)
    assert done.stdout.lstrip().startswith("{"), done.stderr[-3000:]
    return done, json.loads(done.stdout)


CHOSEN = "TensorFlow is not installed: training through Keras 3 on PyTorch 2.13.0 (CPU)"


def test_without_tensorflow_it_trains_on_pytorch_and_says_so_first(torch_json):
    done, doc = torch_json
    assert done.returncode == 0, doc["failures"]
    lines = done.stderr.splitlines()
    assert lines[0] == CHOSEN  # before the data, the framework's start and the training
    assert lines[1].startswith("WARNING: SYNTHETIC DATA: cannot download CIFAR-10 from http://127.0.0.1:9/")
    assert doc["backend"] == "torch" and doc["backend_choice"] == CHOSEN
    assert doc["backend_version"] == "2.13.0+cpu" and doc["versions"]["torch"] == "2.13.0+cpu"
    assert doc["versions"]["keras"].startswith("3.")


def test_the_pytorch_run_reports_its_device_speed_loss_and_accuracy(torch_json):
    done, doc = torch_json
    assert doc["status"] == "pass" and doc["failures"] == []
    assert [device["type"] for device in doc["devices"]] == ["CPU"] and doc["trained_on"] == "CPU"
    assert doc["trained_on_device"] == doc["devices"][0]["name"] and doc["trained_on_device"]
    assert (doc["steps"], doc["warmup"], doc["global_batch"]) == (16, 4, 32)
    assert doc["images_per_sec"] > 0 and doc["inference_images_per_sec"] > 0
    assert doc["loss_last"] < doc["loss_first"] * 0.97
    assert 0.0 <= doc["test_accuracy"] <= 1.0 and doc["dataset"]["source"] == "synthetic"


def test_the_pytorch_report_for_people(torch_venv, torch_json):
    _, doc = torch_json
    done = smoke(torch_venv, *FAST)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stderr.splitlines()[0] == CHOSEN
    lines = done.stdout.splitlines()
    assert lines[0] == f"backend      torch (keras {doc['versions']['keras']}, torch 2.13.0+cpu)"
    assert lines[1] == f"chosen       {CHOSEN}"
    assert any(line.startswith(f"trained on   CPU ({doc['trained_on_device']}), 16 timed steps after 4 warm-up, "
                               "batch 32") for line in lines)
    assert any(line.startswith("training     ") and line.endswith(" images/sec") for line in lines)
    assert any(line.startswith("loss         ") for line in lines) and lines[-1] == "smoke test: PASS"


def test_pytorch_without_keras_says_keras_is_missing(torch_venv):
    """PyTorch does not bring Keras 3 (put back afterwards for the other tests of this environment)."""
    removed = pip(torch_venv, "uninstall", "--yes", "keras")
    assert removed.returncode == 0, removed.stderr[-3000:]
    try:
        done = smoke(torch_venv, "--synthetic")
    finally:
        assert pip(torch_venv, "install", "--quiet", "keras").returncode == 0
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.splitlines() == [
        CHOSEN,
        "setupkit: training through Keras 3 on PyTorch needs torch, keras and numpy: keras is not installed for "
        f"{interpreter(torch_venv)}",
        "fix: pip install keras"]


def test_a_venv_with_nothing_exits_3_with_the_one_line(bare_venv):
    from setupkit.probes import read_facts

    gpus = read_facts()["gpu.count"] or 0
    build = f"this host's {gpus} NVIDIA GPU(s) want the CUDA build" if gpus else "with no NVIDIA GPU, the CPU build"
    done = smoke(bare_venv, "--synthetic")
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "setupkit: smoke-test trains through Keras 3 on TensorFlow, JAX or PyTorch, and none of them is installed "
        f"for {interpreter(bare_venv)} ({build})",
        "fix: pip install 'tensorflow[and-cuda]'" if gpus else "fix: pip install tensorflow"]
