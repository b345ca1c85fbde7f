"""Probes: one module a domain. Thin reads through the host source, pure parsers (text in, typed value out).

``collect_facts`` runs every probe in order; a later probe may read what an earlier one found (the reboot
probe compares the driver versions the driver probe read). A missing tool or file gives ``None`` (unknown),
never an exception.
"""

from __future__ import annotations

from setupkit.facts import FACTS, Facts, empty_facts
from setupkit.host.base import Host


def _probes():
    # Imported here so that `setupkit --help` does not pay for them.
    from setupkit.probes import cpu, cuda, cudnn, display, driver, environment, gpu, kernel, machine, os_release
    from setupkit.probes import python_env, reboot, secureboot

    return (os_release, kernel, machine, cpu, gpu, driver, cuda, cudnn, display, secureboot, reboot, python_env,
            environment)


def collect_facts(host: Host) -> Facts:
    """Every registered fact about ``host``; unknown ones are None."""
    facts = empty_facts()
    for module in _probes():
        found = module.probe(host, facts)
        unknown = set(found) - set(FACTS)
        if unknown:
            raise AssertionError(f"probe {module.__name__} set unregistered facts: {sorted(unknown)}")
        facts.update(found)
    return facts
