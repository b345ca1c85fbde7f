#!/usr/bin/env python3
"""Time `setupkit doctor --json` against PyTorch's own environment report, side by side in one run.

PyTorch's `python -m torch.utils.collect_env` is what bug reports ask for; it only lists facts. doctor reads
more and gives verdicts, and should still cost at most a tenth of collect_env's time.

    python benchmarks/doctor_speed.py                 # makes ./.bench/torch-venv with torch==2.13.0 once
    python benchmarks/doctor_speed.py --torch-python /path/to/venv/bin/python --runs 7

Runs the two in turn, round after round, and prints each run's wall time, and the medians and the best runs
with the ratio doctor / collect_env of each.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TORCH_PIN = "torch==2.13.0"
DEFAULT_VENV = Path(__file__).resolve().parents[1] / ".bench" / "torch-venv"


def ensure_torch_venv(venv: Path) -> Path:
    """A separate venv holding only torch, so that collect_env runs as it would for a PyTorch user."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(python), "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", TORCH_PIN], check=True)
    return python


def compile_setupkit() -> None:
    """Byte-compile setupkit as `pip install` does for a user; an editable checkout may never have been."""
    import compileall

    import setupkit

    compileall.compile_dir(str(Path(setupkit.__file__).parent), quiet=1)


def time_once(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):  # doctor exits 1 when a check fails: still a complete report
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return took


def alternate(first: list[str], second: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Both commands in turn, round after round: a slow moment of a shared machine falls on both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        times[0].append(time_once(first))
        times[1].append(time_once(second))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--torch-python", type=Path, help="a Python with torch installed (default: make a venv)")
    args = parser.parse_args()

    torch_python = args.torch_python or ensure_torch_venv(DEFAULT_VENV)
    doctor = [sys.executable, "-m", "setupkit", "doctor", "--json"]
    collect_env = [str(torch_python), "-m", "torch.utils.collect_env"]

    compile_setupkit()
    alternate(doctor, collect_env, 1)  # warm-up: neither side pays for a cold page cache alone
    doctor_times, collect_times = alternate(doctor, collect_env, args.runs)

    print(f"setupkit doctor --json          runs: {', '.join(f'{t:.3f}' for t in doctor_times)} s")
    print(f"torch.utils.collect_env         runs: {', '.join(f'{t:.3f}' for t in collect_times)} s")
    for label, pick in (("median", statistics.median), ("best", min)):
        mine, theirs = pick(doctor_times), pick(collect_times)
        print(f"{label}: doctor {mine:.3f} s, collect_env {theirs:.3f} s, ratio {mine / theirs:.3f} "
              f"(goal: at most 0.100)")


if __name__ == "__main__":
    main()
