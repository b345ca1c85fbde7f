"""The verdict: pass when the loss falls and nothing failed; fail when training failed, the loss did not
fall, or --require-gpu was given and no GPU trained. Warnings say what a person should know but does not fail
the run (synthetic data, a GPU host that trained on the CPU, several GPUs slower than one)."""

from __future__ import annotations

import statistics

LOSS_WINDOW = 5
"""Steps averaged at each end: one step's loss is noisy."""
REQUIRED_DROP = 0.03
"""The last steps' mean loss must be at least 3% under the first steps'."""
GPU_BUILD = {"tensorflow": "TensorFlow needs its CUDA build (pip install 'tensorflow[and-cuda]')",
             "jax": "JAX needs its CUDA plugin (pip install 'jax[cuda13]'; jax[cuda12] for a driver older than 580)",
             "torch": "PyTorch needs a CUDA build (a +cpu wheel never uses a GPU; doctor's torch.cuda-compat names the "
                      "variant this driver runs)"}
"""What each framework needs to see a GPU, for a GPU host that trained on the CPU."""


def loss_ends(losses: list[float]) -> tuple[float | None, float | None]:
    """Mean loss of the first and of the last few steps (a quarter of the run at most, so they never overlap)."""
    if not losses:
        return None, None
    window = max(1, min(LOSS_WINDOW, len(losses) // 4))
    return statistics.fmean(losses[:window]), statistics.fmean(losses[-window:])


def loss_fell(first: float | None, last: float | None) -> bool:
    return first is not None and last is not None and last <= first * (1 - REQUIRED_DROP)


def refuse_without_gpu(document: dict, backend: str, host_gpus: int) -> dict:
    """--require-gpu and the framework sees no GPU: fail before training (it would run on the CPU)."""
    host = f"this host has {host_gpus} NVIDIA GPU(s) but " if host_gpus else ""
    document["failures"].append(f"--require-gpu: {host}{backend} sees no GPU, so no GPU trained; run `setupkit "
                                f"doctor` to see why (driver, CUDA, the framework's GPU build, CUDA_VISIBLE_DEVICES)")
    document["status"] = "fail"
    return document


def decide(document: dict, result, options, host_gpus: int) -> None:
    failures, warnings = document["failures"], document["warnings"]
    if result.error:
        failures.append(f"training failed: {result.error}")
    elif not loss_fell(document["loss_first"], document["loss_last"]):
        failures.append(f"the loss did not fall: {document['loss_first']} over the first steps, "
                        f"{document['loss_last']} over the last")
    if options.require_gpu and not result.on_gpu:
        failures.append("--require-gpu: training ran on the CPU, not on a GPU")
    warnings.extend(_warnings(document, result, options, host_gpus))
    document["status"] = "fail" if failures else "pass"


def _warnings(document: dict, result, options, host_gpus: int) -> list[str]:
    found = []
    if document["dataset"]["source"] == "synthetic":
        found.append(document["dataset"]["note"])
    if host_gpus and not result.on_gpu:
        why = "--gpus none hid them" if options.gpus == "none" else (
            f"{document['backend']} sees no GPU: run `setupkit doctor`; {GPU_BUILD[document['backend']]}")
        found.append(f"this host has {host_gpus} NVIDIA GPU(s) but training ran on the CPU ({why})")
    scaling = document.get("scaling")
    if scaling and scaling["one_gpu"] and scaling["all_gpus"] and scaling["all_gpus"] < scaling["one_gpu"]:
        found.append(f"{scaling['gpus']} GPUs trained slower than one ({scaling['all_gpus']} against "
                     f"{scaling['one_gpu']} img/s): the synchronisation costs more than this small model gains")
    if options.backend != "tensorflow" and sum(d["type"] == "GPU" for d in document["devices"]) > 1:
        found.append("several GPUs: the scaling run uses TensorFlow's MirroredStrategy; this backend used one")
    return found
