"""`setupkit smoke-test` as a user runs it: a subprocess, real TensorFlow on the CPU, small CIFAR folders.

The training runs are done once per module and shared by the assertions on them.
"""

from __future__ import annotations

import json
import os
import pickle

import pytest

FAST = ["--steps", "16", "--warmup", "4", "--batch-size", "32"]
CONTRACT = {"schema", "status", "backend", "devices", "dataset", "steps", "batch_size", "images_per_sec",
            "loss_first", "loss_last", "test_accuracy", "scaling", "inference_images_per_sec", "mixed_precision",
            "memory_growth", "reference"}


class WritesAFile:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def json_run(smoke_cli, *args, env=None):
    done = smoke_cli("--json", *args, env=env)
    assert done.stdout.lstrip().startswith("{"), done.stderr[-2000:]
    return done, json.loads(done.stdout)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, cifar):
    root = tmp_path_factory.mktemp("cifar")
    return {"python": cifar.write_python_folder(root / "py" / "cifar-10-batches-py", per_batch=128),
            "binary": cifar.write_binary_folder(root / "bin" / "cifar-10-batches-bin", per_batch=128),
            "home": cifar.write_python_folder(root / "home" / ".keras" / "datasets" / "cifar-10-batches-py",
                                              per_batch=128).parents[2]}


@pytest.fixture(scope="module")
def synthetic(smoke_cli):
    return json_run(smoke_cli, "--synthetic", "--steps", "30", "--warmup", "5")


@pytest.fixture(scope="module")
def python_layout(smoke_cli, folders):
    return json_run(smoke_cli, "--data", str(folders["python"].parent), *FAST)


@pytest.fixture(scope="module")
def binary_layout(smoke_cli, folders):
    return json_run(smoke_cli, "--data", str(folders["binary"]), "--gpus", "none", *FAST)


def test_json_contract(synthetic):
    done, doc = synthetic
    assert done.returncode == 0, doc["failures"]
    assert CONTRACT <= set(doc)
    assert doc["schema"] == "setupkit-smoke-test/1" and doc["status"] == "pass" and doc["backend"] == "tensorflow"
    assert doc["devices"][0]["type"] == "CPU" and doc["trained_on"] == "CPU"
    assert (doc["steps"], doc["batch_size"], doc["scaling"], doc["memory_growth"]) == (30, 128, None, True)
    assert doc["images_per_sec"] > 0 and doc["inference_images_per_sec"] > 0
    assert doc["reference"]["device_class"] == "cpu" and doc["reference"]["images_per_sec"] == 770


def test_synthetic_is_said_loudly_and_the_loss_falls(synthetic):
    _, doc = synthetic
    assert doc["dataset"] == {"source": "synthetic", "path": None, "train_images": 10_000, "test_images": 2_000,
                              "note": "SYNTHETIC DATA (--synthetic): the test accuracy means nothing."}
    assert doc["loss_last"] < doc["loss_first"] * 0.97
    assert any("SYNTHETIC DATA" in warning for warning in doc["warnings"])


def test_python_layout_trains_and_reports_accuracy(python_layout, folders):
    done, doc = python_layout
    assert done.returncode == 0, doc["failures"]
    assert doc["dataset"]["source"] == "cifar-10-python" and doc["dataset"]["path"] == str(folders["python"])
    assert doc["dataset"]["train_images"] == 5 * 128 and doc["dataset"]["test_images"] == 128
    assert 0.0 <= doc["test_accuracy"] <= 1.0 and doc["warnings"] == []


def test_binary_layout_with_gpus_none(binary_layout):
    done, doc = binary_layout
    assert done.returncode == 0, doc["failures"]
    assert doc["dataset"]["source"] == "cifar-10-binary" and doc["devices"][0]["type"] == "CPU"
    assert doc["loss_last"] < doc["loss_first"]


def test_old_keras_cache_found_under_home(smoke_cli, folders, tmp_path):
    home = folders["home"]
    done, doc = json_run(smoke_cli, *FAST, env={"HOME": str(home), "KERAS_HOME": str(home / ".keras")})
    assert done.returncode == 0, doc["failures"]
    assert doc["dataset"]["source"] == "keras-cache"
    assert doc["dataset"]["path"] == str(folders["home"] / ".keras" / "datasets" / "cifar-10-batches-py")


def test_report_for_people(smoke_cli):
    done = smoke_cli("--synthetic", *FAST)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "SYNTHETIC DATA" in done.stdout and "images/sec" in done.stdout and "smoke test: PASS" in done.stdout
    assert "training: step 20/20" in done.stderr  # the progress, as lines on a non-terminal
    assert "WARNING: SYNTHETIC DATA" in done.stderr.split("training: step 1/")[0]  # said before training


def test_hostile_pickle_exits_3_and_runs_nothing(run_setupkit, cifar, tmp_path):
    target = tmp_path / "created-by-pickle"
    folder = cifar.write_python_folder(tmp_path / "cifar-10-batches-py", per_batch=8)
    (folder / "data_batch_1").write_bytes(pickle.dumps({"data": WritesAFile(target)}, protocol=2))
    done = run_setupkit("smoke-test", "--data", str(folder))
    assert done.returncode == 3
    assert "refusing to unpickle posix.system: not part of a CIFAR-10 batch" in done.stderr
    assert str(folder / "data_batch_1") in done.stderr and "Traceback" not in done.stderr
    assert not target.exists()


def test_truncated_binary_batch_exits_3_naming_it(run_setupkit, cifar, tmp_path):
    folder = cifar.write_binary_folder(tmp_path / "cifar-10-batches-bin", per_batch=8)
    path = folder / "data_batch_4.bin"
    path.write_bytes(path.read_bytes()[:-1000])
    done = run_setupkit("smoke-test", "--data", str(tmp_path), "--json")
    assert done.returncode == 3 and done.stdout == ""
    assert str(path) in done.stderr and "not a whole number of 3073-byte records" in done.stderr


@pytest.mark.parametrize("value", ["0,,2", "first", "1,1"])
def test_bad_gpus_value_is_a_usage_error(run_setupkit, value):
    done = run_setupkit("smoke-test", "--gpus", value, "--synthetic")
    assert done.returncode == 2 and "--gpus" in done.stderr


def test_require_gpu_on_a_cpu_machine_fails_clearly(run_setupkit):
    done = run_setupkit("smoke-test", "--require-gpu", "--synthetic", "--json", timeout=240)
    doc = json.loads(done.stdout)
    assert done.returncode == 1 and doc["status"] == "fail"
    assert "--require-gpu: tensorflow sees no GPU, so no GPU trained" in doc["failures"][0]


def test_missing_backend_framework_exits_3(run_setupkit):
    import importlib.util

    missing = next((name for name in ("jax", "torch") if importlib.util.find_spec(name) is None), None)
    if missing is None:
        pytest.skip("both jax and torch are installed here: nothing is missing")
    done = run_setupkit("smoke-test", "--backend", missing, "--synthetic")
    assert done.returncode == 3 and f"pip install {missing}" in done.stderr


def test_compare_cpu_runs_the_cpu_in_a_subprocess(smoke_cli):
    done, doc = json_run(smoke_cli, "--synthetic", "--compare-cpu", *FAST)
    assert done.returncode == 0, doc["failures"]
    compared = doc["compare_cpu"]
    assert compared["cpu_images_per_sec"] > 0 and compared["reference_gpu_to_cpu"] == 2.9
    assert compared["gpu_to_cpu"] == round(doc["images_per_sec"] / compared["cpu_images_per_sec"], 2)
    assert "both runs were on the CPU" in compared["note"]


SCALING_SCRIPT = """
import json, os
os.environ["KERAS_BACKEND"] = "tensorflow"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from setupkit.smoke import dataset, runner
from setupkit.smoke.progress import Silent
options = runner.Options(steps=8, warmup=3, batch_size=16)
data = dataset.load(None, True, False, 0)
result, scaling = runner.scaling_runs(options, data, tf.distribute.OneDeviceStrategy("/cpu:0"),
                                      tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), Silent())
print(json.dumps({"scaling": scaling, "error": result.error, "losses": len(result.losses)}))
"""


def test_mirrored_strategy_scaling_on_two_logical_cpus(tmp_path):
    """The multi-GPU path (OneDevice, then MirroredStrategy), run on two logical CPU devices."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", SCALING_SCRIPT], capture_output=True, text=True, timeout=240,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    scaling = found["scaling"]
    assert found["error"] is None and found["losses"] == 11
    assert scaling["gpus"] == 2 and scaling["one_gpu"] > 0 and scaling["all_gpus"] > 0
    assert scaling["efficiency"] == round(scaling["all_gpus"] / (2 * scaling["one_gpu"]), 3)


@pytest.mark.gpu
def test_trains_on_the_gpu(smoke_cli):
    """On a GPU host (opt-in: pytest -m gpu): the default backend trains on the GPU and says where it stands."""
    done, doc = json_run(smoke_cli, "--synthetic", "--require-gpu", "--compare-cpu")
    assert done.returncode == 0, doc["failures"]
    assert doc["trained_on"] == "GPU" and doc["devices"][0]["type"] == "GPU"
    assert doc["reference"]["device_class"] != "cpu" and doc["compare_cpu"]["gpu_to_cpu"] > 1
