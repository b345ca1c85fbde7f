"""The level-2 measurement child, run as ``python -c <this file's text> <request json>`` in its own process
(probes/measure.py, for `setupkit doctor --level 2` and `setupkit snapshot --level 2`).

The request names one device: ``{"device": "cpu", "budget": 20}`` or ``{"device": "gpu", "index": 0, "budget":
20}``. The child measures it within ``budget`` seconds and prints one line, ``SETUPKIT-MEASURE {json}``, on
stdout:

- CPU: matrix-multiply GFLOP/s with numpy's BLAS on float32 and float64 square matrices sized to the budget
  (best of several runs after a warm-up), and memory bandwidth from a large array copy (bytes read + written).
- GPU: through the first of torch, jax, cupy, tensorflow that imports and sees a GPU: matrix-multiply TFLOP/s in
  fp32, tf32, bf16 and fp16 where the card has them, device-to-device copy bandwidth (bytes read + written),
  host-to-device and device-to-host bandwidth from pinned memory (where the framework can pin), and the PCIe link
  NVML reports while the host copies run (links train down at idle).

A framework may crash the interpreter or hang: the parent bounds the child with a timeout and reads a crash as a
finding. It imports nothing from setupkit.
"""

import json
import os
import sys
import time

MARKER = "SETUPKIT-MEASURE "
ERROR_CHARS = 400


def emit(result):
    sys.stdout.write(MARKER + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def short(error):
    return f"{type(error).__name__}: {error}"[:ERROR_CHARS]


class Clock:
    """The budget of the whole run, shared out between the measurements."""

    def __init__(self, budget):
        self.start = time.perf_counter()
        self.budget = budget

    def left(self):
        return self.budget - (time.perf_counter() - self.start)

    def share(self, fraction):
        return max(self.left() * fraction, 0.05)


def best_time(run, seconds, most=8):
    """The fastest of repeated calls of ``run`` (which returns its own duration), after one warm-up call, within
    about ``seconds``; at least one timed call."""
    deadline = time.perf_counter() + seconds
    run()
    times: list = []
    while not times or (len(times) < most and time.perf_counter() < deadline):
        times.append(run())
    return min(times), len(times)


# -- CPU ---------------------------------------------------------------------------------------------------------

CPU_MAX_N = {"float32": 4096, "float64": 3072}
CPU_COPY_BYTES = (64 << 20, 512 << 20)
"""Bytes of the copied array: at least 64 MiB, at most 512 MiB, aiming at 4 x the last-level cache."""


def cpu_threads():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


CPU_RUN_SECONDS = 0.3
"""One product of about this long is large enough for a BLAS to reach its speed."""


def cpu_matmul(np, dtype, seconds):
    """GFLOP/s of ``a @ b`` on n x n matrices, n grown until one product takes about CPU_RUN_SECONDS (less where
    the budget is short)."""
    n, limit = 256, CPU_MAX_N[dtype]
    target = min(seconds / 10, CPU_RUN_SECONDS)
    sizing_ends = time.perf_counter() + seconds / 3
    while True:
        a = np.ones((n, n), dtype=dtype)
        b = np.full((n, n), 0.5, dtype=dtype)
        started = time.perf_counter()
        a @ b
        took = time.perf_counter() - started
        if took >= target or n >= limit or time.perf_counter() > sizing_ends:
            break
        n = min(limit, n * 2 if took < target / 8 else n + n // 2)

    def run():
        started = time.perf_counter()
        a @ b
        return time.perf_counter() - started

    best, runs = best_time(run, seconds, most=6)
    return {"value": 2.0 * n ** 3 / best / 1e9, "unit": "GFLOP/s", "n": n, "runs": runs}


def cache_bytes():
    """The largest CPU cache, so that the copied array is well past it (sysconf knows it on some systems, sysfs
    on Linux)."""
    sizes = []
    for name in ("SC_LEVEL3_CACHE_SIZE", "SC_LEVEL2_CACHE_SIZE"):
        try:
            sizes.append(int(os.sysconf(name) or 0))
        except (ValueError, OSError):
            pass
    folder = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = os.listdir(folder)
    except OSError:
        entries = []
    for entry in entries:
        try:
            with open(f"{folder}/{entry}/size") as handle:
                text = handle.read().strip().upper()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes, default=0)


def cpu_copy(np, seconds, threads):
    """GB/s of copying one large array into another, counting the bytes read and the bytes written: on one
    thread and, where there are several, on all of them at once (the better of the two)."""
    import threading

    low, high = CPU_COPY_BYTES
    # Filling and copying the largest arrays takes about a second on a slow machine: only with time for it.
    nbytes = min(high if seconds >= 3 else low, max(low, 4 * cache_bytes()))
    source = np.ones(nbytes // 8)
    target = np.empty_like(source)
    results = {}
    for count in sorted({1, threads}):
        bounds = [(len(source) * k // count, len(source) * (k + 1) // count) for k in range(count)]

        def part(low_index, high_index):
            np.copyto(target[low_index:high_index], source[low_index:high_index])

        def run(bounds=bounds):
            workers = [threading.Thread(target=part, args=bound) for bound in bounds]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            return time.perf_counter() - started

        best, _runs = best_time(run, seconds / 2, most=6)
        results[count] = 2.0 * source.nbytes / best / 1e9
    used = max(results, key=lambda count: results[count])
    return {"value": results[used], "unit": "GB/s", "bytes": int(source.nbytes), "threads": int(used)}


def measure_cpu(clock):
    try:
        import numpy as np
    except ImportError as error:
        status = "not-installed" if type(error).__name__ == "ModuleNotFoundError" else "import-error"
        return {"status": status, "error": short(error)}
    threads = cpu_threads()
    result = {"status": "ok", "numpy": np.__version__, "blas": blas_name(np), "threads": threads, "matmul": {}}
    for dtype, fraction in (("float32", 0.35), ("float64", 0.5)):
        result["matmul"][dtype] = cpu_matmul(np, dtype, clock.share(fraction))
    result["copy"] = cpu_copy(np, clock.share(0.9), threads)
    return result


def blas_name(np):
    try:
        return str(np.__config__.CONFIG["Build Dependencies"]["blas"]["name"])
    except Exception:  # noqa: BLE001 - numpy before 1.26 has no CONFIG; the name is a courtesy
        return None


# -- GPU ---------------------------------------------------------------------------------------------------------

GPU_SIZES = (8192, 4096, 2048)
"""Square matrix sizes tried, largest first: 8192 fills an H100's tensor cores; a smaller one is used when the
card lacks the memory or the budget."""
GPU_COPY_BYTES = 1 << 30
HOST_COPY_BYTES = 256 << 20
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")


def precisions(capability):
    """The precisions a card of compute capability (major, minor) has tensor cores or units for: tf32 and bf16
    from Ampere (8.0), fp16 tensor cores from Volta (7.0); fp32 everywhere."""
    major = capability[0] if capability else 0
    wanted = ["fp32"]
    if major >= 8:
        wanted += ["tf32", "bf16"]
    if major >= 7:
        wanted.append("fp16")
    return wanted


class Synchronised:
    """A framework whose GPU work is asynchronous until its stream is synchronised: a timer that waits for it."""

    def sync(self):
        raise NotImplementedError

    def timer(self, work):
        def run():
            started = time.perf_counter()
            work()
            self.sync()
            return time.perf_counter() - started
        return run


class Torch(Synchronised):
    name = "torch"

    def __init__(self, index):
        import torch

        self.torch = torch
        self.version = torch.__version__
        if not torch.cuda.is_available():
            raise LookupError(f"torch {self.version} sees no GPU")
        self.count = torch.cuda.device_count()
        self.device = torch.device("cuda", index)
        self.index = index
        self.device_name = torch.cuda.get_device_name(index)
        self.capability = tuple(torch.cuda.get_device_capability(index))

    def sync(self):
        self.torch.cuda.synchronize(self.device)

    def free_bytes(self):
        return self.torch.cuda.mem_get_info(self.device)[0]

    def matmul(self, precision, n):
        torch = self.torch
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        dtype = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
        a = torch.ones((n, n), dtype=dtype[precision], device=self.device)
        b = torch.ones((n, n), dtype=dtype[precision], device=self.device)
        return self.timer(lambda: torch.matmul(a, b))

    def copy(self, nbytes):
        source = self.torch.ones(nbytes, dtype=self.torch.uint8, device=self.device)
        target = self.torch.empty_like(source)
        return self.timer(lambda: target.copy_(source)), int(source.numel())

    def transfers(self, nbytes):
        host = self.torch.ones(nbytes, dtype=self.torch.uint8).pin_memory()
        device = self.torch.empty(nbytes, dtype=self.torch.uint8, device=self.device)
        to_device = self.timer(lambda: device.copy_(host, non_blocking=True))
        to_host = self.timer(lambda: host.copy_(device, non_blocking=True))
        return to_device, to_host, True

    def pci_bus_id(self):
        properties = self.torch.cuda.get_device_properties(self.index)
        bus = getattr(properties, "pci_bus_id", None)
        if bus is None:
            return None
        domain, slot = getattr(properties, "pci_domain_id", 0), getattr(properties, "pci_device_id", 0)
        return f"{domain:08x}:{bus:02x}:{slot:02x}.0"


class Cupy(Synchronised):
    name = "cupy"

    def __init__(self, index):
        import cupy

        self.cupy = cupy
        self.version = cupy.__version__
        self.count = cupy.cuda.runtime.getDeviceCount()
        if self.count < 1:
            raise LookupError(f"cupy {self.version} sees no GPU")
        self.index = index
        self.device = cupy.cuda.Device(index)
        self.device.use()
        properties = cupy.cuda.runtime.getDeviceProperties(index)
        name = properties.get("name", b"")
        self.device_name = name.decode() if isinstance(name, bytes) else str(name)
        self.capability = (int(properties.get("major", 0)), int(properties.get("minor", 0)))

    def sync(self):
        self.device.synchronize()

    def free_bytes(self):
        return self.cupy.cuda.runtime.memGetInfo()[0]

    def supports(self, precision):
        # CuPy has no bfloat16 dtype, and TF32 is chosen by CUPY_TF32 before import, not per call.
        return precision in ("fp32", "fp16")

    def matmul(self, precision, n):
        dtype = {"fp32": self.cupy.float32, "fp16": self.cupy.float16}[precision]
        a = self.cupy.ones((n, n), dtype=dtype)
        b = self.cupy.ones((n, n), dtype=dtype)
        return self.timer(lambda: self.cupy.matmul(a, b))

    def copy(self, nbytes):
        source = self.cupy.ones(nbytes, dtype=self.cupy.uint8)
        target = self.cupy.empty_like(source)
        return self.timer(lambda: self.cupy.copyto(target, source)), int(source.size)

    def transfers(self, nbytes):
        import cupyx

        host = cupyx.empty_pinned((nbytes,), dtype=self.cupy.uint8)
        host[...] = 1
        device = self.cupy.empty(nbytes, dtype=self.cupy.uint8)
        to_device = self.timer(lambda: device.set(host))
        to_host = self.timer(lambda: device.get(out=host))
        return to_device, to_host, True

    def pci_bus_id(self):
        try:
            return str(self.cupy.cuda.runtime.deviceGetPCIBusId(self.index))
        except Exception:  # noqa: BLE001 - the bus id only picks the NVML handle; the index is the fallback
            return None


class Jax:
    name = "jax"

    def __init__(self, index):
        import jax

        self.jax = jax
        self.version = jax.__version__
        try:
            devices = jax.devices("gpu")
        except RuntimeError as error:
            raise LookupError(f"jax {self.version} sees no GPU ({str(error)[:100]})") from None
        self.count = len(devices)
        self.device = devices[index]
        self.index = index
        self.device_name = getattr(self.device, "device_kind", "GPU")
        capability = str(getattr(self.device, "compute_capability", "0.0")).split(".")
        self.capability = (int(capability[0]), int(capability[1]) if len(capability) > 1 else 0)

    def free_bytes(self):
        stats = self.device.memory_stats() or {}
        return stats.get("bytes_limit", 0) - stats.get("bytes_in_use", 0)

    def timer(self, work):
        def run():
            started = time.perf_counter()
            work().block_until_ready()
            return time.perf_counter() - started
        return run

    def matmul(self, precision, n):
        jax = self.jax
        jnp = jax.numpy
        dtype = {"fp32": jnp.float32, "tf32": jnp.float32, "bf16": jnp.bfloat16, "fp16": jnp.float16}[precision]
        exact = jax.lax.Precision.HIGHEST if precision == "fp32" else jax.lax.Precision.DEFAULT
        a = jax.device_put(jnp.ones((n, n), dtype=dtype), self.device)
        product = jax.jit(lambda x: jnp.matmul(x, x, precision=exact))
        return self.timer(lambda: product(a))

    def copy(self, nbytes):
        jax = self.jax
        source = jax.device_put(jax.numpy.ones(nbytes, dtype=jax.numpy.uint8), self.device)
        # An XLA copy that cannot be elided: every byte read once and written once.
        copied = jax.jit(lambda x: x ^ 1)
        return self.timer(lambda: copied(source)), nbytes

    def transfers(self, nbytes):
        import numpy as np

        host = np.ones(nbytes, dtype=np.uint8)
        device = self.jax.device_put(host, self.device)
        device.block_until_ready()

        def to_device():
            started = time.perf_counter()
            self.jax.device_put(host, self.device).block_until_ready()
            return time.perf_counter() - started

        def to_host():
            started = time.perf_counter()
            np.asarray(device + 0)
            return time.perf_counter() - started

        return to_device, to_host, False

    def pci_bus_id(self):
        return None


class TensorFlow:
    name = "tensorflow"

    def __init__(self, index):
        import tensorflow as tf

        self.tf = tf
        self.version = tf.__version__
        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            raise LookupError(f"tensorflow {self.version} sees no GPU")
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except Exception:  # noqa: BLE001 - growth is a courtesy to other processes
                pass
        self.count = len(gpus)
        self.index = index
        self.place = f"/GPU:{index}"
        details = tf.config.experimental.get_device_details(gpus[index])
        self.device_name = details.get("device_name", "GPU")
        self.capability = tuple(details.get("compute_capability", (0, 0)))

    def free_bytes(self):
        return 1 << 40  # TensorFlow does not say; its allocator grows until the card is full

    def timer(self, work):
        def run():
            started = time.perf_counter()
            with self.tf.device(self.place):
                result = work()
            result.numpy().ravel()[:1]
            return time.perf_counter() - started
        return run

    def matmul(self, precision, n):
        tf = self.tf
        tf.config.experimental.enable_tensor_float_32_execution(precision == "tf32")
        dtype = {"fp32": tf.float32, "tf32": tf.float32, "bf16": tf.bfloat16, "fp16": tf.float16}[precision]
        with tf.device(self.place):
            a = tf.ones((n, n), dtype=dtype)
        # The sum brings back one number, so that the timer waits for the product without copying it out.
        return self.timer(lambda: tf.reduce_sum(tf.linalg.matmul(a, a)[:1, :1]))

    def copy(self, nbytes):
        tf = self.tf
        with tf.device(self.place):
            source = tf.ones((nbytes // 4,), dtype=tf.float32)
        return self.timer(lambda: tf.reduce_sum((source + 0.0)[:1])), (nbytes // 4) * 4

    def transfers(self, nbytes):
        import numpy as np

        tf = self.tf
        host = np.ones(nbytes, dtype=np.uint8)
        with tf.device(self.place):
            device = tf.constant(host)

        def to_device():
            started = time.perf_counter()
            with tf.device(self.place):
                tf.reduce_sum(tf.constant(host)[:1]).numpy()
            return time.perf_counter() - started

        def to_host():
            started = time.perf_counter()
            device.numpy()
            return time.perf_counter() - started

        return to_device, to_host, False

    def pci_bus_id(self):
        return None


FRAMEWORKS = (("torch", Torch), ("jax", Jax), ("cupy", Cupy), ("tensorflow", TensorFlow))


def open_framework(index):
    """The first framework that imports and sees a GPU, and what each one before it said."""
    tried: list = []
    for name, framework in FRAMEWORKS:
        try:
            return framework(index), tried
        except ImportError as error:
            tried.append(f"{name}: not installed" if type(error).__name__ == "ModuleNotFoundError"
                         else f"{name}: {short(error)}")
        except LookupError as error:
            tried.append(str(error.args[0]) if error.args else f"{name} sees no GPU")
        except IndexError:
            tried.append(f"{name}: there is no GPU {index}")
        except Exception as error:  # noqa: BLE001 - a framework that fails to start is reported, the next tried
            tried.append(f"{name}: {short(error)}")
    return None, tried


def gpu_matmul(framework, precision, clock, seconds):
    """TFLOP/s of one precision on the largest square size that fits the card and the time left."""
    free = framework.free_bytes()
    element = 4 if precision in ("fp32", "tf32") else 2
    for n in GPU_SIZES:
        if 3 * n * n * element <= free / 2:
            break
    run = framework.matmul(precision, n)
    best, runs = best_time(run, seconds, most=20)
    return {"value": 2.0 * n ** 3 / best / 1e12, "unit": "TFLOP/s", "n": n, "runs": runs}


def gpu_copy(framework, seconds):
    nbytes = int(min(GPU_COPY_BYTES, max(framework.free_bytes() // 4, 1 << 20)))
    run, copied = framework.copy(nbytes)
    best, runs = best_time(run, seconds, most=20)
    return {"value": 2.0 * copied / best / 1e9, "unit": "GB/s", "bytes": copied, "runs": runs}


def gpu_transfers(framework, seconds, link):
    """Host-to-device and device-to-host GB/s, the link read by NVML halfway through the copies."""
    to_device, to_host, pinned = framework.transfers(HOST_COPY_BYTES)
    found = {}
    for name, run in (("host_to_device", to_device), ("device_to_host", to_host)):
        def loaded(run=run):
            took = run()
            if "pcie" not in found:
                found["pcie"] = link()
            return took
        best, runs = best_time(loaded, seconds / 2, most=10)
        found[name] = {"value": HOST_COPY_BYTES / best / 1e9, "unit": "GB/s", "bytes": HOST_COPY_BYTES,
                       "runs": runs, "pinned": pinned}
    return found


def nvml_link(framework):
    """A function that reads the GPU's PCIe link now (gen, width, and their maxima) through NVML; its answer
    says why where NVML cannot tell."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as error:  # noqa: BLE001 - no NVML: the link stays unknown, the measurement goes on
        message = short(error)
        return lambda: {"error": f"NVML: {message}"}
    handle = None
    bus = framework.pci_bus_id()
    try:
        handle = pynvml.nvmlDeviceGetHandleByPciBusId(bus) if bus else None
    except Exception:  # noqa: BLE001 - fall back to the index
        handle = None
    if handle is None:
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(framework.index)
        except Exception as error:  # noqa: BLE001
            message = short(error)
            return lambda: {"error": f"NVML: {message}"}

    def read():
        link: dict = {}
        for key, call in (("gen", "nvmlDeviceGetCurrPcieLinkGeneration"), ("width", "nvmlDeviceGetCurrPcieLinkWidth"),
                          ("max_gen", "nvmlDeviceGetMaxPcieLinkGeneration"),
                          ("max_width", "nvmlDeviceGetMaxPcieLinkWidth")):
            try:
                link[key] = int(getattr(pynvml, call)(handle))
            except Exception:  # noqa: BLE001 - one field unreadable, the rest still tell
                link[key] = None
        return link

    return read


def measure_gpu(index, clock):
    framework, tried = open_framework(index)
    if framework is None:
        return {"status": "no-framework", "error": "; ".join(tried) or "no framework tried"}
    result = {"status": "ok", "framework": framework.name, "version": framework.version, "tried": tried,
              "device_count": framework.count, "index": index, "name": framework.device_name,
              "capability": list(framework.capability), "matmul": {}}
    wanted = [p for p in precisions(framework.capability)
              if getattr(framework, "supports", lambda precision: True)(p)]
    errors = {}
    for number, precision in enumerate(wanted):
        try:
            result["matmul"][precision] = gpu_matmul(framework, precision, clock,
                                                     clock.share(0.6 / (len(wanted) - number)))
        except Exception as error:  # noqa: BLE001 - one precision failing does not hide the others
            errors[f"matmul.{precision}"] = short(error)
    try:
        result["copy"] = gpu_copy(framework, clock.share(0.3))
    except Exception as error:  # noqa: BLE001
        errors["copy"] = short(error)
    try:
        result.update(gpu_transfers(framework, clock.share(0.8), nvml_link(framework)))
    except Exception as error:  # noqa: BLE001
        errors["transfers"] = short(error)
    if errors:
        result["errors"] = errors
    return result


def main():
    try:
        request = json.loads(sys.argv[1])
        budget = float(request.get("budget", 20))
    except (IndexError, ValueError, TypeError, AttributeError) as error:
        emit({"status": "bad-request", "error": short(error)})
        return
    clock = Clock(budget)
    if request.get("device") == "gpu":
        result = measure_gpu(int(request.get("index", 0)), clock)
    else:
        result = measure_cpu(clock)
    result["seconds"] = round(time.perf_counter() - clock.start, 3)
    emit(result)


main()
