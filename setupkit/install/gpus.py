"""What the planner needs to know about the GPUs: is there one, which generations, and what they ask of the
driver (a range of branches, a kernel module flavour) and of the CUDA toolkit (the releases that build for them).

The probes tell each GPU's architecture and compute capability from NVML, else from its PCI id's chip (the
gpu.* facts); where neither told it (a hand-made facts file, a GPU unknown to both), a well-known name still
does (the knowledge table), and a GPU of unknown generation leaves the planner to the choice that works on most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from setupkit.facts import Facts
from setupkit.knowledge import gpus
from setupkit.knowledge.gpus import EITHER, OPEN, PROPRIETARY, Gpu, GpuGeneration
from setupkit.versions import CudaVersion


def gpu_count(facts: Facts) -> int:
    count = facts.get("gpu.count")
    return count if type(count) is int and count > 0 else 0


def _listed(facts: Facts, name: str) -> list[Any] | None:
    value = facts.get(name)
    return value if isinstance(value, list) else None


def host_gpus(facts: Facts) -> list[Gpu]:
    """Each GPU as the facts tell it; one whose generation they do not tell is read by its name."""
    found = gpus.gpus_of(_listed(facts, "gpu.names"), _listed(facts, "gpu.compute_capabilities"),
                         _listed(facts, "gpu.architectures"), _listed(facts, "gpu.kernel_modules"))
    if found is None:
        return [Gpu() for _ in range(gpu_count(facts))]
    return [gpu if gpu.generation else Gpu(name=gpu.name, kernel_modules=gpu.kernel_modules,
                                           compute_capability=gpus.compute_capability_from_name(gpu.name))
            for gpu in found]


@dataclass(frozen=True)
class GpuNeeds:
    """What the host's GPUs, all together, ask of the driver and of the CUDA toolkit."""

    gpus: tuple[Gpu, ...]

    @property
    def generations(self) -> list[GpuGeneration]:
        """The generations that are known (a GPU of unknown generation adds none)."""
        return [generation for gpu in self.gpus if (generation := gpu.generation) is not None]

    @property
    def known(self) -> bool:
        """Every GPU's generation is known."""
        return bool(self.gpus) and len(self.generations) == len(self.gpus)

    @property
    def last_branch(self) -> int | None:
        """The newest driver branch that drives them all; None when every current branch does (or none is known)."""
        return min((g.last_branch for g in self.generations if g.last_branch is not None), default=None)

    @property
    def first_branch(self) -> int | None:
        """The oldest driver branch that drives them all; None where no GPU sets a floor."""
        return max((g.first_branch for g in self.generations if g.first_branch is not None), default=None)

    @property
    def open_only(self) -> list[Gpu]:
        """The GPUs only the open kernel modules drive (Blackwell, Grace Hopper)."""
        return [gpu for gpu in self.gpus if gpu.modules == OPEN]

    @property
    def proprietary_only(self) -> list[Gpu]:
        """The GPUs only the proprietary kernel modules drive (before Turing)."""
        return [gpu for gpu in self.gpus if gpu.modules == PROPRIETARY]

    @property
    def either_modules(self) -> bool:
        """Both module flavours drive every GPU (each one's generation known)."""
        return self.known and all(gpu.modules == EITHER for gpu in self.gpus)

    @property
    def cuda_window(self) -> tuple[CudaVersion | None, CudaVersion | None]:
        """(the oldest CUDA that builds for them all, the first that fails one of them); None where unlimited."""
        return gpus.cuda_window(self.gpus)

    def builds_with(self, cuda_version: CudaVersion) -> bool:
        """Whether a toolkit of ``cuda_version`` builds code for every GPU of a known generation."""
        return not gpus.toolkit_gaps([gpu for gpu in self.gpus if gpu.generation], cuda_version)

    def toolkit_gaps(self, cuda_version: CudaVersion, dropped_only: bool = False) -> list[str]:
        """Why a toolkit of ``cuda_version`` fails each GPU it fails (``dropped_only``: those it dropped)."""
        return gpus.toolkit_gaps([gpu for gpu in self.gpus if gpu.generation], cuda_version, dropped_only) or []

    def newest_cuda(self, ceiling: CudaVersion | None) -> CudaVersion | None:
        """The newest CUDA release that builds for them all, at most ``ceiling``."""
        return gpus.newest_cuda_for([gpu for gpu in self.gpus if gpu.generation], ceiling)

    @property
    def floor_generation(self) -> str:
        """The name of the generation that sets ``first_branch`` (Blackwell)."""
        return next((g.name for g in self.generations if g.first_branch == self.first_branch), "this")

    def served_by(self, branch: int, open_module: object) -> bool:
        """Whether an installed driver (its branch, whether its module is the open one) drives every GPU of a
        known generation."""
        flavour = open_module if isinstance(open_module, bool) else None
        return not gpus.driver_gaps([gpu for gpu in self.gpus if gpu.generation], branch, flavour)

    def limiting(self, branch_limit: int) -> Gpu | None:
        """The first GPU whose generation's last branch is ``branch_limit``."""
        return next((gpu for gpu in self.gpus if gpu.generation and gpu.generation.last_branch == branch_limit),
                    None)


def gpu_needs(facts: Facts) -> GpuNeeds:
    return GpuNeeds(gpus=tuple(host_gpus(facts)))


def oldest_compute_capability(facts: Facts) -> float | None:
    """The lowest compute capability among the GPUs; None when any GPU's is unknown."""
    values = [gpu.compute_capability for gpu in host_gpus(facts)]
    known = [value for value in values if value is not None]
    return min(known) if known and len(known) == len(values) else None
