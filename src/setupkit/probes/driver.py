"""Probe: the NVIDIA driver and nouveau (driver.*, nouveau.*).

By hand: ``cat /proc/driver/nvidia/version`` (the loaded kernel module), ``grep -w nvidia /proc/modules``
(``lsmod``, which some hosts lack), ``nvidia-smi`` (the user-space driver and the highest CUDA it runs),
``ls /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.*``, ``grep -r nouveau /etc/modprobe.d /proc/cmdline``.
"""

from __future__ import annotations

import re
from typing import Any

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.text import clean_lines, uncommented, version_key

LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib")
MODPROBE_DIRS = ("/etc/modprobe.d", "/lib/modprobe.d", "/usr/lib/modprobe.d")

_NVRM = re.compile(r"NVRM version:.*?Kernel Module\b.*?\s(\d+\.\d+(?:\.\d+)*)(?:\s|$)")
_LIBNVML = re.compile(r"libnvidia-ml\.so\.(\d+\.\d+(?:\.\d+)?)$")
_SMI_CUDA = re.compile(r"CUDA Version:\s*(\d+\.\d+)")
_BLACKLIST = re.compile(r"blacklist\s+nouveau")
_CMDLINE_BLACKLIST = re.compile(r"(?:^|\s)(?:modprobe\.blacklist=\S*\bnouveau\b|nouveau\.modeset=0(?:\s|$))")


def parse_modules(text: str | None) -> set[str] | None:
    """/proc/modules ("nvidia 14299136 - - Live 0x... (O)") -> the loaded module names; None when unreadable."""
    if text is None:
        return None
    return {line.split()[0] for line in clean_lines(text)}


def parse_nvrm_version(text: str | None) -> tuple[str, bool] | None:
    """/proc/driver/nvidia/version -> (version, open kernel module?).

    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ..." -> ("535.104.05", False);
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ..." -> (..., True).
    """
    for line in clean_lines(text):
        match = _NVRM.search(line)
        if match:
            return match.group(1), "Open Kernel Module" in line
    return None


def parse_module_version(text: str | None) -> str | None:
    """/sys/module/nvidia/version "535.104.05\\n" -> "535.104.05"."""
    lines = clean_lines(text)
    return lines[0].strip() if lines and lines[0].strip()[:1].isdigit() else None


def newest_libnvml_version(paths: list[str]) -> str | None:
    """The highest X.Y(.Z) among libnvidia-ml.so.X.Y.Z file names (libnvidia-ml.so.1 says nothing)."""
    versions = [m.group(1) for p in paths if (m := _LIBNVML.search(p))]
    return max(versions, key=version_key) if versions else None


def cuda_version_from_int(value: Any) -> str | None:
    """NVML's cuda_driver_version 13000 -> "13.0", 12020 -> "12.2"."""
    if not isinstance(value, int) or value <= 0:
        return None
    return f"{value // 1000}.{value % 1000 // 10}"


def parse_smi_cuda_version(text: str | None) -> str | None:
    """The nvidia-smi header "... Driver Version: 580.159.04     CUDA Version: 13.0 |" -> "13.0"."""
    match = _SMI_CUDA.search(text or "")
    return match.group(1) if match else None


def blacklists_nouveau(conf_text: str | None) -> bool:
    """A modprobe.d file with an uncommented "blacklist nouveau" line."""
    return any(_BLACKLIST.fullmatch(uncommented(line)) for line in clean_lines(conf_text))


def cmdline_blacklists_nouveau(cmdline: str | None) -> bool:
    """/proc/cmdline with modprobe.blacklist=...nouveau... or nouveau.modeset=0."""
    return bool(_CMDLINE_BLACKLIST.search((cmdline or "").strip()))


def _userspace_version(host: Host, nvml: dict[str, Any]) -> str | None:
    if nvml.get("driver_version"):
        return nvml["driver_version"]
    paths = [p for folder in LIB_DIRS for p in host.glob_dir(folder, prefix="libnvidia-ml.so.")]
    return newest_libnvml_version(paths)


def _cuda_max(host: Host, nvml: dict[str, Any]) -> str | None:
    found = cuda_version_from_int(nvml.get("cuda_driver_version"))
    if found:
        return found
    result = host.run(["nvidia-smi"])
    return parse_smi_cuda_version(result.stdout) if result.ok else None


def _nouveau_blacklisted(host: Host) -> bool:
    """Blacklisted on the kernel command line or in any modprobe.d file; False when nothing says so."""
    if cmdline_blacklists_nouveau(host.read_text("/proc/cmdline")):
        return True
    confs = [path for folder in MODPROBE_DIRS for path in host.glob_dir(folder, suffix=".conf")]
    return any(blacklists_nouveau(host.read_text(path)) for path in confs)


def loaded_modules(host: Host) -> set[str] | None:
    """/proc/modules; a kernel built without module support has none, but /sys/module/<name> still shows
    each driver in it (built in or loaded)."""
    modules = parse_modules(host.read_text("/proc/modules"))
    if modules is None:
        names = host.list_dir("/sys/module")
        modules = set(names) if names is not None else None
    return modules


def probe(host: Host, facts: Facts) -> Facts:
    modules = loaded_modules(host)
    nvrm = parse_nvrm_version(host.read_text("/proc/driver/nvidia/version"))
    nvml = host.nvml()
    version = nvrm[0] if nvrm else parse_module_version(host.read_text("/sys/module/nvidia/version"))
    return {
        "driver.loaded": None if modules is None else "nvidia" in modules,
        "driver.version": version or nvml.get("driver_version"),
        "driver.userspace_version": _userspace_version(host, nvml),
        "driver.open_kernel_module": nvrm[1] if nvrm else None,
        "driver.nvml_error": nvml.get("error"),
        "driver.cuda_max": _cuda_max(host, nvml),
        "nouveau.loaded": None if modules is None else "nouveau" in modules,
        "nouveau.blacklisted": _nouveau_blacklisted(host),
    }
