"""A jax that answers as JAX 0.10 with its jax-cuda13-plugin does on a host with one H100 (same names, same return
shapes: devices of platform "gpu"), for the GPU side of the deep probe on a machine without a GPU.

FAKE_JAX_CUDA=fallback answers as JAX does when the plugin cannot start: it records and logs why, and falls back
to the CPU.
"""

from jax._src import xla_bridge

__version__ = "0.10.2"


def devices():
    return list(xla_bridge.backends())


def default_backend():
    return devices()[0].platform
