"""The smoke test from options to result document: the host's facts, environment, data, framework, training
run(s), the CPU comparison, the references and the verdict. Nothing here prints: progress goes to the
``progress`` object the caller gives, and the CLI renders the document (smoke/report.py)."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

from setupkit import process
from setupkit.bounded import finite_number, loads_json, printable
from setupkit.errors import UsageError
from setupkit.facts import Facts
from setupkit.smoke import backend as backends
from setupkit.smoke import dataset as datasets
from setupkit.smoke import references, trainer, verdict

SCHEMA = "setupkit-smoke-test/1"
COMPARE_CPU_TIMEOUT_S = 900
CHILD_OUTPUT_BYTES = 1024 * 1024
"""The CPU run prints one JSON document of a few KiB; anything past this is not it."""


@dataclass(frozen=True, kw_only=True)
class Options:
    backend: str = "tensorflow"
    gpus: str = "all"
    memory_growth: bool = True
    mixed_precision: bool = False
    steps: int = 60
    warmup: int = 10
    epochs: int | None = None
    batch_size: int = 128
    data: str | None = None
    synthetic: bool = False
    download: bool = True
    seed: int = 0
    compare_cpu: bool = False
    require_gpu: bool = False
    backend_choice: str | None = None
    """Why ``backend`` was chosen without --backend (smoke/choice.py's line), for the report."""


def run_smoke(options: Options, progress, facts: Facts | None = None) -> dict:
    """``facts``: the host as already read (the backend's choice reads it), else read here."""
    started = time.perf_counter()
    backends.refuse_other_loaded_backend(options.backend)
    facts = read_host_facts() if facts is None else facts
    host_gpus = nvidia_gpus(facts)
    backends.refuse_absent_gpus(options.gpus, host_gpus)
    quiet = backends.prepare_environment(options.backend, options.gpus, options.memory_growth)
    data = load_data(options, progress)
    keras, devices = start_framework(options, quiet, host_gpus, cpu_name(facts))
    gpus = [d for d in devices if d["type"] == "GPU"]
    document = base_document(options, data, devices, keras)
    if options.require_gpu and not gpus:
        return verdict.refuse_without_gpu(document, options.backend, len(host_gpus))
    main, scaling = train(options, data, gpus, progress)
    document.update(result_fields(main, scaling, options, data, devices, gpus, cpu_name(facts)))
    if options.compare_cpu:
        document["compare_cpu"] = compare_cpu(options, data, main.images_per_sec, main.on_gpu, quiet)
    verdict.decide(document, main, options, len(host_gpus))
    document["wall_seconds"] = round(time.perf_counter() - started, 1)
    return document


def read_host_facts() -> Facts:
    """What doctor reads of this machine, read once: the GPUs it has, its CPU's name."""
    from setupkit.probes import read_facts

    return read_facts()


def nvidia_gpus(facts: Facts) -> list[str]:
    """The name of each NVIDIA GPU the host has, in its order ("NVIDIA GPU" where none is known); [] when it
    has none or the count is unknown. Names come from the host (a snapshot is anyone's file): they are cut
    and their control characters shown as codes, since they end up in messages."""
    count = facts.get("gpu.count")
    if type(count) is not int or count <= 0:
        return []
    names = facts.get("gpu.names")
    names = names if isinstance(names, list) else []
    return [_gpu_name(names[index] if index < len(names) else None) for index in range(count)]


def _gpu_name(name: object) -> str:
    if not isinstance(name, str):
        return "NVIDIA GPU"
    return printable(name.strip()[:100], keep_newlines=False) or "NVIDIA GPU"


def cpu_name(facts: Facts) -> str:
    """The CPU's model as doctor's cpu.model has it: the device the framework trains on when it sees no GPU."""
    model = facts.get("cpu.model")
    return model if isinstance(model, str) and model else "CPU"


def load_data(options: Options, progress):
    """The data before the framework's slow start: bad data exits 3, and a batch larger than the training set
    exits 2, in seconds."""
    data = datasets.load(options.data, options.synthetic, options.download, options.seed, progress)
    refuse_batch_over_data(options.batch_size, 1, len(data.train.labels))
    if data.note:
        progress.note(data.note)
    return data


def refuse_batch_over_data(batch_size: int, replicas: int, train_images: int) -> None:
    """A batch must come from distinct images: a batch larger than the training set repeats them, and measures
    nothing the user asked for (no silent clamping: the figure would not be for the batch asked)."""
    if batch_size * replicas > train_images:
        per_gpu = f" x {replicas} GPUs" if replicas > 1 else ""
        raise UsageError(f"--batch-size {batch_size}{per_gpu} is more than the {train_images:,} training images",
                         hint=f"give --batch-size {max(1, train_images // replicas)} or less")


def start_framework(options: Options, quiet: bool, host_gpus: list[str], cpu: str):
    """Import Keras on the chosen backend; its devices (``cpu`` names the CPU where it sees no GPU), which
    must include the GPUs --gpus named; the mixed-precision policy those devices want."""
    keras, devices = backends.start(options.backend, options.memory_growth, quiet, cpu)
    backends.refuse_unseen_gpus(options.gpus, options.backend, devices, host_gpus)
    if options.mixed_precision:
        on_gpu = any(d["type"] == "GPU" for d in devices)
        keras.mixed_precision.set_global_policy("mixed_float16" if on_gpu else "mixed_bfloat16")
    return keras, devices


def base_document(options: Options, data, devices: list[dict], keras) -> dict:
    return {
        "schema": SCHEMA, "status": "unknown", "backend": options.backend, "devices": devices,
        "dataset": {"source": data.source, "path": data.path, "train_images": int(len(data.train.labels)),
                    "test_images": int(len(data.test.labels)), "note": data.note},
        "steps": None, "warmup": options.warmup, "batch_size": options.batch_size, "global_batch": None,
        "images_per_sec": None, "loss_first": None, "loss_last": None, "test_accuracy": None,
        "inference_images_per_sec": None, "trained_on": None, "scaling": None, "compare_cpu": None,
        "mixed_precision": keras.mixed_precision.global_policy().name if options.mixed_precision else False,
        "memory_growth": options.memory_growth, "reference": None, "failures": [], "warnings": [],
        "versions": framework_versions(options.backend, keras),
        "backend_version": getattr(sys.modules.get(options.backend), "__version__", None),
        "backend_choice": options.backend_choice, "trained_on_device": None,
    }


def framework_versions(backend: str, keras) -> dict:
    module = sys.modules.get(backend)
    return {"keras": keras.__version__, backend: getattr(module, "__version__", None)}


def trained_on_device(on_gpu: bool, gpus: list[dict], replicas: int, cpu: str) -> str:
    """The device the weights were trained on, by name: the GPU(s), or the CPU."""
    if not on_gpu or not gpus:
        return cpu
    return ", ".join(gpu["name"] for gpu in gpus[:replicas])


def timed_steps(options: Options, train_images: int, replicas: int) -> int:
    """--steps, or with --epochs the steps that cover that many passes over the training set, less warm-up."""
    if options.epochs is None:
        return options.steps
    steps = options.epochs * (train_images // (options.batch_size * replicas)) - options.warmup
    if steps < 1:
        raise UsageError(f"--epochs {options.epochs}: fewer steps than the {options.warmup} warm-up ones on "
                         f"{train_images} images", hint="raise --epochs or lower --warmup")
    return steps


def plan_for(options: Options, data, replicas: int = 1, strategy=None, label: str = "training"):
    refuse_batch_over_data(options.batch_size, replicas, len(data.train.labels))
    steps = timed_steps(options, len(data.train.labels), replicas)
    return trainer.TrainingPlan(options.backend, options.batch_size, options.warmup, steps, options.seed, strategy,
                           replicas, label)


def train(options: Options, data, gpus: list[dict], progress):
    """One run; on TensorFlow with several GPUs, one GPU first and then all of them (MirroredStrategy)."""
    if options.backend != "tensorflow" or len(gpus) < 2:
        return trainer.run(data, plan_for(options, data), progress), None
    import tensorflow as tf

    return scaling_runs(options, data, tf.distribute.OneDeviceStrategy("/gpu:0"), tf.distribute.MirroredStrategy(),
                        progress)


def scaling_runs(options: Options, data, one_device, mirrored, progress):
    """The same training on one device, then on every replica of ``mirrored`` with the per-replica batch kept
    (so the global batch grows with the devices, as in the tutorial's multi-GPU trainer)."""
    one = trainer.run(data, plan_for(options, data, 1, one_device, "1 GPU"), progress)
    replicas = mirrored.num_replicas_in_sync
    every = trainer.run(data, plan_for(options, data, replicas, mirrored, f"{replicas} GPUs"), progress)
    return every, scaling_block(replicas, one, every)


def scaling_block(replicas: int, one, every) -> dict:
    efficiency = None
    if one.images_per_sec and every.images_per_sec:
        efficiency = round(every.images_per_sec / (replicas * one.images_per_sec), 3)
    return {"gpus": replicas, "one_gpu": _round(one.images_per_sec), "all_gpus": _round(every.images_per_sec),
            "efficiency": efficiency, "per_replica_batch": None, "one_gpu_error": one.error}


def result_fields(main, scaling, options: Options, data, devices, gpus, cpu: str) -> dict:
    replicas = scaling["gpus"] if scaling else 1
    if scaling:
        scaling["per_replica_batch"] = options.batch_size
    first, last = verdict.loss_ends(main.losses)
    return {
        "steps": timed_steps(options, len(data.train.labels), replicas), "global_batch": options.batch_size * replicas,
        "images_per_sec": _round(main.images_per_sec), "loss_first": _round(first, 4), "loss_last": _round(last, 4),
        "test_accuracy": _round(main.test_accuracy, 4),
        "inference_images_per_sec": _round(main.inference_images_per_sec),
        "trained_on": "GPU" if main.on_gpu else "CPU", "scaling": scaling,
        "trained_on_device": trained_on_device(main.on_gpu, gpus, replicas, cpu),
        "reference": references.standing(main.images_per_sec, devices, main.on_gpu, os.cpu_count()),
    }


def _round(value, digits: int = 1):
    return None if value is None else round(float(value), digits)


def compare_cpu(options: Options, data, gpu_images_per_sec: float | None, on_gpu: bool, quiet: bool) -> dict:
    """The same smoke test on the CPU, in a fresh process with every GPU hidden; the GPU:CPU ratio."""
    argv = [sys.executable, "-m", "setupkit", "smoke-test", *cpu_arguments(options, data)]
    child = process.run(argv, timeout=COMPARE_CPU_TIMEOUT_S, env=cpu_environment(quiet),
                        max_output=CHILD_OUTPUT_BYTES)
    if child.timed_out:
        return {"error": f"the CPU run took over {COMPARE_CPU_TIMEOUT_S} s; lower --steps"}
    cpu = _images_per_sec(child.stdout)
    if cpu is None:
        why = child.signal_name or (child.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"the CPU run failed: {printable(why[:300], keep_newlines=False)}"}
    ratio = round(gpu_images_per_sec / cpu, 2) if gpu_images_per_sec else None
    note = None if on_gpu else "no GPU trained: both runs were on the CPU, so the ratio only shows the noise"
    return {"cpu_images_per_sec": cpu, "gpu_to_cpu": ratio, "reference_gpu_to_cpu": references.GPU_TO_CPU_RATIO,
            "note": note}


def cpu_environment(quiet: bool) -> dict[str, str]:
    """This run's environment with every GPU hidden; a log level this run set for itself is left out, so that
    the child quiets its own start the same way."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", NO_COLOR="1")
    if quiet:
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def _images_per_sec(stdout: str) -> float | None:
    try:
        document = loads_json(stdout)
    except ValueError:
        return None
    value = finite_number(document.get("images_per_sec")) if isinstance(document, dict) else None
    return value if value and value > 0 else None


def cpu_arguments(options: Options, data) -> list[str]:
    args = ["--json", "--gpus", "none", "--backend", options.backend, "--batch-size", str(options.batch_size),
            "--warmup", str(options.warmup), "--seed", str(options.seed)]
    args += ["--epochs", str(options.epochs)] if options.epochs else ["--steps", str(options.steps)]
    args += ["--data", data.path] if data.path else ["--synthetic"]
    return args + (["--mixed-precision"] if options.mixed_precision else [])

