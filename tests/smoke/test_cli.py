"""`setupkit smoke-test` as a user runs it: a subprocess, real TensorFlow on the CPU, small CIFAR folders.

The training runs are done once per module and shared by the assertions on them.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

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


TF_START_UP_LINES = ("oneDNN custom operations", "absl::InitializeLog", "cpu_feature_guard", "cuInit")


def test_report_for_people(smoke_cli):
    done = smoke_cli("--synthetic", *FAST, env={"TF_CPP_MIN_LOG_LEVEL": None})
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "SYNTHETIC DATA" in done.stdout and "images/sec" in done.stdout and "smoke test: PASS" in done.stdout
    assert "training: step 20/20" in done.stderr  # the progress, as lines on a non-terminal
    assert "WARNING: SYNTHETIC DATA" in done.stderr.split("training: step 1/")[0]  # said before training
    assert not [line for line in done.stderr.splitlines() if any(words in line for words in TF_START_UP_LINES)]


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


@pytest.mark.parametrize("value", ["0,,2", "first", "1,1", "\u0663"])
def test_bad_gpus_value_is_a_usage_error(run_setupkit, value):
    done = run_setupkit("smoke-test", "--gpus", value, "--synthetic")
    assert done.returncode == 2 and "--gpus" in done.stderr


@pytest.mark.parametrize("args, expected", [
    (["--seed", "-1"], "'--seed': -1 is not in the range 0<=x<=4294967295"),
    (["--seed", str(2**32)], "'--seed': 4294967296 is not in the range"),
    (["--seed", "1e3"], "'--seed': '1e3' is not a valid"),
    (["--steps", "9" * 30], "'--steps': " + "9" * 30 + " is not in the range 1<=x<=1000000"),
    (["--warmup", "0"], "'--warmup': 0 is not in the range 1<=x<=100000"),
    (["--epochs", "100000"], "'--epochs': 100000 is not in the range 1<=x<=1000"),
    (["--batch-size", "1000000"], "'--batch-size': 1000000 is not in the range 1<=x<=65536"),
    (["--batch-size", "0"], "'--batch-size': 0 is not in the range"),
])
def test_out_of_range_values_are_usage_errors(run_setupkit, args, expected):
    done = run_setupkit("smoke-test", "--synthetic", *args)
    assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, expected", [
    (["--synthetic", "--batch-size", "20000"],
     ["--batch-size 20000 is more than the 10,000 training images", "give --batch-size 10000 or less"]),
    (["--batch-size", "321"],
     ["--batch-size 321 is more than the 320 training images", "give --batch-size 320 or less"]),
])
def test_a_batch_larger_than_the_training_set_is_a_usage_error(run_setupkit, cifar, tmp_path, args, expected):
    folder = cifar.write_python_folder(tmp_path / "cifar-10-batches-py")
    data = [] if "--synthetic" in args else ["--data", str(folder)]
    started = time.monotonic()
    done = run_setupkit("smoke-test", *data, *args)
    message, fix = expected
    assert done.returncode == 2 and done.stderr.splitlines() == [f"setupkit: {message}", f"fix: {fix}"]
    assert time.monotonic() - started < 30  # refused before the framework starts


def test_gpus_not_on_this_host_exit_3_naming_what_is_there(run_setupkit):
    """On this CPU host the framework sees no GPU 7; its start-up lines stay out of the one line's way."""
    done = run_setupkit("smoke-test", "--gpus", "7", "--synthetic", "--json", env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.splitlines()[-2].startswith("setupkit: --gpus 7: tensorflow sees 0 of the 1 GPU(s) asked "
                                                   "for; this host")
    assert done.stderr.splitlines()[-1].startswith("fix: run `setupkit doctor` to see why")


def test_framework_start_up_lines_are_quiet_unless_the_user_set_the_level(smoke_cli):
    """Both runs end after the framework started (--gpus 7 on a host without it): the same start, filtered or
    not. The user's own TF_CPP_MIN_LOG_LEVEL=0 gets TensorFlow's lines, which proves the filter does the work."""
    quiet = smoke_cli("--gpus", "7", "--synthetic", "--json", env={"TF_CPP_MIN_LOG_LEVEL": None})
    loud = smoke_cli("--gpus", "7", "--synthetic", "--json", env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert quiet.returncode == loud.returncode == 3
    assert len(quiet.stderr.strip().splitlines()) == 3, quiet.stderr  # the synthetic note, the error, its fix
    assert "oneDNN custom operations" in loud.stderr


@pytest.mark.parametrize("numpy", [False, True], ids=["bare", "with-numpy"])
def test_without_any_framework_one_line_and_the_install_command(python_without_frameworks, numpy):
    """A Python that has only setupkit's own dependencies (python -S with links to them; see conftest): no
    TensorFlow, JAX or PyTorch, so the build this host wants (its GPUs, as doctor reads them) is named."""
    from setupkit.probes import read_facts

    argv, env = python_without_frameworks(numpy)
    done = subprocess.run([*argv, "smoke-test"], capture_output=True, text=True, timeout=60, env=env)
    gpus = read_facts()["gpu.count"] or 0
    build = f"this host's {gpus} NVIDIA GPU(s) want the CUDA build" if gpus else "with no NVIDIA GPU, the CPU build"
    assert done.returncode == 3 and done.stdout == "", done.stderr
    assert done.stderr.splitlines() == [
        "setupkit: smoke-test trains through Keras 3 on TensorFlow, JAX or PyTorch, and none of them is installed "
        f"for {sys.executable} ({build})",
        "fix: pip install 'tensorflow[and-cuda]'" if gpus else "fix: pip install tensorflow"]


def test_without_jax_the_fix_names_it(python_without_frameworks):
    argv, env = python_without_frameworks(True)
    done = subprocess.run([*argv, "smoke-test", "--backend", "jax"], capture_output=True, text=True, timeout=60,
                          env=env)
    assert done.returncode == 3 and done.stderr.splitlines()[-1] == "fix: pip install jax keras"


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
    assert done.returncode == 3 and f"fix: pip install {missing} keras" in done.stderr


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
from setupkit.smoke import dataset, run
from setupkit.smoke.progress import Silent
options = run.Options(steps=8, warmup=3, batch_size=16)
data = dataset.load(None, True, False, 0)
result, scaling = run.scaling_runs(options, data, tf.distribute.OneDeviceStrategy("/cpu:0"),
                                      tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), Silent())
print(json.dumps({"scaling": scaling, "error": result.error, "losses": len(result.losses)}))
"""


def test_compare_cpu_child_is_bounded_by_its_timeout(monkeypatch):
    """The CPU run goes through setupkit.process: cut at its timeout, its process group killed."""
    from setupkit.smoke import dataset, run

    monkeypatch.setattr(run, "COMPARE_CPU_TIMEOUT_S", 1)
    started = time.monotonic()
    found = run.compare_cpu(run.Options(), dataset.load(None, True, False, 0), 100.0, False, quiet=True)
    assert found == {"error": "the CPU run took over 1 s; lower --steps"} and time.monotonic() - started < 10


def _running_with(marker: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"smoke-test" in argv and marker.encode() in argv:
            found.append(cmdline.parent.name)
    return found


def test_ctrl_c_during_compare_cpu_stops_its_child():
    """Ctrl-C while the CPU run trains: the child's process group is killed before the interruption goes on."""
    from setupkit.smoke import dataset, run

    seed = "424242"  # marks the child's command line
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run.compare_cpu(run.Options(seed=int(seed)), dataset.load(None, True, False, 0), 1.0, False, True)
    finally:
        timer.cancel()
    assert _running_with(seed) == []


def test_compare_cpu_child_quiets_itself_as_the_parent_did(monkeypatch):
    from setupkit.smoke import run

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    assert "TF_CPP_MIN_LOG_LEVEL" not in run.cpu_environment(quiet=True)  # set by us: the child decides again
    assert run.cpu_environment(quiet=False)["TF_CPP_MIN_LOG_LEVEL"] == "3"  # the user's: passed on
    assert run.cpu_environment(quiet=True)["CUDA_VISIBLE_DEVICES"] == "-1"


def test_mirrored_strategy_scaling_on_two_logical_cpus(tmp_path):
    """The multi-GPU path (OneDevice, then MirroredStrategy), run on two logical CPU devices."""
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


def test_data_and_synthetic_together_is_a_usage_error(run_setupkit, tmp_path):
    done = run_setupkit("smoke-test", "--synthetic", "--data", str(tmp_path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == ["setupkit: --data and --synthetic were both given",
                                        "fix: give --data DIR or --synthetic, not both"]
