"""Probe: the Python that setupkit runs in, pip and TensorFlow (python.*, pip.*, tensorflow.*).

By hand: ``python3 -VV``, ``python3 -m pip --version``, ``pip list | grep -i tensorflow``. TensorFlow's version
comes from package metadata: importing it here could crash (no AVX) or take seconds.
"""

from __future__ import annotations

from typing import Any

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.packages import pip_packages, python_info
from setupkit.probes.text import text_or_none, version_text

TENSORFLOW_PACKAGES = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly", "tf-nightly-cpu",
                       "intel-tensorflow")


POINTER_BITS = (32, 64)


def pointer_bits(value: Any) -> int | None:
    """32 or 64; anything else (a bool, a string, 7) is unknown."""
    return value if type(value) is int and value in POINTER_BITS else None


def flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def probe(host: Host, facts: Facts) -> Facts:
    info = python_info(host)
    distributions = pip_packages(host, TENSORFLOW_PACKAGES)
    tensorflow = next(iter(distributions.items()), None)
    return {
        "python.executable": text_or_none(info.executable) or None,
        "python.version": version_text(info.version),
        "python.bits": pointer_bits(info.bits),
        "python.externally_managed": flag(info.externally_managed),
        "pip.version": version_text(info.pip_version),
        "tensorflow.version": tensorflow[1] if tensorflow else None,
        "tensorflow.package": tensorflow[0] if tensorflow else None,
        "tensorflow.distributions": distributions,
    }
