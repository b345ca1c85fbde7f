"""The framework behind Keras: chosen through the environment BEFORE Keras is imported, then asked which
devices it sees.

Keras reads KERAS_BACKEND once, at import; CUDA reads CUDA_VISIBLE_DEVICES once, when the framework starts;
TensorFlow reads TF_FORCE_GPU_ALLOW_GROWTH at GPU initialisation. So everything here runs in order:
``prepare_environment`` -> ``require_framework`` -> ``import_keras`` -> ``list_devices``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys

from setupkit.errors import PreconditionError, SetupkitError
from setupkit.exitcodes import USAGE

BACKENDS = ("tensorflow", "jax", "torch")
INSTALL_HINT = {"tensorflow": "pip install tensorflow", "jax": "pip install jax", "torch": "pip install torch"}
_GPU_LIST = re.compile(r"^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+)(,(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+))*$")


def cuda_visible_devices(gpus: str) -> str | None:
    """The CUDA_VISIBLE_DEVICES value for --gpus: 'all' leaves it alone (None), 'none' hides every GPU."""
    value = gpus.strip()
    if value == "all":
        return None
    if value == "none":
        return "-1"
    if not _GPU_LIST.match(value):
        raise SetupkitError(f"--gpus {gpus!r}: give 'all', 'none' or GPU indices such as 0,2 (or GPU UUIDs)",
                            exit_code=USAGE)
    items = value.split(",")
    if len(set(items)) != len(items):
        raise SetupkitError(f"--gpus {gpus!r}: a GPU is listed twice", exit_code=USAGE)
    return value


def prepare_environment(backend: str, gpus: str, memory_growth: bool, environ=None) -> None:
    """Set what the framework reads at start-up (call before anything imports Keras or the framework)."""
    environ = os.environ if environ is None else environ
    visible = cuda_visible_devices(gpus)
    if visible is not None:
        environ["CUDA_VISIBLE_DEVICES"] = visible
    environ["KERAS_BACKEND"] = backend
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides the report
    environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true" if memory_growth else "false"
    # JAX takes 75% of GPU memory at start unless told not to; growth-on means allocate on demand.
    environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false" if memory_growth else "true"


def refuse_other_loaded_backend(backend: str) -> None:
    """Keras cannot change backend once imported: the environment set above would be silently ignored."""
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != backend:
        raise PreconditionError(f"Keras is already running on {keras.backend.backend()} in this process; "
                                f"run the smoke test in a new process for --backend {backend}")


def require_framework(backend: str) -> None:
    """Exit 3 with the install command when the backend's framework (or Keras) is not installed."""
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    if importlib.util.find_spec(module) is None:
        raise PreconditionError(f"--backend {backend} needs {module}, which is not installed: "
                                f"{INSTALL_HINT[backend]}")
    if importlib.util.find_spec("keras") is None:
        raise PreconditionError("the smoke test needs Keras 3, which is not installed: pip install keras")


def import_keras(backend: str, memory_growth: bool):
    """Import Keras on ``backend``; for TensorFlow, set memory growth on each GPU before it initialises."""
    if backend == "tensorflow":
        _tensorflow_memory_growth(memory_growth)
    import keras

    if keras.backend.backend() != backend:
        raise PreconditionError(f"Keras started on {keras.backend.backend()}, not {backend}: is KERAS_BACKEND "
                                f"fixed in ~/.keras/keras.json? Run in a new shell")
    return keras


def _tensorflow_memory_growth(enabled: bool) -> None:
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, enabled)
        except RuntimeError:  # already initialised in this process: the setting no longer applies
            pass


def list_devices(backend: str) -> list[dict]:
    """The accelerators the framework sees ([{type, name, index}]); the CPU alone when it sees none."""
    gpus = {"tensorflow": _tensorflow_gpus, "jax": _jax_gpus, "torch": _torch_gpus}[backend]()
    return gpus or [{"type": "CPU", "name": cpu_model_name(), "index": 0}]


def _tensorflow_gpus() -> list[dict]:
    import tensorflow as tf

    found = []
    for index, gpu in enumerate(tf.config.list_physical_devices("GPU")):
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        found.append({"type": "GPU", "name": details.get("device_name", gpu.name), "index": index,
                      "compute_capability": ".".join(map(str, capability)) if capability else None})
    return found


def _jax_gpus() -> list[dict]:
    import jax

    return [{"type": "GPU", "name": device.device_kind, "index": index}
            for index, device in enumerate(jax.devices()) if device.platform == "gpu"]


def _torch_gpus() -> list[dict]:
    import torch

    if not torch.cuda.is_available():
        return []
    return [{"type": "GPU", "name": torch.cuda.get_device_name(index), "index": index}
            for index in range(torch.cuda.device_count())]


def cpu_model_name() -> str:
    """This machine's CPU model, as doctor's cpu.model reads it (/proc/cpuinfo through the host source)."""
    from setupkit.host.live import LiveHost
    from setupkit.probes.cpu import cpu_model, parse_cpuinfo

    return cpu_model(parse_cpuinfo(LiveHost().read_text("/proc/cpuinfo"))) or "CPU"


def weights_on_gpu(model, backend: str) -> bool:
    """Whether the model's first weight lives on a GPU: the proof of where training ran."""
    value = model.weights[0].value
    if backend == "tensorflow":
        return "GPU" in str(getattr(value, "device", "")).upper()
    if backend == "jax":
        return any(device.platform == "gpu" for device in value.devices())
    return value.device.type == "cuda"
