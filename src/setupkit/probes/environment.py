"""Probe: the environment variables that steer CUDA and TensorFlow (env.*). By hand: ``env | grep -E 'CUDA|TF_'``."""

from __future__ import annotations

from setupkit.facts import Facts
from setupkit.host.base import Host


def probe(host: Host, facts: Facts) -> Facts:
    env = host.env()
    return {
        "env.cuda_visible_devices": env.get("CUDA_VISIBLE_DEVICES"),
        "env.tf_force_gpu_allow_growth": env.get("TF_FORCE_GPU_ALLOW_GROWTH"),
    }
