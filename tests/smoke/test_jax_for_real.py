"""JAX for real on this CPU: a virtual environment with setupkit, CPU jax (jaxlib's CPU wheel), Keras 3 and numpy
from the package index and nothing else; `setupkit doctor --deep --json` there must read JAX as the child process
that imported it saw it, and `setupkit smoke-test --backend jax` must train on a small CIFAR-10 folder in the
official binary layout, written here.

Making the environment takes about a minute and needs the package index (marked slow and network)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.venvs import interpreter, make_venv, pip

pytestmark = [pytest.mark.slow, pytest.mark.network]

FAST = ["--steps", "16", "--warmup", "4", "--batch-size", "32"]


def setupkit(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    env.pop("KERAS_BACKEND", None)
    return subprocess.run([interpreter(venv), "-m", "setupkit", *args], capture_output=True, text=True,
                          timeout=600, env=env)


@pytest.fixture(scope="module")
def jax_venv(tmp_path_factory) -> Path:
    venv = make_venv(tmp_path_factory.mktemp("jax"))
    installed = pip(venv, "install", "--quiet", "jax", "keras", "numpy")
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


def installed(venv: Path, distribution: str) -> str | None:
    done = subprocess.run([interpreter(venv), "-c", "import importlib.metadata as m, sys\n"
                           f"try: print(m.version({distribution!r}))\nexcept m.PackageNotFoundError: pass"],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip() or None


def test_doctor_deep_reads_the_cpu_jax_it_imported(jax_venv):
    done = setupkit(jax_venv, "doctor", "--deep", "--json")
    document = json.loads(done.stdout)
    facts = {name: value for name, value in document["facts"].items() if name.startswith(("jax", "torchprobe."))}
    version = installed(jax_venv, "jax")
    assert facts["jaxprobe.status"] == "ok", facts["jaxprobe.error"]
    assert facts["jaxprobe.python"] == interpreter(jax_venv) and facts["jaxprobe.returncode"] == 0
    assert facts["jaxprobe.version"] == facts["jax.version"] == version
    assert facts["jaxprobe.backend"] == "cpu"
    assert facts["jaxprobe.devices"] == [{"platform": "cpu", "device_kind": "cpu"}]
    assert facts["jaxprobe.gpus"] == [] and facts["jaxprobe.gpu_count"] == 0
    assert facts["jaxprobe.cuda_plugins"] == {} == facts["jax.cuda_plugin"] and facts["jaxprobe.cuda_error"] is None
    # No PyTorch in this environment: its probe says so instead of failing.
    assert installed(jax_venv, "torch") is None and facts["torchprobe.status"] == "not-installed"
    checks = {check["id"]: check for check in document["findings"]}
    assert checks["jax.imports"]["status"] == "pass"
    assert checks["jax.imports"]["message"] == (f"JAX {version} imports in {interpreter(jax_venv)} and runs on the "
                                                "cpu backend (no CUDA plugin installed).")


def test_smoke_test_trains_through_keras_on_jax(jax_venv, cifar, tmp_path):
    data = cifar.write_binary_folder(tmp_path / "cifar-10-batches-bin")
    done = setupkit(jax_venv, "smoke-test", "--backend", "jax", "--data", str(tmp_path), "--json", *FAST)
    assert done.stdout.lstrip().startswith("{"), done.stderr[-3000:]
    doc = json.loads(done.stdout)
    assert done.returncode == 0 and doc["status"] == "pass", doc["failures"]
    assert doc["backend"] == "jax" and doc["backend_version"] == installed(jax_venv, "jax")
    assert doc["dataset"]["source"] == "cifar-10-binary" and doc["dataset"]["path"] == str(data)
    assert doc["dataset"]["train_images"] == 5 * 64 and doc["dataset"]["test_images"] == 64
    assert doc["trained_on"] == "CPU" and (doc["steps"], doc["warmup"], doc["global_batch"]) == (16, 4, 32)
    assert doc["images_per_sec"] > 0
    assert doc["loss_last"] < doc["loss_first"]
