"""A fake CuPy with one GPU: the calls setupkit's measurement child makes, each sleeping as long as a card of
FAKE_GPU_RATES would take."""

import json
import os
import time

__version__ = "13.6.0"
RATES = {"fp32": 25.0, "fp16": 100.0, "copy": 270.0, "h2d": 20.0, "d2h": 20.0,
         **json.loads(os.environ.get("FAKE_GPU_RATES", "{}"))}
float32, float16, uint8 = ("fp32", 4), ("fp16", 2), ("uint8", 1)


class ndarray:
    def __init__(self, shape, dtype, on_device=True):
        self.shape = shape if isinstance(shape, tuple) else (shape,)
        self.dtype, self.on_device = dtype, on_device

    @property
    def size(self):
        count = 1
        for size in self.shape:
            count *= size
        return count

    @property
    def nbytes(self):
        return self.size * self.dtype[1]

    def __setitem__(self, key, value):
        pass

    def set(self, host):
        time.sleep(host.nbytes / (RATES["h2d"] * 1e9))

    def get(self, out=None):
        time.sleep(self.nbytes / (RATES["d2h"] * 1e9))
        return out


def ones(shape, dtype=float32):
    return ndarray(shape, dtype)


empty = ones


def empty_like(array):
    return ndarray(array.shape, array.dtype)


def matmul(a, b):
    n = a.shape[0]
    time.sleep(2.0 * n ** 3 / (RATES[a.dtype[0]] * 1e12))
    return ndarray((n, b.shape[1]), a.dtype)


def copyto(target, source):
    time.sleep(2 * source.nbytes / (RATES["copy"] * 1e9))


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return 1

    @staticmethod
    def getDeviceProperties(index):
        return {"name": os.environ.get("FAKE_GPU_NAME", "NVIDIA L4").encode(), "major": 8, "minor": 9}

    @staticmethod
    def memGetInfo():
        return (22 << 30, 24 << 30)

    @staticmethod
    def deviceGetPCIBusId(index):
        return "0000:01:00.0"


class _Device:
    def __init__(self, index=0):
        self.id = index

    def use(self):
        pass

    def synchronize(self):
        pass


class cuda:
    runtime = _Runtime()
    Device = _Device
