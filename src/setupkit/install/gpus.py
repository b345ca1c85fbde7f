"""What the planner needs to know about the GPUs: is there one, which generation (compute capability)."""

from __future__ import annotations

import re
from typing import Any

from setupkit.bounded import ascii_int
from setupkit.facts import Facts
from setupkit.install import versions

# Without NVML (no driver yet) only names or PCI ids are known. The generation decides open or proprietary
# kernel modules and the last driver branch, so a few well-known names are mapped to their compute capability
# (NVIDIA's "CUDA GPUs" list); anything else stays unknown and the planner takes the choice that works on all.
_NAME_TO_CC = (
    (r"\bB[12]00\b|GB[12]00|RTX 50\d0|RTX PRO \d000 Blackwell", 10.0),
    (r"\bH(100|200|800)\b|GH200", 9.0),
    (r"RTX 40\d0|\bL40S?\b|\bL4\b|RTX \d000 Ada", 8.9),
    (r"RTX 30\d0|\bA(2|10|16|40)\b|RTX A\d000", 8.6),
    (r"\bA(30|100|800)\b", 8.0),
    (r"RTX 20\d0|GTX 16\d0|TITAN RTX|\bT4\b|Quadro RTX", 7.5),
    (r"\bV100\b|TITAN V\b", 7.0),
    (r"GTX 10\d0|TITAN Xp|\bP(4|40|100)\b", 6.1),
    (r"GTX (9\d0|750)|\bM(40|60)\b|GTX TITAN X", 5.2),
    (r"GTX (6\d0|7[6-8]0)|\bK(20|40|80)\b", 3.5),
)


def gpu_count(facts: Facts) -> int:
    count = facts.get("gpu.count")
    return count if type(count) is int and count > 0 else 0


def _cc_value(item: Any) -> float | None:
    """A compute capability "X.Y" (or [X, Y]) as a number; None for anything else."""
    if isinstance(item, (list, tuple)) and len(item) == 2:
        major, minor = (ascii_int(part, max_digits=2) for part in item)
        pair = (major, minor) if major is not None and minor is not None else None
    else:
        pair = versions.major_minor(item) if isinstance(item, str) else None
    return float(f"{pair[0]}.{pair[1]}") if pair and max(pair) < 100 else None


def _cc_from_name(name: Any) -> float | None:
    if not isinstance(name, str):
        return None
    return next((cc for pattern, cc in _NAME_TO_CC if re.search(pattern, name, re.IGNORECASE)), None)


def _listed(facts: Facts, name: str) -> list[Any]:
    value = facts.get(name)
    return value if isinstance(value, list) else []


def oldest_compute_capability(facts: Facts) -> float | None:
    """The lowest compute capability among the GPUs (the oldest GPU limits the driver); None when unknown."""
    values = [_cc_value(item) for item in _listed(facts, "gpu.compute_capabilities")]
    if not values or None in values:
        values = [_cc_from_name(name) for name in _listed(facts, "gpu.names")]
    if not values or None in values:
        return None
    return min(values)
