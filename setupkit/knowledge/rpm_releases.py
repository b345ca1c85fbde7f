"""How NVIDIA's RPM repositories install the driver on each RHEL-family and Fedora release
(``rpm_releases.yaml``).

- ``release_of("rocky", "9.4")`` -> EL 9: repository rhel9, dnf4, module streams hold the branch,
  kernel-devel-matched; ``release_of("fedora", "44")`` -> dnf5, versionlock; None for a release NVIDIA has no
  repository for (EL6, Fedora 41)
- ``dkms_repository_commands("rocky", "8")`` -> enable PowerTools, install epel-release: what DKMS needs first
- ``supported()`` -> "RHEL and its rebuilds 7, 8, 9 and 10, Fedora 42, 43 and 44", for the message that refuses
  the others
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table

TABLE = "rpm_releases"
OS_KINDS = ("el", "fedora")
MANAGERS = ("yum", "dnf4", "dnf5")
BRANCH_LOCKS = ("none", "module", "versionlock")
KERNEL_DEVEL = ("kernel-devel", "kernel-devel-matched")


@dataclass(frozen=True)
class RpmRelease:
    """One release NVIDIA publishes a driver repository for."""

    os: str
    """el (RHEL and its rebuilds, by major version) | fedora"""
    version: str
    """The major version: "9", "44"."""
    repo: str
    """NVIDIA's repository folder: rhel9, fedora44."""
    manager: str
    """yum | dnf4 | dnf5"""
    branch_lock: str
    """none | module | versionlock: how the driver is held on its branch."""
    kernel_devel: str
    """kernel-devel | kernel-devel-matched: the package of the running kernel's build tree."""


@dataclass(frozen=True)
class DkmsRepositories:
    """The repositories one distribution enables for DKMS, on some of its releases."""

    ids: tuple[str, ...]
    versions: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...]
    """Each command's argv; ``{major}`` stands for the release's major version."""


@dataclass(frozen=True)
class RpmReleases:
    releases: tuple[RpmRelease, ...]
    dkms_repositories: tuple[DkmsRepositories, ...]


def parse_rpm_releases(table: Table) -> RpmReleases:
    """The rows of an rpm_releases table; a row of the wrong form is refused."""
    releases = tuple(_release(table, row, f"releases {index}") for index, row in enumerate(table.rows("releases"), 1))
    repositories = tuple(_repositories(table, row, f"dkms_repositories {index}")
                         for index, row in enumerate(table.rows("dkms_repositories"), 1))
    return RpmReleases(releases=releases, dkms_repositories=repositories)


def _release(table: Table, row: Mapping[str, Any], where: str) -> RpmRelease:
    return RpmRelease(os=_choice(table, row, "os", OS_KINDS, where), version=loader.text(table, row, "version", where),
                      repo=loader.text(table, row, "repo", where),
                      manager=_choice(table, row, "manager", MANAGERS, where),
                      branch_lock=_choice(table, row, "branch_lock", BRANCH_LOCKS, where),
                      kernel_devel=_choice(table, row, "kernel_devel", KERNEL_DEVEL, where))


def _repositories(table: Table, row: Mapping[str, Any], where: str) -> DkmsRepositories:
    commands = row.get("commands")
    if not isinstance(commands, list) or not commands or not all(
            isinstance(argv, list) and argv and all(isinstance(word, str) and word for word in argv)
            for argv in commands):
        raise table.fail(f"{where}: 'commands' must be a list of commands, each a list of words")
    return DkmsRepositories(ids=loader.texts(table, row, "ids", where),
                            versions=loader.texts(table, row, "versions", where),
                            commands=tuple(tuple(argv) for argv in commands))


def _choice(table: Table, row: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str) -> str:
    value = loader.text(table, row, key, where)
    if value not in allowed:
        raise table.fail(f"{where}: {key!r} must be one of {', '.join(allowed)}, not {value!r}")
    return value


@lru_cache(maxsize=1)
def rpm_releases() -> RpmReleases:
    return parse_rpm_releases(loader.load_table(TABLE))


def release_of(os_id: str, version: str) -> RpmRelease | None:
    """The row of os-release ``os_id`` at VERSION_ID ``version`` (any minor: Rocky 9.4 is EL 9); None where NVIDIA
    publishes no repository for it."""
    kind = "fedora" if os_id == "fedora" else "el"
    major = version.split(".")[0]
    return next((row for row in rpm_releases().releases if (row.os, row.version) == (kind, major)), None)


def dkms_repository_commands(os_id: str, major: str) -> list[list[str]]:
    """The commands that enable what DKMS needs on this distribution and release; [] where nothing is needed."""
    for row in rpm_releases().dkms_repositories:
        if os_id in row.ids and major in row.versions:
            return [[word.replace("{major}", major) for word in argv] for argv in row.commands]
    return []


def supported() -> str:
    """The releases a plan is made for, in words."""
    def versions(kind: str) -> str:
        found = [row.version for row in rpm_releases().releases if row.os == kind]
        return ", ".join(found[:-1]) + " and " + found[-1] if len(found) > 1 else "".join(found)
    return f"RHEL and its rebuilds {versions('el')}, Fedora {versions('fedora')}"
