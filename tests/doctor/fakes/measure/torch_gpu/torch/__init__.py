"""A fake torch with CUDA: the calls setupkit's measurement child makes, each sleeping as long as a card of
FAKE_GPU_RATES would take (TFLOP/s by precision, GB/s for copies)."""

import json
import os
import time

__version__ = "2.13.0+cu130"
RATES = {"fp32": 50.0, "tf32": 400.0, "bf16": 700.0, "fp16": 700.0, "copy": 3000.0, "h2d": 50.0, "d2h": 50.0,
         **json.loads(os.environ.get("FAKE_GPU_RATES", "{}"))}


class dtype:
    def __init__(self, name, size):
        self.name, self.itemsize = name, size


float32, bfloat16, float16, uint8 = dtype("fp32", 4), dtype("bf16", 2), dtype("fp16", 2), dtype("uint8", 1)


class device:
    def __init__(self, kind, index=0):
        self.type, self.index = kind, index


class Tensor:
    def __init__(self, shape, dtype, device=None, pinned=False):
        self.shape, self.dtype, self.device, self.pinned = tuple(shape), dtype, device, pinned

    def numel(self):
        count = 1
        for size in self.shape:
            count *= size
        return count

    def pin_memory(self):
        return Tensor(self.shape, self.dtype, self.device, pinned=True)

    def copy_(self, source, non_blocking=False):
        nbytes = self.numel() * self.dtype.itemsize
        if self.device is not None and source.device is not None:
            time.sleep(2 * nbytes / (RATES["copy"] * 1e9))
        elif self.device is not None:
            time.sleep(nbytes / (RATES["h2d"] * 1e9))
        else:
            time.sleep(nbytes / (RATES["d2h"] * 1e9))
        return self


def _shape(size):
    return size if isinstance(size, tuple) else (size,)


def ones(size, dtype=float32, device=None):
    return Tensor(_shape(size), dtype, device)


empty = ones


def empty_like(tensor):
    return Tensor(tensor.shape, tensor.dtype, tensor.device)


def matmul(a, b):
    n = a.shape[0]
    precision = "tf32" if a.dtype is float32 and backends.cuda.matmul.allow_tf32 else a.dtype.name
    time.sleep(2.0 * n ** 3 / (RATES[precision] * 1e12))
    return Tensor((n, b.shape[1]), a.dtype, a.device)


class _Matmul:
    allow_tf32 = False


class _CudaBackend:
    matmul = _Matmul()


class backends:
    cuda = _CudaBackend()


class _Properties:
    def __init__(self, index):
        self.name = cuda.get_device_name(index)
        self.major, self.minor = cuda.get_device_capability(index)
        self.total_memory = 80 << 30
        self.pci_bus_id, self.pci_device_id, self.pci_domain_id = 0x18 + index, 0, 0


class cuda:
    @staticmethod
    def is_available():
        return True

    @staticmethod
    def device_count():
        return int(os.environ.get("FAKE_GPU_COUNT", "1"))

    @staticmethod
    def get_device_name(index=0):
        return os.environ.get("FAKE_GPU_NAME", "NVIDIA H100 80GB HBM3")

    @staticmethod
    def get_device_capability(index=0):
        return (9, 0)

    @staticmethod
    def get_device_properties(index=0):
        return _Properties(index)

    @staticmethod
    def mem_get_info(device=None):
        return (78 << 30, 80 << 30)

    @staticmethod
    def synchronize(device=None):
        return None
