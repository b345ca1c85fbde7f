"""The distribution a plan is for: its package manager, NVIDIA's repository name for it, its end of life and
the newest CUDA and driver branch NVIDIA published for it.

Supported: the Debian family (Ubuntu, Debian: apt) and the RHEL family (RHEL, CentOS, Rocky, Alma, Fedora:
dnf, yum on EL7). Anything else is refused: guessing package names on an unknown system is how hosts break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from setupkit.errors import PreconditionError
from setupkit.facts import Facts
from setupkit.install import versions

# The newest driver branch a plan installs where the release has no limit of its own: R580 serves every GPU
# from Maxwell to Blackwell and CUDA up to 13.0 (install.md section 7: 13.0 needs 580.65.06).
DEFAULT_BRANCH = 580


@dataclass(frozen=True)
class EndOfLife:
    """An end-of-life release: it still gets a plan, warned, limited to what NVIDIA published for it."""

    cuda_max: str | None
    branch: int | None
    source: str


# Limits of end-of-life releases. install.md gives no release table; these come from NVIDIA's CUDA
# installation guides and repositories:
# - Ubuntu 14.04: the CUDA 10.1 guide is the last that lists 14.04 (10.2 dropped it); R418 is 10.1's branch.
# - Ubuntu 16.04: the last ubuntu1604 repository toolkit seen is 11.2 (cuda-repo-ubuntu1604-11-2-local); R460
#   is 11.2's branch.
# - EL7: the rhel7 repository ends with CUDA 12.4 (12.5 dropped RHEL 7); R550 is 12.4's branch.
# - Ubuntu 18.04 and 20.04, Debian 10: end of life, without a CUDA limit we can vouch for (warned only).
_END_OF_LIFE: dict[tuple[str, str], EndOfLife] = {
    ("ubuntu", "14.04"): EndOfLife("10.1", 418, "CUDA 10.1 was the last release for Ubuntu 14.04"),
    ("ubuntu", "16.04"): EndOfLife("11.2", 460, "NVIDIA's ubuntu1604 repository ends with CUDA 11.2"),
    ("ubuntu", "18.04"): EndOfLife(None, None, "Ubuntu 18.04 left standard support in 2023"),
    ("ubuntu", "20.04"): EndOfLife(None, None, "Ubuntu 20.04 left standard support in 2025"),
    ("debian", "10"): EndOfLife(None, None, "Debian 10 left long-term support in 2024"),
    ("rhel", "7"): EndOfLife("12.4", 550, "NVIDIA's rhel7 repository ends with CUDA 12.4"),
}
_RHEL_LIKE = {"rhel", "centos", "rocky", "almalinux", "ol", "fedora"}
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
        return self.is_ubuntu and versions.parse(self.version) <= (14, 4)

    @property
    def package_manager(self) -> str:
        """apt-get (Debian family), yum on EL7, dnf elsewhere in the RHEL family."""
        if self.family == "debian":
            return "apt-get"
        return "yum" if self.id != "fedora" and self.major == "7" else "dnf"

    @property
    def end_of_life(self) -> EndOfLife | None:
        key = ("rhel", self.major) if self.family == "rhel" and self.id != "fedora" else (self.id, self.version)
        return _END_OF_LIFE.get(key)

    @property
    def cuda_max(self) -> str | None:
        return self.end_of_life.cuda_max if self.end_of_life else None

    @property
    def newest_branch(self) -> int:
        eol = self.end_of_life
        return eol.branch if eol and eol.branch else DEFAULT_BRANCH

    def repo_slug(self, wsl: bool = False) -> str:
        """NVIDIA's repository folder for this release: ubuntu2204, debian12, rhel9, fedora41, wsl-ubuntu."""
        if wsl:
            return "wsl-ubuntu"
        if self.family == "debian":
            return f"{self.id}{self.version.replace('.', '')}"
        return f"fedora{self.major}" if self.id == "fedora" else f"rhel{self.major}"

    def install(self, *packages: str) -> list[str]:
        """The non-interactive install command for ``packages``."""
        return [self.package_manager, "install", "-y", *packages]


def distro_of(facts: Facts) -> Distro:
    """The supported distribution the facts describe, or a PreconditionError (exit 3) saying why not."""
    os_id = _text(facts.get("os.id")).lower()
    family = facts.get("os.family")
    if family == "rhel" or os_id in _RHEL_LIKE:
        family = "rhel"
    name = _text(facts.get("os.pretty_name")) or os_id or "an unknown system"
    if family not in ("debian", "rhel"):
        raise PreconditionError(
            f"setupkit install supports Ubuntu/Debian (apt) and the RHEL family (dnf, yum on EL7); this host is "
            f"{name} (os.family {family!r}): install the driver with your distribution's own tools")
    version = _text(facts.get("os.version_id"))
    if not _RELEASE_NUMBER.fullmatch(version):
        raise PreconditionError(f"cannot tell the release of {name} (os.version_id is unknown or not a release "
                                f"number): check VERSION_ID in /etc/os-release")
    return Distro(family=family, id=os_id or family, version=version, pretty_name=name)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
