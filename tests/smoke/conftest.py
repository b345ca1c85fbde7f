"""Helpers of the smoke-test tests: small CIFAR-10 folders written in the official formats.

The Python batches are pickled the way the official files were (Python 2's cPickle, protocol 2): every string
is a byte string (SHORT_BINSTRING / BINSTRING opcodes), and the only globals are numpy.core.multiarray
._reconstruct, numpy.ndarray and numpy.dtype.
"""

from __future__ import annotations

import functools
import os
import pickle
import struct
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

PY2_MODULES = {"_reconstruct": "numpy.core.multiarray", "ndarray": "numpy", "dtype": "numpy"}


class Py2Pickler(pickle._Pickler):
    """Writes what Python 2 wrote: str and bytes as byte strings, numpy's globals under their Python 2 names."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_string(self, obj):
        raw = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = save_py2_string
    dispatch[str] = save_py2_string

    def save_global(self, obj, name=None):
        name = name or obj.__name__
        self.write(pickle.GLOBAL + PY2_MODULES[name].encode() + b"\n" + name.encode() + b"\n")
        self.memoize(obj)

    dispatch[type] = save_global


def py2_pickle(obj) -> bytes:
    import io

    stream = io.BytesIO()
    Py2Pickler(stream, protocol=2).dump(obj)
    return stream.getvalue()


@functools.lru_cache(maxsize=4)
def _learnable(total: int):
    from setupkit.smoke.synthetic import synthetic_cifar

    train, _ = synthetic_cifar(0, train_images=total, test_images=1)
    return train


def fake_images(count: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Batch ``index`` (of 6) as (N x 3072 uint8 channel planes, labels): learnable class patterns, one set of
    classes for every batch (the synthetic generator's)."""
    train = _learnable(count * 6)
    images, labels = train.images[index * count:(index + 1) * count], train.labels[index * count:(index + 1) * count]
    planes = images.transpose(0, 3, 1, 2).reshape(count, 3072)
    return np.ascontiguousarray(planes), labels.copy()


BATCH_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def write_python_folder(folder: Path, per_batch: int = 64, batches: list[str] | None = None) -> Path:
    """cifar-10-batches-py with the official keys: b'batch_label', b'labels', b'data', b'filenames'."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(batches or BATCH_NAMES):
        data, labels = fake_images(per_batch, index)
        batch = {b"batch_label": f"training batch {index + 1} of 5".encode(), b"labels": [int(x) for x in labels],
                 b"data": data, b"filenames": [f"image_{index}_{i}.png".encode() for i in range(per_batch)]}
        (folder / name).write_bytes(py2_pickle(batch))
    (folder / "batches.meta").write_bytes(py2_pickle({b"label_names": [b"airplane", b"automobile"]}))
    return folder


def write_binary_folder(folder: Path, per_batch: int = 64) -> Path:
    """cifar-10-batches-bin: records of <1 label byte><3072 pixel bytes>."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(BATCH_NAMES):
        data, labels = fake_images(per_batch, index)
        records = np.concatenate([labels[:, None], data], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())
    return folder


@pytest.fixture(scope="session")
def cifar():
    """The writers above, for the test modules (pytest's importlib mode keeps conftest out of their imports)."""
    return types.SimpleNamespace(py2_pickle=py2_pickle, fake_images=fake_images,
                                 write_python_folder=write_python_folder, write_binary_folder=write_binary_folder)


@pytest.fixture
def python_folder(tmp_path) -> Path:
    return write_python_folder(tmp_path / "cifar-10-batches-py")


@pytest.fixture
def binary_folder(tmp_path) -> Path:
    return write_binary_folder(tmp_path / "cifar-10-batches-bin")


@pytest.fixture(scope="session")
def smoke_cli():
    """``setupkit smoke-test ARGS`` in a subprocess, like the shared run_setupkit fixture, but usable from
    module-scoped fixtures (so that one training run serves several tests)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ, NO_COLOR="1", COLUMNS="100", **(env or {}))
        return subprocess.run([sys.executable, "-m", "setupkit", "smoke-test", *args], capture_output=True,
                              text=True, timeout=timeout, env=full_env)

    return run
