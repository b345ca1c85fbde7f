"""Probes: one module a domain. Thin reads through the host source, pure parsers (text in, typed value out).

``collect_facts`` runs every probe in order; a later probe may read what an earlier one found (the reboot
probe compares the driver versions the driver probe read). A missing tool or file gives ``None`` (unknown),
never an exception. The deep probes (a framework imported in a child process: ``tensorflow``, ``torch_deep``,
``jax_deep``) run only when a ``DeepRequest`` asks for them; their facts are None otherwise.
"""

from __future__ import annotations

from setupkit.facts import FACTS, Facts, empty_facts
from setupkit.host.base import Host
from setupkit.probes.deep import DeepRequest

__all__ = ["DeepRequest", "collect_facts", "read_facts"]


def _probes():
    # Imported here so that `setupkit --help` does not pay for them.
    from setupkit.probes import (
        container_toolkit,
        cpu,
        cuda,
        cudnn,
        display,
        driver,
        environment,
        frameworks,
        gpu,
        gpu_health,
        kernel,
        libc,
        machine,
        os_release,
        python_env,
        reboot,
        secureboot,
        toolchain,
    )

    # gpu_health after driver: it reads the kernel log only where the nvidia module is loaded.
    return (os_release, kernel, machine, cpu, gpu, driver, gpu_health, cuda, cudnn, display, secureboot, reboot,
            python_env, frameworks, libc, environment, toolchain, container_toolkit)


def read_facts(snapshot: str | None = None, *, deep: DeepRequest | None = None) -> Facts:
    """Every registered fact of this machine, or of the snapshot at ``snapshot``: the host opened, read, closed.
    With ``deep``, the deep probes' too (from a snapshot: the runs it recorded)."""
    from setupkit.host import open_host

    with open_host(snapshot) as host:
        return collect_facts(host, deep=deep)


def collect_facts(host: Host, *, deep: DeepRequest | None = None) -> Facts:
    """Every registered fact about ``host``; unknown ones are None. The deep probes run only with ``deep``."""
    facts = empty_facts()
    for module in _probes():
        _merge(facts, module.__name__, module.probe(host, facts))
    if deep is not None:
        from setupkit.probes import jax_deep, tensorflow, torch_deep

        for deep_probe in (tensorflow, torch_deep, jax_deep):
            _merge(facts, deep_probe.__name__, deep_probe.probe(host, deep))
    return facts


def _merge(facts: Facts, probe: str, found: Facts) -> None:
    unknown = set(found) - set(FACTS)
    if unknown:
        raise AssertionError(f"probe {probe} set unregistered facts: {sorted(unknown)}")
    facts.update(found)
