"""TensorFlow's tested build configurations for Linux (tensorflow/docs site/en/install/source.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestedBuild:
    python: str
    compiler: str
    bazel: str


TESTED: dict[tuple[int, int], TestedBuild] = {
    (2, 21): TestedBuild("3.10-3.13", "Clang 18.1.8", "7.4.1"),
    (2, 20): TestedBuild("3.9-3.13", "Clang 18.1.8", "7.4.1"),
    (2, 19): TestedBuild("3.9-3.12", "Clang 18.1.8", "6.5.0"),
    (2, 18): TestedBuild("3.9-3.12", "Clang 17.0.6", "6.5.0"),
    (2, 17): TestedBuild("3.9-3.12", "Clang 17.0.6", "6.5.0"),
    (2, 16): TestedBuild("3.9-3.12", "Clang 17.0.6", "6.5.0"),
    (2, 15): TestedBuild("3.9-3.11", "Clang 16.0.0", "6.1.0"),
    (2, 14): TestedBuild("3.9-3.11", "Clang 16.0.0", "6.1.0"),
    (2, 13): TestedBuild("3.8-3.11", "Clang 16.0.0", "5.3.0"),
    (2, 12): TestedBuild("3.8-3.11", "GCC 9.3.1", "5.3.0"),
    (2, 11): TestedBuild("3.7-3.10", "GCC 9.3.1", "5.3.0"),
    (2, 10): TestedBuild("3.7-3.10", "GCC 9.3.1", "5.1.1"),
}

CLANG_DEFAULT_SINCE = (2, 13)
"""From 2.13 TensorFlow builds with Clang by default; GCC still works but is no longer what is tested."""

HERMETIC_CUDA_SINCE = (2, 18)
"""From 2.18 configure asks for hermetic CUDA versions instead of looking for a local toolkit."""

WHEEL_TARGET_SINCE = (2, 17)
"""From 2.17 the wheel is built by the :wheel target instead of the build_pip_package script."""

OLDEST_KNOWN_CONFIGURE = (2, 11)
"""The oldest configure whose prompts setupkit knows; older ones may ask something it cannot answer."""


def tested_for(minor: tuple[int, int]) -> TestedBuild | None:
    return TESTED.get(minor)


def python_in_range(python_version: str, versions: str) -> bool:
    """Whether '3.11' lies within '3.9-3.13'."""
    low, _, high = versions.partition("-")
    as_tuple = lambda text: tuple(int(part) for part in text.split(".")[:2])  # noqa: E731
    return as_tuple(low) <= as_tuple(python_version) <= as_tuple(high or low)
