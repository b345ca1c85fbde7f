"""Probe: the running kernel (kernel.*).

By hand: ``cat /proc/sys/kernel/osrelease`` (what ``uname -r`` prints), ``cat /proc/version`` (WSL's kernel
names Microsoft there), ``ls /lib/modules/$(uname -r)/build`` (the headers a driver build needs).
"""

from __future__ import annotations

import re

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.text import clean_lines

_PROC_VERSION = re.compile(r"Linux version (\S+)")
_WSL = re.compile(r"microsoft|wsl", re.IGNORECASE)


def parse_release(text: str | None) -> str | None:
    """/proc/sys/kernel/osrelease or ``uname -r`` output -> "6.8.0-45-generic"; None when empty."""
    lines = clean_lines(text)
    return lines[0].strip() if lines else None


def parse_proc_version(text: str | None) -> str | None:
    """"Linux version 5.15.153.1-microsoft-standard-WSL2 (root@...) ..." -> "5.15.153.1-microsoft-standard-WSL2"."""
    match = _PROC_VERSION.search(text or "")
    return match.group(1) if match else None


def is_wsl(proc_version: str | None) -> bool | None:
    """True when /proc/version names Microsoft or WSL; None when /proc/version is unreadable."""
    if proc_version is None:
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
