"""The host's Python and its installed packages, read once per host.

A live read scans the metadata of every installed distribution (a fifth of a second on a full environment);
three probes need it, so it is read once for each host object and shared.
"""

from __future__ import annotations

import weakref

from setupkit.host.base import Host, PythonInfo
from setupkit.probes.text import find_package, find_packages

_READ: weakref.WeakKeyDictionary[Host, PythonInfo] = weakref.WeakKeyDictionary()


def python_info(host: Host) -> PythonInfo:
    """``host.python()``, asked once per host; all unknown when the host answers something else. Its fields are
    still unchecked: each probe takes the ones it reads through the text helpers."""
    if host not in _READ:
        info = host.python()
        _READ[host] = info if isinstance(info, PythonInfo) else PythonInfo()
    return _READ[host]


def pip_package(host: Host, candidates: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``candidates`` (PEP 503 names) installed on the host: (name, version)."""
    return find_package(python_info(host).packages, candidates)


def pip_packages(host: Host, candidates: tuple[str, ...]) -> dict[str, str]:
    """Every one of ``candidates`` installed on the host: {name: version}."""
    return find_packages(python_info(host).packages, candidates)
