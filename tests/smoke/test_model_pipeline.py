"""The model and the input pipelines, on real TensorFlow (CPU)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest

from setupkit.smoke import input_pipeline, standalone_bench, trainer
from setupkit.smoke.progress import Silent


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def test_model_is_the_tutorials_shape():
    model = standalone_bench.build_model()
    assert model.count_params() == 1_068_298
    assert model.output_shape == (None, 10)
    assert [layer.name for layer in model.layers][:4] == ["conv1", "pool1", "conv2", "pool2"]


def test_numpy_standardisation_matches_tensorflow(tf):
    images = np.random.default_rng(0).integers(0, 256, size=(4, 24, 24, 3), dtype=np.uint8)
    images[3] = 7  # a flat image: the std floor applies
    expected = tf.image.per_image_standardization(images).numpy()
    ours = input_pipeline.standardize(images)
    assert ours.dtype == np.float32 and np.allclose(ours, expected, atol=1e-5)


def _is_window_of(crop: np.ndarray, image: np.ndarray) -> bool:
    """Whether ``crop`` is a 24x24 window of ``image``, flipped or not (compared before standardising)."""
    for row in range(9):
        for col in range(9):
            window = image[row:row + 24, col:col + 24]
            if np.array_equal(crop, window) or np.array_equal(crop, window[:, ::-1]):
                return True
    return False


def test_tf_augmentation_crops_and_flips_each_image_on_its_own(tf, monkeypatch):
    monkeypatch.setattr(tf.image, "per_image_standardization", lambda x: x)  # look at the raw crops
    images = np.random.default_rng(1).integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    crops, labels = input_pipeline.augment_tf(tf.constant(images), tf.constant(np.arange(16, dtype=np.uint8)))
    crops = crops.numpy()
    assert crops.shape == (16, 24, 24, 3) and labels.dtype == tf.int32
    assert all(_is_window_of(crops[i], images[i]) for i in range(16))
    assert len({crops[i].tobytes() for i in range(16)}) == 16


def test_numpy_augmentation_crops_and_flips(monkeypatch):
    monkeypatch.setattr(input_pipeline, "standardize", lambda x: x)
    images = np.random.default_rng(2).integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8)
    crops = input_pipeline.augment_numpy(images, np.random.default_rng(3))
    assert crops.shape == (12, 24, 24, 3)
    assert all(_is_window_of(crops[i], images[i]) for i in range(12))


def test_tf_dataset_yields_standardised_batches(tf):
    images = np.random.default_rng(4).integers(0, 256, size=(40, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(40, dtype=np.uint8) % 10
    batch, batch_labels = next(iter(input_pipeline.tf_dataset(images, labels, 8, seed=0)))
    assert batch.shape == (8, 24, 24, 3) and batch.dtype == tf.float32
    assert np.allclose(batch.numpy().mean(axis=(1, 2, 3)), 0, atol=1e-4)


def test_central_crop_is_the_middle(monkeypatch):
    monkeypatch.setattr(input_pipeline, "standardize", lambda x: x)
    images = np.random.default_rng(5).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    assert np.array_equal(input_pipeline.central_crops(images), images[:, 4:28, 4:28])


def test_our_python2_pickle_reads_the_same_in_keras(cifar, python_folder):
    from keras.src.datasets.cifar import load_batch

    from setupkit.smoke import cifar_files

    keras_images, keras_labels = load_batch(str(python_folder / "data_batch_2"))
    ours = cifar_files.read_python_batch(python_folder / "data_batch_2")
    assert np.array_equal(keras_images.transpose(0, 2, 3, 1), ours.images)
    assert list(keras_labels) == list(ours.labels)


def test_a_diverging_run_is_reported_as_a_failure(monkeypatch):
    from setupkit.smoke.dataset import Dataset
    from setupkit.smoke.synthetic import synthetic_cifar

    monkeypatch.setattr(standalone_bench, "LEARNING_RATE", 1e9)
    train, test = synthetic_cifar(0, train_images=256, test_images=32)
    plan = trainer.TrainingPlan("tensorflow", 32, 2, 12)
    result = trainer.run(Dataset(train, test, "synthetic", None), plan, Silent())
    assert result.error and "diverged" in result.error
    assert result.test_accuracy is None


def test_numpy_batches_feed_keras_fit(monkeypatch):
    """The JAX/PyTorch pipeline (a PyDataset with worker threads), run here under TensorFlow's Keras."""
    monkeypatch.setattr(input_pipeline, "numpy_workers", lambda cpus=None: 2)
    images = np.random.default_rng(6).integers(0, 256, size=(50, 32, 32, 3), dtype=np.uint8)
    labels = (np.arange(50) % 10).astype(np.uint8)
    batches = input_pipeline.numpy_batches(images, labels, batch_size=8, steps=5, seed=3)
    first, first_labels = batches[0]
    assert len(batches) == 5 and first.shape == (8, 24, 24, 3) and first.dtype == np.float32
    assert first_labels.dtype == np.int32 and np.array_equal(batches[0][0], first)  # seeded per index
    model = standalone_bench.compile_model(standalone_bench.build_model())
    history = model.fit(batches, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_numpy_workers_keep_half_the_cores():
    workers = input_pipeline.numpy_workers
    assert (workers(2), workers(16), workers(96)) == (1, 8, 8)


def test_monitor_recovers_each_steps_loss_from_keras_running_mean(monkeypatch):
    """Keras logs the epoch's running mean; the monitor must turn it back into every step's own loss."""
    monkeypatch.setattr(standalone_bench, "LEARNING_RATE", 0.0)  # frozen weights: each batch's loss is knowable
    images, labels = standalone_bench.random_inputs(6 * 16, seed=7)
    images[16:32] *= 4.0  # batches of very different losses
    model = standalone_bench.compile_model(standalone_bench.build_model())
    result, plan = trainer.TrainingRun(), trainer.TrainingPlan("tensorflow", 16, 1, 5)
    model.fit(images, labels, batch_size=16, epochs=1, shuffle=False, verbose=0,
              callbacks=[trainer.make_monitor(result, plan, Silent())])
    expected = [model.evaluate(images[i:i + 16], labels[i:i + 16], verbose=0)[0] for i in range(0, 96, 16)]
    assert np.allclose(result.losses, expected, rtol=1e-3)
    assert len(result.step_ends) == 6
