"""Version knowledge the planner needs: TensorFlow's tested CUDA/cuDNN, each CUDA's minimum driver, and which
GPU generations a driver branch or CUDA release serves.

Sources are named beside each table. Where ../shared/reference/install.md quotes the figure, it says so; the
rest comes from the same public documents (tensorflow/docs ``site/en/install/source.md``, the CUDA Toolkit
Release Notes) for rows install.md does not reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass

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


# Tested build configurations, Linux GPU, newest first. 2.10.0 to 2.21.0: install.md section 6 (tensorflow/docs
# source.md, HEAD). Older rows: the same table in source.md further down (it lists Python "3.3-3.6" for 1.x).
TF_BUILDS: tuple[TfBuild, ...] = (
    TfBuild("2.21.0", "3.10", "3.13", "9.3", "12.5"),
    TfBuild("2.20.0", "3.9", "3.13", "9.3", "12.5"),
    TfBuild("2.19.0", "3.9", "3.12", "9.3", "12.5"),
    TfBuild("2.18.0", "3.9", "3.12", "9.3", "12.5"),
    TfBuild("2.17.0", "3.9", "3.12", "8.9", "12.3"),
    TfBuild("2.16.1", "3.9", "3.12", "8.9", "12.3"),
    TfBuild("2.15.0", "3.9", "3.11", "8.9", "12.2"),
    TfBuild("2.14.0", "3.9", "3.11", "8.7", "11.8"),
    TfBuild("2.13.0", "3.8", "3.11", "8.6", "11.8"),
    TfBuild("2.12.0", "3.8", "3.11", "8.6", "11.8"),
    TfBuild("2.11.0", "3.7", "3.10", "8.1", "11.2"),
    TfBuild("2.10.0", "3.7", "3.10", "8.1", "11.2"),
    TfBuild("2.9.0", "3.7", "3.10", "8.1", "11.2"),
    TfBuild("2.8.0", "3.7", "3.10", "8.1", "11.2"),
    TfBuild("2.7.0", "3.7", "3.9", "8.1", "11.2"),
    TfBuild("2.6.0", "3.6", "3.9", "8.1", "11.2"),
    TfBuild("2.5.0", "3.6", "3.9", "8.1", "11.2"),
    TfBuild("2.4.0", "3.6", "3.8", "8.0", "11.0"),
    TfBuild("2.3.0", "3.5", "3.8", "7.6", "10.1"),
    TfBuild("2.2.0", "3.5", "3.8", "7.6", "10.1"),
    TfBuild("2.1.0", "3.5", "3.7", "7.6", "10.1"),
    TfBuild("2.0.0", "3.3", "3.7", "7.4", "10.0"),
    TfBuild("1.15.0", "3.3", "3.7", "7.4", "10.0"),
    TfBuild("1.14.0", "3.3", "3.7", "7.4", "10.0"),
    TfBuild("1.13.1", "3.3", "3.7", "7.4", "10.0"),
    TfBuild("1.12.0", "3.3", "3.6", "7", "9.0"),
    TfBuild("1.4.0", "3.3", "3.6", "6", "8.0"),
)

# Minimum Linux x86_64 driver of each CUDA toolkit. 10.0 to 13.2: install.md section 7 (CUDA Toolkit Release
# Notes, Table 3). 8.0 and 9.0: the legacy runfile summaries quoted in install.md section 1 ("at least 361.00",
# "at least 384.00"). 7.5, 9.1 and 9.2: the same release notes table, older rows.
CUDA_MIN_DRIVER: dict[str, str] = {
    "7.5": "352.31", "8.0": "361.00", "9.0": "384.00", "9.1": "390.46", "9.2": "396.26",
    "10.0": "410.48", "10.1": "418.39", "10.2": "440.33",
    "11.0": "450.51.05", "11.1": "455.23", "11.2": "460.27.03", "11.3": "465.19.01", "11.4": "470.42.01",
    "11.5": "495.29.05", "11.6": "510.39.01", "11.7": "515.43.04", "11.8": "520.61.05",
    "12.0": "525.60.13", "12.1": "530.30.02", "12.2": "535.54.03", "12.3": "545.23.06", "12.4": "550.54.14",
    "12.5": "555.42.02", "12.6": "560.28.03", "12.8": "570.26", "12.9": "575.51.03",
    "13.0": "580.65.06", "13.1": "590.44.01", "13.2": "595.45.04",
}


def min_driver_for_cuda(cuda: str) -> str | None:
    """The oldest driver that runs CUDA ``cuda`` (X.Y) at full feature level; None for a CUDA not in the table."""
    pair = versions.major_minor(cuda)
    return next((d for c, d in CUDA_MIN_DRIVER.items() if versions.major_minor(c) == pair), None)


def cuda_max_for_driver(driver: str | None) -> str | None:
    """The newest CUDA whose minimum driver ``driver`` meets ("535.183.01" -> "12.2"); None when unknown."""
    if versions.parse(driver) is None:
        return None
    fitting = [c for c, d in CUDA_MIN_DRIVER.items() if versions.at_least(driver, d)]
    return max(fitting, key=versions.major_minor) if fitting else None


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
