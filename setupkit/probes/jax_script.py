"""The deep JAX probe's child, run as ``python -c <this file's text>`` in its own process (probes/jax_deep.py, for
`setupkit doctor --deep` and `setupkit snapshot --deep`).

It imports jax (which may crash the interpreter or hang), asks for its devices, then prints one line,
``SETUPKIT-JAXPROBE {json}``, on stdout: jax.__version__, jax.default_backend(), each device's platform and kind,
the CUDA plugins this interpreter has installed (package metadata), and why the cuda backend did not start when
it did not (JAX logs it, then falls back to the CPU). It imports nothing from setupkit.
"""

import json
import logging
import sys

MARKER = "SETUPKIT-JAXPROBE "
PLUGINS = ("jax-cuda12-plugin", "jax-cuda13-plugin", "jax-cuda12-pjrt", "jax-cuda13-pjrt")


def emit(answer):
    sys.stdout.write(MARKER + json.dumps(answer, default=str) + "\n")
    sys.stdout.flush()


def describe(error):
    return f"{type(error).__name__}: {error}"[:600]


class Kept(logging.Handler):
    """JAX's warnings as it picks a backend ("CUDA backend failed to initialize: ...")."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def cuda_plugins():
    """The JAX CUDA plugin distributions this interpreter has, {name: version}, from metadata (nothing imported)."""
    try:
        from importlib import metadata
    except ImportError:
        return None
    found = {}
    for name in PLUGINS:
        try:
            found[name] = metadata.version(name)
        except Exception:  # noqa: BLE001 - not installed, or metadata unreadable: absent either way
            continue
    return found


def cuda_error(kept):
    """Why the cuda backend did not start: JAX's own record of it, else the warning it logged."""
    try:
        from jax._src import xla_bridge

        recorded = getattr(xla_bridge, "_backend_errors", {}).get("cuda")
    except Exception:  # noqa: BLE001 - a private record: absent in other releases
        recorded = None
    if recorded:
        return str(recorded)[:600]
    for message in kept.messages:
        if "CUDA" in message or "GPU" in message or "cuda" in message:
            return message[:600]
    return None


def main():
    kept = Kept()
    logging.getLogger("jax").addHandler(kept)
    try:
        import jax
    except ImportError as error:
        missing = type(error).__name__ == "ModuleNotFoundError" and getattr(error, "name", None) == "jax"
        emit({"status": "not-installed" if missing else "import-error", "error": describe(error)})
        return
    except Exception as error:  # noqa: BLE001 - a plugin that fails as jax loads it raises anything
        emit({"status": "import-error", "error": describe(error)})
        return
    answer = {"status": "ok", "version": str(getattr(jax, "__version__", "")) or None, "cuda_plugins": cuda_plugins()}
    try:
        devices = jax.devices()
        answer["backend"] = str(jax.default_backend())
        answer["devices"] = [{"platform": str(device.platform), "device_kind": str(device.device_kind)}
                             for device in devices]
    except Exception as error:  # noqa: BLE001 - no backend at all (JAX_PLATFORMS=cuda without a GPU)
        answer["status"] = "import-error"
        answer["error"] = describe(error)
    answer["cuda_error"] = cuda_error(kept)
    emit(answer)


main()
