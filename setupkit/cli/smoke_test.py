"""`setupkit smoke-test`: train the CIFAR-10 tutorial model and measure images/sec, loss and accuracy.

The options are parsed here and the result rendered; the work is setupkit.smoke.run's, the rendering
setupkit.smoke.report's. The framework is imported only inside the command, after the backend and the visible
GPUs are set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated

import typer

from setupkit import exitcodes
from setupkit.cli.common import JsonOption, console, err_console, print_json
from setupkit.errors import PreconditionError, UsageError


class Backend(str, Enum):
    tensorflow = "tensorflow"
    jax = "jax"
    torch = "torch"


MAX_SEED = 2**32 - 1
"""numpy's and Keras' seeds are unsigned 32-bit."""

BackendOption = Annotated[Backend | None, typer.Option(
    show_default=False, help="Keras backend (chosen before Keras loads). Default: TensorFlow where it is installed, "
                             "else JAX, else PyTorch (told from package metadata), saying which on stderr.")]
StepsOption = Annotated[int, typer.Option(min=1, max=1_000_000, help="Timed training steps, after the warm-up ones.")]
WarmupOption = Annotated[int, typer.Option(min=1, max=100_000, help="Untimed steps first (compilation, tracing).")]
EpochsOption = Annotated[int | None, typer.Option(min=1, max=1_000,
                                                     help="Train this many passes over the data, not --steps.")]
BatchOption = Annotated[int, typer.Option(min=1, max=65_536, help="Images per step (per GPU with several GPUs); at "
                                          "most the training set (a larger batch is a usage error, not clamped).")]
GpusOption = Annotated[str, typer.Option(help="GPUs: all, none, or indices such as 0,2 (sets CUDA_VISIBLE_DEVICES); "
                                         "GPUs named but not seen by the framework exit 3.")]
GrowthOption = Annotated[bool, typer.Option("--memory-growth/--no-memory-growth",
                                            help="Let GPU memory grow on demand instead of taking it all at start.")]
MixedOption = Annotated[bool, typer.Option("--mixed-precision",
                                            help="mixed_float16 on a GPU, mixed_bfloat16 on the CPU.")]
DataOption = Annotated[str | None, typer.Option(metavar="DIR",
                                                help="CIFAR-10 folder (cifar-10-batches-py|bin or above).")]
SyntheticOption = Annotated[bool, typer.Option("--synthetic", help="Train on generated CIFAR-shaped data.")]
DownloadOption = Annotated[bool, typer.Option(
    "--download/--no-download",
    help="Without --data: use the cached CIFAR-10 ($SETUPKIT_CACHE_DIR, else Keras' $KERAS_HOME/datasets or "
         "~/.keras/datasets), else download it there (MD5 verified; mirror: $SETUPKIT_CIFAR_URL), and train on "
         "synthetic data, saying so, only if the network cannot be reached. --no-download never touches the "
         "network: no cached copy is then an error (exit 3).")]
SeedOption = Annotated[int, typer.Option(min=0, max=MAX_SEED,
                                         help="Seed of the data order, the augmentation and the weights.")]
CompareOption = Annotated[bool, typer.Option("--compare-cpu",
                                             help="Also train on the CPU (subprocess): GPU:CPU ratio.")]
RequireGpuOption = Annotated[bool, typer.Option("--require-gpu", help="Fail unless a GPU trained.")]


def smoke_test(json_output: JsonOption = False, backend: BackendOption = None, steps: StepsOption = 60,
               warmup: WarmupOption = 10, epochs: EpochsOption = None, batch_size: BatchOption = 128,
               gpus: GpusOption = "all", memory_growth: GrowthOption = True, mixed_precision: MixedOption = False,
               data: DataOption = None, synthetic: SyntheticOption = False, download: DownloadOption = True,
               seed: SeedOption = 0, compare_cpu: CompareOption = False, require_gpu: RequireGpuOption = False) -> None:
    """Train the CIFAR-10 tutorial CNN briefly; report images/sec, loss and accuracy against references."""
    from setupkit.smoke import backend as backends
    from setupkit.smoke import choice

    backends.cuda_visible_devices(gpus)  # a bad --gpus is a usage error before anything loads
    if synthetic and data:
        raise UsageError("--data and --synthetic were both given", hint="give --data DIR or --synthetic, not both")
    chosen_backend = None if backend is None else backend.value
    with _reported_under_json(json_output, lambda: chosen_backend):
        facts, packages = choice.read_host()
        chosen = choice.choose(chosen_backend, packages, facts)
        chosen_backend = chosen.backend
        if chosen.line:
            err_console.print(chosen.line, markup=False, highlight=False, soft_wrap=True)
        backends.require_framework(chosen.backend)  # before the modules below import numpy
    from setupkit.smoke.progress import progress_for
    from setupkit.smoke.report import render
    from setupkit.smoke.run import Options, run_smoke

    options = Options(backend=chosen.backend, backend_choice=chosen.line, gpus=gpus, memory_growth=memory_growth,
                      mixed_precision=mixed_precision, steps=steps, warmup=warmup, epochs=epochs,
                      batch_size=batch_size, data=data, synthetic=synthetic, download=download, seed=seed,
                      compare_cpu=compare_cpu, require_gpu=require_gpu)
    document = run_smoke(options, progress_for(json_output, err_console), facts)
    if json_output:
        print_json(document)
    else:
        render(document, console)
    raise typer.Exit(exitcodes.OK if document["status"] == "pass" else exitcodes.CHECK_FAILED)


@contextmanager
def _reported_under_json(json_output: bool, backend: Callable[[], str | None]) -> Iterator[None]:
    """Under --json, a smoke test that cannot start because no framework is installed (exit 3) still prints its
    JSON report, a failure whose fix says what to install, before the usual lines on stderr: a playbook reading
    stdout gets a report of that host too."""
    try:
        yield
    except PreconditionError as error:
        if json_output:
            from setupkit.smoke.report import cannot_start_document

            print_json(cannot_start_document(error.message, error.hint, backend()))
        raise


def register(app: typer.Typer) -> None:
    app.command("smoke-test")(smoke_test)
