"""Probe: the C library the Python interpreter runs on (libc.*): glibc and its version, or musl.

By hand: ``ldd --version`` (its first line names glibc and the version; musl's ldd prints "musl libc").
Read without a program: glibc names itself through ``os.confstr("CS_GNU_LIBC_VERSION")`` ("glibc 2.35"), which
the host records with its Python (python.json); a snapshot older than that record gives "unknown".
"""

from __future__ import annotations

import re

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.packages import python_info
from setupkit.probes.text import text_or_none

_GLIBC = re.compile(r"^glibc\s+(\d{1,3}\.\d{1,3})$")


def parse_libc(text: object) -> tuple[str | None, str | None]:
    """("glibc", "2.35") for "glibc 2.35", ("musl", None) for "musl", (None, None) for anything else."""
    value = (text_or_none(text) or "").strip()
    glibc = _GLIBC.match(value)
    if glibc:
        return "glibc", glibc[1]
    return ("musl", None) if value == "musl" else (None, None)


def probe(host: Host, facts: Facts) -> Facts:
    family, version = parse_libc(python_info(host).libc)
    return {"libc.family": family, "libc.version": version}
