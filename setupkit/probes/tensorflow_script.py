"""The deep TensorFlow probe's child, run as ``python -c <this file's text>`` in its own process (probes/tensorflow.py,
for `setupkit doctor --deep` and `setupkit snapshot --deep`).

It imports TensorFlow (which may crash the interpreter: SIGILL on a CPU without AVX), then prints one line,
``SETUPKIT-TFPROBE {json}``, on stdout: the version, whether it was built with CUDA, the CUDA/cuDNN of its build,
the GPUs it lists and one small matmul placed on the CPU and on each GPU. TensorFlow's own log (the CPU
instruction line) goes to stderr, which the parent reads. It imports nothing from setupkit.
"""

import json
import sys

MARKER = "SETUPKIT-TFPROBE "


def emit(result):
    sys.stdout.write(MARKER + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def small_matmul(tf, device):
    """One 64x64 matmul pinned to ``device``; where it ran, or the error."""
    try:
        with tf.device(device):
            a = tf.random.uniform((64, 64))
            product = tf.linalg.matmul(a, a)
            total = float(tf.reduce_sum(product).numpy())
        return {"device": device, "ok": total == total, "placed_on": product.device}
    except Exception as error:  # noqa: BLE001 - any failure of the op is the finding
        return {"device": device, "ok": False, "error": f"{type(error).__name__}: {error}"[:400]}


def build_info(tf):
    try:
        info = dict(tf.sysconfig.get_build_info())
    except Exception:  # noqa: BLE001 - older releases lack it
        return {}
    return {"cuda_version": info.get("cuda_version"), "cudnn_version": info.get("cudnn_version")}


def main():
    try:
        import tensorflow as tf
    except ImportError as error:
        emit({"status": "not-installed" if type(error).__name__ == "ModuleNotFoundError" else "import-error",
              "error": f"{type(error).__name__}: {error}"[:600]})
        return
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except Exception:  # noqa: BLE001 - growth is a courtesy to other processes, not required
            pass
    names = [gpu.name.replace("physical_device:", "") for gpu in gpus]
    emit({"status": "ok", "version": tf.__version__, "built_with_cuda": bool(tf.test.is_built_with_cuda()),
          **build_info(tf), "gpus": names, "cpu_op": small_matmul(tf, "/CPU:0"),
          "gpu_ops": [small_matmul(tf, name) for name in names]})


main()
