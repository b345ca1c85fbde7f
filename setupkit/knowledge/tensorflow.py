"""TensorFlow's tested build configurations (``tensorflow_builds.yaml``) and the questions asked of them.

- ``tested_build("2.15.1")`` -> the row TensorFlow 2.15 was built and tested with (Python range, CUDA, cuDNN ...)
- ``tensorflow_builds()`` -> every row, newest first
- ``latest_tensorflow()`` -> the newest release in the table ("2.21.0")
- ``python_range(tf_version)`` -> ("3.10", "3.13") (the lowest and highest Python; 2.1.0's "2.7, 3.5-3.7" gives
  ("2.7", "3.7"), and ``runs_on`` takes 2.7 and 3.5 to 3.7 only)
- ``python_supported(tf_version, python_version)`` -> True, False, or None when either is unknown or not listed
- ``pip_minimum()`` -> the oldest pip that reads TensorFlow's manylinux2014 wheels ("19.3"), where no release is
  named (tensorflow_wheels gives each release's own floor: 20.3 for 2.21's manylinux_2_27 wheels)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from packaging.version import Version

from setupkit import versions
from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table
from setupkit.versions import CudaVersion

TABLE = "tensorflow_builds"
_GPU_CODE = re.compile(r"(sm|compute)_(\d{1,2})(\d)", re.ASCII)


def gpu_code_target(text: object) -> tuple[str, int, int] | None:
    """ "sm_89" -> ("sm", 8, 9) (machine code for compute capability 8.9), "compute_120" -> ("compute", 12, 0)
    (PTX); None for anything else."""
    match = _GPU_CODE.fullmatch(text) if isinstance(text, str) else None
    return None if match is None else (match.group(1), int(match.group(2)), int(match.group(3)))


@dataclass(frozen=True)
class TensorFlowBuild:
    """One tested configuration: a TensorFlow release and what it was built and tested with."""

    version: str
    pythons: tuple[tuple[str, str], ...]
    """The Python ranges the table lists, (low, high) each: ("2.7", "2.7") and ("3.5", "3.7") for 2.1.0."""
    compiler: str
    bazel: str
    cudnn: str
    cuda: CudaVersion
    pip_brings_cuda: bool
    """``tensorflow[and-cuda]`` pulls CUDA and cuDNN as NVIDIA wheels (no system CUDA needed)."""
    gpu_in_main_package: bool
    """The ``tensorflow`` package carries the GPU build (before 2.1 that was ``tensorflow-gpu``)."""
    and_cuda: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    """What ``tensorflow[and-cuda]`` requires, where the table says: {distribution: specifier} as the wheel's
    Requires-Dist writes it ("==9.3.0.75", ">=9.3.0.75,<10.0")."""
    gpu_code: tuple[str, ...] = ()
    """The GPU architectures the official wheels carry code for ("sm_80" machine code, "compute_90" PTX), where
    the table says; empty where unknown."""

    @property
    def python_min(self) -> str:
        return self.pythons[0][0]

    @property
    def python_max(self) -> str:
        return self.pythons[-1][1]

    @property
    def python(self) -> str:
        """The Python ranges as the table writes them: "3.10-3.13", "2.7, 3.5-3.7"."""
        return ", ".join(low if low == high else f"{low}-{high}" for low, high in self.pythons)

    def runs_on(self, python_version: object) -> bool:
        """Whether Python ``python_version`` lies in one of this release's ranges (an unknown one does not)."""
        pair = versions.major_minor_pair(python_version)
        return pair is not None and any(
            (low := versions.major_minor_pair(bottom)) is not None and (high := versions.major_minor_pair(top))
            is not None and low <= pair <= high for bottom, top in self.pythons)

    def columns(self) -> dict[str, Any]:
        """The row as the table writes it (a check's ``lookup`` reads these fields)."""
        row: dict[str, Any] = {"tensorflow": self.version, "python": self.python, "compiler": self.compiler,
                               "bazel": self.bazel, "cudnn": self.cudnn, "cuda": str(self.cuda)}
        if self.and_cuda:
            row["and_cuda"] = dict(self.and_cuda)
        if self.gpu_code:
            row["gpu_code"] = list(self.gpu_code)
        return row


def parse_builds(table: Table) -> tuple[TensorFlowBuild, ...]:
    """The rows of a tensorflow_builds table, newest first; a row of the wrong form is refused."""
    and_cuda_since = _version_text(table, table.data, "and_cuda_since", "the table")
    gpu_since = _version_text(table, table.data, "gpu_in_main_package_since", "the table")
    builds = []
    for index, row in enumerate(table.rows("builds"), 1):
        where = f"build {index}"
        version = _version_text(table, row, "tensorflow", where)
        pythons = _python_ranges(table, loader.text(table, row, "python", where), where)
        cuda = CudaVersion.parse(_version_text(table, row, "cuda", where))
        if cuda is None:
            raise table.fail(f"{where}: 'cuda' must be a CUDA release such as 12.5")
        builds.append(TensorFlowBuild(
            version=version, pythons=pythons,
            compiler=loader.text(table, row, "compiler", where), bazel=loader.text(table, row, "bazel", where),
            cudnn=_version_text(table, row, "cudnn", where), cuda=cuda,
            pip_brings_cuda=versions.at_least(version, and_cuda_since),
            gpu_in_main_package=versions.at_least(version, gpu_since),
            and_cuda=MappingProxyType(_pins(table, row, where)), gpu_code=_gpu_code(table, row, where)))
    return tuple(sorted(builds, key=_release, reverse=True))


def _python_ranges(table: Table, text: str, where: str) -> tuple[tuple[str, str], ...]:
    """ "2.7, 3.5-3.7" -> (("2.7", "2.7"), ("3.5", "3.7")), in ascending order; anything else is refused."""
    ranges = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if versions.parse(low) is None or versions.parse(high or low) is None:
            raise table.fail(f"{where}: 'python' must be a range such as 3.10-3.13 (or ranges: 2.7, 3.5-3.7)")
        ranges.append((low, high or low))
    pairs = [(versions.major_minor_pair(low), versions.major_minor_pair(high)) for low, high in ranges]
    if any(a is None or b is None or a > b for a, b in pairs) or pairs != sorted(pairs):
        raise table.fail(f"{where}: 'python' ranges must ascend, each from its lowest to its highest Python")
    return tuple(ranges)


def _gpu_code(table: Table, row: Mapping[str, Any], where: str) -> tuple[str, ...]:
    code = loader.texts(table, row, "gpu_code", where)
    if any(gpu_code_target(item) is None for item in code):
        raise table.fail(f"{where}: 'gpu_code' must list sm_XY and compute_XY targets")
    return code


def _release(build: TensorFlowBuild) -> Version:
    return versions.parse(build.version) or Version("0")


def _version_text(table: Table, row: Mapping[str, Any], key: str, where: str) -> str:
    value = loader.text(table, row, key, where)
    if versions.parse(value) is None:
        raise table.fail(f"{where}: {key!r} must be a version, not {value!r}")
    return value


def _pins(table: Table, row: Mapping[str, Any], where: str) -> dict[str, str]:
    pins = row.get("and_cuda") or {}
    if not isinstance(pins, dict) or not all(isinstance(k, str) and isinstance(v, str) and _specifier(v)
                                             for k, v in pins.items()):
        raise table.fail(f"{where}: 'and_cuda' must map distribution names to version specifiers (==9.3.0.75)")
    return dict(pins)


# A PEP 440 version specifier's shape ("==9.3.0.75", ">=12.5.82,<13.0"): the table is checked against the wheels'
# own Requires-Dist by the tests; doctor reads it on every run, and packaging's parser costs it 4 ms to import.
_CLAUSE = r"\s*(?:===|==|!=|<=|>=|~=|<|>)\s*[0-9][0-9A-Za-z.*+!_-]*\s*"
_SPECIFIER = re.compile(rf"{_CLAUSE}(?:,{_CLAUSE})*")


def _specifier(text: str) -> bool:
    return bool(_SPECIFIER.fullmatch(text))


@lru_cache(maxsize=1)
def tensorflow_builds() -> tuple[TensorFlowBuild, ...]:
    """Every tested configuration (Linux), newest first."""
    return parse_builds(loader.load_table(TABLE))


def tested_build(tf_version: object) -> TensorFlowBuild | None:
    """The tested configuration of TensorFlow ``tf_version`` (matched on major.minor), or None if not listed."""
    wanted = versions.major_minor(tf_version)
    if wanted is None:
        return None
    return next((build for build in tensorflow_builds() if versions.major_minor(build.version) == wanted), None)


def latest_tensorflow() -> str:
    """The newest TensorFlow release the table lists."""
    table = loader.load_table(TABLE)
    return _version_text(table, table.data, "latest", "the table")


def python_range(tf_version: object) -> tuple[str, str] | None:
    """The (lowest, highest) Python X.Y that TensorFlow ``tf_version`` supports."""
    build = tested_build(tf_version)
    return None if build is None else (build.python_min, build.python_max)


def python_supported(tf_version: object, python_version: object) -> bool | None:
    """Whether Python ``python_version`` is in TensorFlow ``tf_version``'s range; None when either is unknown."""
    build = tested_build(tf_version)
    if build is None or versions.parse(python_version) is None:
        return None
    return build.runs_on(python_version)


def pip_minimum() -> str:
    """The oldest pip that reads the manylinux2014 wheels TensorFlow ships."""
    table = loader.load_table(TABLE)
    return _version_text(table, table.data, "pip_minimum", "the table")
