"""Probe: the NVIDIA driver and nouveau (driver.*, nouveau.*).

By hand: ``cat /proc/driver/nvidia/version`` (the loaded kernel module, "Open Kernel Module" for the open
flavour), ``grep -w nvidia /proc/modules`` (``lsmod``, which some hosts lack; "(POE)": P marks the proprietary
module), ``nvidia-smi`` (the user-space driver and the highest CUDA it runs),
``ls /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.*``, ``grep -r nouveau /etc/modprobe.d /proc/cmdline``.
"""

from __future__ import annotations

import re
from typing import Any

from setupkit.bounded import ascii_int
from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.host.nvml import PROBE_TIMED_OUT
from setupkit.probes.nvml_answer import nvml_answer, nvml_error
from setupkit.probes.text import clean_lines, text_or_none, uncommented, version_key, version_text

LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib")
MODPROBE_DIRS = ("/etc/modprobe.d", "/lib/modprobe.d", "/usr/lib/modprobe.d")

# re.ASCII: \d is 0-9 only (in a str pattern it also takes '١' and the other Unicode digits, which no version
# parser reads); bounded digit runs keep a 5000-digit line from passing for a version.
_NVRM = re.compile(r"NVRM version:.*?Kernel Module\b.*?\s(\d{1,9}(?:\.\d{1,9})+)(?:\s|$)", re.ASCII)
_LIBNVML = re.compile(r"libnvidia-ml\.so\.(\d{1,9}\.\d{1,9}(?:\.\d{1,9})?)$", re.ASCII)
_SMI_CUDA = re.compile(r"CUDA Version:\s*(\d{1,3}\.\d{1,3})(?!\d)", re.ASCII)
_MODULE_VERSION = re.compile(r"\d{1,9}(?:\.\d{1,9})+", re.ASCII)
_BLACKLIST = re.compile(r"blacklist\s+nouveau")
_CMDLINE_BLACKLIST = re.compile(r"(?:^|\s)(?:modprobe\.blacklist=\S*\bnouveau\b|nouveau\.modeset=0(?:\s|$))")
MAX_NVRM_LINE = 1024
"""The NVRM line is about 130 characters; the pattern's two lazy runs cost the square of a line's length, so a
longer line (a hostile file of one 8 MB line) is no NVRM line."""
# NVML's cuda_driver_version is 1000 * major + 10 * minor (13000 is CUDA 13.0): six digits reach CUDA 999.
_MAX_CUDA_INT_DIGITS = 6


def parse_modules(text: str | None) -> set[str] | None:
    """/proc/modules ("nvidia 14299136 - - Live 0x... (O)") -> the loaded module names; None when unreadable."""
    if not isinstance(text, str):
        return None
    return {fields[0] for fields in (line.split() for line in clean_lines(text)) if fields}


def parse_nvrm_version(text: str | None) -> tuple[str, bool] | None:
    """/proc/driver/nvidia/version -> (version, open kernel module?).

    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ..." -> ("535.104.05", False);
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ..." -> (..., True).
    """
    for line in clean_lines(text):
        match = _NVRM.search(line) if len(line) <= MAX_NVRM_LINE else None
        if match:
            return match.group(1), "Open Kernel Module" in line
    return None


def parse_taint(flags: str | None) -> bool | None:
    """A module's taint flags ("POE", "OE") -> whether it is NVIDIA's open kernel module: the kernel marks a
    module of a proprietary licence P, and the open module (dual MIT/GPL) carries only O (out of tree) and E
    (unsigned). None for anything but flags."""
    text = (flags or "").strip().strip("()")
    if not text or len(text) > 20 or not text.isascii() or not text.isalpha() or "O" not in text:
        return None
    return "P" not in text


def nvidia_taint(modules_text: str | None) -> str | None:
    """The taint flags of the nvidia module's /proc/modules line ("nvidia 56778752 24 - Live 0x0 (POE)")."""
    for line in clean_lines(modules_text):
        fields = line.split()
        if len(fields) > 1 and fields[0] == "nvidia" and fields[-1].startswith("(") and fields[-1].endswith(")"):
            return fields[-1]
    return None


def _open_module(host: Host, nvrm: tuple[str, bool] | None, modules: set[str] | None) -> bool | None:
    """Whether the loaded module is the open one: as /proc/driver/nvidia/version says ("Open Kernel Module"),
    else by its taint flags (/sys/module/nvidia/taint, /proc/modules), where a container shows no /proc/driver."""
    if nvrm:
        return nvrm[1]
    if modules is not None and "nvidia" not in modules:
        return None
    taint = parse_taint(host.read_text("/sys/module/nvidia/taint"))
    return taint if taint is not None else parse_taint(nvidia_taint(host.read_text("/proc/modules")))


def parse_module_version(text: str | None) -> str | None:
    """/sys/module/nvidia/version "535.104.05\\n" -> "535.104.05"; None for anything but a dotted number."""
    lines = clean_lines(text)
    return lines[0].strip() if lines and _MODULE_VERSION.fullmatch(lines[0].strip()) else None


def newest_libnvml_version(paths: list[str]) -> str | None:
    """The highest X.Y(.Z) among libnvidia-ml.so.X.Y.Z file names (libnvidia-ml.so.1 says nothing)."""
    versions = [m.group(1) for p in paths if (m := _LIBNVML.search(p))]
    return max(versions, key=version_key) if versions else None


def cuda_version_from_int(value: Any) -> str | None:
    """NVML's cuda_driver_version 13000 -> "13.0", 12020 -> "12.2"; None for anything but a plausible int
    (a bool, a float, a string, a huge number)."""
    value = ascii_int(value, max_digits=_MAX_CUDA_INT_DIGITS) if isinstance(value, int) else None
    if value is None or value <= 0:
        return None
    return f"{value // 1000}.{value % 1000 // 10}"


def parse_smi_cuda_version(text: str | None) -> str | None:
    """The nvidia-smi header "... Driver Version: 580.159.04     CUDA Version: 13.0 |" -> "13.0"."""
    match = _SMI_CUDA.search(text_or_none(text) or "")
    return match.group(1) if match else None


def blacklists_nouveau(conf_text: str | None) -> bool:
    """A modprobe.d file with an uncommented "blacklist nouveau" line."""
    return any(_BLACKLIST.fullmatch(uncommented(line)) for line in clean_lines(conf_text))


def cmdline_blacklists_nouveau(cmdline: str | None) -> bool:
    """/proc/cmdline with modprobe.blacklist=...nouveau... or nouveau.modeset=0."""
    return bool(_CMDLINE_BLACKLIST.search((text_or_none(cmdline) or "").strip()))


def _userspace_version(host: Host, nvml: dict[str, Any]) -> str | None:
    found = version_text(nvml.get("driver_version"))
    if found:
        return found
    paths = [p for folder in LIB_DIRS for p in host.glob_dir(folder, prefix="libnvidia-ml.so.")]
    return newest_libnvml_version(paths)


def _cuda_max(host: Host, nvml: dict[str, Any]) -> str | None:
    found = cuda_version_from_int(nvml.get("cuda_driver_version"))
    if found:
        return found
    if nvml_error(nvml) == PROBE_TIMED_OUT:
        return None  # nvidia-smi asks the same wedged library: it would hang as long again
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
    nvml = nvml_answer(host)
    version = nvrm[0] if nvrm else parse_module_version(host.read_text("/sys/module/nvidia/version"))
    return {
        "driver.loaded": None if modules is None else "nvidia" in modules,
        "driver.version": version or version_text(nvml.get("driver_version")),
        "driver.userspace_version": _userspace_version(host, nvml),
        "driver.open_kernel_module": _open_module(host, nvrm, modules),
        "driver.nvml_error": nvml_error(nvml),
        "driver.cuda_max": _cuda_max(host, nvml),
        "nouveau.loaded": None if modules is None else "nouveau" in modules,
        "nouveau.blacklisted": _nouveau_blacklisted(host),
    }
