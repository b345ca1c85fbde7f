"""The distributions setupkit install plans for and the limits of their end-of-life releases
(``distributions.yaml``).

- ``end_of_life("ubuntu", "16.04")`` -> CUDA up to 11.2, driver branch 460, and why; None for a supported release
- ``rhel_like()`` -> the os-release ids of the RHEL family (rhel, centos, rocky, almalinux, ol, fedora)
- ``default_branch()`` -> the newest driver branch a plan installs where the release sets no limit (580)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table
from setupkit.versions import CudaVersion

TABLE = "distributions"


@dataclass(frozen=True)
class EndOfLife:
    """An end-of-life release: it still gets a plan, warned, limited to what NVIDIA published for it."""

    id: str
    version: str
    """os-release's VERSION_ID ("16.04"); for the RHEL family its major version, keyed ``rhel``."""
    cuda_max: CudaVersion | None
    branch: int | None
    source: str
    """Why it is end-of-life, or where its limit comes from (shown in the plan's warning)."""


@dataclass(frozen=True)
class Distributions:
    rhel_like: frozenset[str]
    default_branch: int
    end_of_life: tuple[EndOfLife, ...]


def parse_distributions(table: Table) -> Distributions:
    """The rows of a distributions table; a row of the wrong form is refused."""
    rhel_like = loader.texts(table, table.data, "rhel_like", "the table")
    branch = loader.optional_int(table, table.data, "default_branch", "the table")
    if branch is None:
        raise table.fail("'default_branch' must be a driver branch")
    rows = tuple(_end_of_life(table, row, f"end_of_life {index}")
                 for index, row in enumerate(table.rows("end_of_life"), 1))
    return Distributions(rhel_like=frozenset(rhel_like), default_branch=branch, end_of_life=rows)


def _end_of_life(table: Table, row: Mapping[str, Any], where: str) -> EndOfLife:
    cuda_text = row.get("cuda_max")
    cuda_max = None if cuda_text is None else CudaVersion.parse(loader.text(table, row, "cuda_max", where))
    if cuda_text is not None and cuda_max is None:
        raise table.fail(f"{where}: 'cuda_max' must be a CUDA version or null")
    return EndOfLife(id=loader.text(table, row, "id", where), version=loader.text(table, row, "version", where),
                     cuda_max=cuda_max, branch=loader.optional_int(table, row, "branch", where),
                     source=loader.text(table, row, "source", where))


@lru_cache(maxsize=1)
def distributions() -> Distributions:
    return parse_distributions(loader.load_table(TABLE))


def end_of_life(os_id: str, version: str) -> EndOfLife | None:
    """The end-of-life limits of release ``version`` of ``os_id``; None for a release that is supported."""
    return next((row for row in distributions().end_of_life if (row.id, row.version) == (os_id, version)), None)


def rhel_like() -> frozenset[str]:
    return distributions().rhel_like


def default_branch() -> int:
    return distributions().default_branch
