"""NVIDIA's install path on the RHEL family (RHEL, CentOS, Rocky, Alma, Oracle Linux) and Fedora: the CUDA
repository, the driver packages held on their branch, and the kernel development package DKMS builds against.
What differs from release to release (dnf4 or dnf5, module streams or versionlock, kernel-devel-matched, EPEL
and CRB) is read from knowledge/rpm_releases.yaml; NVIDIA's Driver Installation Guide is the source of each."""

from __future__ import annotations

from setupkit.install.distro import Distro
from setupkit.knowledge import rpm_releases


def repo_commands(distro: Distro, url: str) -> list[list[str]]:
    """Add NVIDIA's repository (``url``: its folder for this release)."""
    repo_file = f"{url}/cuda-{distro.repo_slug()}.repo"
    manager = distro.rpm.manager
    if manager == "yum":
        return [["yum-config-manager", "--add-repo", repo_file]]
    # config-manager is a plugin (dnf-plugins-core, dnf5-plugins) that minimal images lack. dnf5 refuses to
    # replace a repository file it already has unless told to: a second run would fail without --overwrite.
    if manager == "dnf5":
        add = [["dnf", "install", "-y", "dnf5-plugins"],
               ["dnf", "config-manager", "addrepo", f"--from-repofile={repo_file}", "--overwrite"]]
    else:
        add = [["dnf", "install", "-y", "dnf-plugins-core"], ["dnf", "config-manager", "--add-repo", repo_file]]
    return add + [["dnf", "clean", "expire-cache"]]


def driver_commands(distro: Distro, branch: int, open_modules: bool, desktop: bool = True) -> list[list[str]]:
    """Install driver ``branch`` with the open or the proprietary kernel modules, held on that branch: the whole
    driver where a display manager runs (``desktop``), its compute part alone on a headless machine."""
    if distro.package_manager == "yum":  # EL7: no dnf modules; the repository's newest driver, DKMS built
        return [["yum", "install", "-y", "nvidia-driver-latest-dkms"]]
    return (rpm_releases.dkms_repository_commands(distro.id, distro.major) + branch_lock_commands(distro, branch,
            open_modules) + [distro.install(*driver_packages(open_modules, desktop))])


def branch_lock_commands(distro: Distro, branch: int, open_modules: bool) -> list[list[str]]:
    """What keeps a later `dnf upgrade` on ``branch``: NVIDIA's module stream on EL8/EL9, a versionlock where the
    release has no module streams (EL10, Fedora). The pattern is one argument, never seen by a shell."""
    release = distro.rpm
    if release.branch_lock == "module":
        stream = f"{branch}-open" if open_modules else f"{branch}-dkms"
        return [["dnf", "module", "enable", "-y", f"nvidia-driver:{stream}"]]
    if release.branch_lock != "versionlock":
        return []
    lock = ["dnf", "versionlock", "add", f"*nvidia*{branch}*"]
    if release.manager == "dnf4":  # dnf5 has the command built in; dnf4 has it from a plugin
        return [distro.install("python3-dnf-plugin-versionlock"), lock]
    return [lock]


def driver_packages(open_modules: bool, desktop: bool) -> list[str]:
    """The guide's packages: nvidia-open is the whole driver with the open modules; a headless machine takes the
    compute-only set (nvidia-driver-cuda and the kernel module). The whole driver with the proprietary modules is
    named by its parts: its meta-package, cuda-drivers, bears the name every CUDA meta-package pulls a driver
    through, which no plan installs (install/guard.py)."""
    kmod = "kmod-nvidia-open-dkms" if open_modules else "kmod-nvidia-latest-dkms"
    if not desktop:
        return ["nvidia-driver-cuda", kmod]
    return ["nvidia-open"] if open_modules else ["nvidia-driver", "nvidia-driver-cuda", kmod]


def headers_commands(distro: Distro, release: str | None) -> list[list[str]]:
    """The kernel development package of the running kernel (``release``: uname -r, None when unknown), at that
    kernel's own version: the newest kernel-devel-matched would bring a newer kernel instead."""
    devel = "kernel-devel" if distro.package_manager == "yum" else distro.rpm.kernel_devel
    headers = "kernel-headers"
    if distro.package_manager == "yum":  # EL7, as it always was planned
        headers = f"kernel-headers-{release}" if release else "kernel-headers-$(uname -r)"
    if release is None:
        return [["sh", "-c", f"{distro.package_manager} install -y {devel}-$(uname -r) {headers}"]]
    return [distro.install(f"{devel}-{release}", headers)]


def headers_reason(distro: Distro, release: str | None, why: str) -> str:
    """``why`` the headers step runs, with what stops it on this family: the repositories carry the development
    package of recent kernels only."""
    package = "kernel-devel" if distro.package_manager == "yum" else distro.rpm.kernel_devel
    return (f"{why}; {package}-{release or '$(uname -r)'} must match the running kernel: if {distro.package_manager} "
            f"finds no such package, the running kernel is older than the repositories' newest (the mirrors keep "
            f"only recent kernels): update the kernel first ({distro.package_manager} upgrade 'kernel*'), reboot, "
            f"then run setupkit install again")
