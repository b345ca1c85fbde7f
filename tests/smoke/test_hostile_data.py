"""Hostile CIFAR-10 data, through the real CLI: each small file that would build gigabytes, hang or crash is
refused with exit 3 and one line, in seconds, under a 1 GiB address-space limit and a few hundred MiB of RSS.

The pickles are written opcode by opcode (pickletools documents each), so that each differs from a valid
batch in one thing only; ``test_the_hand_written_batch_is_valid`` proves the valid one loads.
"""

from __future__ import annotations

import os
import struct
import sys

import numpy as np
import pytest

from setupkit.errors import PreconditionError
from setupkit.smoke import cifar_files, safe_pickle

PROTO, STOP, MARK = b"\x80\x02", b".", b"("
EMPTY_DICT, EMPTY_LIST, SETITEMS, SETITEM, APPENDS = b"}", b"]", b"u", b"s", b"e"
TUPLE1, TUPLE2, TUPLE3, TUPLE, REDUCE, BUILD = b"\x85", b"\x86", b"\x87", b"t", b"R", b"b"
NONE, NEWFALSE = b"N", b"\x89"
RECONSTRUCT = b"cnumpy.core.multiarray\n_reconstruct\n"
NDARRAY, DTYPE = b"cnumpy\nndarray\n", b"cnumpy\ndtype\n"
PEAK_MIB = 300
SECONDS = 30
"""Each refusal takes about a second; the bound leaves room for a machine shared with other test runs."""


def integer(n: int) -> bytes:
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    return b"J" + struct.pack("<i", n)


def string(raw: bytes) -> bytes:
    return b"U" + bytes([len(raw)]) + raw if len(raw) < 256 else b"T" + struct.pack("<i", len(raw)) + raw


def put(index: int) -> bytes:
    return b"r" + struct.pack("<I", index)


def get(index: int) -> bytes:
    return b"j" + struct.pack("<I", index)


def dtype_u1() -> bytes:
    state = MARK + integer(3) + string(b"|") + NONE * 3 + integer(-1) + integer(-1) + integer(0) + TUPLE
    return DTYPE + string(b"u1") + integer(0) + integer(1) + TUPLE3 + REDUCE + state + BUILD


def array(shape: tuple[int, ...], raw: bytes) -> bytes:
    """numpy's own pickle of a uint8 array: _reconstruct(ndarray, (0,), b'b'), then BUILD with its state."""
    empty = RECONSTRUCT + NDARRAY + integer(0) + TUPLE1 + string(b"b") + TUPLE3 + REDUCE
    dims = MARK + b"".join(integer(n) for n in shape) + TUPLE
    return empty + MARK + integer(1) + dims + dtype_u1() + NEWFALSE + string(raw) + TUPLE + BUILD


def labels(count: int) -> bytes:
    return EMPTY_LIST + MARK + integer(3) * count + APPENDS


def batch(data: bytes, label_ops: bytes = labels(2)) -> bytes:
    return PROTO + EMPTY_DICT + MARK + string(b"data") + data + string(b"labels") + label_ops + SETITEMS + STOP


VALID = batch(array((2, 3072), b"\x07" * 6144))


def memo_labels(levels: int) -> bytes:
    """A list of ten references to a list of ten references to ...: 10**levels labels from ~50 bytes a level."""
    ops = EMPTY_LIST + put(0) + MARK + integer(3) * 10 + APPENDS
    for level in range(1, levels + 1):
        ops += EMPTY_LIST + put(level) + MARK + get(level - 1) * 10 + APPENDS
    return ops


def deep_tuple_key(depth: int) -> bytes:
    """A dict key nested ``depth`` tuples deep: hashing it overflows the C stack (a segfault) past ~100,000."""
    return PROTO + EMPTY_DICT + b")" + TUPLE1 * depth + integer(0) + SETITEM + STOP


HOSTILE = {
    "reconstruct-huge-uninitialised": (batch(RECONSTRUCT + NDARRAY + integer(2**31 - 1) + integer(3072) + TUPLE2
                                             + string(b"B") + TUPLE3 + REDUCE), "refusing _reconstruct"),
    "ndarray-called-directly": (batch(NDARRAY + integer(2**31 - 1) + TUPLE1 + dtype_u1() + TUPLE2 + REDUCE),
                                "numpy.ndarray(...) called directly"),
    "zero-stride-view": (batch(NDARRAY + MARK + integer(2**31 - 1) + integer(3072) + TUPLE2 + dtype_u1()
                               + string(b"\x00" * 3072) + integer(0) + integer(0) + integer(1) + TUPLE2 + TUPLE
                               + REDUCE), "numpy.ndarray(...) called directly"),
    "empty-with-a-huge-shape": (batch(b"cnumpy\nempty\n" + integer(2**31 - 1) + TUPLE1 + TUPLE1 + REDUCE),
                                "refusing to unpickle numpy.empty"),
    "state-claims-more-rows-than-bytes": (batch(array((10_000, 3072), b"\x00" * 10)),
                                          "at most 10000 rows of 3072 bytes (found shape (10000, 3072) with 10 bytes)"),
    "memo-referenced-label-lists": (batch(array((2, 3072), b"\x00" * 6144), memo_labels(30)),
                                    "memo reference to a container"),
    "two-million-labels": (batch(array((2, 3072), b"\x00" * 6144), labels(2_000_000)),
                           "more than 41,000 pickle opcodes"),
    "ten-million-empty-lists": (PROTO + EMPTY_LIST * 10_000_000 + STOP, "more than 41,000 pickle opcodes"),
    "tuple-key-150000-deep": (deep_tuple_key(150_000), "nested more than 3 deep"),
    "object-dtype": (batch(DTYPE + string(b"O8") + integer(0) + integer(1) + TUPLE3 + REDUCE), "refusing dtype"),
}


def test_the_hand_written_batch_is_valid(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(VALID)
    split = cifar_files.read_python_batch(path)
    assert split.images.shape == (2, 32, 32, 3) and int(split.images.max()) == 7 and list(split.labels) == [3, 3]


def hostile_folder(cifar, root, name: str, content: bytes):
    folder = cifar.write_python_folder(root / "cifar-10-batches-py", per_batch=8)
    (folder / name).write_bytes(content)
    return folder


def refuses_quickly_and_small(measured, folder, expected: str, name: str = "data_batch_1"):
    done = measured([sys.executable, "-m", "setupkit", "smoke-test", "--data", str(folder), "--json"],
                    env=dict(os.environ, NO_COLOR="1", COLUMNS="300"))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stdout == "" and len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"setupkit: {folder / name}: ") and expected in lines[0], lines[0]
    assert done.seconds < SECONDS and done.peak_mib < PEAK_MIB, (done.seconds, done.peak_mib)


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_pickle_is_refused_in_bounded_time_and_memory(case, cifar, tmp_path, measured):
    content, expected = HOSTILE[case]
    assert len(content) < 11_000_000
    refuses_quickly_and_small(measured, hostile_folder(cifar, tmp_path, "data_batch_1", content), expected)


def test_a_batch_of_more_than_10000_images_is_refused(cifar, tmp_path, measured):
    """31 MB, under the file bound: the record bound refuses it (an official batch has exactly 10,000)."""
    data = np.zeros((10_001, 3072), np.uint8)
    content = cifar.py2_pickle({b"data": data, b"labels": [0] * 10_001})
    refuses_quickly_and_small(measured, hostile_folder(cifar, tmp_path, "data_batch_1", content),
                              "at most 10000 rows of 3072 bytes (found shape (10001, 3072)")


@pytest.mark.parametrize("name", ["data_batch_1", "test_batch"])
def test_sparse_2_gib_python_batch_is_refused_by_its_size(name, cifar, tmp_path, measured):
    folder = cifar.write_python_folder(tmp_path / "cifar-10-batches-py", per_batch=8)
    os.truncate(folder / name, 2 * 1024**3)
    refuses_quickly_and_small(measured, folder, "is 2,147,483,648 bytes, more than the 33,554,432 allowed", name)


def test_sparse_2_gib_binary_batch_is_refused_by_its_size(cifar, tmp_path, measured):
    folder = cifar.write_binary_folder(tmp_path / "cifar-10-batches-bin", per_batch=8)
    os.truncate(folder / "data_batch_1.bin", 2 * 1024**3)
    refuses_quickly_and_small(measured, folder, "is 2,147,483,648 bytes, more than the 30,730,000 allowed",
                              "data_batch_1.bin")


def test_binary_batch_of_10001_records_is_refused(binary_folder):
    path = binary_folder / "data_batch_5.bin"
    path.write_bytes(b"\x00" * 3073 * 10_001)
    with pytest.raises(PreconditionError, match="is 30,733,073 bytes, more than the 30,730,000 allowed"):
        cifar_files.read_binary_batch(path)


@pytest.mark.parametrize("layout, name", [("python", "data_batch_1"), ("binary", "test_batch.bin")])
def test_a_fifo_in_place_of_a_batch_is_refused_without_blocking(layout, name, cifar, tmp_path, measured):
    writer = cifar.write_python_folder if layout == "python" else cifar.write_binary_folder
    folder = writer(tmp_path / f"cifar-10-batches-{'py' if layout == 'python' else 'bin'}", per_batch=8)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    refuses_quickly_and_small(measured, folder, "is a FIFO, not a regular file", name)


@pytest.mark.parametrize("broken, expected", [
    ({b"data": "array", b"labels": [0]}, "b'data' must be a uint8 N x 3072 array"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": np.array([1, 2])}, "refusing dtype(b'i8'"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 10]}, "b'labels' must list one integer 0-9"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, [2]]}, "b'labels' must list one integer 0-9"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2], b"extra": 1}, "the keys must be"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2], b"filenames": [b"a"]},
     "b'filenames' must list one name per image"),
    ([1, 2], "a list, not a dict"),
])
def test_only_the_official_structure_is_accepted(broken, expected, cifar, tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar.py2_pickle(broken))
    with pytest.raises(PreconditionError) as error:
        cifar_files.read_python_batch(path)
    assert str(error.value).startswith(f"{path}: ") and expected in str(error.value)


def test_an_official_sized_batch_passes_the_bounds(cifar, tmp_path):
    """The bounds leave room for the real thing: 10,000 images, labels and file names as the official files."""
    data = np.random.default_rng(0).integers(0, 256, size=(10_000, 3072), dtype=np.uint8)
    batch = {b"batch_label": b"training batch 1 of 5", b"labels": [i % 10 for i in range(10_000)], b"data": data,
             b"filenames": [f"leptodactylus_pentadactylus_s_{i:06d}.png".encode() for i in range(10_000)]}
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar.py2_pickle(batch))
    assert 30_000_000 < path.stat().st_size < safe_pickle.MAX_BATCH_BYTES
    flat, found = safe_pickle.load_batch(path)
    assert np.array_equal(flat, data) and found[:3] == [0, 1, 2]
