"""How much the smoke test's harness costs: its training path (tf.data pipeline decoding uint8 images and
augmenting them on the fly, the monitor callback reading every step's loss) against a bare Keras ``fit`` of the
same model on in-memory, already cropped float tensors (no augmentation), same steps and batch, same process.

    python benchmarks/smoke_throughput.py --steps 100

The runs alternate (smoke, bare, smoke, bare, ...) and each side keeps its best round, so that a busy machine
slows both alike. Goal: smoke / bare >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from setupkit.smoke import dataset, pipeline, standalone_bench, trainer  # noqa: E402
from setupkit.smoke.progress import Silent  # noqa: E402


def smoke_path(data, steps: int, warmup: int, batch: int) -> float:
    result = trainer.run(data, trainer.RunPlan("tensorflow", batch, warmup, steps), Silent())
    if result.error:
        raise SystemExit(f"the smoke path failed: {result.error}")
    return result.images_per_sec


def bare_fit(crops, labels, steps: int, warmup: int, batch: int) -> float:
    model = standalone_bench.compile_model(standalone_bench.build_model())
    return standalone_bench.bench_training(model, crops, labels, steps, warmup, batch)


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
    crops, labels = pipeline.central_crops(data.train.images[picks]), data.train.labels[picks].astype("int32")
    smoke, bare = [], []
    for _ in range(args.rounds):
        smoke.append(smoke_path(data, args.steps, args.warmup, args.batch_size))
        bare.append(bare_fit(crops, labels, args.steps, args.warmup, args.batch_size))
    ratios = sorted(s / b for s, b in zip(smoke, bare))
    report = {"steps": args.steps, "batch_size": args.batch_size, "rounds": args.rounds,
              "smoke_images_per_sec": [round(x, 1) for x in smoke],
              "bare_fit_images_per_sec": [round(x, 1) for x in bare],
              "ratio_best": round(max(smoke) / max(bare), 3), "ratio_median_of_rounds": round(ratios[len(ratios) // 2], 3)}
    print(json.dumps(report, indent=2))
    print(f"smoke path {max(smoke):,.0f} img/s, bare fit {max(bare):,.0f} img/s: ratio {report['ratio_best']} "
          f"(goal >= 0.9)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
