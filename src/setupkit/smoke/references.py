"""What this model's training speed should be, per device class, and where a result stands against it.

Figures: TensorFlow's CIFAR-10 tutorial model at batch 128. The practitioners' Intel Core i7 (~770 images/s)
and GTX 1080 Ti (~2,200 images/s, ~2.9x the i7) ran TensorFlow 1.x; the tutorial's own K40c log shows
391-597 examples/s; the H100 anchor is PyTorch's ~42,000 images/s for this model at batch 128.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from setupkit.bounded import BoundError, printable, read_regular_file


@dataclass(frozen=True)
class Reference:
    device_class: str
    name_contains: tuple[str, ...]
    images_per_sec: float
    source: str


CPU = Reference("cpu", (), 770, "practitioners' Intel Core i7, TensorFlow 1.x, batch 128")
GTX_1080_TI = Reference("gtx-1080-ti", ("1080 Ti",), 2200, "practitioners' GTX 1080 Ti, TensorFlow 1.x, batch 128")
GPUS = (
    Reference("h100", ("H100",), 42000, "PyTorch on one H100, batch 128"),
    GTX_1080_TI,
    Reference("k40", ("K40",), 500, "the tutorial's Tesla K40c log (391-597 examples/s), batch 128"),
)
GPU_TO_CPU_RATIO = 2.9
"""The practitioners' GTX 1080 Ti against their i7 on this model."""


def reference_for(devices: list[dict], on_gpu: bool) -> tuple[Reference, str | None]:
    """The reference of the class the run trained on; for an unlisted GPU, the 1080 Ti as a floor."""
    if not on_gpu:
        return CPU, None
    name = next((d.get("name") or "" for d in devices if d.get("type") == "GPU"), "")
    for reference in GPUS:
        if any(part.lower() in name.lower() for part in reference.name_contains):
            return reference, None
    return GTX_1080_TI, (f"no figure for {name or 'this GPU'}: compared with a 2017 GTX 1080 Ti, which any newer "
                         f"GPU should beat")


def standing(images_per_sec: float | None, devices: list[dict], on_gpu: bool, cpu_count: int | None) -> dict:
    """The JSON ``reference`` block: the figure, the ratio and one sentence for people."""
    reference, note = reference_for(devices, on_gpu)
    ratio = round(images_per_sec / reference.images_per_sec, 2) if images_per_sec else None
    block = {"device_class": reference.device_class, "images_per_sec": reference.images_per_sec,
             "source": reference.source, "ratio": ratio, "note": note}
    if reference is CPU and cpu_count:
        block["note"] = f"this CPU has {cpu_count} logical cores; the i7 figure came from a 4-core desktop"
    block["summary"] = _summary(ratio, reference)
    return block


def _summary(ratio: float | None, reference: Reference) -> str:
    if ratio is None:
        return "no throughput measured"
    place = "above" if ratio >= 1.1 else "below" if ratio < 0.9 else "about at"
    return f"{ratio}x the {reference.device_class} reference ({reference.images_per_sec:,.0f} img/s): {place} it"


def nvidia_gpu_on_host(proc: Path = Path("/proc/driver/nvidia/gpus"), dev: Path = Path("/dev")) -> int:
    """How many NVIDIA GPUs the driver shows (its /proc folders, else /dev/nvidiaN nodes); no NVML needed."""
    return len(nvidia_gpus_on_host(proc, dev))


def nvidia_gpus_on_host(proc: Path = Path("/proc/driver/nvidia/gpus"), dev: Path = Path("/dev")) -> list[str]:
    """The model name of each NVIDIA GPU the driver shows, in PCI order (its /proc folders, else "NVIDIA GPU"
    for each /dev/nvidiaN node)."""
    try:
        folders = sorted(entry for entry in proc.iterdir() if entry.is_dir())
    except OSError:
        folders = []
    if folders:
        return [_model_name(folder / "information") for folder in folders]
    try:
        return ["NVIDIA GPU" for entry in dev.glob("nvidia[0-9]*") if entry.name[6:].isdigit()]
    except OSError:
        return []


def _model_name(information: Path) -> str:
    """The ``Model:`` line of the driver's information file (bounded: /proc is read like any other input)."""
    try:
        text = read_regular_file(information, 64 * 1024).decode("utf-8", "replace")
    except BoundError:
        return "NVIDIA GPU"
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model:")), "")
    return printable(model[:100], keep_newlines=False) or "NVIDIA GPU"
