#!/usr/bin/env python3
"""Check `setupkit doctor --level 2`'s CPU figures against an independent numpy measurement, side by side in one run.

setupkit measures the CPU in a child process (probes/measure_script.py): float32 and float64 matrix products with
numpy's BLAS, and a large array copy counted as bytes read + written. This benchmark measures the same things its
own way, in this process, and prints both with their ratio:

- matmul: ``np.matmul`` of random n x n float32 and float64 matrices (n = 4096 and 3072, the largest sizes the
  child grows to), one warm-up product, then the best of ``--repeats``; GFLOP/s = 2 n^3 / seconds.
- copy: ``np.copyto`` of a ``--copy-mib`` float64 array into another, on one thread and cut into one slice per
  core on a thread pool, the better of the two, each the best of ``--repeats``; GB/s = 2 x bytes / seconds (each
  byte read once and written once). The child also takes the better of one thread and all of them (its own
  threads), since one core alone rarely fills the memory channels.

    python benchmarks/cpu_measure_vs_numpy.py                   # 3 rounds through `setupkit doctor --level 2 --json`
    python benchmarks/cpu_measure_vs_numpy.py --via probe --budget 8 --rounds 5

Rounds alternate (setupkit, then numpy), so that a busy moment of a shared machine falls on both alike; the summary
keeps the best of each side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MEASURED = ("cpu.matmul", "cpu.memory-bandwidth")


@dataclass(frozen=True)
class Figures:
    float32: float | None
    float64: float | None
    copy: float | None
    note: str = ""


def setupkit_via_doctor(_budget: float) -> Figures:
    """The figures of the real CLI path: `setupkit doctor --level 2 --json`, only the two CPU findings."""
    argv = [sys.executable, "-m", "setupkit", "doctor", "--level", "2", "--json",
            *(arg for check in MEASURED for arg in ("--only", check))]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: a check warned or failed, still a complete report
        raise SystemExit(f"setupkit doctor exited {done.returncode}: {done.stderr.strip()[-400:]}")
    findings = {finding["id"]: finding for finding in json.loads(done.stdout)["findings"]}
    matmul = findings["cpu.matmul"].get("measured") or {}
    copy = findings["cpu.memory-bandwidth"].get("measured") or {}
    return Figures(matmul.get("value"), matmul.get("float64"), copy.get("value"),
                   f"doctor {took:.1f} s, n={matmul.get('n')}, copy on {copy.get('threads')} thread(s)")


def setupkit_via_probe(budget: float) -> Figures:
    """The figures of the same child doctor runs, called directly with a budget of ``budget`` seconds."""
    from setupkit.host.live import LiveHost
    from setupkit.probes.measure import CPU_PROBE, GRACE, run_device

    with LiveHost() as host:
        run = run_device(host, CPU_PROBE, {"device": "cpu", "budget": budget}, budget + GRACE)
    if run.status != "ok":
        raise SystemExit(f"the measurement child gave {run.status}: {run.error}")
    return Figures(run.figure("matmul", "float32", "value"), run.figure("matmul", "float64", "value"),
                   run.figure("copy", "value"),
                   f"child {run.figure('seconds')} s, n={run.figure('matmul', 'float32', 'n'):g}/"
                   f"{run.figure('matmul', 'float64', 'n'):g}, copy on {run.figure('copy', 'threads'):g} thread(s)")


def best_seconds(work: Callable[[], Any], repeats: int) -> float:
    work()  # warm-up: page faults, BLAS thread start
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def numpy_matmul(np: Any, dtype: str, n: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    product = np.empty((n, n), dtype=dtype)
    return 2.0 * n ** 3 / best_seconds(lambda: np.matmul(a, b, out=product), repeats) / 1e9


def numpy_copy(np: Any, nbytes: int, repeats: int, threads: int) -> float:
    """One thread's copy, and with several cores the same copy cut into one slice per thread (np.copyto lets go
    of the GIL): one core alone rarely fills the memory channels. The better of the two, as bytes read + written."""
    from concurrent.futures import ThreadPoolExecutor

    source = np.ones(nbytes // 8)
    target = np.empty_like(source)
    best = 2.0 * source.nbytes / best_seconds(lambda: np.copyto(target, source), repeats) / 1e9
    if threads > 1:
        cuts = np.linspace(0, source.size, threads + 1).astype(int)
        slices = [slice(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        with ThreadPoolExecutor(threads) as pool:
            def parallel() -> None:
                list(pool.map(lambda part: np.copyto(target[part], source[part]), slices))
            best = max(best, 2.0 * source.nbytes / best_seconds(parallel, repeats) / 1e9)
    return best


def numpy_figures(args: argparse.Namespace) -> Figures:
    import numpy as np

    return Figures(numpy_matmul(np, "float32", args.n32, args.repeats),
                   numpy_matmul(np, "float64", args.n64, args.repeats),
                   numpy_copy(np, args.copy_mib << 20, args.repeats, os.cpu_count() or 1),
                   f"n={args.n32}/{args.n64}, copy {args.copy_mib} MiB, best of 1 and {os.cpu_count()} threads")


def shown(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:8.1f} {unit}"


def ratio(mine: float | None, theirs: float | None) -> str:
    return "-" if not mine or not theirs else f"{mine / theirs:.2f}"


def best(rounds: list[Figures], name: str) -> float | None:
    values = [getattr(figures, name) for figures in rounds if getattr(figures, name) is not None]
    return max(values, default=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--via", choices=("doctor", "probe"), default="doctor",
                        help="setupkit's side: the CLI (default) or its measurement child called directly")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds for the child (--via probe only)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each numpy measurement")
    parser.add_argument("--n32", type=int, default=4096)
    parser.add_argument("--n64", type=int, default=3072)
    parser.add_argument("--copy-mib", type=int, default=512)
    args = parser.parse_args()
    import numpy as np

    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"setupkit via {args.via}")
    measure_setupkit = setupkit_via_doctor if args.via == "doctor" else setupkit_via_probe
    sides: tuple[list[Figures], list[Figures]] = ([], [])
    for number in range(1, args.rounds + 1):
        for name, side, measure in (("setupkit", sides[0], lambda: measure_setupkit(args.budget)),
                                    ("numpy", sides[1], lambda: numpy_figures(args))):
            figures = measure()
            side.append(figures)
            print(f"round {number} {name:<8} float32 {shown(figures.float32, 'GFLOP/s')}  float64 "
                  f"{shown(figures.float64, 'GFLOP/s')}  copy {shown(figures.copy, 'GB/s')}  ({figures.note})",
                  flush=True)
    print(f"\n{'best of each side':<22} {'setupkit':>16} {'numpy':>16}   setupkit / numpy")
    for label, name, unit in (("matmul float32", "float32", "GFLOP/s"), ("matmul float64", "float64", "GFLOP/s"),
                              ("copy (read + written)", "copy", "GB/s")):
        mine, theirs = best(sides[0], name), best(sides[1], name)
        print(f"{label:<22} {shown(mine, unit):>16} {shown(theirs, unit):>16}   {ratio(mine, theirs)}")


if __name__ == "__main__":
    main()
