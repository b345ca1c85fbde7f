"""The distributions setupkit install plans for and the limits of their end-of-life releases
(``distributions.yaml``).

- ``end_of_life("ubuntu", "16.04")`` -> CUDA up to 11.3, driver branch 460, its repository's keyring
  (cuda-keyring_1.0-1_all.deb), apt-transport-https needed, and why; None for a supported release
- ``rhel_like()`` -> the os-release ids of the RHEL family (rhel, centos, rocky, almalinux, ol, fedora)
- ``default_branch()`` -> the newest driver branch a plan installs where the release sets no limit (580)
- ``cuda_keyring("ubuntu", "22.04")`` -> cuda-keyring_1.1-1_all.deb, the keyring package in NVIDIA's repository
  for that release (``default_keyring()`` where the release's row names none)
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

TABLE = "distributions"
_KEYRING = re.compile(r"cuda-keyring_[0-9][0-9A-Za-z.+~-]{0,30}_all\.deb")


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
    cuda_keyring: str | None = None
    """The keyring package in NVIDIA's apt repository for this release, where it is not the usual one."""
    apt_https_transport: bool = False
    """This release's apt (before 1.5) reads an https repository only with the apt-transport-https package."""


@dataclass(frozen=True)
class Distributions:
    rhel_like: frozenset[str]
    default_branch: int
    end_of_life: tuple[EndOfLife, ...]
    cuda_keyring: str


def parse_distributions(table: Table) -> Distributions:
    """The rows of a distributions table; a row of the wrong form is refused."""
    rhel_like = loader.texts(table, table.data, "rhel_like", "the table")
    branch = loader.optional_int(table, table.data, "default_branch", "the table")
    if branch is None:
        raise table.fail("'default_branch' must be a driver branch")
    rows = tuple(_end_of_life(table, row, f"end_of_life {index}")
                 for index, row in enumerate(table.rows("end_of_life"), 1))
    keyring = _keyring(table, table.data, "the table")
    if keyring is None:
        raise table.fail("'cuda_keyring' must name the keyring package (cuda-keyring_X-Y_all.deb)")
    return Distributions(rhel_like=frozenset(rhel_like), default_branch=branch, end_of_life=rows,
                         cuda_keyring=keyring)


def _keyring(table: Table, row: Mapping[str, Any], where: str) -> str | None:
    """A keyring file name: it goes into a URL and a path, so nothing but cuda-keyring_<version>_all.deb."""
    if row.get("cuda_keyring") is None:
        return None
    name = loader.text(table, row, "cuda_keyring", where)
    if not _KEYRING.fullmatch(name):
        raise table.fail(f"{where}: 'cuda_keyring' must be cuda-keyring_<version>_all.deb, not {name!r}")
    return name


def _end_of_life(table: Table, row: Mapping[str, Any], where: str) -> EndOfLife:
    cuda_text = row.get("cuda_max")
    cuda_max = None if cuda_text is None else CudaVersion.parse(loader.text(table, row, "cuda_max", where))
    if cuda_text is not None and cuda_max is None:
        raise table.fail(f"{where}: 'cuda_max' must be a CUDA version or null")
    https = row.get("apt_https_transport", False)
    if not isinstance(https, bool):
        raise table.fail(f"{where}: 'apt_https_transport' must be true or false")
    return EndOfLife(id=loader.text(table, row, "id", where), version=loader.text(table, row, "version", where),
                     cuda_max=cuda_max, branch=loader.optional_int(table, row, "branch", where),
                     source=loader.text(table, row, "source", where), cuda_keyring=_keyring(table, row, where),
                     apt_https_transport=https)


@lru_cache(maxsize=1)
def distributions() -> Distributions:
    return parse_distributions(loader.load_table(TABLE))


def end_of_life(os_id: str, version: str) -> EndOfLife | None:
    """The end-of-life limits of release ``version`` of ``os_id``; None for a release that is supported."""
    return next((row for row in distributions().end_of_life if (row.id, row.version) == (os_id, version)), None)


def release_end_of_life(os_id: object, version_id: object) -> EndOfLife | None:
    """The end-of-life row of the release os-release names (ID, VERSION_ID), keyed as the table keys it: a
    RHEL rebuild by ``rhel`` and its major version (Rocky "9.4" is rhel 9), Fedora, Ubuntu and Debian by their
    own id and version. None for a supported or unknown release. doctor's os.supported and the install
    planner both ask this, so they agree on which releases are past their end."""
    if not isinstance(os_id, str) or not isinstance(version_id, str):
        return None
    os_id = os_id.lower()
    if os_id in rhel_like() and os_id != "fedora":
        return end_of_life("rhel", version_id.split(".")[0])
    if os_id == "fedora":
        return end_of_life(os_id, version_id.split(".")[0])
    return end_of_life(os_id, version_id)


def end_of_life_reason(os_id: object, version_id: object) -> str | None:
    """Why the release is past its end of life (the row's source), or None."""
    row = release_end_of_life(os_id, version_id)
    return row.source if row else None


def rhel_like() -> frozenset[str]:
    return distributions().rhel_like


def default_branch() -> int:
    return distributions().default_branch


def default_keyring() -> str:
    """The keyring package NVIDIA's apt repositories carry, where a release's row names no other."""
    return distributions().cuda_keyring


def cuda_keyring(os_id: str, version: str) -> str:
    """The keyring package in NVIDIA's apt repository for release ``version`` of ``os_id``."""
    row = end_of_life(os_id, version)
    return row.cuda_keyring if row and row.cuda_keyring else default_keyring()
