"""Probe: the CPU (cpu.*). By hand: ``cat /proc/cpuinfo`` (or ``lscpu``)."""

from __future__ import annotations

from setupkit.bounded import ascii_int
from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.text import text_or_none

MAX_CPUS_DIGITS = 6
"""A million logical CPUs is past any machine; a longer "siblings" is not a count."""


def parse_cpuinfo(text: str | None) -> list[dict[str, str]]:
    """/proc/cpuinfo -> one {key: value} per processor block (blocks are separated by blank lines)."""
    blocks: list[dict[str, str]] = [{}]
    for line in (text_or_none(text) or "").splitlines():
        if not line.strip():
            if blocks[-1]:
                blocks.append({})
            continue
        key, sep, value = line.partition(":")
        if sep:
            blocks[-1].setdefault(key.strip(), value.strip())
    return [block for block in blocks if block]


def cpu_count(blocks: list[dict[str, str]]) -> int | None:
    """Logical CPUs: the processor entries, or the siblings of each physical package when that says more.

    A capture may keep only the first processor block; its "siblings" still tells the package's count.
    """
    processors = sum(1 for block in blocks if "processor" in block)
    siblings: dict[str, int] = {}
    for block in blocks:
        count = ascii_int(block.get("siblings"), max_digits=MAX_CPUS_DIGITS)
        if count is not None:
            siblings.setdefault(block.get("physical id", "0"), count)
    count = max(processors, sum(siblings.values()))
    return count or None


def cpu_flags(blocks: list[dict[str, str]]) -> list[str] | None:
    """The first "flags" line (x86) or "Features" line (ARM) as a list."""
    for block in blocks:
        line = block.get("flags", block.get("Features"))
        if line is not None:
            return line.split()
    return None


def cpu_model(blocks: list[dict[str, str]]) -> str | None:
    for block in blocks:
        if block.get("model name"):
            return block["model name"]
    return None


def has_hypervisor_flag(text: str | None) -> bool | None:
    """The "hypervisor" CPU flag (set inside any VM); None when /proc/cpuinfo is unreadable or has no flags."""
    flags = cpu_flags(parse_cpuinfo(text))
    return None if flags is None else "hypervisor" in flags


def probe(host: Host, facts: Facts) -> Facts:
    blocks = parse_cpuinfo(host.read_text("/proc/cpuinfo"))
    return {"cpu.model": cpu_model(blocks), "cpu.count": cpu_count(blocks), "cpu.flags": cpu_flags(blocks)}
