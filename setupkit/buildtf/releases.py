"""The TensorFlow releases where building from source changed, as build-tf's configure answers and Bazel
commands depend on them. TensorFlow's tested build configurations themselves are knowledge
(setupkit.knowledge.tensorflow)."""

from __future__ import annotations

HERMETIC_CUDA_SINCE = (2, 18)
"""From 2.18 configure asks for hermetic CUDA versions instead of looking for a local toolkit."""

WHEEL_TARGET_SINCE = (2, 17)
"""From 2.17 the wheel is built by the :wheel target instead of the build_pip_package script."""

OLDEST_KNOWN_CONFIGURE = (2, 11)
"""The oldest configure whose prompts setupkit knows; older ones may ask something it cannot answer."""
