"""Probe: the Python that setupkit runs in, pip and TensorFlow (python.*, pip.*, tensorflow.*).

By hand: ``python3 -VV``, ``python3 -m pip --version``, ``pip list | grep -i tensorflow``. TensorFlow's version
comes from package metadata: importing it here could crash (no AVX) or take seconds.
"""

from __future__ import annotations

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.packages import pip_package, python_info

TENSORFLOW_PACKAGES = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly", "tf-nightly-cpu",
                       "intel-tensorflow")


def probe(host: Host, facts: Facts) -> Facts:
    info = python_info(host)
    tensorflow = pip_package(host, TENSORFLOW_PACKAGES)
    return {
        "python.executable": info.executable,
        "python.version": info.version,
        "python.bits": info.bits,
        "python.externally_managed": info.externally_managed,
        "pip.version": info.pip_version,
        "tensorflow.version": tensorflow[1] if tensorflow else None,
        "tensorflow.package": tensorflow[0] if tensorflow else None,
    }
