"""How much the smoke test's harness costs: its training path (tf.data pipeline decoding uint8 images and
augmenting them on the fly, the monitor callback reading every step's loss) against a bare Keras ``fit`` of the
same model on in-memory, already cropped float tensors (no augmentation), same steps and batch, same process.

    python benchmarks/smoke_throughput.py --steps 100

The runs alternate (smoke, bare, smoke, bare, ...) so that a busy machine slows both alike, and the headline
ratio compares the median step of each side (robust to bursts of other work); the ratio of the best whole
rounds is printed too. Goal: smoke / bare >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from setupkit.smoke import dataset, input_pipeline, standalone_bench, trainer  # noqa: E402
from setupkit.smoke.progress import Silent  # noqa: E402


def smoke_path(data, steps: int, warmup: int, batch: int) -> list[float]:
    """End times of the smoke test's training steps (its own code path: trainer.run)."""
    result = trainer.run(data, trainer.TrainingPlan("tensorflow", batch, warmup, steps), Silent())
    if result.error:
        raise SystemExit(f"the smoke path failed: {result.error}")
    return result.step_ends


def bare_fit(crops, labels, steps: int, warmup: int, batch: int) -> list[float]:
    """End times of a bare ``fit`` of the same model on in-memory crops (the same clock callback, nothing else)."""
    model = standalone_bench.compile_model(standalone_bench.build_model())
    clock = standalone_bench.make_step_clock()
    model.fit(crops, labels, batch_size=batch, epochs=1, steps_per_epoch=warmup + steps, shuffle=False, verbose=0,
              callbacks=[clock])
    return clock.ends


def rates(ends: list[float], warmup: int, batch: int) -> tuple[float, float]:
    """(images/sec over the timed steps, images/sec of the median timed step): the median shrugs off the
    bursts of other work on a shared machine."""
    timed = ends[warmup - 1:]
    steps = [b - a for a, b in zip(timed, timed[1:], strict=False)]
    return (len(steps) * batch / (timed[-1] - timed[0]), batch / statistics.median(steps))


def summary(args, smoke: list[tuple[float, float]], bare: list[tuple[float, float]]) -> dict:
    smoke_median = statistics.median(rate for _, rate in smoke)
    bare_median = statistics.median(rate for _, rate in bare)
    return {"steps": args.steps, "batch_size": args.batch_size, "rounds": args.rounds,
            "smoke_images_per_sec": [round(rate, 1) for rate, _ in smoke],
            "bare_fit_images_per_sec": [round(rate, 1) for rate, _ in bare],
            "ratio_best_round": round(max(r for r, _ in smoke) / max(r for r, _ in bare), 3),
            "smoke_median_step": round(smoke_median, 1), "bare_median_step": round(bare_median, 1),
            "ratio_median_step": round(smoke_median / bare_median, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data = dataset.load(None, True, False, 0)
    count = (args.steps + args.warmup) * args.batch_size
    picks = [i % len(data.train.labels) for i in range(count)]
    crops, labels = input_pipeline.central_crops(data.train.images[picks]), data.train.labels[picks].astype("int32")
    smoke, bare = [], []
    for _ in range(args.rounds):
        smoke.append(rates(smoke_path(data, args.steps, args.warmup, args.batch_size), args.warmup, args.batch_size))
        bare.append(rates(bare_fit(crops, labels, args.steps, args.warmup, args.batch_size), args.warmup,
                          args.batch_size))
    report = summary(args, smoke, bare)
    print(json.dumps(report, indent=2))
    print(f"smoke path {report['smoke_median_step']:,.0f} img/s, bare fit {report['bare_median_step']:,.0f} img/s "
          f"(median step over {args.rounds} rounds): ratio {report['ratio_median_step']} (goal >= 0.9); "
          f"over whole rounds, best against best: {report['ratio_best_round']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
