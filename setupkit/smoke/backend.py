"""The framework behind Keras: chosen through the environment BEFORE Keras is imported, then asked which
devices it sees.

Keras reads KERAS_BACKEND once, at import; CUDA reads CUDA_VISIBLE_DEVICES once, when the framework starts;
TensorFlow reads TF_FORCE_GPU_ALLOW_GROWTH at GPU initialisation. So everything here runs in order:
``require_framework`` (before anything imports numpy) -> ``prepare_environment`` -> ``start`` (Keras and the
devices it sees) -> ``refuse_unseen_gpus``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import sys
import threading

from setupkit.errors import PreconditionError, UsageError

TITLE = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
INSTALL_HINT = {"tensorflow": "pip install 'setupkit[tf]'", "jax": "pip install jax keras",
                "torch": "pip install torch keras"}
"""The command for a framework that is not installed; with the framework there, pip installs what is missing
(Keras 3 for JAX and PyTorch, which do not bring it)."""
QUIET_LEVEL = "3"
"""TF_CPP_MIN_LOG_LEVEL for the smoke test's own run: errors too, since a host without a GPU logs
``failed call to cuInit ... (303)`` as an error; a real failure still reaches the report as an exception."""
# ASCII: \d alone would take other scripts' digits, which int() reads and CUDA does not.
_GPU_LIST = re.compile(r"^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+)(,(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+))*$",
                       re.ASCII)


def cuda_visible_devices(gpus: str) -> str | None:
    """The CUDA_VISIBLE_DEVICES value for --gpus: 'all' leaves it alone (None), 'none' hides every GPU."""
    value = gpus.strip()
    if value == "all":
        return None
    if value == "none":
        return "-1"
    if not _GPU_LIST.match(value):
        raise UsageError(f"--gpus {gpus!r} is not a list of GPUs",
                         hint="give 'all', 'none' or GPU indices such as 0,2 (or GPU UUIDs)")
    items = value.split(",")
    if len(set(items)) != len(items):
        raise UsageError(f"--gpus {gpus!r}: a GPU is listed twice")
    return value


def requested_gpus(gpus: str) -> list[str]:
    """The GPUs --gpus names one by one ([] for all and none)."""
    visible = cuda_visible_devices(gpus)
    return [] if visible in (None, "-1") else visible.split(",")


def refuse_absent_gpus(gpus: str, host_gpus: list[str]) -> None:
    """Before the framework starts: an index past the GPUs the driver lists. Without a list the framework's
    view decides (``refuse_unseen_gpus``): a driver may show no /proc or /dev entries, as under WSL."""
    absent = [item for item in requested_gpus(gpus) if item.isdigit() and int(item) >= len(host_gpus)]
    if host_gpus and absent:
        raise PreconditionError(f"--gpus {gpus.strip()}: no GPU {', '.join(absent)} on this host; "
                                f"{gpus_present(host_gpus)}",
                                hint=f"give --gpus with indices 0 to {len(host_gpus) - 1}, or --gpus all")


def refuse_unseen_gpus(gpus: str, backend: str, devices: list[dict], host_gpus: list[str]) -> None:
    """After it started: the framework sees fewer GPUs than --gpus names (it would train on the CPU)."""
    wanted, seen = requested_gpus(gpus), sum(device["type"] == "GPU" for device in devices)
    if wanted and seen < len(wanted):
        raise PreconditionError(f"--gpus {gpus.strip()}: {backend} sees {seen} of the {len(wanted)} GPU(s) asked "
                                f"for; {gpus_present(host_gpus)}",
                                hint="run `setupkit doctor` to see why (driver, CUDA, the framework's GPU build), "
                                     "or give --gpus none to train on the CPU")


def gpus_present(names: list[str]) -> str:
    if not names:
        return "this host shows no NVIDIA GPU"
    return f"this host has {len(names)} NVIDIA GPU(s): " + ", ".join(f"{i} {name}" for i, name in enumerate(names))


def prepare_environment(backend: str, gpus: str, memory_growth: bool, environ=None) -> bool:
    """Set what the framework reads at start-up (call before anything imports Keras or the framework).

    True when the framework's logs are quieted for this run: TensorFlow's start-up chatter hides the report,
    unless the user set TF_CPP_MIN_LOG_LEVEL (then it is theirs to choose)."""
    environ = os.environ if environ is None else environ
    visible = cuda_visible_devices(gpus)
    if visible is not None:
        environ["CUDA_VISIBLE_DEVICES"] = visible
    environ["KERAS_BACKEND"] = backend
    quiet = "TF_CPP_MIN_LOG_LEVEL" not in environ
    if quiet:
        environ["TF_CPP_MIN_LOG_LEVEL"] = QUIET_LEVEL
    environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true" if memory_growth else "false"
    # JAX takes 75% of GPU memory at start unless told not to; growth-on means allocate on demand.
    environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false" if memory_growth else "true"
    return quiet


def refuse_other_loaded_backend(backend: str) -> None:
    """Keras cannot change backend once imported: the environment set above would be silently ignored."""
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != backend:
        raise PreconditionError(f"Keras is already running on {keras.backend.backend()} in this process",
                                hint=f"run the smoke test in a new process for --backend {backend}")


def require_framework(backend: str) -> None:
    """Exit 3 with the install command when the backend's framework, Keras or numpy is not installed (checked
    without importing them, before anything of the smoke test imports numpy)."""
    missing = [module for module in (backend, "keras", "numpy") if not _installed(module)]
    if missing:
        names = ", ".join(missing[:-1]) + " and " + missing[-1] if len(missing) > 1 else missing[0]
        hint = INSTALL_HINT[backend] if backend in missing else "pip install " + " ".join(missing)
        raise PreconditionError(f"{needs(backend)}: {names} {'is' if len(missing) == 1 else 'are'} not installed "
                                f"for {sys.executable}", hint=hint)


def needs(backend: str) -> str:
    """'training through Keras 3 on PyTorch needs torch, keras and numpy'."""
    return f"training through Keras 3 on {TITLE[backend]} needs {backend}, keras and numpy"


def _installed(module: str) -> bool:
    """Importable as a real package: an empty folder left by an uninstall is a namespace package, not it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin not in (None, "namespace")


def start(backend: str, memory_growth: bool, quiet: bool, cpu_name: str):
    """Keras on ``backend`` and the devices it sees, with the framework's start-up logs filtered when ``quiet``;
    ``cpu_name`` names the CPU where it sees no GPU."""
    with filtered_native_stderr(quiet):
        keras = import_keras(backend, memory_growth)
        devices = list_devices(backend, cpu_name)
    if quiet:
        for name in ("tensorflow", "absl"):
            logging.getLogger(name).setLevel(logging.ERROR)
    return keras, devices


def import_keras(backend: str, memory_growth: bool):
    """Import Keras on ``backend``; for TensorFlow, set memory growth on each GPU before it initialises."""
    try:
        if backend == "tensorflow":
            _tensorflow_memory_growth(memory_growth)
        import keras
    except ImportError as error:  # installed but broken: a missing library, a numpy it was not built for
        first = next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
        raise PreconditionError(f"{needs(backend)}: importing {error.name or backend} failed: {first[:300]}",
                                hint=INSTALL_HINT[backend].replace("install", "install --force-reinstall", 1)
                                + "; `setupkit doctor` says more") from None
    if keras.backend.backend() != backend:
        raise PreconditionError(f"Keras started on {keras.backend.backend()}, not {backend}",
                                hint="is KERAS_BACKEND fixed in ~/.keras/keras.json? Run in a new shell")
    return keras


NATIVE_LOG_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\] )")
"""A line of the framework's C++ logging (absl's format, or TensorFlow's older one), fatal lines excepted.
TensorFlow 2.16+ logs through absl before absl is initialised, which writes every level to stderr whatever
TF_CPP_MIN_LOG_LEVEL says (the oneDNN notice, twice), so the start-up lines are filtered here."""


@contextlib.contextmanager
def filtered_native_stderr(enabled: bool):
    """While the framework starts, send file descriptor 2 through a pipe whose reader drops its log lines and
    passes every other line on (a Python traceback, a message before an abort)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    reader = threading.Thread(target=_pass_on_non_log_lines, args=(read_end, os.dup(saved)), daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end closes: the reader sees its end
        os.close(saved)
        reader.join(timeout=2)


def _pass_on_non_log_lines(read_end: int, out: int) -> None:
    pending = b""
    try:
        while chunk := os.read(read_end, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            _write_lines(out, lines)
            if len(pending) > 65536:  # no newline in sight: not a log line, pass it on
                _write_lines(out, [pending[:-1]])
                pending = pending[-1:]
        if pending:
            _write_lines(out, [pending])
    finally:
        os.close(read_end)
        os.close(out)


def _write_lines(out: int, lines: list[bytes]) -> None:
    kept = [line for line in lines if not NATIVE_LOG_LINE.match(line.decode("utf-8", "replace"))]
    if kept:
        os.write(out, b"".join(line + b"\n" for line in kept))


def _tensorflow_memory_growth(enabled: bool) -> None:
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, enabled)
        except RuntimeError:  # already initialised in this process: the setting no longer applies
            pass


def list_devices(backend: str, cpu_name: str) -> list[dict]:
    """The accelerators the framework sees ([{type, name, index}]); the CPU alone, named ``cpu_name``, when it
    sees none."""
    gpus = {"tensorflow": _tensorflow_gpus, "jax": _jax_gpus, "torch": _torch_gpus}[backend]()
    return gpus or [{"type": "CPU", "name": cpu_name, "index": 0}]


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


def weights_on_gpu(model, backend: str) -> bool:
    """Whether the model's first weight lives on a GPU: the proof of where training ran."""
    value = model.weights[0].value
    if backend == "tensorflow":
        return "GPU" in str(getattr(value, "device", "")).upper()
    if backend == "jax":
        return any(device.platform == "gpu" for device in value.devices())
    return value.device.type == "cuda"
