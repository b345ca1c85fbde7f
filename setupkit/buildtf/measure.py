"""Install the built wheel in a virtual environment and benchmark it against the stock wheel.

The benchmark is the smoke test's self-contained script (stdlib, numpy and TensorFlow only), copied to a temp
folder and run by each venv's own python, so the venvs need nothing of setupkit.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from setupkit import process
from setupkit.bounded import describe_mode
from setupkit.buildtf.log import BuildLog
from setupkit.errors import ActionFailed, PreconditionError

BENCH_SCRIPT = Path(__file__).resolve().parent.parent / "smoke" / "standalone_bench.py"
"""The smoke test's benchmark: `python standalone_bench.py --json --steps N --batch-size B` prints one JSON object."""

VENV_TIMEOUT = 300.0
PIP_TIMEOUT = 1800.0
BENCH_TIMEOUT = 3600.0
ANOTHER_VENV = "choose another --venv"


class BenchmarkRunner:
    """Runs one command of the install-and-benchmark stage (venv, pip, the benchmark) to completion through
    process.run, its output streamed to the build log. Tests replace it to fake pip."""

    def __init__(self, log: BuildLog) -> None:
        self.log = log

    def run(self, argv: list[str], timeout: float) -> process.Completed:
        self.log.section("$ " + shlex.join(argv))
        done = process.run(argv, timeout=timeout, on_output=self.log.write)
        self.log.write(done.stderr)
        return done


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(python: str, venv: Path, runner: BenchmarkRunner, with_pip: bool = True) -> bool:
    """Create ``venv`` with ``python`` unless it already is one; True when created. Refuses other folders."""
    if os.path.isfile(venv / "pyvenv.cfg"):
        return False
    _refuse_other_folders(venv)
    argv = [python, "-m", "venv", *([] if with_pip else ["--without-pip"]), str(venv)]
    done = runner.run(argv, VENV_TIMEOUT)
    if done.returncode != 0:
        raise ActionFailed(f"creating the venv {venv} failed ({last_line(done)}); log: {runner.log.path}",
                           hint="apt-get install python3-venv")
    return True


def _refuse_other_folders(venv: Path) -> None:
    """What is at ``venv`` may be someone's files: only nothing, or an empty folder, becomes a venv."""
    try:
        mode = venv.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise PreconditionError(f"{venv} cannot be used as a venv ({error.strerror or error})",
                                hint=ANOTHER_VENV) from None
    if not stat.S_ISDIR(mode):
        raise PreconditionError(f"{venv} is {describe_mode(mode)}, not a virtual environment", hint=ANOTHER_VENV)
    if any(venv.iterdir()):
        raise PreconditionError(f"{venv} exists and is not a virtual environment", hint=ANOTHER_VENV)


def pip_install(venv: Path, requirement: str, runner: BenchmarkRunner) -> process.Completed:
    return runner.run([str(venv_python(venv)), "-m", "pip", "install", "--upgrade", requirement], PIP_TIMEOUT)


def last_line(done: process.Completed) -> str:
    """What a failed command said last, for the one-line message."""
    for stream in (done.stderr, done.stdout):  # pip and Python say what went wrong on stderr, last
        lines = [line for line in stream[-4096:].splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()[-200:]
    return f"killed by {done.signal_name}" if done.signal_name else f"exit {done.returncode}"


@dataclass(frozen=True)
class Figures:
    """What the benchmark measured in one venv."""

    train_images_per_sec: float
    infer_images_per_sec: float
    raw: dict

    def to_json(self) -> dict:
        return {"train_images_per_sec": self.train_images_per_sec,
                "infer_images_per_sec": self.infer_images_per_sec, "raw": self.raw}


def parse_bench_output(stdout: str) -> Figures | None:
    """The last JSON object line the benchmark printed, with both throughputs; None when there is none."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            document = json.loads(line)
            return Figures(float(document["train_images_per_sec"]), float(document["infer_images_per_sec"]),
                           document)
        except (ValueError, KeyError, TypeError):
            return None
    return None


def run_bench(venv: Path, script: Path, steps: int, batch_size: int, runner: BenchmarkRunner) -> Figures:
    """Copy the benchmark to a temp folder and run it with the venv's python (so the venv imports only TF)."""
    with tempfile.TemporaryDirectory(prefix="setupkit-bench-") as folder:
        copy = Path(folder) / script.name
        shutil.copyfile(script, copy)
        done = runner.run([str(venv_python(venv)), str(copy), "--json", "--steps", str(steps),
                           "--batch-size", str(batch_size)], BENCH_TIMEOUT)
    figures = parse_bench_output(done.stdout) if done.returncode == 0 else None
    if figures is None:
        raise ActionFailed(f"the benchmark failed in {venv} ({last_line(done)}); log: {runner.log.path}")
    return figures


KINDS = {"train": "train_images_per_sec", "infer": "infer_images_per_sec"}


def spread(runs: list[Figures], kind: str) -> float:
    """How much repeated runs of one wheel differed: (max - min) / max, 0.0 for a single run."""
    values = [getattr(run, KINDS[kind]) for run in runs]
    return round((max(values) - min(values)) / max(values), 3) if max(values) > 0 else 0.0


def best(runs: list[Figures]) -> Figures:
    """The highest throughput of each kind over repeated runs: interference only ever slows a run down."""
    return Figures(max(run.train_images_per_sec for run in runs), max(run.infer_images_per_sec for run in runs),
                   {"runs": [run.raw for run in runs], "spread": {kind: spread(runs, kind) for kind in KINDS}})


def verdicts(ratio: dict[str, float] | None, built: Figures, stock: Figures | None) -> dict[str, str] | None:
    """faster / slower / within noise, per kind: a ratio no further from 1 than the runs' own spread says nothing."""
    if ratio is None or stock is None:
        return None
    result = {}
    for kind in KINDS:
        noise = max(built.raw.get("spread", {}).get(kind, 0.0), stock.raw.get("spread", {}).get(kind, 0.0))
        if abs(ratio[kind] - 1.0) <= noise:
            result[kind] = f"within run-to-run noise ({noise:.0%})"
        else:
            result[kind] = "faster" if ratio[kind] > 1.0 else "slower"
    return result


def ratios(built: Figures, stock: Figures | None) -> dict[str, float] | None:
    """built / stock for training and inference: above 1.0 the source build is faster."""
    if stock is None or stock.train_images_per_sec <= 0 or stock.infer_images_per_sec <= 0:
        return None
    return {"train": round(built.train_images_per_sec / stock.train_images_per_sec, 3),
            "infer": round(built.infer_images_per_sec / stock.infer_images_per_sec, 3)}
