"""Helpers of the doctor tests: the built-in checks, facts from a dictionary, one check's verdict."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from setupkit.doctor.catalog import Check, load_catalog
from setupkit.doctor.engine import Finding, evaluate_check
from setupkit.facts import empty_facts

REQUIRED = [
    "os.supported", "host.wsl", "host.laptop", "cpu.avx", "cpu.native-build", "gpu.present", "nouveau.loaded",
    "driver.installed", "driver.version-mismatch", "driver.cuda-compat", "cuda.toolkit", "cudnn.present",
    "display.manager-running", "secureboot.enabled", "python.supported", "pip.outdated", "tensorflow.installed",
    "tensorflow.cuda-compat", "gpu.memory-held", "env.cuda-visible-devices", "reboot.required",
    "python.externally-managed", "tensorflow.distributions", "host.container", "host.container-toolkit",
    "driver.gpu-support", "cuda.gpu-arch", "libc.supported", "driver.end-of-life",
    "torch.cuda-compat", "torch.gpu-arch", "jax.cuda-compat", "python.cuda-wheels-mixed",
    "tensorflow.gpu-arch",
    "gpu.pcie-link", "gpu.ecc", "gpu.retired-memory", "gpu.throttle", "gpu.persistence", "gpu.xid",
]
"""The checks the built-in catalog must hold."""


@lru_cache(maxsize=1)
def builtin_checks() -> dict[str, Check]:
    return {check.id: check for check in load_catalog()}


def facts_with(**values: Any) -> dict[str, Any]:
    """Every registered fact unknown, except ``values`` (keys with '__' for '.')."""
    facts = empty_facts()
    for key, value in values.items():
        name = key.replace("__", ".")
        assert name in facts, f"not a registered fact: {name}"
        facts[name] = value
    return facts


def verdict(check_id: str, facts: dict[str, Any]) -> Finding:
    return evaluate_check(builtin_checks()[check_id], facts)
