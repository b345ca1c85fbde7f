"""What the planner needs to know about the GPUs: is there one, which generation (compute capability)."""

from __future__ import annotations

from typing import Any

from setupkit import versions
from setupkit.bounded import ascii_int
from setupkit.facts import Facts
from setupkit.knowledge.gpus import compute_capability_from_name


def gpu_count(facts: Facts) -> int:
    count = facts.get("gpu.count")
    return count if type(count) is int and count > 0 else 0


def _cc_value(item: Any) -> float | None:
    """A compute capability "X.Y" (or [X, Y]) as a number; None for anything else."""
    if isinstance(item, (list, tuple)) and len(item) == 2:
        major, minor = (ascii_int(part, max_digits=2) for part in item)
        pair = (major, minor) if major is not None and minor is not None else None
    else:
        pair = versions.major_minor_pair(item) if isinstance(item, str) else None
    return float(f"{pair[0]}.{pair[1]}") if pair and max(pair) < 100 else None


def _listed(facts: Facts, name: str) -> list[Any]:
    value = facts.get(name)
    return value if isinstance(value, list) else []


def oldest_compute_capability(facts: Facts) -> float | None:
    """The lowest compute capability among the GPUs (the oldest GPU limits the driver); None when unknown.

    Without NVML (no driver yet) only the names are known: the generation decides open or proprietary kernel
    modules and the last driver branch, so well-known names tell their compute capability (the knowledge
    table); any other name leaves it unknown and the planner takes the choice that works on all."""
    values = [_cc_value(item) for item in _listed(facts, "gpu.compute_capabilities")]
    if not values or None in values:
        values = [compute_capability_from_name(name) for name in _listed(facts, "gpu.names")]
    known = [value for value in values if value is not None]
    return min(known) if known and len(known) == len(values) else None
