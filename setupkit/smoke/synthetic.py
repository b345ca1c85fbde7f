"""Synthetic CIFAR-shaped data that a model CAN learn, so that "the loss falls" still tests something.

Each class has its own mean colour and a stripe pattern (orientation and period), and every image adds noise and
a random shift, so that random crops and flips keep the signal. The test accuracy on it says nothing about
CIFAR-10: it only shows that training moved the weights in the right direction.
"""

from __future__ import annotations

import numpy as np

from setupkit.smoke.cifar_files import Split

TRAIN_IMAGES = 10_000
TEST_IMAGES = 2_000


def _class_templates(rng: np.random.Generator) -> np.ndarray:
    """10 float templates, 32x32x3, each a class colour plus a class-specific stripe pattern."""
    rows, cols = np.mgrid[0:32, 0:32]
    templates = np.empty((10, 32, 32, 3), dtype=np.float32)
    for label in range(10):
        colour = rng.uniform(60, 200, size=3)
        angle, period = np.pi * label / 10, 4 + (label % 5) * 2
        stripes = np.sin(2 * np.pi * (rows * np.cos(angle) + cols * np.sin(angle)) / period)
        templates[label] = colour + 30 * stripes[..., None] * rng.choice([-1, 1], size=3)
    return templates


def _images(templates: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0, 60, size=(len(labels), 32, 32, 3)).astype(np.float32)
    shift = rng.uniform(-30, 30, size=(len(labels), 1, 1, 3)).astype(np.float32)
    return np.clip(templates[labels] + noise + shift, 0, 255).astype(np.uint8)


def synthetic_cifar(seed: int = 0, train_images: int = TRAIN_IMAGES, test_images: int = TEST_IMAGES):
    """(train, test) Splits of uint8 images and labels, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    templates = _class_templates(rng)
    train_labels = rng.integers(0, 10, size=train_images).astype(np.uint8)
    test_labels = rng.integers(0, 10, size=test_images).astype(np.uint8)
    return (Split(_images(templates, train_labels, rng), train_labels),
            Split(_images(templates, test_labels, rng), test_labels))
