"""NVIDIA's install path on the RHEL family (RHEL, CentOS, Rocky, Alma, Oracle Linux) and Fedora: the CUDA
repository, the driver packages and the kernel development packages DKMS builds against."""

from __future__ import annotations

from setupkit.install.distro import Distro


def repo_commands(distro: Distro, url: str) -> list[list[str]]:
    """Add NVIDIA's repository (``url``: its folder for this release)."""
    add = ["yum-config-manager"] if distro.package_manager == "yum" else ["dnf", "config-manager"]
    return [add + ["--add-repo", f"{url}/cuda-{distro.repo_slug()}.repo"]]


def driver_commands(distro: Distro, branch: int, open_modules: bool) -> list[list[str]]:
    """Install driver ``branch`` with the open or the proprietary kernel modules."""
    if distro.package_manager == "yum":  # EL7: no dnf modules; the repository's newest driver, DKMS built
        return [["yum", "install", "-y", "nvidia-driver-latest-dkms"]]
    stream = f"{branch}-open" if open_modules else f"{branch}-dkms"
    return [["dnf", "module", "install", "-y", f"nvidia-driver:{stream}"]]


def headers_commands(distro: Distro, release: str | None) -> list[list[str]]:
    """The kernel development packages of the running kernel (``release``: uname -r, None when unknown)."""
    if release is None:
        return [["sh", "-c", f"{distro.package_manager} install -y kernel-devel-$(uname -r) "
                             f"kernel-headers-$(uname -r)"]]
    return [distro.install(f"kernel-devel-{release}", f"kernel-headers-{release}")]
