"""The verdict rules, the throughput arithmetic and the reference table: pure functions."""

from __future__ import annotations

import importlib

import pytest

from setupkit.errors import SetupkitError
from setupkit.smoke import backend, references, trainer, verdict
from setupkit.smoke.runner import Options


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
    assert error.value.exit_code == 2


def test_environment_is_set_before_the_framework(monkeypatch):
    environ = {}
    backend.prepare_environment("jax", "0,2", memory_growth=True, environ=environ)
    assert environ["CUDA_VISIBLE_DEVICES"] == "0,2" and environ["KERAS_BACKEND"] == "jax"
    assert environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    backend.prepare_environment("tensorflow", "none", memory_growth=False, environ=environ)
    assert environ["CUDA_VISIBLE_DEVICES"] == "-1" and environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "false"


def test_keras_loaded_on_another_backend_is_refused():
    importlib.import_module("keras")  # this test process runs Keras on TensorFlow

    with pytest.raises(SetupkitError, match="already running on tensorflow") as error:
        backend.refuse_other_loaded_backend("jax")
    assert error.value.exit_code == 3
    backend.refuse_other_loaded_backend("tensorflow")


def test_missing_framework_names_the_install_command(monkeypatch):
    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SetupkitError, match="pip install torch") as error:
        backend.require_framework("torch")
    assert error.value.exit_code == 3


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


def test_gpu_host_that_trained_on_the_cpu_is_said_plainly(tmp_path):
    (tmp_path / "gpus" / "0000:01:00.0").mkdir(parents=True)
    host_gpus = references.nvidia_gpu_on_host(tmp_path / "gpus", tmp_path)
    document = {"failures": [], "warnings": [], "loss_first": 2.3, "loss_last": 1.9, "backend": "tensorflow",
                "dataset": {"source": "cifar-10-binary", "note": None}, "scaling": None,
                "devices": [{"type": "CPU", "name": "x", "index": 0}]}
    verdict.decide(document, trainer.RunResult(on_gpu=False), Options(), host_gpus)
    assert document["status"] == "pass"
    assert any("has 1 NVIDIA GPU(s) but training ran on the CPU" in w for w in document["warnings"])


def test_require_gpu_fails_a_cpu_run():
    document = {"failures": [], "warnings": [], "loss_first": 2.3, "loss_last": 1.9, "backend": "tensorflow",
                "dataset": {"source": "synthetic", "note": "SYNTHETIC"}, "scaling": None, "devices": []}
    verdict.decide(document, trainer.RunResult(on_gpu=False), Options(require_gpu=True), 0)
    assert document["status"] == "fail" and "--require-gpu" in document["failures"][0]


def test_training_error_fails_with_its_cause():
    document = {"failures": [], "warnings": [], "loss_first": None, "loss_last": None, "backend": "tensorflow",
                "dataset": {"source": "synthetic", "note": "SYNTHETIC"}, "scaling": None, "devices": []}
    verdict.decide(document, trainer.RunResult(error="ResourceExhaustedError: OOM"), Options(), 0)
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
