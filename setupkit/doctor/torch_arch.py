"""The GPUs a PyTorch build has kernels for, by the arch list the build itself names (torch.cuda.get_arch_list(),
read by the deep probe: torchprobe.arch_list), for torch.gpu-arch. The release table (knowledge.framework_wheels)
knows PyPI's and PyTorch's own wheels; the build's list is also right for a source build, a conda or NGC build.

Machine code (``sm_86``) runs on GPUs of its major compute capability with an equal or higher minor one (sm_86 on
8.9); arch-specific code (``sm_90a``) only on its own; PTX (``compute_120``) is compiled by the driver for any
GPU of that compute capability or newer. An empty list (a CPU build, or a release that answers only when CUDA is
available) tells nothing: the functions answer None, and the check falls back to the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from setupkit.knowledge import gpus

_ARCH = re.compile(r"(sm|compute)_([0-9]{2,3})([af]?)", re.ASCII)
MAX_ARCHES = 64
"""More architectures than any build lists (PyTorch's widest has about ten)."""


@dataclass(frozen=True)
class Arch:
    compute_capability: float
    ptx: bool
    specific: bool
    """An ``a`` architecture: its features exist on that compute capability alone."""

    def serves(self, compute_capability: float) -> bool:
        if self.specific:
            return compute_capability == self.compute_capability
        if self.ptx:
            return compute_capability >= self.compute_capability
        return int(compute_capability) == int(self.compute_capability) and compute_capability >= self.compute_capability


def parse_arch_list(arch_list: Any) -> list[Arch] | None:
    """["sm_80", "sm_90a", "compute_90"] -> its architectures; None when it names none (or is no list of names)."""
    if not isinstance(arch_list, list) or len(arch_list) > MAX_ARCHES:
        return None
    found = []
    for name in arch_list:
        match = _ARCH.fullmatch(name) if isinstance(name, str) else None
        if match is None:
            continue  # a spelling this code does not know serves no GPU it can tell of
        digits = match.group(2)
        found.append(Arch(int(digits[:-1]) + int(digits[-1]) / 10, match.group(1) == "compute",
                          match.group(3) == "a"))
    return found or None


def _kernel(arches: list[Arch], compute_capability: float) -> str | None:
    """"sass", "ptx" (only PTX serves it) or None (no kernel image for that GPU)."""
    if any(arch.serves(compute_capability) for arch in arches if not arch.ptx):
        return "sass"
    if any(arch.serves(compute_capability) for arch in arches if arch.ptx):
        return "ptx"
    return None


def _gpus(arch_list: Any, names: Any, compute_capabilities: Any, architectures: Any,
          wanted: str | None) -> list[str] | None:
    arches = parse_arch_list(arch_list)
    found = gpus.gpus_of(names, compute_capabilities, architectures)
    if arches is None or found is None or any(gpu.compute_capability is None for gpu in found):
        return None
    return [gpu.label() for gpu in found
            if gpu.compute_capability is not None and _kernel(arches, gpu.compute_capability) == wanted]


def arch_list_gaps(arch_list: Any, names: Any, compute_capabilities: Any,
                   architectures: Any = None) -> list[str] | None:
    """The GPUs the build's arch list has no kernel for, one text a GPU; [] when it serves all; None when the list
    tells nothing or a GPU's compute capability is unknown."""
    return _gpus(arch_list, names, compute_capabilities, architectures, None)


def arch_list_ptx_gpus(arch_list: Any, names: Any, compute_capabilities: Any,
                       architectures: Any = None) -> list[str] | None:
    """The GPUs the build serves through PTX alone (compiled by the driver as it loads)."""
    return _gpus(arch_list, names, compute_capabilities, architectures, "ptx")


def arch_list_text(arch_list: Any) -> str | None:
    """"sm_80, sm_90, compute_90", as the build names them; None when the list tells nothing."""
    if parse_arch_list(arch_list) is None:
        return None
    return ", ".join(name for name in arch_list if isinstance(name, str) and _ARCH.fullmatch(name))
