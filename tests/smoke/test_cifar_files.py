"""The CIFAR-10 readers and finders, on small folders in the official formats and on hostile ones."""

from __future__ import annotations

import io
import os
import pickle
import time

import numpy as np
import pytest

from setupkit.errors import PreconditionError
from setupkit.smoke import cifar_files, locate
from setupkit.smoke.safe_pickle import load_batch


class WritesAFile:
    """A pickle that, if loaded by a plain unpickler, runs os.system and creates a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def test_python_batch_is_read_channels_last(cifar, python_folder):
    split = cifar_files.read_python_batch(python_folder / "data_batch_1")
    planes, labels = cifar.fake_images(64, 0)
    assert split.images.shape == (64, 32, 32, 3) and split.images.dtype == np.uint8
    assert split.images[5, 2, 3, 0] == planes[5, 2 * 32 + 3]            # red plane first
    assert split.images[5, 2, 3, 2] == planes[5, 2048 + 2 * 32 + 3]     # then green, then blue
    assert list(split.labels) == list(labels)


def test_both_layouts_give_the_same_data(python_folder, binary_folder):
    py_train, py_test = cifar_files.read_folder(python_folder, cifar_files.PYTHON)
    bin_train, bin_test = cifar_files.read_folder(binary_folder, cifar_files.BINARY)
    assert py_train.images.shape == (5 * 64, 32, 32, 3)
    assert np.array_equal(py_train.images, bin_train.images) and np.array_equal(py_test.labels, bin_test.labels)


def test_hostile_pickle_is_refused_without_running(cifar, tmp_path):
    target = tmp_path / "pwned"
    batch = cifar.write_python_folder(tmp_path / "cifar-10-batches-py") / "data_batch_1"
    batch.write_bytes(pickle.dumps({"data": WritesAFile(target)}, protocol=2))
    with pytest.raises(PreconditionError) as refused:
        load_batch(batch)
    assert "refusing to unpickle posix.system: not part of a CIFAR-10 batch" in str(refused.value)
    assert str(batch) in str(refused.value)
    assert not target.exists()
    pickle.loads(batch.read_bytes())  # the plain unpickler: proves the file really is hostile
    assert target.exists()


def test_object_dtype_is_refused(cifar, tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar.py2_pickle({b"data": np.array([1, 2], dtype=object)}))
    with pytest.raises(PreconditionError, match="object dtype|refusing"):
        load_batch(path)


def test_python3_pickle_of_other_classes_is_refused(tmp_path):
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({b"data": io.BytesIO(b"x")}))
    with pytest.raises(PreconditionError, match=r"refusing pickle opcode NEWOBJ"):
        load_batch(path)


@pytest.mark.parametrize("cut", [1, 3073 * 3 + 100])
def test_binary_batch_not_whole_records_is_refused(binary_folder, cut):
    path = binary_folder / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(PreconditionError, match="not a whole number of 3073-byte records") as error:
        cifar_files.read_folder(binary_folder, cifar_files.BINARY)
    assert str(path) in str(error.value)


def test_binary_batch_cut_on_a_record_boundary_is_refused(binary_folder):
    path = binary_folder / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-3073 * 4])
    with pytest.raises(PreconditionError, match=r"truncated CIFAR-10 batch: 60 records where .* hold 64") as error:
        cifar_files.read_folder(binary_folder, cifar_files.BINARY)
    assert str(path) in str(error.value)


def test_label_above_nine_is_refused(binary_folder):
    path = binary_folder / "data_batch_2.bin"
    raw = bytearray(path.read_bytes())
    raw[3073 * 7] = 12
    path.write_bytes(bytes(raw))
    with pytest.raises(PreconditionError, match="label 12 is not a class 0-9"):
        cifar_files.read_binary_batch(path)


@pytest.mark.parametrize("broken", [
    {b"data": np.zeros((4, 3000), np.uint8), b"labels": [0, 1, 2, 3]},
    {b"data": np.zeros((4, 3072), np.float32), b"labels": [0, 1, 2, 3]},
    {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0, 1]},
    {b"labels": [0]},
])
def test_malformed_python_batch_is_refused(cifar, tmp_path, broken):
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar.py2_pickle(broken))
    with pytest.raises(PreconditionError, match="malformed CIFAR-10 batch|refusing dtype") as error:
        cifar_files.read_python_batch(path)
    assert str(path) in str(error.value)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02}q\x00(U\x04da")
    with pytest.raises(PreconditionError, match="not a readable CIFAR-10 batch"):
        load_batch(path)


def test_missing_test_batch_is_named(python_folder):
    (python_folder / "test_batch").unlink()
    with pytest.raises(PreconditionError, match="test_batch: missing"):
        cifar_files.read_folder(python_folder, cifar_files.PYTHON)


def test_official_size_binary_batch_loads_fast(tmp_path):
    path = tmp_path / "data_batch_1.bin"
    records = np.zeros((10_000, 3073), np.uint8)
    records[:, 0] = np.arange(10_000) % 10
    path.write_bytes(records.tobytes())
    assert path.stat().st_size == 30_730_000
    start = time.perf_counter()
    split = cifar_files.read_binary_batch(path)
    assert time.perf_counter() - start < 2.0
    assert split.images.shape == (10_000, 32, 32, 3) and split.labels[13] == 3


def test_data_dir_may_be_the_folder_or_its_parent(cifar, tmp_path):
    folder = cifar.write_binary_folder(tmp_path / "cifar-10-batches-bin")
    assert locate.from_user(str(folder)).folder == folder
    found = locate.from_user(str(tmp_path))
    assert (found.folder, found.source) == (folder, "cifar-10-binary")


def test_data_dir_without_batches_is_a_precondition(tmp_path):
    with pytest.raises(PreconditionError, match="no CIFAR-10 batches there"):
        locate.from_user(str(tmp_path))
    with pytest.raises(PreconditionError, match="no such folder$") as error:
        locate.from_user(str(tmp_path / "absent"))
    assert error.value.hint == ("give the folder holding cifar-10-batches-py or cifar-10-batches-bin (or the batches "
                                "themselves)")


def test_old_keras_cache_under_home(cifar, tmp_path):
    folder = cifar.write_python_folder(tmp_path / ".keras" / "datasets" / "cifar-10-batches-py")
    found = locate.in_keras_cache({"HOME": str(tmp_path)})
    assert (found.folder, found.source) == (folder, "keras-cache")


def test_keras3_cache_under_keras_home(cifar, tmp_path):
    datasets = tmp_path / "kh" / "datasets"
    folder = cifar.write_python_folder(datasets / "cifar-10-batches-py-target" / "cifar-10-batches-py")
    (datasets / "cifar-10-batches-py-target_archive").write_bytes(b"archive kept by keras")
    found = locate.in_keras_cache({"KERAS_HOME": str(tmp_path / "kh"), "HOME": str(tmp_path / "elsewhere")})
    assert (found.folder, found.layout) == (folder, cifar_files.PYTHON)


