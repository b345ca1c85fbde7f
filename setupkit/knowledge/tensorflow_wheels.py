"""TensorFlow's Linux x86_64 wheels on PyPI (``tensorflow_wheels.yaml``, written from the index by
tests/knowledge/build_tensorflow_wheels.py) and what their platform tags ask of a host.

- ``newest_release("tensorflow", "2.15", "3.10.12", extra="and-cuda")`` -> 2.15.1 (2.15.0's and-cuda cannot
  install); None when no release of that minor has a wheel for that Python (and glibc)
- ``release("tensorflow", "2.21.0")`` -> its row: CPython tags, platform tags, glibc and pip floors
- ``newest_for_python("tensorflow", "3.12.3")`` -> the release ``pip install tensorflow`` takes on that Python
- ``glibc_floor("manylinux_2_27_x86_64")`` -> "2.27"; ``pip_floor("manylinux2014_x86_64")`` -> "19.3"
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

TABLE = "tensorflow_wheels"
AND_CUDA = "and-cuda"
_PERENNIAL = re.compile(r"^manylinux_(\d+)_(\d+)_")
"""A PEP 600 tag, manylinux_<glibc major>_<glibc minor>_<arch>."""
_LEGACY = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_")


@dataclass(frozen=True)
class TagNeeds:
    """What a manylinux platform tag asks of a host: a glibc at least this new, a pip at least this new."""

    glibc: str | None
    pip: str


@dataclass(frozen=True)
class WheelRelease:
    """One release of a TensorFlow project and the Linux x86_64 wheels it has."""

    project: str
    version: str
    python: frozenset[str]
    """CPython tags of its wheels: cp310, cp311 ..."""
    platforms: tuple[str, ...]
    """The platform tags every one of its wheels carries (manylinux_2_17_x86_64, manylinux2014_x86_64)."""
    and_cuda_fails: frozenset[str] = frozenset()
    """The CPython tags for which ``tensorflow[and-cuda]==<version>`` does not resolve on the index."""
    and_cuda_error: str | None = None
    tag_needs: Mapping[str, TagNeeds] = field(default_factory=lambda: MappingProxyType({}), hash=False,
                                              compare=False, repr=False)

    @property
    def minor(self) -> str | None:
        return versions.major_minor(self.version)

    def has_wheel_for(self, python_version: object) -> bool:
        tag = cpython_tag(python_version)
        return tag is not None and tag in self.python

    def resolves(self, python_version: object, extra: str | None = None) -> bool:
        """A wheel for this Python, and, with ``extra`` "and-cuda", an extra that resolves for it."""
        if not self.has_wheel_for(python_version):
            return False
        return extra != AND_CUDA or cpython_tag(python_version) not in self.and_cuda_fails

    @property
    def glibc_floor(self) -> str | None:
        """The oldest glibc one of its wheels runs on (pip takes any wheel whose tags the host accepts)."""
        floors = [needs.glibc for needs in self._needs() if needs.glibc]
        return min(floors, key=_version, default=None)

    @property
    def pip_floor(self) -> str | None:
        """The oldest pip that reads one of its wheels' platform tags."""
        return min((needs.pip for needs in self._needs()), key=_version, default=None)

    @property
    def platform_kinds(self) -> str:
        """The platform tags without the architecture, as people name them: "manylinux2014/manylinux_2_17"."""
        return "/".join(sorted({tag.removesuffix("_x86_64") for tag in self.platforms}))

    def runs_on_glibc(self, glibc: object) -> bool:
        """Whether a host with glibc ``glibc`` accepts one of its wheels (True when either is unknown)."""
        floor = self.glibc_floor
        return floor is None or versions.parse(glibc) is None or versions.at_least(glibc, floor)

    def _needs(self) -> list[TagNeeds]:
        return [needs for tag in self.platforms if (needs := tag_needs(tag, self.tag_needs)) is not None]


@dataclass(frozen=True)
class TensorFlowWheels:
    projects: Mapping[str, tuple[WheelRelease, ...]] = field(hash=False)
    """project -> its releases, newest first."""
    tag_needs: Mapping[str, TagNeeds] = field(hash=False)
    """manylinux1, manylinux2010, manylinux2014, manylinux_x_y -> what a host needs for it."""


def cpython_tag(python_version: object) -> str | None:
    """"3.10.12" -> "cp310"; None when there is no version."""
    pair = versions.major_minor_pair(python_version)
    return None if pair is None else f"cp{pair[0]}{pair[1]}"


def tag_needs(platform: str, needs: Mapping[str, TagNeeds]) -> TagNeeds | None:
    """What a host needs for one platform tag; None for a tag that is no manylinux one."""
    perennial = _PERENNIAL.match(platform)
    if perennial:
        rule = needs.get("manylinux_x_y")
        return None if rule is None else TagNeeds(glibc=f"{perennial[1]}.{perennial[2]}", pip=rule.pip)
    legacy = _LEGACY.match(platform)
    return needs.get(legacy[1]) if legacy else None


def _version(text: str) -> Version:
    return versions.parse(text) or Version("0")


def parse_wheels(table: Table) -> TensorFlowWheels:
    """The rows of a tensorflow_wheels table; a row of the wrong form is refused."""
    needs = _parse_tag_needs(table)
    projects = table.value("projects")
    if not isinstance(projects, dict):
        raise table.fail("'projects' must map a project name to its releases")
    fails = _and_cuda_fails(table)
    parsed = {}
    for project, rows in projects.items():
        if not isinstance(rows, dict):
            raise table.fail(f"project {project!r}: its releases must map a release to its wheels' tags")
        releases = [_release(table, str(project), release, text, needs, fails if project == "tensorflow" else {})
                    for release, text in rows.items()]
        parsed[str(project)] = tuple(sorted(releases, key=lambda row: _version(row.version), reverse=True))
    return TensorFlowWheels(projects=MappingProxyType(parsed), tag_needs=needs)


def _parse_tag_needs(table: Table) -> Mapping[str, TagNeeds]:
    raw = table.value("platform_tags")
    if not isinstance(raw, dict) or "manylinux_x_y" not in raw:
        raise table.fail("'platform_tags' must map manylinux tags (manylinux_x_y among them) to glibc and pip")
    needs = {}
    for tag, row in raw.items():
        where = f"platform tag {tag!r}"
        if not isinstance(row, dict):
            raise table.fail(f"{where}: must be a mapping with 'pip' (and 'glibc')")
        glibc = None if tag == "manylinux_x_y" else _version_text(table, row, "glibc", where)
        needs[str(tag)] = TagNeeds(glibc=glibc, pip=_version_text(table, row, "pip", where))
    return MappingProxyType(needs)


def _and_cuda_fails(table: Table) -> Mapping[str, tuple[frozenset[str], str]]:
    """release -> (the CPython tags its and-cuda extra fails for, pip's reason)."""
    raw = table.value("and_cuda_fails")
    if not isinstance(raw, dict):
        raise table.fail("'and_cuda_fails' must map a release to {python: [...], error: ...}")
    fails = {}
    for release, row in raw.items():
        where = f"and_cuda_fails {release!r}"
        if not isinstance(row, dict):
            raise table.fail(f"{where}: must be a mapping with 'python' and 'error'")
        fails[str(release)] = (frozenset(_python_tags(table, loader.texts(table, row, "python", where), where)),
                               loader.text(table, row, "error", where))
    return fails


def _python_tags(table: Table, tags: tuple[str, ...] | list[str], where: str) -> tuple[str, ...]:
    if not tags or not all(re.fullmatch(r"cp\d{2,3}", tag) for tag in tags):
        raise table.fail(f"{where}: must list CPython tags such as cp310")
    return tuple(tags)


def _release(table: Table, project: str, release: object, text: object, needs: Mapping[str, TagNeeds],
             fails: Mapping[str, tuple[frozenset[str], str]]) -> WheelRelease:
    where = f"{project} {release!r}"
    if not isinstance(release, str) or versions.parse(release) is None:
        raise table.fail(f"{where}: a release must be a version")
    python, semicolon, platforms = text.partition(";") if isinstance(text, str) else ("", "", "")
    if not semicolon:
        raise table.fail(f"{where}: must be '<CPython tags>; <platform tags>'")
    tags = tuple(platforms.split())
    if not tags or any(tag_needs(tag, needs) is None for tag in tags):
        raise table.fail(f"{where}: its platform tags must be manylinux ones the table knows")
    broken, error = fails.get(release, (frozenset(), None))
    return WheelRelease(project=project, version=release, python=frozenset(_python_tags(table, python.split(), where)),
                        platforms=tags, and_cuda_fails=broken, and_cuda_error=error, tag_needs=needs)


def _version_text(table: Table, row: Mapping[str, Any], key: str, where: str) -> str:
    value = loader.text(table, row, key, where)
    if versions.parse(value) is None:
        raise table.fail(f"{where}: {key!r} must be a version, not {value!r}")
    return value


@lru_cache(maxsize=1)
def tensorflow_wheels() -> TensorFlowWheels:
    return parse_wheels(loader.load_table(TABLE))


def releases(project: object) -> tuple[WheelRelease, ...]:
    """Every release of ``project`` with Linux x86_64 wheels, newest first (none for a project not listed)."""
    return tensorflow_wheels().projects.get(project, ()) if isinstance(project, str) else ()


def release(project: object, version: object) -> WheelRelease | None:
    """The row of release ``version`` of ``project`` ("2.15" matches 2.15 exactly, never 2.15.1)."""
    return next((row for row in releases(project) if versions.same_release(row.version, version)), None)


def newest_release(project: str, minor: object, python_version: object, glibc: object = None,
                   extra: str | None = None) -> WheelRelease | None:
    """The newest release of ``minor`` ("2.15", "2.15.0") that has a wheel for this Python, runs on this glibc
    (unknown: any) and, with ``extra`` "and-cuda", whose extra resolves; None when no release does."""
    wanted = versions.major_minor(minor)
    return next((row for row in releases(project) if row.minor == wanted and row.resolves(python_version, extra)
                 and row.runs_on_glibc(glibc)), None)


def newest_for_python(project: object, python_version: object, glibc: object = None) -> WheelRelease | None:
    """The release ``pip install <project>`` would take on this Python (and glibc, where known)."""
    return next((row for row in releases(project) if row.has_wheel_for(python_version)
                 and row.runs_on_glibc(glibc)), None)


# -- the questions a check asks (any value in, text or None out) ------------------------------------------------

def newest_tensorflow_for(python_version: object, glibc: object = None) -> str | None:
    """The tensorflow release ``pip install tensorflow`` takes on this Python (and glibc, where known)."""
    row = newest_for_python("tensorflow", python_version, glibc)
    return None if row is None else row.version


def wheel_glibc_floor(project: object, version: object) -> str | None:
    """The oldest glibc the wheels of ``project`` ``version`` run on ("2.27")."""
    row = release(project, version)
    return None if row is None else row.glibc_floor


def wheel_pip_floor(project: object, version: object) -> str | None:
    """The oldest pip that reads the wheels of ``project`` ``version`` ("20.3")."""
    row = release(project, version)
    return None if row is None else row.pip_floor


def wheel_tags(project: object, version: object) -> str | None:
    """The platform tags of those wheels, as people name them ("manylinux_2_27")."""
    row = release(project, version)
    return None if row is None else row.platform_kinds


def glibc_floor(platform: str) -> str | None:
    needs = tag_needs(platform, tensorflow_wheels().tag_needs)
    return None if needs is None else needs.glibc


def pip_floor(platform: str) -> str | None:
    needs = tag_needs(platform, tensorflow_wheels().tag_needs)
    return None if needs is None else needs.pip
