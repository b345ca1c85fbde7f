"""The framework smoke-test trains on without --backend, told from package metadata ({PEP 503 name: version}, as
the host's Python lists its distributions): the fakes below are such listings, of real releases."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from setupkit.errors import PreconditionError
from setupkit.knowledge import framework_wheels
from setupkit.smoke import choice

CPU_HOST = {"gpu.count": 0, "python.version": "3.11.2", "libc.version": "2.36"}
GPU_HOST = {"gpu.count": 1, "python.version": "3.11.2", "libc.version": "2.36", "driver.version": "580.65.06",
            "driver.cuda_max": "13.0", "gpu.names": ["NVIDIA GeForce RTX 5090"], "gpu.compute_capabilities": ["12.0"],
            "gpu.architectures": ["blackwell"]}
NO_TF_PYTHON = {"python.version": "3.99.0"}
"""A Python no TensorFlow release has a wheel for."""
TORCH_CPU = {"torch": "2.13.0+cpu", "keras": "3.15.1", "numpy": "2.4.6"}
JAX_CPU = {"jax": "0.10.2", "jaxlib": "0.10.2", "keras": "3.15.1", "numpy": "2.4.6"}


def test_tensorflow_first_and_said_by_nothing():
    picked = choice.choose(None, {"tensorflow-cpu": "2.21.0", **TORCH_CPU, **JAX_CPU}, CPU_HOST)
    assert (picked.backend, picked.line) == ("tensorflow", None)
    assert picked.installed == choice.Installed("tensorflow", "2.21.0", "CPU")


@pytest.mark.parametrize("name", ["tensorflow", "tf-nightly", "intel-tensorflow"])
def test_every_tensorflow_distribution_counts(name):
    assert choice.choose(None, {name: "2.20.0", **TORCH_CPU}, CPU_HOST).backend == "tensorflow"


def test_pytorch_when_tensorflow_is_absent_says_so():
    picked = choice.choose(None, TORCH_CPU, CPU_HOST)
    assert picked.backend == "torch"
    assert picked.line == "TensorFlow is not installed: training through Keras 3 on PyTorch 2.13.0 (CPU)"


def test_jax_before_pytorch_and_the_other_one_named():
    picked = choice.choose(None, {**TORCH_CPU, **JAX_CPU}, CPU_HOST)
    assert picked.backend == "jax"
    assert picked.line == ("TensorFlow is not installed: training through Keras 3 on JAX 0.10.2 (CPU); give "
                           "--backend torch for PyTorch 2.13.0 (CPU)")


def test_cuda_builds_are_named_by_their_cuda():
    pypi_torch = {"torch": "2.13.0", "nvidia-cuda-runtime": "13.0.96", "keras": "3.15.1"}
    assert choice.choose(None, pypi_torch, GPU_HOST).installed == choice.Installed("torch", "2.13.0", "CUDA 13.0")
    tagged = choice.choose(None, {"torch": "2.13.0+cu126", "keras": "3.15.1"}, GPU_HOST)
    assert tagged.line == "TensorFlow is not installed: training through Keras 3 on PyTorch 2.13.0 (CUDA 12.6)"
    jax = {**JAX_CPU, "jax-cuda12-plugin": "0.10.2", "nvidia-cuda-runtime-cu12": "12.9.79"}
    assert choice.choose(None, jax, GPU_HOST).installed == choice.Installed("jax", "0.10.2", "CUDA 12.9")


def test_a_source_build_of_pytorch_keeps_its_whole_version():
    picked = choice.choose(None, {"torch": "2.14.0a0+git1234abc", "keras": "3.15.1"}, CPU_HOST)
    assert picked.installed == choice.Installed("torch", "2.14.0a0+git1234abc", None)
    assert picked.line == "TensorFlow is not installed: training through Keras 3 on PyTorch 2.14.0a0+git1234abc"


@pytest.mark.parametrize("requested", ["tensorflow", "jax", "torch"])
def test_backend_given_is_taken_as_given_and_says_nothing(requested):
    picked = choice.choose(requested, TORCH_CPU, CPU_HOST)
    assert (picked.backend, picked.line) == (requested, None)
    assert picked.installed == (choice.Installed("torch", "2.13.0", "CPU") if requested == "torch" else None)


def test_keras_2_beside_pytorch_is_refused():
    with pytest.raises(PreconditionError, match=r"^training on PyTorch needs Keras 3, and Keras 2\.15\.0 is "
                                                r"installed for ") as error:
        choice.choose(None, {**TORCH_CPU, "keras": "2.15.0"}, CPU_HOST)
    assert error.value.exit_code == 3 and error.value.hint == "pip install --upgrade keras"


NONE_MESSAGE = (f"smoke-test trains through Keras 3 on TensorFlow, JAX or PyTorch, and none of them is installed for "
                f"{sys.executable}")


@pytest.mark.parametrize("facts, build, command", [
    (CPU_HOST, "with no NVIDIA GPU, the CPU build", "pip install tensorflow"),
    (GPU_HOST, "this host's 1 NVIDIA GPU(s) want the CUDA build", "pip install 'tensorflow[and-cuda]'"),
    ({**CPU_HOST, **NO_TF_PYTHON}, "with no NVIDIA GPU, the CPU build",
     "pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install keras"),
    ({"gpu.count": 2, **NO_TF_PYTHON}, "this host's 2 NVIDIA GPU(s) want the CUDA build",
     "pip install torch keras"),  # no driver answers: PyPI's wheel, a CUDA build
], ids=["cpu", "gpu", "cpu-no-tf-wheel", "gpu-no-driver-no-tf-wheel"])
def test_nothing_installed_exits_3_with_the_command_for_this_host(facts, build, command):
    with pytest.raises(PreconditionError) as error:
        choice.choose(None, {"numpy": "2.4.6", "keras": "3.15.1"}, facts)
    assert error.value.exit_code == 3
    assert (str(error.value), error.value.hint) == (f"{NONE_MESSAGE} ({build})", command)


def test_nothing_installed_on_a_gpu_host_without_a_tensorflow_wheel_gets_the_pytorch_variant_its_driver_runs():
    """An RTX 5090 (compute capability 12.0) on driver 580 (CUDA 13.0): the newest CUDA 13 variant that has its
    kernels, from PyTorch's own index."""
    variant = framework_wheels.torch_variant_for(None, "13.0", ["NVIDIA GeForce RTX 5090"], ["12.0"], ["blackwell"])
    assert variant is not None and variant.startswith("cu13")
    with pytest.raises(PreconditionError) as error:
        choice.choose(None, {}, {**GPU_HOST, **NO_TF_PYTHON})
    assert error.value.hint == f"pip install torch --index-url https://download.pytorch.org/whl/{variant} && " \
                               f"pip install keras"


CHOOSE_HERE = """
import json, sys
from setupkit.smoke import choice
facts, packages = choice.read_host()
picked = choice.choose(None, packages, facts) if choice.installed_frameworks(packages) else None
print(json.dumps({"backend": picked and picked.backend, "python.version": facts["python.version"],
                  "loaded": [m for m in ("numpy", "tensorflow", "keras", "jax", "torch") if m in sys.modules]}))
"""


def test_the_choice_reads_this_python_without_importing_a_framework_or_numpy():
    """Keras reads its backend once, at import: nothing may load before the choice is made."""
    done = subprocess.run([sys.executable, "-c", CHOOSE_HERE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["loaded"] == [] and found["python.version"] == ".".join(map(str, sys.version_info[:3]))
    has_tensorflow = importlib.util.find_spec("tensorflow") is not None  # the tests' own environment has it
    assert found["backend"] == "tensorflow" if has_tensorflow else found["backend"] in (None, "jax", "torch")
