"""`setupkit build-tf`: build TensorFlow from source for this CPU's instruction sets, and measure the gain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from setupkit.cli.common import JsonOption, SnapshotOption, console, err_console, print_json

CPU_FLAGS_HELP = ("native (-march=native), auto (the explicit -msse4.1 ... -mavx512f this CPU allows, for a wheel "
                  "that must run on identical machines), or a list: avx2,fma or '-mavx2 -mfma'.")


def build_tf(
    source: Annotated[Path, typer.Option("--source", metavar="DIR", help="The TensorFlow checkout.")] = Path("."),
    cpu_flags: Annotated[str, typer.Option("--cpu-flags", metavar="MODE", help=CPU_FLAGS_HELP)] = "native",
    cuda: Annotated[bool, typer.Option("--cuda", help="Build with CUDA for the GPUs present.")] = False,
    cuda_capabilities: Annotated[str | None, typer.Option(
        "--cuda-capabilities", metavar="X.Y,...", help="Compute capabilities to build for (default: the GPUs').")
    ] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", help="Bazel jobs, 1 to 5000 (default: from CPUs and RAM).")] = None,
    non_interactive: Annotated[bool, typer.Option(
        "--non-interactive", help="Answer ./configure through its environment variables, not its prompts.")] = False,
    no_install: Annotated[bool, typer.Option(
        "--no-install", help="Build the wheel only; no venv, no benchmark.")] = False,
    venv: Annotated[Path, typer.Option("--venv", metavar="DIR", help="The venv for the built wheel.")]
    = Path("tf-native-venv"),
    stock_venv: Annotated[Path, typer.Option("--stock-venv", metavar="DIR", help="The venv for the stock wheel.")]
    = Path("tf-stock-venv"),
    log: Annotated[Path | None, typer.Option(
        "--log", metavar="FILE", help="The build log (default: in the source folder, else /tmp).")] = None,
    output_dir: Annotated[Path, typer.Option(
        "--output-dir", metavar="DIR", help="Where build_pip_package writes the wheel (TF 2.16 and older).")]
    = Path("/tmp/tensorflow_pkg"),
    python: Annotated[str | None, typer.Option(
        "--python", metavar="PATH", help="The Python to build for (default: the one setupkit runs in).")] = None,
    min_free_gb: Annotated[float, typer.Option(
        "--min-free-gb", metavar="GB", help="Free disk to require in the source folder and Bazel's cache.")] = 30.0,
    bench_steps: Annotated[int, typer.Option("--bench-steps", help="Benchmark steps per venv (1 to 100,000).")] = 50,
    bench_batch_size: Annotated[int, typer.Option(
        "--bench-batch-size", help="Benchmark batch size (1 to 65,536).")] = 128,
    bench_repeats: Annotated[int, typer.Option(
        "--bench-repeats", help="Benchmark runs per wheel (1 to 20), in turn; the best of each counts.")] = 2,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; run nothing.")] = False,
    snapshot: SnapshotOption = None,
    json_output: JsonOption = False,
) -> None:
    """Build TensorFlow from source for this CPU (and GPU), install it in a venv, and measure it against stock."""
    from setupkit.buildtf import report
    from setupkit.buildtf.plan import BuildOptions
    from setupkit.buildtf.run import refuse_if_missing, run
    from setupkit.errors import UsageError

    if snapshot and not dry_run:
        raise UsageError("--snapshot plans a build for the captured machine and cannot build there",
                         hint="use it with --dry-run, and build on that machine itself")
    options = BuildOptions(source=source, cpu_flags=cpu_flags, cuda=cuda, cuda_capabilities=cuda_capabilities,
                           jobs=jobs, non_interactive=non_interactive, install=not no_install, venv=venv,
                           stock_venv=stock_venv, log=log, output_dir=output_dir, python=python,
                           min_free_gb=min_free_gb, bench_steps=bench_steps, bench_batch_size=bench_batch_size,
                           bench_repeats=bench_repeats)
    # With --json the document alone goes to stdout; the plan and the progress go to stderr.
    ui = report.ConsoleUi(err_console if json_output else console)
    outcome = run(options, ui, snapshot=snapshot, dry_run=dry_run)
    if outcome.result is not None:
        for line in report.result_lines(outcome.result):
            ui.info(line)
    if json_output:
        print_json(report.json_document(outcome.plan, outcome.result, dry_run=dry_run))
    if dry_run:
        ui.info(report.dry_run_line(outcome.plan))
        refuse_if_missing(outcome.plan)  # exit 3, as the real run would, after the plan is shown


def register(app: typer.Typer) -> None:
    app.command("build-tf")(build_tf)
