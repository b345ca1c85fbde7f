"""Each CUDA toolkit's minimum Linux driver and each CUDA major release's compatibility floor
(``cuda_driver.yaml``), and the questions asked of them.

- ``min_driver_for_cuda("13.0")`` -> "580.65.06" (GA); ``min_driver_for_cuda("13.0.2")`` -> "580.95.05" (Update 2,
  a row of its own because its driver differs; "13.0.0" and an update the table does not list read as GA)
- ``supported_cuda_for_driver("535.54.03")`` -> CUDA 12.2 (the highest X.Y whose toolkit driver it meets)
- ``cuda_max_for_branch(535)`` -> CUDA 12.2 (once the branch is up to date: its later point releases count)
- ``minor_compat_driver("12.4")`` -> "525.60.13" (the lowest driver that runs any CUDA 12.x application)
- ``known_cuda_releases()`` -> every CUDA X.Y the table lists, oldest first
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from setupkit import versions
from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table
from setupkit.versions import CudaVersion

TABLE = "cuda_driver"


@dataclass(frozen=True)
class ToolkitDriver:
    """A CUDA toolkit (a release's GA, "12.8", or an update whose driver differs, "12.8.1") and its minimum Linux
    driver."""

    cuda: str
    driver: str
    release: CudaVersion
    """The X.Y of ``cuda`` (12.8 for "12.8.1")."""


@dataclass(frozen=True)
class CudaDrivers:
    toolkits: tuple[ToolkitDriver, ...]
    minor_compat: Mapping[int, str] = field(hash=False)
    """CUDA major release -> the lowest driver that runs an application built with any of its X.y."""


def parse_drivers(table: Table) -> CudaDrivers:
    """The rows of a cuda_driver table; a row of the wrong form is refused."""
    toolkits = []
    for index, row in enumerate(table.rows("toolkits"), 1):
        where = f"toolkit {index}"
        cuda, driver = loader.text(table, row, "cuda", where), loader.text(table, row, "driver", where)
        release = CudaVersion.parse(cuda)
        if release is None or versions.parse(driver) is None:
            raise table.fail(f"{where}: 'cuda' and 'driver' must be versions")
        toolkits.append(ToolkitDriver(cuda=cuda, driver=driver, release=release))
    floors = table.value("minor_compat")
    if not isinstance(floors, dict):
        raise table.fail("'minor_compat' must map a CUDA major release to a driver version")
    minor_compat = {}
    for major, driver in floors.items():
        number = versions.major(major)
        if number is None or not isinstance(driver, str) or versions.parse(driver) is None:
            raise table.fail(f"minor_compat {major!r}: must map a CUDA major release to a driver version")
        minor_compat[number] = driver
    return CudaDrivers(toolkits=tuple(toolkits), minor_compat=MappingProxyType(minor_compat))


@lru_cache(maxsize=1)
def cuda_drivers() -> CudaDrivers:
    return parse_drivers(loader.load_table(TABLE))


def min_driver_for_cuda(cuda_version: object) -> str | None:
    """The minimum Linux driver of CUDA toolkit ``cuda_version`` ("13.0", "13.0.2" or a CudaVersion), or None if
    the table does not list its release. X.Y (and a CudaVersion) is the release's GA; X.Y.Z is that update's own
    row where the table has one, else the GA row (an update with the GA's driver, or a component version such as
    nvcc's "12.4.131")."""
    text = str(cuda_version) if isinstance(cuda_version, CudaVersion) else cuda_version
    parsed = versions.parse(text)
    if parsed is None:
        return None
    rows = {row.cuda: row.driver for row in cuda_drivers().toolkits}
    exact = ".".join(str(part) for part in parsed.release)
    release = versions.major_minor(text)
    return rows.get(exact) or (rows.get(release) if release is not None else None)


def supported_cuda_for_driver(driver_version: object) -> CudaVersion | None:
    """The highest CUDA X.Y whose toolkit driver ``driver_version`` meets; None below every listed one, or when
    ``driver_version`` is no version."""
    met = [row.release for row in cuda_drivers().toolkits if versions.at_least(driver_version, row.driver)]
    return max(met, default=None)


def cuda_max_for_branch(branch: int) -> CudaVersion | None:
    """The newest CUDA a driver branch serves once it is up to date (its later point releases count)."""
    return supported_cuda_for_driver(f"{branch}.999.999")


def minor_compat_driver(cuda_version: object) -> str | None:
    """The lowest driver that runs any application of ``cuda_version``'s major release ("12.4" -> "525.60.13")."""
    major = versions.major(str(cuda_version) if isinstance(cuda_version, CudaVersion) else cuda_version)
    return None if major is None else cuda_drivers().minor_compat.get(major)


@lru_cache(maxsize=1)
def known_cuda_releases() -> tuple[CudaVersion, ...]:
    """Every CUDA X.Y the table lists, oldest first."""
    return tuple(sorted({row.release for row in cuda_drivers().toolkits}))
