"""NVIDIA GPU generations by compute capability, how a GPU's generation is told without NVML (its chip, its name),
and what each generation asks of the driver and the CUDA toolkit (``gpu_generations.yaml``).

- ``generation_of(8.6)`` -> the Ampere row (its first CUDA, the CUDA that dropped it, its driver branches)
- ``last_branch_for(6.1)`` -> 580 (the newest driver branch that still serves it; None when every current one does)
- ``first_cuda_for(9.0)`` -> CUDA 11.8 (the oldest CUDA that can build code for it)
- ``chip_compute_capability("GB202")`` -> 12.0, ``chip_architecture("GB112")`` -> "blackwell"
- ``compute_capability_from_name("NVIDIA GeForce RTX 4090")`` -> 8.9
- ``kernel_modules_for(generation, device_id, name)`` -> "open" | "proprietary" | "either"
- ``driver_gaps(gpus, 580, False)``, ``toolkit_gaps(gpus, CudaVersion(13, 0))`` -> why a driver or a toolkit fails
  one of the GPUs, one text a GPU
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from setupkit import versions
from setupkit.knowledge import cuda, loader
from setupkit.knowledge.loader import Table
from setupkit.versions import CudaVersion
from setupkit.yamlio import brief

TABLE = "gpu_generations"
OPEN, PROPRIETARY, EITHER = "open", "proprietary", "either"
KERNEL_MODULES = (OPEN, PROPRIETARY, EITHER)
"""Which NVIDIA kernel modules drive a GPU: only the open ones, only the proprietary ones, or either."""
MAX_NAME = 200
"""Characters of a GPU name worth matching or showing; NVML's longest are under 50."""


@dataclass(frozen=True)
class GpuGeneration:
    """A generation from its lowest compute capability up to the next row's."""

    name: str
    compute_capability: float
    first_cuda: CudaVersion
    last_branch: int | None
    """The newest driver branch that serves it; None while the current branches all do."""
    cuda_dropped: CudaVersion | None = None
    """The first CUDA release that cannot build code for it; None while the current ones all can."""
    first_branch: int | None = None
    """The oldest driver branch that drives it, where one still in use cannot (Blackwell: 570)."""

    @property
    def architecture(self) -> str:
        """The architecture as the facts name it: kepler, maxwell ... blackwell."""
        return self.name.lower()

    def builds_with(self, cuda_version: CudaVersion) -> bool:
        """Whether a toolkit of ``cuda_version`` can build code for this generation."""
        return cuda_version >= self.first_cuda and (self.cuda_dropped is None or cuda_version < self.cuda_dropped)


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
    required_for_devices: frozenset[str] = frozenset()
    """PCI device ids of GPUs of an older generation that only the open modules drive (Grace Hopper's GH200)."""
    required_for_names: re.Pattern[str] | None = None
    """The same GPUs by name, where no PCI id is known."""


@dataclass(frozen=True)
class GpuTable:
    generations: tuple[GpuGeneration, ...]
    names: tuple[GpuName, ...]
    open_kernel_modules: OpenKernelModules
    chips: Mapping[str, float]
    """Chip code (GB202) -> its compute capability."""
    families: Mapping[str, str]
    """The first two letters of a chip code (GB) -> its architecture (blackwell)."""


def parse_gpus(table: Table) -> GpuTable:
    """The rows of a gpu_generations table; a row of the wrong form is refused."""
    generations = tuple(_generation(table, row, f"generation {index}")
                        for index, row in enumerate(table.rows("generations"), 1))
    capabilities = [generation.compute_capability for generation in generations]
    if not generations or capabilities != sorted(capabilities):
        raise table.fail("'generations' must list at least one generation, by rising compute capability")
    names = tuple(_name(table, row, f"name {index}") for index, row in enumerate(table.rows("names"), 1))
    modules = _open_kernel_modules(table)
    families = _families(table, {generation.architecture for generation in generations})
    return GpuTable(generations=generations, names=names, open_kernel_modules=modules,
                    chips=_chips(table, families), families=families)


def _generation(table: Table, row: Mapping[str, Any], where: str) -> GpuGeneration:
    first_cuda = CudaVersion.parse(loader.text(table, row, "first_cuda", where))
    if first_cuda is None:
        raise table.fail(f"{where}: 'first_cuda' must be a CUDA version")
    dropped = row.get("cuda_dropped")
    cuda_dropped = None if dropped is None else CudaVersion.parse(loader.text(table, row, "cuda_dropped", where))
    if dropped is not None and (cuda_dropped is None or cuda_dropped <= first_cuda):
        raise table.fail(f"{where}: 'cuda_dropped' must be a CUDA version after 'first_cuda', or null")
    return GpuGeneration(name=loader.text(table, row, "name", where),
                         compute_capability=loader.number(table, row, "compute_capability", where),
                         first_cuda=first_cuda, last_branch=loader.optional_int(table, row, "last_branch", where),
                         cuda_dropped=cuda_dropped, first_branch=loader.optional_int(table, row, "first_branch", where))


def _name(table: Table, row: Mapping[str, Any], where: str) -> GpuName:
    return GpuName(pattern=_pattern(table, loader.text(table, row, "pattern", where), where),
                   compute_capability=loader.number(table, row, "compute_capability", where))


def _pattern(table: Table, text: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as error:
        raise table.fail(f"{where}: 'pattern' is no regular expression ({error})") from None


def _open_kernel_modules(table: Table) -> OpenKernelModules:
    modules = table.value("open_kernel_modules")
    where = "open_kernel_modules"
    if not isinstance(modules, dict):
        raise table.fail(f"'{where}' must be a mapping, not {brief(modules)}")
    branch = loader.optional_int(table, modules, "default_from_branch", where)
    if branch is None:
        raise table.fail(f"{where}: 'default_from_branch' must be a driver branch")
    names = modules.get("required_for_names")
    return OpenKernelModules(
        min_compute_capability=loader.number(table, modules, "min_compute_capability", where),
        required_from_compute_capability=loader.number(table, modules, "required_from_compute_capability", where),
        default_from_branch=branch,
        required_for_devices=frozenset(loader.texts(table, modules, "required_for_devices", where)),
        required_for_names=None if names is None else _pattern(table, loader.text(table, modules,
                                                                                   "required_for_names", where), where))


def _families(table: Table, architectures: set[str]) -> Mapping[str, str]:
    families = table.data.get("families", {})
    if not isinstance(families, dict) or not all(isinstance(prefix, str) and len(prefix) == 2 and
                                                 architecture in architectures
                                                 for prefix, architecture in families.items()):
        raise table.fail(f"'families' must map two-letter chip prefixes to the architectures of 'generations', "
                         f"not {brief(families)}")
    return MappingProxyType(dict(families))


def _chips(table: Table, families: Mapping[str, str]) -> Mapping[str, float]:
    chips: dict[str, float] = {}
    for index, row in enumerate(table.rows("chips") if "chips" in table.data else [], 1):
        where = f"chip row {index}"
        capability = loader.number(table, row, "compute_capability", where)
        for chip in loader.texts(table, row, "chips", where):
            if chip[:2] not in families or chip in chips:
                raise table.fail(f"{where}: {chip!r} is listed twice or has no family in 'families'")
            chips[chip] = capability
    return MappingProxyType(chips)


@lru_cache(maxsize=1)
def gpu_table() -> GpuTable:
    return parse_gpus(loader.load_table(TABLE))


# -- generations -------------------------------------------------------------------------------------------------


def generation_of(compute_capability: float) -> GpuGeneration:
    """The generation of a GPU of ``compute_capability`` (one below the first row counts as the first row)."""
    generations = gpu_table().generations
    return next((row for row in reversed(generations) if compute_capability >= row.compute_capability),
                generations[0])


def generation_of_architecture(architecture: object) -> GpuGeneration | None:
    """The oldest generation of an architecture ("blackwell" -> its 10.0 row): what a GPU of that architecture
    asks at the least, when its own compute capability is unknown; None for an architecture the table lacks."""
    return next((row for row in gpu_table().generations if row.architecture == architecture), None)


def architectures() -> tuple[str, ...]:
    """Every architecture the table knows, oldest first."""
    return tuple(dict.fromkeys(row.architecture for row in gpu_table().generations))


def last_branch_for(compute_capability: float | None) -> int | None:
    """The newest driver branch that supports ``compute_capability``; None when it is unknown or every current
    branch does."""
    return None if compute_capability is None else generation_of(compute_capability).last_branch


def first_cuda_for(compute_capability: float | None) -> CudaVersion | None:
    """The oldest CUDA that can build code for ``compute_capability``; None when it is unknown."""
    return None if compute_capability is None else generation_of(compute_capability).first_cuda


def compute_capability_text(compute_capability: float) -> str:
    """12.0 -> "12.0", as NVML and the facts write it."""
    return f"{compute_capability:.1f}"


def parse_compute_capability(value: object) -> float | None:
    """A compute capability as the facts or NVML hold it ("8.6", [8, 6]) -> 8.6; None for anything else."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(type(part) is int for part in value):
        pair: tuple[int, int] | None = (value[0], value[1])
    else:
        pair = versions.major_minor_pair(value) if isinstance(value, str) and value.count(".") == 1 else None
    if pair is None or not all(0 <= part < 100 for part in pair) or pair[1] > 9:
        return None
    return pair[0] + pair[1] / 10


# -- chips and names ---------------------------------------------------------------------------------------------


def chip_compute_capability(chip: object) -> float | None:
    """The compute capability of a chip code ("GB202" -> 12.0); None for one the table does not list."""
    return gpu_table().chips.get(chip) if isinstance(chip, str) else None


def chip_architecture(chip: object) -> str | None:
    """The architecture of a chip code by its family ("GB112" -> "blackwell"); None for an unknown family."""
    return gpu_table().families.get(chip[:2]) if isinstance(chip, str) else None


def compute_capability_from_name(name: object) -> float | None:
    """The compute capability of a GPU known by ``name`` alone; None for a name the table does not know."""
    if not isinstance(name, str):
        return None
    name = name[:MAX_NAME]
    return next((row.compute_capability for row in gpu_table().names if row.pattern.search(name)), None)


def open_kernel_modules() -> OpenKernelModules:
    return gpu_table().open_kernel_modules


def kernel_modules_for(generation: GpuGeneration | None, device_id: object = None, name: object = None) -> str | None:
    """Which kernel modules drive a GPU: "open" (Blackwell, Grace Hopper), "proprietary" (before Turing) or
    "either"; None when its generation is unknown."""
    modules = open_kernel_modules()
    named = isinstance(name, str) and modules.required_for_names is not None and \
        modules.required_for_names.search(name[:MAX_NAME]) is not None
    if device_id in modules.required_for_devices or named:
        return OPEN
    if generation is None:
        return None
    if generation.compute_capability >= modules.required_from_compute_capability:
        return OPEN
    return PROPRIETARY if generation.compute_capability < modules.min_compute_capability else EITHER


# -- one GPU, and what a driver or a toolkit leaves out ----------------------------------------------------------


@dataclass(frozen=True)
class Gpu:
    """One GPU as the facts tell it: its name, compute capability, architecture and kernel module flavour (each
    None where unknown)."""

    name: str | None = None
    compute_capability: float | None = None
    architecture: str | None = None
    kernel_modules: str | None = None

    @property
    def generation(self) -> GpuGeneration | None:
        """Its generation: by compute capability, else the oldest row of its architecture."""
        if self.compute_capability is not None:
            return generation_of(self.compute_capability)
        return generation_of_architecture(self.architecture)

    @property
    def modules(self) -> str | None:
        """The kernel modules that drive it: as the facts say, else as its generation and name tell."""
        return self.kernel_modules or kernel_modules_for(self.generation, name=self.name)

    def label(self) -> str:
        """ "NVIDIA GeForce GTX 1080 Ti (Pascal, compute capability 6.1)" """
        generation = self.generation
        parts = [generation.name] if generation else []
        if self.compute_capability is not None:
            parts.append(f"compute capability {compute_capability_text(self.compute_capability)}")
        return f"{self.name or 'a GPU'}" + (f" ({', '.join(parts)})" if parts else "")


def gpus_of(names: object, compute_capabilities: object = None, architectures_: object = None,
            kernel_modules: object = None) -> list[Gpu] | None:
    """The GPUs that the fact lists describe (gpu.names, gpu.compute_capabilities, gpu.architectures,
    gpu.kernel_modules, one entry a GPU); None when no list says how many there are. A value of the wrong form
    counts as unknown."""
    lists = [value if isinstance(value, list) else None
             for value in (names, compute_capabilities, architectures_, kernel_modules)]
    count = next((len(value) for value in lists if value is not None), None)
    if count is None:
        return None
    known = architectures()

    def entry(index: int, which: int) -> Any:
        values = lists[which]
        return values[index] if values is not None and index < len(values) else None

    found = []
    for index in range(count):
        name, cc, architecture, modules = (entry(index, which) for which in range(4))
        found.append(Gpu(name=name[:MAX_NAME] if isinstance(name, str) else None,
                         compute_capability=parse_compute_capability(cc),
                         architecture=architecture if architecture in known else None,
                         kernel_modules=modules if modules in KERNEL_MODULES else None))
    return found


def driver_gap(gpu: Gpu, branch: int, open_module: bool | None) -> str | None:
    """Why driver branch ``branch`` with the open (True) or proprietary (False) kernel module cannot drive ``gpu``;
    None when it can, or when that cannot be told (see ``driver_gaps``)."""
    generation = gpu.generation
    if generation and generation.last_branch and branch > generation.last_branch:
        return f"{gpu.label()}: branch {generation.last_branch} is the last that drives it"
    if generation and generation.first_branch and branch < generation.first_branch:
        return f"{gpu.label()}: it needs branch {generation.first_branch} or newer"
    modules = gpu.modules
    if modules == OPEN and open_module is False:
        return f"{gpu.label()}: only the open kernel modules drive it"
    if modules == PROPRIETARY and open_module is True:
        return f"{gpu.label()}: the open kernel modules drive Turing and newer only"
    return None


def _drives_known(gpu: Gpu, open_module: bool | None) -> bool:
    """Whether a driver's fit for ``gpu`` could be told: its generation is known, and so is the module flavour
    where only one flavour drives it."""
    return gpu.generation is not None and (open_module is not None or gpu.modules == EITHER)


def driver_gaps(gpus: Sequence[Gpu], branch: int, open_module: bool | None) -> list[str] | None:
    """Why the driver cannot drive each GPU it fails, one text a GPU; [] when it drives them all; None when it
    fails none that can be told but some GPU cannot be told (its generation, or the module flavour, unknown)."""
    gaps = [gap for gpu in gpus if (gap := driver_gap(gpu, branch, open_module))]
    if gaps or all(_drives_known(gpu, open_module) for gpu in gpus):
        return gaps
    return None


def toolkit_gap(gpu: Gpu, cuda_version: CudaVersion, dropped_only: bool = False) -> str | None:
    """Why a CUDA toolkit of ``cuda_version`` cannot build code for ``gpu``: it predates the GPU (it cannot compile
    for its architecture, though PTX built for an older one still runs there, compiled as it loads), or it
    dropped the GPU (nothing it builds runs there). None when it can, or the GPU's generation is unknown.
    ``dropped_only``: only the second kind."""
    generation = gpu.generation
    if generation is None or generation.builds_with(cuda_version):
        return None
    if cuda_version < generation.first_cuda:
        return None if dropped_only else f"{gpu.label()}: CUDA {generation.first_cuda} is the first that builds for it"
    dropped = generation.cuda_dropped
    return f"{gpu.label()}: CUDA {dropped} dropped it, CUDA {dropped.major - 1 if dropped else '?'}.x is the last"


def toolkit_gaps(gpus: Sequence[Gpu], cuda_version: CudaVersion, dropped_only: bool = False) -> list[str] | None:
    """Why the toolkit cannot build for each GPU it fails (``toolkit_gap``); [] when it builds for all; None when
    it fails none that can be told but the generation of some GPU is unknown."""
    gaps = [gap for gpu in gpus if (gap := toolkit_gap(gpu, cuda_version, dropped_only))]
    if gaps or all(gpu.generation is not None for gpu in gpus):
        return gaps
    return None


def cuda_window(gpus: Sequence[Gpu]) -> tuple[CudaVersion | None, CudaVersion | None]:
    """(the oldest CUDA that builds for every GPU of a known generation, the first that fails one of them);
    None where no GPU sets that limit."""
    generations = [gpu.generation for gpu in gpus]
    known = [generation for generation in generations if generation is not None]
    first = max((generation.first_cuda for generation in known), default=None)
    dropped = min((generation.cuda_dropped for generation in known if generation.cuda_dropped), default=None)
    return first, dropped


def newest_cuda_for(gpus: Sequence[Gpu], ceiling: CudaVersion | None = None) -> CudaVersion | None:
    """The newest CUDA release setupkit knows that builds for every GPU of a known generation (at most
    ``ceiling``); None when there is none."""
    first, dropped = cuda_window(gpus)
    fitting = [release for release in cuda.known_cuda_releases()
               if (first is None or release >= first) and (dropped is None or release < dropped)
               and (ceiling is None or release <= ceiling)]
    return fitting[-1] if fitting else None


# -- the questions a check asks, of fact values ------------------------------------------------------------------


def driver_gpu_gaps(driver_version: object, open_module: object, names: object, compute_capabilities: object,
                    architectures_: object, kernel_modules: object) -> list[str] | None:
    """The GPUs the installed driver (its version, whether its module is the open one) cannot drive, one text
    a GPU: [] when it drives them all; None when that cannot be told."""
    branch = versions.driver_branch(driver_version)
    found = gpus_of(names, compute_capabilities, architectures_, kernel_modules)
    if branch is None or found is None:
        return None
    return driver_gaps(found, branch, open_module if isinstance(open_module, bool) else None)


def toolkit_gpu_gaps(toolkit_version: object, names: object, compute_capabilities: object,
                     architectures_: object) -> list[str] | None:
    """The GPUs the CUDA toolkit ``toolkit_version`` cannot build code for, one text a GPU: [] when it builds for
    them all; None when that cannot be told."""
    release = CudaVersion.parse(toolkit_version) if isinstance(toolkit_version, str) else None
    found = gpus_of(names, compute_capabilities, architectures_)
    if release is None or found is None:
        return None
    return toolkit_gaps(found, release)


def toolkit_dropped_gpus(toolkit_version: object, names: object, compute_capabilities: object,
                         architectures_: object) -> list[str] | None:
    """The GPUs the CUDA toolkit ``toolkit_version`` dropped (nothing it builds runs on them), as
    ``toolkit_gpu_gaps`` tells them."""
    release = CudaVersion.parse(toolkit_version) if isinstance(toolkit_version, str) else None
    found = gpus_of(names, compute_capabilities, architectures_)
    if release is None or found is None:
        return None
    return toolkit_gaps(found, release, dropped_only=True)


def cuda_for_gpus(names: object, compute_capabilities: object, architectures_: object,
                  ceiling: object = None) -> str | None:
    """The newest CUDA release ("12.9") that builds for every GPU, at most ``ceiling`` (the driver's CUDA)."""
    found = gpus_of(names, compute_capabilities, architectures_)
    if not found or any(gpu.generation is None for gpu in found):
        return None
    limit = CudaVersion.parse(ceiling) if isinstance(ceiling, str) else None
    release = newest_cuda_for(found, limit)
    return None if release is None else str(release)

