"""The fake CuPy's pinned host memory."""

import cupy


def empty_pinned(shape, dtype=cupy.float32):
    return cupy.ndarray(shape, dtype, on_device=False)
