"""What build-tf needs to know of TensorFlow releases: their tested configurations (from the shared knowledge
table) and the releases where the build changed."""

from __future__ import annotations

from typing import Any

from setupkit.doctor import tables

CLANG_DEFAULT_SINCE = (2, 13)
"""From 2.13 TensorFlow builds with Clang by default; GCC still works but is no longer what is tested."""

HERMETIC_CUDA_SINCE = (2, 18)
"""From 2.18 configure asks for hermetic CUDA versions instead of looking for a local toolkit."""

WHEEL_TARGET_SINCE = (2, 17)
"""From 2.17 the wheel is built by the :wheel target instead of the build_pip_package script."""

OLDEST_KNOWN_CONFIGURE = (2, 11)
"""The oldest configure whose prompts setupkit knows; older ones may ask something it cannot answer."""


def tested_for(minor: tuple[int, int]) -> dict[str, Any] | None:
    """The tested configuration (python, compiler, bazel, cuda, cudnn) from the shared knowledge table
    (checks/tables/tensorflow_builds.yaml), or None for a release it does not list."""
    return tables.tested_build(f"{minor[0]}.{minor[1]}")


def python_in_range(python_version: str, tf_version: str) -> bool:
    """Whether this Python lies within the range TensorFlow ``tf_version`` was tested with."""
    return bool(tables.python_supported(tf_version, python_version))
