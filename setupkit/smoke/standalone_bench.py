"""The CIFAR-10 tutorial model, and a self-contained throughput bench of it.

This file is the one definition of the smoke-test model: ``setupkit.smoke`` imports ``build_model`` and
``compile_model`` from here. It is also a script that runs on its own (stdlib, numpy and Keras only, no
setupkit), so that ``setupkit build-tf`` can copy this single file into a virtual environment holding a freshly
built TensorFlow and compare wheels on the same model:

    python standalone_bench.py --json --steps 50 --batch-size 128 --warmup 10

It prints one JSON object: train_images_per_sec, infer_images_per_sec, tf_version, steps, batch_size.
Keras is imported inside the functions only, so that importing this module costs nothing and the caller can
choose the Keras backend (KERAS_BACKEND) first.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

CROP = 24
"""The tutorial trains and evaluates on 24x24 crops of the 32x32 images."""
NUM_CLASSES = 10
LEARNING_RATE = 0.01
"""SGD as in the tutorial, with momentum 0.9 (an effective step of 0.1, the tutorial's rate): the loss falls
within a few dozen steps from Keras' default initialisation without LRN, and stays stable (0.05 with momentum
diverged)."""
MOMENTUM = 0.9


def build_model():
    """TensorFlow's classic CIFAR-10 tutorial network (cifar10.py), in Keras 3: 1,068,298 parameters.

    Input: a per-image standardised 24x24x3 float crop. The tutorial's local response normalisation
    (after pool1 and after conv2) is left out: Keras 3 has no LRN layer, and later practice showed it adds
    next to nothing; the layer shapes and the parameter count are the tutorial's. The last layer stays float32
    so that the logits and the loss are float32 under a mixed-precision policy.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(CROP, CROP, 3)),
            layers.Conv2D(64, 5, padding="same", activation="relu", name="conv1"),
            layers.MaxPooling2D(pool_size=3, strides=2, padding="same", name="pool1"),
            layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(pool_size=3, strides=2, padding="same", name="pool2"),
            layers.Flatten(),
            layers.Dense(384, activation="relu", name="local3"),
            layers.Dense(192, activation="relu", name="local4"),
            layers.Dense(NUM_CLASSES, dtype="float32", name="softmax_linear"),
        ],
        name="cifar10_tutorial",
    )


def compile_model(model, jit_compile="auto"):
    """SGD with momentum on the sparse cross-entropy of the logits (the tutorial's loss, without weight decay)."""
    import keras

    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def random_inputs(count: int, seed: int = 0):
    """Standardised-looking random crops and labels: throughput only, nothing to learn."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((count, CROP, CROP, 3), dtype=np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=count).astype(np.int32)
    return images, labels


def make_step_clock():
    """A Keras callback that notes when each training batch ends (defined here: Keras is imported late)."""
    import keras

    class StepClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())

    return StepClock()


def bench_training(model, images, labels, steps: int, warmup: int, batch_size: int) -> float:
    """Images/sec of ``fit`` over ``steps`` batches after ``warmup`` batches (compilation excluded)."""
    clock = make_step_clock()
    model.fit(images, labels, batch_size=batch_size, epochs=1, steps_per_epoch=warmup + steps, shuffle=False,
              verbose=0, callbacks=[clock])
    elapsed = clock.ends[-1] - clock.ends[warmup - 1]
    return steps * batch_size / elapsed


def timed_predict(model, images, batch_size: int):
    """(logits, images/sec) of ``predict`` over ``images``, after one call that compiles the predict function."""
    model.predict(images[:batch_size], batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    logits = model.predict(images, batch_size=batch_size, verbose=0)
    return logits, len(images) / (time.perf_counter() - start)


def framework_version() -> str:
    try:
        import tensorflow as tf

        return tf.__version__
    except ImportError:
        return "none"


def run(steps: int, batch_size: int, warmup: int) -> dict:
    warmup = max(1, warmup)
    images, labels = random_inputs((warmup + steps) * batch_size)
    model = compile_model(build_model())
    train = bench_training(model, images, labels, steps, warmup, batch_size)
    _, infer = timed_predict(model, images[: max(batch_size, min(len(images), 10_000))], batch_size)
    return {"train_images_per_sec": round(train, 1), "infer_images_per_sec": round(infer, 1),
            "tf_version": framework_version(), "steps": steps, "batch_size": batch_size, "warmup": warmup}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Throughput of the CIFAR-10 tutorial model on random data.")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--steps", type=int, default=50, help="timed training steps (default 50)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (compilation)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1 or args.warmup < 0:
        parser.error("--steps and --batch-size must be at least 1, --warmup at least 0")
    result = run(args.steps, args.batch_size, args.warmup)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"train {result['train_images_per_sec']} img/s, inference {result['infer_images_per_sec']} img/s "
              f"(TensorFlow {result['tf_version']}, batch {args.batch_size}, {args.steps} timed steps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
