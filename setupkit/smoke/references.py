"""Where a training result stands against the reference figure of its device class.

The figures (this model's speed per device class, their sources) are knowledge: setupkit.knowledge's
reference_speeds table.
"""

from __future__ import annotations

from setupkit.knowledge import reference_speeds
from setupkit.knowledge.reference_speeds import ReferenceSpeed

GPU_TO_CPU_RATIO = reference_speeds.gpu_to_cpu_ratio()
"""The reference GPU against the reference CPU on this model."""


def reference_for(devices: list[dict], on_gpu: bool) -> tuple[ReferenceSpeed, str | None]:
    """The reference of the class the run trained on; for an unlisted GPU, the table's floor (a 1080 Ti)."""
    if not on_gpu:
        return reference_speeds.cpu_reference(), None
    name = next((d.get("name") or "" for d in devices if d.get("type") == "GPU"), "")
    reference = reference_speeds.gpu_reference(name)
    if reference is not None:
        return reference, None
    floor = reference_speeds.unlisted_gpu_reference()
    return floor, (f"no figure for {name or 'this GPU'}: compared with a 2017 GTX 1080 Ti, which any newer "
                   f"GPU should beat")


def standing(images_per_sec: float | None, devices: list[dict], on_gpu: bool, cpu_count: int | None) -> dict:
    """The JSON ``reference`` block: the figure, the ratio and one sentence for people."""
    reference, note = reference_for(devices, on_gpu)
    ratio = round(images_per_sec / reference.images_per_sec, 2) if images_per_sec else None
    block = {"device_class": reference.device_class, "images_per_sec": reference.images_per_sec,
             "source": reference.source, "ratio": ratio, "note": note}
    if reference == reference_speeds.cpu_reference() and cpu_count:
        block["note"] = f"this CPU has {cpu_count} logical cores; the i7 figure came from a 4-core desktop"
    block["summary"] = _summary(ratio, reference)
    return block


def _summary(ratio: float | None, reference: ReferenceSpeed) -> str:
    if ratio is None:
        return "no throughput measured"
    place = "above" if ratio >= 1.1 else "below" if ratio < 0.9 else "about at"
    return f"{ratio}x the {reference.device_class} reference ({reference.images_per_sec:,.0f} img/s): {place} it"
