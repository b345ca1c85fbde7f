"""The distribution a plan is for: its package manager, NVIDIA's repository name for it, its end of life and
the newest CUDA and driver branch NVIDIA published for it.

Supported: the Debian family (Ubuntu, Debian: apt) and the releases of the RHEL family (RHEL, CentOS, Rocky,
Alma, Oracle Linux, Fedora) that NVIDIA publishes a driver repository for (knowledge/rpm_releases.yaml: dnf, yum
on EL7). Anything else is refused: guessing package names on an unknown system is how hosts break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from setupkit import versions
from setupkit.errors import PreconditionError
from setupkit.facts import Facts
from setupkit.knowledge import distributions, rpm_releases
from setupkit.knowledge.distributions import EndOfLife
from setupkit.knowledge.rpm_releases import RpmRelease
from setupkit.versions import CudaVersion

# os-release's VERSION_ID of a supported release: "24.04", "12", "7", "9.4". It names NVIDIA's repository
# (ubuntu2404) and goes into package names, so nothing else is taken for a release.
_RELEASE_NUMBER = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,4}){0,2}")


@dataclass(frozen=True)
class Distro:
    family: str  # debian | rhel
    id: str
    version: str
    pretty_name: str

    @property
    def major(self) -> str:
        return self.version.split(".")[0]

    @property
    def is_ubuntu(self) -> bool:
        return self.id == "ubuntu"

    @property
    def legacy_apt_key(self) -> bool:
        """Ubuntu 14.04's CUDA repository predates the 2022 cuda-keyring package: a list file and apt-key."""
        return self.is_ubuntu and versions.compare(self.version, "14.04") in (-1, 0)

    @property
    def package_manager(self) -> str:
        """apt-get (Debian family), yum on EL7, dnf elsewhere in the RHEL family."""
        if self.family == "debian":
            return "apt-get"
        return "yum" if self.rpm.manager == "yum" else "dnf"

    @property
    def rpm(self) -> RpmRelease:
        """How NVIDIA's repository installs the driver on this RHEL-family or Fedora release (distro_of refuses
        the releases it has none for)."""
        row = rpm_releases.release_of(self.id, self.version)
        assert row is not None, f"{self.pretty_name} has no NVIDIA repository: distro_of refuses it"
        return row

    @property
    def end_of_life(self) -> EndOfLife | None:
        return distributions.release_end_of_life(self.id, self.version)

    @property
    def cuda_max(self) -> CudaVersion | None:
        """The newest CUDA NVIDIA published for this release; None when it sets no limit."""
        return self.end_of_life.cuda_max if self.end_of_life else None

    @property
    def newest_branch(self) -> int:
        eol = self.end_of_life
        return eol.branch if eol and eol.branch else distributions.default_branch()

    def repo_slug(self, wsl: bool = False) -> str:
        """NVIDIA's repository folder for this release: ubuntu2204, debian12, rhel9, fedora44, wsl-ubuntu."""
        if wsl:
            return "wsl-ubuntu"
        if self.family == "debian":
            return f"{self.id}{self.version.replace('.', '')}"
        return self.rpm.repo

    def install(self, *packages: str) -> list[str]:
        """The non-interactive install command for ``packages``."""
        return [self.package_manager, "install", "-y", *packages]


def distro_of(facts: Facts) -> Distro:
    """The supported distribution the facts describe, or a PreconditionError (exit 3) saying why not."""
    os_id = _text(facts.get("os.id")).lower()
    family = facts.get("os.family")
    if family == "rhel" or os_id in distributions.rhel_like():
        family = "rhel"
    name = _text(facts.get("os.pretty_name")) or os_id or "an unknown system"
    if family not in ("debian", "rhel"):
        raise PreconditionError(
            f"setupkit install supports Ubuntu/Debian (apt) and the RHEL family (dnf, yum on EL7); this host is "
            f"{name} (os.family {family!r})", hint="install the driver with your distribution's own tools")
    version = _text(facts.get("os.version_id"))
    if not _RELEASE_NUMBER.fullmatch(version):
        raise PreconditionError(f"cannot tell the release of {name} (os.version_id is unknown or not a release "
                                f"number)", hint="check VERSION_ID in /etc/os-release")
    distro = Distro(family=family, id=os_id or family, version=version, pretty_name=name)
    if family == "rhel" and rpm_releases.release_of(distro.id, version) is None:
        raise PreconditionError(
            f"NVIDIA publishes no driver repository that setupkit knows for {name}; setupkit install plans "
            f"{rpm_releases.supported()}",
            hint="upgrade to a release NVIDIA's Driver Installation Guide lists, or install the driver with your "
                 "distribution's own tools")
    return distro


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
