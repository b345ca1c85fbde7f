"""`setupkit smoke-test`: train the CIFAR-10 tutorial model and measure images/sec, loss and accuracy.

The framework is imported only inside the command, after the backend and the visible GPUs are set.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from setupkit import exitcodes
from setupkit.cli.common import JsonOption, console, err_console, print_json


class Backend(str, Enum):
    tensorflow = "tensorflow"
    jax = "jax"
    torch = "torch"


def smoke_test(
    json_output: JsonOption = False,
    backend: Annotated[Backend, typer.Option(help="Keras backend (set before Keras loads).")] = Backend.tensorflow,
    steps: Annotated[int, typer.Option(min=1, help="Timed training steps, after the warm-up ones.")] = 60,
    warmup: Annotated[int, typer.Option(min=1, help="Untimed steps first (compilation, tracing).")] = 10,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Train this many passes over the data instead of --steps.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Images per step (per GPU with several GPUs).")] = 128,
    gpus: Annotated[str, typer.Option(help="GPUs to use: all, none, or indices such as 0,2 (sets CUDA_VISIBLE_DEVICES).")] = "all",
    memory_growth: Annotated[bool, typer.Option("--memory-growth/--no-memory-growth", help="Let GPU memory grow on demand instead of taking it all.")] = True,
    mixed_precision: Annotated[bool, typer.Option("--mixed-precision", help="mixed_float16 on a GPU (mixed_bfloat16 on the CPU).")] = False,
    data: Annotated[Optional[str], typer.Option(metavar="DIR", help="CIFAR-10 folder (cifar-10-batches-py or -bin, or the folder above).")] = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Train on generated CIFAR-shaped data.")] = False,
    download: Annotated[bool, typer.Option("--download", help="Download CIFAR-10 (checksum verified) when no copy is found.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed of the data order, augmentation and weights.")] = 0,
    compare_cpu: Annotated[bool, typer.Option("--compare-cpu", help="Also run on the CPU (subprocess) and report the GPU:CPU ratio.")] = False,
    require_gpu: Annotated[bool, typer.Option("--require-gpu", help="Fail unless a GPU trained.")] = False,
) -> None:
    """Train the CIFAR-10 tutorial CNN briefly and report images/sec, loss and accuracy against references."""
    from setupkit.smoke import backend as backends
    from setupkit.smoke.progress import progress_for
    from setupkit.smoke.report import render
    from setupkit.smoke.runner import Options, run_smoke

    backends.cuda_visible_devices(gpus)  # a bad --gpus is a usage error before anything loads
    options = Options(backend.value, gpus, memory_growth, mixed_precision, steps, warmup, epochs, batch_size, data,
                      synthetic, download, seed, compare_cpu, require_gpu)
    document = run_smoke(options, progress_for(json_output, err_console))
    if json_output:
        print_json(document)
    else:
        render(document, console)
    raise typer.Exit(exitcodes.OK if document["status"] == "pass" else exitcodes.CHECK_FAILED)


def register(app: typer.Typer) -> None:
    app.command("smoke-test")(smoke_test)
