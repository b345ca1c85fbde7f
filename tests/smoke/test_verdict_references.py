"""The verdict rules, the throughput arithmetic and the reference table: pure functions."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os

import pytest

from setupkit.errors import SetupkitError
from setupkit.smoke import backend, references, run, trainer, verdict
from setupkit.smoke.run import Options
from tests.helpers.scenarios import snapshot_facts


def test_loss_ends_average_a_few_steps():
    losses = [2.4, 2.2, 2.3, 2.1, 2.0] + [1.5] * 10 + [1.0, 1.2, 0.8, 1.0, 1.0]
    first, last = verdict.loss_ends(losses)
    assert first == pytest.approx(2.2) and last == pytest.approx(1.0)
    assert verdict.loss_fell(first, last)


def test_a_flat_or_rising_loss_did_not_fall():
    assert not verdict.loss_fell(*verdict.loss_ends([2.30] * 40))
    assert not verdict.loss_fell(*verdict.loss_ends([2.0] * 20 + [2.5] * 20))
    assert not verdict.loss_fell(None, None)


def test_short_runs_never_compare_a_step_with_itself():
    first, last = verdict.loss_ends([3.0, 2.0, 1.0, 0.5])
    assert (first, last) == (3.0, 0.5)


def test_images_per_sec_counts_only_steps_after_warmup():
    ends = [0.0, 5.0, 6.0, 7.0, 8.0]  # the first step (compilation) took 5 s
    assert trainer.timed_images_per_sec(ends, warmup=2, global_batch=100) == pytest.approx(300 / 3.0)
    assert trainer.timed_images_per_sec(ends[:2], warmup=2, global_batch=100) is None


UUID = "GPU-8d1d0b5e-1f2a-4c3b-9d8e-0a1b2c3d4e5f"


@pytest.mark.parametrize("value, expected", [("all", None), ("none", "-1"), ("0,2", "0,2"), (" 1 ", "1"), (UUID, UUID)])
def test_gpus_values(value, expected):
    assert backend.cuda_visible_devices(value) == expected


@pytest.mark.parametrize("value", ["0,,1", "gpu0", "1,1", "-1", "0;2", ""])
def test_bad_gpus_values_are_usage_errors(value):
    with pytest.raises(SetupkitError) as error:
        backend.cuda_visible_devices(value)
    assert error.value.exit_code == 2 and error.value.message.startswith(f"--gpus {value!r}")
    listed_twice = value == "1,1"
    assert (error.value.message.endswith("a GPU is listed twice") if listed_twice else
            error.value.hint == "give 'all', 'none' or GPU indices such as 0,2 (or GPU UUIDs)")


def test_environment_is_set_before_the_framework(monkeypatch):
    environ = {}
    backend.prepare_environment("jax", "0,2", memory_growth=True, environ=environ)
    assert environ["CUDA_VISIBLE_DEVICES"] == "0,2" and environ["KERAS_BACKEND"] == "jax"
    assert environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    backend.prepare_environment("tensorflow", "none", memory_growth=False, environ=environ)
    assert environ["CUDA_VISIBLE_DEVICES"] == "-1" and environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "false"


def test_keras_loaded_on_another_backend_is_refused():
    importlib.import_module("keras")  # this test process runs Keras on TensorFlow

    with pytest.raises(SetupkitError, match="^Keras is already running on tensorflow in this process$") as error:
        backend.refuse_other_loaded_backend("jax")
    assert error.value.exit_code == 3
    assert error.value.hint == "run the smoke test in a new process for --backend jax"
    backend.refuse_other_loaded_backend("tensorflow")


def test_missing_framework_names_the_install_command(monkeypatch):
    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SetupkitError, match=r"^training through Keras 3 on PyTorch needs torch, keras and numpy: "
                                            r"torch, keras and numpy are not installed for ") as error:
        backend.require_framework("torch")
    assert error.value.exit_code == 3 and error.value.hint == "pip install torch keras"


def test_a_framework_without_keras_names_keras_alone(monkeypatch):
    """PyTorch and JAX do not bring Keras 3: with the framework there, the fix installs what is missing only."""
    real = importlib.util.find_spec
    monkeypatch.setattr(backend.importlib.util, "find_spec",
                        lambda name: None if name == "keras" else real("json"))
    with pytest.raises(SetupkitError, match=r"^training through Keras 3 on PyTorch needs torch, keras and numpy: "
                                            r"keras is not installed for ") as error:
        backend.require_framework("torch")
    assert error.value.exit_code == 3 and error.value.hint == "pip install keras"


def test_an_empty_folder_left_by_an_uninstall_is_not_an_installed_framework(tmp_path, monkeypatch):
    (tmp_path / "tensorflow").mkdir()  # what `pip uninstall` can leave: importable, as an empty namespace package
    namespace = importlib.machinery.PathFinder.find_spec("tensorflow", [str(tmp_path)])
    assert namespace is not None
    real = importlib.util.find_spec
    monkeypatch.setattr(backend.importlib.util, "find_spec",
                        lambda name: namespace if name == "tensorflow" else real(name))
    with pytest.raises(SetupkitError, match="tensorflow is not installed") as error:
        backend.require_framework("tensorflow")
    assert error.value.hint == "pip install 'setupkit[tf]'"


def test_quiet_unless_the_user_chose_a_log_level():
    environ = {}
    assert backend.prepare_environment("tensorflow", "all", True, environ) is True
    assert environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    chosen = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    assert backend.prepare_environment("tensorflow", "all", True, chosen) is False
    assert chosen["TF_CPP_MIN_LOG_LEVEL"] == "0"


@pytest.mark.parametrize("line, dropped", [
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", True),
    ("I0000 00:00:1796115853.984146   10233 port.cc:153] oneDNN custom operations are on.", True),
    ("E0000 00:00:1718392474.370713     806 cuda_driver.cc:152] failed call to cuInit: UNKNOWN ERROR (303)", True),
    ("2024-05-01 10:00:00.123456: I tensorflow/core/util/port.cc:113] oneDNN custom operations are on.", True),
    ("F0000 00:00:1718392474.370713     806 cpu_feature_guard.cc:37] compiled to use AVX instructions", False),
    ("Traceback (most recent call last):", False),
    ("ImportError: libcudart.so.12: cannot open shared object file", False),
])
def test_only_the_frameworks_own_log_lines_are_filtered(line, dropped):
    assert bool(backend.NATIVE_LOG_LINE.match(line)) is dropped


def test_filtered_stderr_drops_log_lines_and_passes_the_rest(capfd):
    with backend.filtered_native_stderr(True):
        os.write(2, b"I0000 00:00:1796115853.984146   10233 port.cc:153] oneDNN custom operations are on.\n"
                    b"a line for people\n")
    assert capfd.readouterr().err == "a line for people\n"


def test_gpu_names_come_from_the_hosts_facts():
    """The GPUs doctor's facts name (a snapshot's, here: a host with two RTX 3090), read through the probes."""
    facts = snapshot_facts("ubuntu2204-two-gpus-cuda118")
    assert run.nvidia_gpus(facts) == ["NVIDIA GeForce RTX 3090"] * 2
    assert run.cpu_name(facts) == "Intel(R) Xeon(R) W-2255 CPU @ 3.70GHz"


def test_gpu_names_from_the_host_are_shown_safely():
    """A name the host wrote is cut and its control characters shown as codes; an unnamed GPU still counts."""
    facts = {"gpu.count": 3, "gpu.names": ["NVIDIA H100 80GB HBM3", "NVIDIA L4\x1b[2J", None]}
    assert run.nvidia_gpus(facts) == ["NVIDIA H100 80GB HBM3", "NVIDIA L4\\x1b[2J", "NVIDIA GPU"]
    assert run.nvidia_gpus({"gpu.count": 2, "gpu.names": None}) == ["NVIDIA GPU"] * 2
    assert len(run.nvidia_gpus({"gpu.count": 1, "gpu.names": ["x" * 5000]})[0]) == 100


@pytest.mark.parametrize("count", [0, None, True, -1, "2"])
def test_no_gpus_when_the_host_has_none_or_the_count_is_unknown(count):
    assert run.nvidia_gpus({"gpu.count": count, "gpu.names": ["NVIDIA H100"]}) == []


def test_the_cpu_is_named_as_doctor_reads_it():
    assert run.cpu_name({"cpu.model": "AMD EPYC 7763 64-Core Processor"}) == "AMD EPYC 7763 64-Core Processor"
    assert run.cpu_name({"cpu.model": None}) == run.cpu_name({}) == "CPU"


def test_an_index_past_the_hosts_gpus_is_refused_before_the_framework():
    with pytest.raises(SetupkitError, match=r"^--gpus 0,7: no GPU 7 on this host; this host has 2 NVIDIA GPU\(s\): "
                                            r"0 NVIDIA H100, 1 NVIDIA H100$") as error:
        backend.refuse_absent_gpus("0,7", ["NVIDIA H100"] * 2)
    assert error.value.exit_code == 3 and error.value.hint == "give --gpus with indices 0 to 1, or --gpus all"
    backend.refuse_absent_gpus("0,1", ["NVIDIA H100"] * 2)
    backend.refuse_absent_gpus(UUID, ["NVIDIA H100"])  # a UUID is for the framework to resolve
    backend.refuse_absent_gpus("7", [])  # no driver entries (WSL shows none): the framework decides


def test_fewer_gpus_seen_than_named_is_refused():
    gpu = {"type": "GPU", "name": "NVIDIA H100", "index": 0}
    with pytest.raises(SetupkitError, match=r"^--gpus 0,1: tensorflow sees 1 of the 2 GPU\(s\) asked for") as error:
        backend.refuse_unseen_gpus("0,1", "tensorflow", [gpu], ["NVIDIA H100"] * 2)
    assert error.value.exit_code == 3
    backend.refuse_unseen_gpus("all", "tensorflow", [{"type": "CPU", "name": "x", "index": 0}], [])
    backend.refuse_unseen_gpus("0", "tensorflow", [gpu], ["NVIDIA H100"])


@pytest.mark.parametrize("name, device_class", [("NVIDIA H100 80GB HBM3", "h100"),
                                                ("NVIDIA GeForce GTX 1080 Ti", "gtx-1080-ti"),
                                                ("Tesla K40c", "k40"), ("NVIDIA RTX A6000", "gtx-1080-ti")])
def test_reference_per_gpu_class(name, device_class):
    block = references.standing(21000, [{"type": "GPU", "name": name, "index": 0}], True, 16)
    assert block["device_class"] == device_class
    assert block["ratio"] == round(21000 / block["images_per_sec"], 2)


def test_h100_at_half_the_anchor_is_below_it():
    block = references.standing(21000, [{"type": "GPU", "name": "NVIDIA H100 PCIe", "index": 0}], True, 16)
    assert block["ratio"] == 0.5 and "below it" in block["summary"]


def test_cpu_run_is_compared_with_the_i7():
    block = references.standing(1540, [{"type": "CPU", "name": "AMD EPYC", "index": 0}], False, 2)
    assert (block["device_class"], block["ratio"]) == ("cpu", 2.0) and "2 logical cores" in block["note"]


def test_gpu_host_that_trained_on_the_cpu_is_said_plainly():
    host_gpus = len(run.nvidia_gpus({"gpu.count": 1, "gpu.names": ["NVIDIA GeForce GTX 1080 Ti"]}))
    document = {"failures": [], "warnings": [], "loss_first": 2.3, "loss_last": 1.9, "backend": "tensorflow",
                "dataset": {"source": "cifar-10-binary", "note": None}, "scaling": None,
                "devices": [{"type": "CPU", "name": "x", "index": 0}]}
    verdict.decide(document, trainer.TrainingRun(on_gpu=False), Options(), host_gpus)
    assert document["status"] == "pass"
    assert any("has 1 NVIDIA GPU(s) but training ran on the CPU" in w for w in document["warnings"])


def test_require_gpu_fails_a_cpu_run():
    document = {"failures": [], "warnings": [], "loss_first": 2.3, "loss_last": 1.9, "backend": "tensorflow",
                "dataset": {"source": "synthetic", "note": "SYNTHETIC"}, "scaling": None, "devices": []}
    verdict.decide(document, trainer.TrainingRun(on_gpu=False), Options(require_gpu=True), 0)
    assert document["status"] == "fail" and "--require-gpu" in document["failures"][0]


def test_training_error_fails_with_its_cause():
    document = {"failures": [], "warnings": [], "loss_first": None, "loss_last": None, "backend": "tensorflow",
                "dataset": {"source": "synthetic", "note": "SYNTHETIC"}, "scaling": None, "devices": []}
    verdict.decide(document, trainer.TrainingRun(error="ResourceExhaustedError: OOM"), Options(), 0)
    assert document["failures"] == ["training failed: ResourceExhaustedError: OOM"]


def test_one_line_cause_of_a_tensorflow_error():
    text = ("Graph execution error:\n\nDetected at node StatefulPartitionedCall defined at (most recent call last):\n"
            '  File "/usr/lib/python3/runpy.py", line 198, in _run_module_as_main\n\n'
            "OOM when allocating tensor with shape[128,64,24,24] and type float on /job:localhost/device:GPU:0\n"
            "\t [[{{node conv1}}]]\nHint: If you want to see a list of allocated tensors when OOM happens\n"
            " [Op:__inference_one_step_on_iterator_1234]")
    cause = trainer.one_line(type("ResourceExhaustedError", (Exception,), {})(text))
    assert cause == ("ResourceExhaustedError: OOM when allocating tensor with shape[128,64,24,24] and type float "
                     "on /job:localhost/device:GPU:0")
    assert trainer.one_line(ValueError("bad shape\nmore")) == "ValueError: bad shape"
