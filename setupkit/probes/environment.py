"""Probe: the environment variables that steer CUDA and TensorFlow (env.*). By hand: ``env | grep -E 'CUDA|TF_'``."""

from __future__ import annotations

from typing import Any

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.text import text_or_none


def env_of(host: Host) -> dict[str, Any]:
    """``host.env()``, or {} when the host answers something that is not a mapping; values still unchecked."""
    env = host.env()
    return env if isinstance(env, dict) else {}


def probe(host: Host, facts: Facts) -> Facts:
    env = env_of(host)
    return {
        "env.cuda_visible_devices": text_or_none(env.get("CUDA_VISIBLE_DEVICES")),
        "env.tf_force_gpu_allow_growth": text_or_none(env.get("TF_FORCE_GPU_ALLOW_GROWTH")),
    }
