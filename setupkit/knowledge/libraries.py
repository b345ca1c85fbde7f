"""Whether the CUDA and cuDNN in place serve an installed TensorFlow, and whether the driver runs its CUDA: the one
judgement that doctor's checks (``tensorflow.cuda-compat``, ``driver.cuda-compat``) and the install planner share,
asked of the tested-builds table (``tensorflow_builds.yaml``).

- ``provided_by("12.3", "11.8", "12.3.101")`` -> "same-major" (also "older", "none"; None when unknown)
- ``tensorflow_libraries("2.15.1", "tensorflow", system_cuda="11.8", ...)`` -> how the installed TensorFlow's
  CUDA and cuDNN are provided, and in one line why it cannot use the GPU when it cannot
- ``driver_runs(CudaVersion(12, 3), CudaVersion(12, 4))`` -> True: the driver's CUDA major release is at least
  the build's (minor-version compatibility covers the rest)

A TensorFlow GPU build loads ``libcudart.so.<major>`` and ``libcudnn.so.<major>`` of the CUDA and cuDNN it was
built with, from the system or from pip's nvidia-* wheels (tensorflow[and-cuda]), whichever the loader finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from setupkit import versions
from setupkit.knowledge.tensorflow import TensorFlowBuild, tested_build
from setupkit.versions import CudaVersion

SAME_MAJOR, OLDER, NONE = "same-major", "older", "none"
CPU_ONLY_PACKAGES = ("tensorflow-cpu", "tensorflow-intel")
"""The TensorFlow distributions that never use a GPU."""


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
