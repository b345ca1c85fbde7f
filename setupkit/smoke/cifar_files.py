"""Read the two official CIFAR-10 layouts into uint8 arrays, checking them as untrusted input.

``cifar-10-batches-py``: pickled dicts with ``b'data'`` (N x 3072 uint8: 1024 red, 1024 green, 1024 blue values,
each plane row-major) and ``b'labels'``. ``cifar-10-batches-bin``: records of 1 label byte + 3072 pixel bytes.

Size rule: an official batch holds 10,000 records (a .bin file of exactly 30,730,000 bytes), and no batch may
hold more: a file's size is checked before it is read, so a sparse 2 GB file costs nothing. Smaller folders
(a subset, or test files) are accepted when every batch is a whole number of records, at least one, and all
batches of the folder hold the same number of records; so a file cut short, on a record boundary or not, is
refused. Any label above 9 is refused. Every error names the file and exits 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from setupkit.bounded import BoundError, read_regular_file
from setupkit.errors import PreconditionError
from setupkit.smoke.safe_pickle import MAX_RECORDS, PIXELS, load_batch

RECORD = 1 + PIXELS
OFFICIAL_RECORDS = MAX_RECORDS
TRAIN_BATCHES = 5


@dataclass
class Split:
    images: np.ndarray
    """uint8, N x 32 x 32 x 3 (channels last)."""
    labels: np.ndarray
    """uint8, N."""


def to_channels_last(flat: np.ndarray) -> np.ndarray:
    """N x 3072 channel planes -> N x 32 x 32 x 3, as one view-then-copy (no Python loop over images)."""
    return np.ascontiguousarray(flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def check_labels(labels: np.ndarray, path: Path) -> None:
    if labels.size and int(labels.max()) > 9:
        raise PreconditionError(f"{path}: malformed CIFAR-10 batch: label {int(labels.max())} is not a class 0-9")


def read_binary_batch(path: Path) -> Split:
    """One ``*.bin`` batch: at most 10,000 whole 3073-byte records (its size checked before it is read), read
    with one ``frombuffer``."""
    try:
        raw = read_regular_file(path, OFFICIAL_RECORDS * RECORD)
    except BoundError as error:
        raise PreconditionError(f"{path}: not a CIFAR-10 binary batch: it {error} (an official batch is "
                                f"{OFFICIAL_RECORDS:,} records of {RECORD} bytes)") from None
    if not raw or len(raw) % RECORD:
        raise PreconditionError(f"{path}: malformed CIFAR-10 binary batch: {len(raw)} bytes is not a whole number "
                                f"of {RECORD}-byte records (an official batch is {OFFICIAL_RECORDS * RECORD:,} bytes)")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].copy()
    check_labels(labels, path)
    return Split(to_channels_last(records[:, 1:]), labels)


def read_python_batch(path: Path) -> Split:
    """One pickled batch, through the restricted unpickler (which checks its structure and bounds)."""
    data, labels = load_batch(path)
    return Split(to_channels_last(data), np.array(labels, dtype=np.uint8))


@dataclass(frozen=True)
class Layout:
    source: str
    train_names: tuple[str, ...]
    test_name: str
    reader: Callable[[Path], Split]


PYTHON = Layout("cifar-10-python", tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", read_python_batch)
BINARY = Layout("cifar-10-binary", tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin",
                read_binary_batch)


def read_folder(folder: Path, layout: Layout) -> tuple[Split, Split]:
    """The training batches present (data_batch_1 at least) and the test batch of one layout's folder."""
    names = [name for name in layout.train_names if (folder / name).exists()]
    for required in (layout.train_names[0], layout.test_name):
        if not (folder / required).exists():
            raise PreconditionError(f"{folder / required}: missing; a CIFAR-10 folder holds "
                                    f"{', '.join(layout.train_names)} and {layout.test_name}")
    batches = {folder / name: layout.reader(folder / name) for name in [*names, layout.test_name]}
    _check_same_size(batches)
    train = [batches[folder / name] for name in names]
    return Split(np.concatenate([b.images for b in train]), np.concatenate([b.labels for b in train])), \
        batches[folder / layout.test_name]


def _check_same_size(batches: dict[Path, Split]) -> None:
    """All batches of a folder hold as many records as the largest: a shorter one was cut."""
    largest = max(len(split.labels) for split in batches.values())
    for path, split in batches.items():
        if len(split.labels) != largest:
            raise PreconditionError(f"{path}: truncated CIFAR-10 batch: {len(split.labels)} records where the "
                                    f"folder's other batches hold {largest}")
