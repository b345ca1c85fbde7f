"""Whether the CUDA and cuDNN in place serve an installed TensorFlow, and whether the driver runs its CUDA: the one
judgement that doctor's checks (``tensorflow.cuda-compat``, ``driver.cuda-compat``) and the install planner share,
asked of the tested-builds table (``tensorflow_builds.yaml``).

- ``provided_by("12.3", "11.8", "12.3.101")`` -> "same-major" (also "older", "none"; None when unknown)
- ``tensorflow_libraries("2.15.1", "tensorflow", system_cuda="11.8", ...)`` -> how the installed TensorFlow's
  CUDA and cuDNN are provided, and in one line why it cannot use the GPU when it cannot
- ``driver_runs(CudaVersion(12, 3), CudaVersion(12, 4))`` -> True: the driver's CUDA major release is at least
  the build's (minor-version compatibility covers the rest)
- ``gpu_code_for(build, 12.0)`` -> "ptx-jit": what the official wheels carry for a GPU of that compute capability
  ("machine-code", "ptx" of its own architecture, "ptx-jit" of an older one, "none"); ``gpu_code_gaps(build,
  gpus)`` -> why each GPU that gets no code of its own architecture is not served (the RTX 5090 under 2.21)

A TensorFlow GPU build loads ``libcudart.so.<major>`` and ``libcudnn.so.<major>`` of the CUDA and cuDNN it was
built with, from the system or from pip's nvidia-* wheels (tensorflow[and-cuda]), whichever the loader finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from setupkit import versions
from setupkit.knowledge.gpus import Gpu
from setupkit.knowledge.tensorflow import TensorFlowBuild, gpu_code_target, tested_build
from setupkit.versions import CudaVersion

SAME_MAJOR, OLDER, NONE = "same-major", "older", "none"
CPU_ONLY_PACKAGES = ("tensorflow-cpu", "tensorflow-intel")
"""The TensorFlow distributions that never use a GPU."""
MACHINE_CODE, PTX, PTX_JIT, NO_CODE = "machine-code", "ptx", "ptx-jit", "none"
"""What a wheel carries for a GPU: machine code (sm_XY of its architecture), PTX of its own architecture, only PTX
of an older architecture (compiled by the driver as the program starts), or nothing that runs there."""


def provided_by(needed: Any, *available: Any) -> str | None:
    """How well the ``available`` versions (system, pip; None where absent) provide library version ``needed``.

    "same-major" when one has the same major version and is at least as new (CUDA minor-version compatibility,
    cuDNN's soname libcudnn.so.<major>), "older" when the best has the same major but an older minor, "none" when
    none has the major version at all. None when ``needed`` is unknown.
    """
    if versions.parse(needed) is None:
        return None
    same_major = [v for v in available if versions.major(v) == versions.major(needed)]
    if not same_major:
        return NONE
    if any(versions.at_least(v, versions.major_minor(needed)) for v in same_major):
        return SAME_MAJOR
    return OLDER


@dataclass(frozen=True)
class InstalledLibraries:
    """How an installed TensorFlow's CUDA and cuDNN are provided ("same-major", "older", "none" each)."""

    build: TensorFlowBuild
    """The tested configuration of the installed release (its CUDA and cuDNN)."""
    cuda: str
    cudnn: str
    broken: str | None
    """Why this TensorFlow cannot use the GPU (a library it loads is missing), or None."""

    @property
    def complete(self) -> bool:
        """Both libraries are there in the major release the build loads, at least as new as it was tested with."""
        return self.cuda == SAME_MAJOR and self.cudnn == SAME_MAJOR


def tensorflow_libraries(tf_version: Any, package: Any, *, system_cuda: Any, pip_cuda: Any, system_cudnn: Any,
                         pip_cudnn: Any) -> InstalledLibraries | None:
    """The CUDA and cuDNN an installed GPU TensorFlow finds here; None when that cannot be told (no TensorFlow,
    a release the table does not list, or a CPU-only distribution, which loads neither)."""
    build = tested_build(tf_version)
    if build is None or package in CPU_ONLY_PACKAGES:
        return None
    cuda = provided_by(str(build.cuda), system_cuda, pip_cuda) or NONE
    cudnn = provided_by(build.cudnn, system_cudnn, pip_cudnn) or NONE
    broken = None
    if cuda == NONE:
        broken = (f"TensorFlow {tf_version} needs CUDA {build.cuda}, which neither the system (toolkit: "
                  f"{system_cuda or 'none'}) nor pip (nvidia-cuda-runtime: {pip_cuda or 'none'}) provides")
    elif cudnn == NONE:
        broken = (f"TensorFlow {tf_version} needs cuDNN {build.cudnn}, which neither the system (cuDNN: "
                  f"{system_cudnn or 'none'}) nor pip (nvidia-cudnn: {pip_cudnn or 'none'}) provides")
    return InstalledLibraries(build=build, cuda=cuda, cudnn=cudnn, broken=broken)


def driver_runs(cuda: CudaVersion, driver_cuda: CudaVersion | None) -> bool | None:
    """Whether a driver that serves CUDA up to ``driver_cuda`` runs code built with CUDA ``cuda``: its major
    release must be at least the build's (within a major release, minor-version compatibility runs a newer
    minor, as TensorFlow's pip page relies on: driver 525.60.13 for every CUDA 12.x). None when unknown."""
    if driver_cuda is None:
        return None
    return driver_cuda.major >= cuda.major


def gpu_code_for(build: TensorFlowBuild, compute_capability: float | None) -> str | None:
    """What ``build``'s official wheels carry for a GPU of ``compute_capability``: machine code "sm_XY" runs on
    X.Y to X.9; PTX "compute_XY" runs on X.Y and every newer GPU, compiled by the driver as TensorFlow starts
    (CUDA C Programming Guide, "Binary Compatibility" and "PTX Compatibility"). None when unknown."""
    targets = [target for target in map(gpu_code_target, build.gpu_code) if target is not None]
    if not targets or compute_capability is None:
        return None
    gpu = divmod(round(compute_capability * 10), 10)
    if any(kind == "sm" and major == gpu[0] and minor <= gpu[1] for kind, major, minor in targets):
        return MACHINE_CODE
    ptx = [(major, minor) for kind, major, minor in targets if kind == "compute" and (major, minor) <= gpu]
    if not ptx:
        return NO_CODE
    return PTX if max(ptx)[0] == gpu[0] else PTX_JIT


def gpu_code_gap(build: TensorFlowBuild, gpu: Gpu) -> str | None:
    """Why ``build``'s wheels do not serve ``gpu`` (no code of its architecture at all, or only PTX of an older
    one); None when they carry its architecture's code, or that cannot be told."""
    code = gpu_code_for(build, gpu.compute_capability)
    if code == NO_CODE:
        return f"{gpu.label()}: no code for it (the oldest is {build.gpu_code[0]})"
    if code == PTX_JIT:
        ptx = [target for target in build.gpu_code if target.startswith("compute_")]
        return f"{gpu.label()}: no code of its architecture, only {ptx[-1]} PTX for the driver to compile"
    return None


def gpu_code_gaps(build: TensorFlowBuild, gpus: Sequence[Gpu]) -> list[str] | None:
    """``gpu_code_gap`` of each GPU it finds one for; [] when the wheels serve them all; None when no gap is found
    but one cannot be told (the table names no GPU code for the release, or a compute capability is unknown)."""
    gaps = [gap for gpu in gpus if (gap := gpu_code_gap(build, gpu))]
    if gaps or all(gpu_code_for(build, gpu.compute_capability) is not None for gpu in gpus):
        return gaps
    return None
