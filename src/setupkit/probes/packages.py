"""The host's Python and its installed packages, read once per host.

A live read scans the metadata of every installed distribution (a fifth of a second on a full environment);
three probes need it, so it is read once for each host object and shared.
"""

from __future__ import annotations

import weakref

from setupkit.host.base import Host, PythonInfo
from setupkit.probes.text import find_package

_READ: "weakref.WeakKeyDictionary[Host, PythonInfo]" = weakref.WeakKeyDictionary()


def python_info(host: Host) -> PythonInfo:
    """``host.python()``, asked once per host."""
    if host not in _READ:
        _READ[host] = host.python()
    return _READ[host]


def pip_package(host: Host, candidates: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``candidates`` (PEP 503 names) installed on the host: (name, version)."""
    return find_package(python_info(host).packages, candidates)
