"""Version knowledge the planner needs: TensorFlow's tested CUDA/cuDNN and each CUDA's minimum driver (the
shared tables), and which GPU generations a driver branch or CUDA release serves (here). Sources are named
beside each table."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from setupkit.install import versions


@dataclass(frozen=True)
class TfBuild:
    version: str
    python_min: str
    python_max: str
    cudnn: str
    cuda: str

    @property
    def pip_brings_cuda(self) -> bool:
        """From 2.14 on, ``tensorflow[and-cuda]`` pulls CUDA and cuDNN as NVIDIA wheels (install.md section 6)."""
        return versions.at_least(self.version, "2.14")

    @property
    def gpu_in_main_package(self) -> bool:
        """Before 2.1 the GPU build was the separate ``tensorflow-gpu`` package (tensorflow/docs pip.md)."""
        return versions.at_least(self.version, "2.1")

    def runs_on(self, python_version: str | None) -> bool:
        pair = versions.major_minor(python_version)
        if pair is None:
            return False
        return versions.major_minor(self.python_min) <= pair <= versions.major_minor(self.python_max)


# TensorFlow's tested builds and each CUDA's minimum driver are the project's shared knowledge tables
# (checks/tables/*.yaml, read through setupkit.doctor.tables): install.md sections 6 and 7 (tensorflow/docs
# source.md; CUDA Toolkit Release Notes, Table 3) plus the older rows of the same sources.


@lru_cache(maxsize=1)
def tf_builds() -> tuple[TfBuild, ...]:
    """Tested build configurations, Linux GPU, newest first."""
    from setupkit.doctor.tables import load_table

    rows = load_table("tensorflow_builds")["builds"]
    builds = [TfBuild(str(r["tensorflow"]), *_python_bounds(str(r["python"])), str(r["cudnn"]), str(r["cuda"]))
              for r in rows]
    return tuple(sorted(builds, key=lambda b: versions.parse(b.version), reverse=True))


def _python_bounds(text: str) -> tuple[str, str]:
    low, _, high = text.partition("-")
    return low, high or low


def min_driver_for_cuda(cuda: str) -> str | None:
    """The oldest driver that runs CUDA ``cuda`` (X.Y) at full feature level; None for a CUDA not in the table."""
    from setupkit.doctor.tables import min_driver_for_cuda as lookup

    return lookup(cuda)


@lru_cache(maxsize=1)
def known_cuda_releases() -> tuple[str, ...]:
    """Every CUDA X.Y the driver table lists, oldest first."""
    from setupkit.doctor.tables import load_table

    pairs = {versions.major_minor(str(row["cuda"])) for row in load_table("cuda_driver")["toolkits"]}
    return tuple(versions.dotted(pair) for pair in sorted(pair for pair in pairs if pair))


def cuda_max_for_driver(driver: str | None) -> str | None:
    """The newest CUDA whose minimum driver ``driver`` meets ("535.183.01" -> "12.2"); None when unknown."""
    from setupkit.doctor.tables import supported_cuda_for_driver

    return supported_cuda_for_driver(driver) if versions.parse(driver) else None


def cuda_max_for_branch(branch: int) -> str | None:
    """The newest CUDA a driver branch serves once it is up to date (its later point releases count)."""
    return cuda_max_for_driver(f"{branch}.999.999")


def cuda_version_sort_key(cuda: str) -> tuple[int, int]:
    return versions.major_minor(cuda) or (0, 0)


# GPU generations, by compute capability. Newest driver branch that still serves a generation: 390 was the
# last for Fermi, 470 for Kepler, and NVIDIA named R580 the last for Maxwell, Pascal and Volta (CUDA 12.9/13.0
# release notes). Oldest CUDA that knows a generation: CUDA release notes (Turing 10.0, Ampere 11.0/11.1,
# Ada and Hopper 11.8, Blackwell 12.8).
_LAST_BRANCH_BY_CC = ((3.0, 390), (5.0, 470), (7.5, 580))
_FIRST_CUDA_BY_CC = ((10.0, "12.8"), (8.9, "11.8"), (8.6, "11.1"), (8.0, "11.0"), (7.5, "10.0"), (7.0, "9.0"),
                     (6.0, "8.0"), (0.0, "6.5"))


def last_branch_for(cc: float | None) -> int | None:
    """The newest driver branch that supports compute capability ``cc``; None when every current one does."""
    if cc is None:
        return None
    return next((branch for below, branch in _LAST_BRANCH_BY_CC if cc < below), None)


def first_cuda_for(cc: float | None) -> str | None:
    """The oldest CUDA that can build code for compute capability ``cc``."""
    if cc is None:
        return None
    return next(cuda for at, cuda in _FIRST_CUDA_BY_CC if cc >= at)


# Open kernel modules: required on Blackwell, the default from R560; Maxwell, Pascal and Volta need the
# proprietary ones (install.md section 3, NVIDIA "Transitions Fully Towards Open-Source GPU Kernel Modules").
OPEN_MODULES_MIN_CC = 7.5
OPEN_MODULES_REQUIRED_CC = 10.0
OPEN_MODULES_DEFAULT_BRANCH = 560

# pip that understands the manylinux2014 wheels TensorFlow ships (install.md section 10: pip >= 19.3).
PIP_MINIMUM = "19.3"
