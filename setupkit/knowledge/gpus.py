"""NVIDIA GPU generations by compute capability, the names that tell a compute capability without NVML, and
when the open kernel modules apply (``gpu_generations.yaml``).

- ``generation_of(8.6)`` -> the Ampere row (its first CUDA, its last driver branch)
- ``last_branch_for(6.1)`` -> 580 (the newest driver branch that still serves it; None when every current one does)
- ``first_cuda_for(9.0)`` -> CUDA 11.8 (the oldest CUDA that can build code for it)
- ``compute_capability_from_name("NVIDIA GeForce RTX 4090")`` -> 8.9
- ``open_kernel_modules()`` -> from which compute capability they work and are required, from which branch default
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table
from setupkit.versions import CudaVersion
from setupkit.yamlio import brief

TABLE = "gpu_generations"


@dataclass(frozen=True)
class GpuGeneration:
    """A generation from its lowest compute capability up to the next row's."""

    name: str
    compute_capability: float
    first_cuda: CudaVersion
    last_branch: int | None
    """The newest driver branch that serves it; None while the current branches all do."""


@dataclass(frozen=True)
class GpuName:
    """GPUs whose name matches ``pattern`` (case-insensitive) have ``compute_capability``."""

    pattern: re.Pattern[str]
    compute_capability: float


@dataclass(frozen=True)
class OpenKernelModules:
    min_compute_capability: float
    """The oldest generation the open modules drive (Turing)."""
    required_from_compute_capability: float
    """From here only the open modules drive the GPU (Blackwell)."""
    default_from_branch: int
    """The driver branch from which the open modules are the default."""


@dataclass(frozen=True)
class GpuTable:
    generations: tuple[GpuGeneration, ...]
    names: tuple[GpuName, ...]
    open_kernel_modules: OpenKernelModules


def parse_gpus(table: Table) -> GpuTable:
    """The rows of a gpu_generations table; a row of the wrong form is refused."""
    generations = tuple(_generation(table, row, f"generation {index}")
                        for index, row in enumerate(table.rows("generations"), 1))
    capabilities = [generation.compute_capability for generation in generations]
    if not generations or capabilities != sorted(capabilities):
        raise table.fail("'generations' must list at least one generation, by rising compute capability")
    names = tuple(_name(table, row, f"name {index}") for index, row in enumerate(table.rows("names"), 1))
    modules = table.value("open_kernel_modules")
    if not isinstance(modules, dict):
        raise table.fail(f"'open_kernel_modules' must be a mapping, not {brief(modules)}")
    where = "open_kernel_modules"
    branch = loader.optional_int(table, modules, "default_from_branch", where)
    if branch is None:
        raise table.fail(f"{where}: 'default_from_branch' must be a driver branch")
    return GpuTable(generations=generations, names=names, open_kernel_modules=OpenKernelModules(
        min_compute_capability=loader.number(table, modules, "min_compute_capability", where),
        required_from_compute_capability=loader.number(table, modules, "required_from_compute_capability", where),
        default_from_branch=branch))


def _generation(table: Table, row: Mapping[str, Any], where: str) -> GpuGeneration:
    first_cuda = CudaVersion.parse(loader.text(table, row, "first_cuda", where))
    if first_cuda is None:
        raise table.fail(f"{where}: 'first_cuda' must be a CUDA version")
    return GpuGeneration(name=loader.text(table, row, "name", where),
                         compute_capability=loader.number(table, row, "compute_capability", where),
                         first_cuda=first_cuda, last_branch=loader.optional_int(table, row, "last_branch", where))


def _name(table: Table, row: Mapping[str, Any], where: str) -> GpuName:
    try:
        pattern = re.compile(loader.text(table, row, "pattern", where), re.IGNORECASE)
    except re.error as error:
        raise table.fail(f"{where}: 'pattern' is no regular expression ({error})") from None
    return GpuName(pattern=pattern, compute_capability=loader.number(table, row, "compute_capability", where))


@lru_cache(maxsize=1)
def gpu_table() -> GpuTable:
    return parse_gpus(loader.load_table(TABLE))


def generation_of(compute_capability: float) -> GpuGeneration:
    """The generation of a GPU of ``compute_capability`` (one below the first row counts as the first row)."""
    generations = gpu_table().generations
    return next((row for row in reversed(generations) if compute_capability >= row.compute_capability),
                generations[0])


def last_branch_for(compute_capability: float | None) -> int | None:
    """The newest driver branch that supports ``compute_capability``; None when it is unknown or every current
    branch does."""
    return None if compute_capability is None else generation_of(compute_capability).last_branch


def first_cuda_for(compute_capability: float | None) -> CudaVersion | None:
    """The oldest CUDA that can build code for ``compute_capability``; None when it is unknown."""
    return None if compute_capability is None else generation_of(compute_capability).first_cuda


def compute_capability_from_name(name: object) -> float | None:
    """The compute capability of a GPU known by ``name`` alone; None for a name the table does not know."""
    if not isinstance(name, str):
        return None
    return next((row.compute_capability for row in gpu_table().names if row.pattern.search(name)), None)


def open_kernel_modules() -> OpenKernelModules:
    return gpu_table().open_kernel_modules
