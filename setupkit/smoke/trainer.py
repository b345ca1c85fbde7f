"""One training run: build the model (under a distribution strategy where given), fit it on the input pipeline,
time the steps after warm-up, read the loss of every step, then evaluate and time inference on the test set."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from setupkit.smoke import backend as backends
from setupkit.smoke import input_pipeline
from setupkit.smoke.standalone_bench import build_model, compile_model, timed_predict


@dataclass
class TrainingPlan:
    backend: str
    batch_size: int
    """Per replica; the global batch is batch_size x replicas."""
    warmup: int
    steps: int
    """Timed steps, after the warm-up ones."""
    seed: int = 0
    strategy: Any = None
    """A tf.distribute strategy, or None for one device (untyped: this module imports no framework)."""
    replicas: int = 1
    label: str = "training"

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.replicas

    @property
    def total_steps(self) -> int:
        return self.warmup + self.steps


@dataclass
class TrainingRun:
    losses: list[float] = field(default_factory=list)
    step_ends: list[float] = field(default_factory=list)
    images_per_sec: float | None = None
    test_accuracy: float | None = None
    inference_images_per_sec: float | None = None
    on_gpu: bool = False
    error: str | None = None


def make_monitor(result: TrainingRun, plan: TrainingPlan, progress):
    """A Keras callback that records each step's loss and end time, and stops on a non-finite loss.

    Keras reports the epoch's running mean of the loss; the loss of step k is k*mean_k - (k-1)*mean_(k-1).
    """
    import keras

    class SmokeMonitor(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.previous_mean = 0.0

        def on_train_batch_end(self, batch, logs=None):
            result.step_ends.append(time.perf_counter())
            mean, count = float(logs["loss"]), batch + 1
            loss = count * mean - (count - 1) * self.previous_mean
            self.previous_mean = mean
            result.losses.append(loss)
            if not math.isfinite(loss):
                result.error = f"the loss became {loss} at step {count}: training diverged"
                self.model.stop_training = True
            progress.update(count, loss, recent_images_per_sec(result.step_ends, plan.global_batch))

    return SmokeMonitor()


def recent_images_per_sec(step_ends: list[float], global_batch: int, window: int = 10) -> float | None:
    if len(step_ends) < 2:
        return None
    recent = step_ends[-(window + 1):]
    return (len(recent) - 1) * global_batch / max(recent[-1] - recent[0], 1e-9)


def timed_images_per_sec(step_ends: list[float], warmup: int, global_batch: int) -> float | None:
    """Images/sec from the end of the last warm-up step to the end of the last step."""
    if len(step_ends) <= warmup:
        return None
    return (len(step_ends) - warmup) * global_batch / max(step_ends[-1] - step_ends[warmup - 1], 1e-9)


def train_input(train, plan: TrainingPlan):
    if plan.backend == "tensorflow":
        return input_pipeline.tf_dataset(train.images, train.labels, plan.global_batch, plan.seed)
    return input_pipeline.numpy_batches(train.images, train.labels, plan.global_batch, plan.total_steps, plan.seed)


def build(plan: TrainingPlan):
    if plan.strategy is None:
        return compile_model(build_model())
    with plan.strategy.scope():
        return compile_model(build_model())


def run(dataset, plan: TrainingPlan, progress) -> TrainingRun:
    """Train ``plan.total_steps`` steps and evaluate; a failure lands in ``result.error`` as one line."""
    import keras

    keras.utils.set_random_seed(plan.seed)
    result = TrainingRun()
    try:
        model = build(plan)
        result.on_gpu = backends.weights_on_gpu(model, plan.backend)  # known even if training then fails
        progress.start(plan.total_steps, plan.label)
        model.fit(train_input(dataset.train, plan), epochs=1, steps_per_epoch=plan.total_steps, verbose=0,
                  shuffle=False, callbacks=[make_monitor(result, plan, progress)])
    except Exception as error:  # the smoke test's verdict: any failure in training is the finding
        result.error = result.error or one_line(error)
        return result
    finally:
        progress.finish()
    result.images_per_sec = timed_images_per_sec(result.step_ends, plan.warmup, plan.global_batch)
    if result.error is None:
        evaluate(model, dataset.test, plan, result)
    return result


def evaluate(model, test, plan: TrainingPlan, result: TrainingRun) -> None:
    try:
        crops = input_pipeline.central_crops(test.images)
        logits, result.inference_images_per_sec = timed_predict(model, crops, plan.global_batch)
    except Exception as error:
        result.error = f"evaluation failed: {one_line(error)}"
        return
    result.test_accuracy = float(np.mean(np.argmax(logits, axis=1) == test.labels))


NOISE = ("Graph execution error", "Detected at node", "File ", "[[", "Hint:", "[Op:", "Traceback", "\"")
"""Lines of TensorFlow's error text that say where, not what (the stack of the Python call, node names)."""


def one_line(error: BaseException) -> str:
    """The cause in one line: TensorFlow's errors open with "Graph execution error:" and a stack; skip to the
    first line that says what happened (OOM when allocating tensor ..., Input contains NaN ...)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    cause = next((line for line in lines if not line.startswith(NOISE)), lines[0] if lines else "")
    return f"{type(error).__name__}: {cause[:300]}".rstrip(": ")
