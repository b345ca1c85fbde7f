"""Probe: secureboot (being built)."""

from __future__ import annotations

from setupkit.facts import Facts
from setupkit.host.base import Host


def probe(host: Host, facts: Facts) -> Facts:
    return {}
