"""The knowledge tables (checks/tables/*.yaml) and the questions other verbs ask of them.

- ``tested_build("2.15.1")`` -> the row TensorFlow 2.15 was built and tested with (python, cuda, cudnn ...)
- ``latest_tensorflow()`` -> the newest release in the table ("2.21.0")
- ``python_supported(tf_version, python_version)`` -> True, False, or None when the TF release is not listed
- ``min_driver_for_cuda("12.2")`` -> "535.54.03"
- ``supported_cuda_for_driver("535.54.03")`` -> "12.2" (the highest CUDA X.Y whose toolkit driver it meets)
- ``minor_compat_driver("12")`` -> "525.60.13"
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from setupkit import versions
from setupkit.doctor.yamlio import catalog_dir, load_yaml


@lru_cache(maxsize=None)
def load_table(name: str) -> dict[str, Any]:
    """checks/tables/<name>.yaml as data."""
    return load_yaml(catalog_dir() / "tables" / f"{name}.yaml")


def _builds() -> list[dict[str, Any]]:
    return load_table("tensorflow_builds")["builds"]


def tested_build(tf_version: object) -> dict[str, Any] | None:
    """The tested configuration of TensorFlow ``tf_version`` (matched on major.minor), or None if not listed."""
    wanted = versions.major_minor(tf_version)
    if wanted is None:
        return None
    for row in _builds():
        if versions.major_minor(row["tensorflow"]) == wanted:
            return dict(row)
    return None


def latest_tensorflow() -> str:
    return str(load_table("tensorflow_builds")["latest"])


def python_range(tf_version: object) -> tuple[str, str] | None:
    """The (lowest, highest) Python X.Y that TensorFlow ``tf_version`` supports."""
    build = tested_build(tf_version)
    if build is None:
        return None
    low, _, high = str(build["python"]).partition("-")
    return low, high or low


def python_supported(tf_version: object, python_version: object) -> bool | None:
    bounds = python_range(tf_version)
    python = versions.major_minor(python_version)
    if bounds is None or python is None:
        return None
    return versions.compare(python, bounds[0]) >= 0 and versions.compare(python, bounds[1]) <= 0


def _toolkits() -> list[dict[str, str]]:
    return load_table("cuda_driver")["toolkits"]


def min_driver_for_cuda(cuda_version: object) -> str | None:
    """The minimum Linux driver of CUDA toolkit ``cuda_version`` ("12.2" or "12.8.1"), or None if not listed."""
    rows = {str(row["cuda"]): str(row["driver"]) for row in _toolkits()}
    text = str(cuda_version).strip() if cuda_version is not None else ""
    parsed = versions.parse(text)
    if parsed is None:
        return None
    exact = ".".join(str(part) for part in parsed.release)
    if exact in rows:
        return rows[exact]
    return rows.get(versions.major_minor(text))


def supported_cuda_for_driver(driver_version: object) -> str | None:
    """The highest CUDA X.Y whose toolkit driver ``driver_version`` meets, or None below every listed one."""
    best = None
    for row in _toolkits():
        if versions.compare(driver_version, row["driver"]) in (0, 1):
            candidate = versions.major_minor(row["cuda"])
            if best is None or versions.compare(candidate, best) > 0:
                best = candidate
    return best


def minor_compat_driver(cuda_major: object) -> str | None:
    """The lowest driver that runs any CUDA ``cuda_major``.x application (minor-version compatibility)."""
    major = versions.major(cuda_major)
    floors = load_table("cuda_driver")["minor_compat"]
    return None if major is None else floors.get(str(major))
