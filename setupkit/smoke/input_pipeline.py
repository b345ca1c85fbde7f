"""Input pipelines: uint8 images decoded once, augmented on the fly (random 24x24 crop, horizontal flip,
per-image standardisation), batched and prefetched.

TensorFlow backend: tf.data, augmenting a whole batch at once (two gathers make the crop and the flip together)
rather than image by image, so that the pipeline costs little CPU next to the training step. JAX and PyTorch
backends: the same augmentation in numpy, behind a ``keras.utils.PyDataset``.
Evaluation uses the central crop, standardised the same way.
"""

from __future__ import annotations

import os

import numpy as np

from setupkit.smoke.standalone_bench import CROP

MARGIN = 32 - CROP
SHUFFLE_BUFFER = 10_000


def standardize(images: np.ndarray) -> np.ndarray:
    """numpy twin of ``tf.image.per_image_standardization``: (x - mean) / max(std, 1/sqrt(pixels)) per image."""
    images = images.astype(np.float32)
    axes = (1, 2, 3)
    mean = images.mean(axis=axes, keepdims=True)
    std = images.std(axis=axes, keepdims=True)
    floor = np.float32(1.0 / np.sqrt(np.prod(images.shape[1:])))  # a float64 scalar would promote the batch
    return (images - mean) / np.maximum(std, floor)


def central_crops(images: np.ndarray) -> np.ndarray:
    """Evaluation input: the central 24x24 of every image, standardised."""
    start = MARGIN // 2
    return standardize(images[:, start:start + CROP, start:start + CROP, :])


def crop_indices(offset_rows, offset_cols, flip, xp):
    """Row and column indices of each image's crop; a flipped image reads its columns right to left."""
    steps = xp.arange(CROP)
    rows = offset_rows[:, None] + steps[None, :]
    cols = xp.where(flip[:, None], offset_cols[:, None] + (CROP - 1) - steps[None, :], offset_cols[:, None] + steps)
    return rows, cols


def augment_numpy(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    count = len(images)
    rows, cols = crop_indices(rng.integers(0, MARGIN + 1, count), rng.integers(0, MARGIN + 1, count),
                              rng.random(count) < 0.5, np)
    crops = images[np.arange(count)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return standardize(crops)


def augment_tf(images, labels):
    """The batched augmentation as TensorFlow ops (inside tf.data's map)."""
    import tensorflow as tf

    count = tf.shape(images)[0]
    offsets = tf.random.uniform([2, count], 0, MARGIN + 1, dtype=tf.int32)
    flip = tf.random.uniform([count]) < 0.5
    rows, cols = crop_indices(offsets[0], offsets[1], flip, _TfOps)
    crops = tf.gather(tf.gather(images, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
    return tf.image.per_image_standardization(crops), tf.cast(labels, tf.int32)


class _TfOps:
    """The two array functions crop_indices needs, spelled in TensorFlow."""

    @staticmethod
    def arange(n):
        import tensorflow as tf

        return tf.range(n)

    @staticmethod
    def where(condition, x, y):
        import tensorflow as tf

        return tf.where(condition, x, y)


def tf_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int):
    """An endless, shuffled, augmented, prefetched tf.data pipeline of (float crops, int labels) batches."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((images, labels))
    data = data.shuffle(min(len(labels), SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True).repeat()
    data = data.batch(batch_size, drop_remainder=True)
    return data.map(augment_tf, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def numpy_workers(cpus: int | None = None) -> int:
    """Threads preparing batches ahead: one batch of 128 costs a few ms of numpy (which releases the GIL), while a
    fast GPU trains it in about 3 ms; half the cores keep ahead of it and leave the rest to the framework."""
    return max(1, min(8, (cpus or os.cpu_count() or 2) // 2))


def numpy_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, steps: int, seed: int):
    """A ``keras.utils.PyDataset`` of ``steps`` augmented batches, each drawn from its own seeded generator
    (so that the batches do not depend on which thread made them)."""
    import keras

    workers = numpy_workers()

    class AugmentedBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=4 * workers)

        def __len__(self):
            return steps

        def __getitem__(self, index):
            rng = np.random.default_rng((seed, index))
            pick = rng.integers(0, len(labels), batch_size)
            return augment_numpy(images[pick], rng), labels[pick].astype(np.int32)

    return AugmentedBatches()
