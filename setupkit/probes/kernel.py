"""Probe: the running kernel (kernel.*).

By hand: ``cat /proc/sys/kernel/osrelease`` (what ``uname -r`` prints), ``cat /proc/version`` (WSL's kernel
names Microsoft there), ``ls /lib/modules/$(uname -r)/build`` (the headers a driver build needs).
"""

from __future__ import annotations

import re

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.text import clean_lines, text_or_none

_PROC_VERSION = re.compile(r"Linux version (\S+)")
_WSL = re.compile(r"microsoft|wsl", re.IGNORECASE)
# What a kernel release is made of ("6.8.0-45-generic", "3.10.0-1160.el7.x86_64", "6.6.87.2+", "5.15.153.1-
# microsoft-standard-WSL2"). It names a package (linux-headers-<release>) and a folder in the plan, so
# anything else (a space, a control character, a slash, a 10,000-character line) is not a release.
_RELEASE = re.compile(r"[0-9][A-Za-z0-9._+~-]{0,127}")


def valid_release(text: str | None) -> str | None:
    return text if text is not None and _RELEASE.fullmatch(text) else None


def parse_release(text: str | None) -> str | None:
    """/proc/sys/kernel/osrelease or ``uname -r`` output -> "6.8.0-45-generic"; None when empty or odd."""
    lines = clean_lines(text)
    return valid_release(lines[0].strip()) if lines else None


def parse_proc_version(text: str | None) -> str | None:
    """"Linux version 5.15.153.1-microsoft-standard-WSL2 (root@...) ..." -> "5.15.153.1-microsoft-standard-WSL2"."""
    match = _PROC_VERSION.search(text_or_none(text) or "")
    return valid_release(match.group(1)) if match else None


def is_wsl(proc_version: str | None) -> bool | None:
    """True when /proc/version names Microsoft or WSL; None when /proc/version is unreadable."""
    if not isinstance(proc_version, str):
        return None
    return bool(_WSL.search(proc_version))


def kernel_release(host: Host, proc_version: str | None) -> str | None:
    release = parse_release(host.read_text("/proc/sys/kernel/osrelease")) or parse_proc_version(proc_version)
    if release:
        return release
    result = host.run(["uname", "-r"])
    return parse_release(result.stdout) if result.ok else None


def probe(host: Host, facts: Facts) -> Facts:
    proc_version = host.read_text("/proc/version")
    release = kernel_release(host, proc_version)
    return {
        "kernel.release": release,
        "kernel.wsl": is_wsl(proc_version),
        "kernel.headers_installed": host.exists(f"/lib/modules/{release}/build") if release else None,
    }
