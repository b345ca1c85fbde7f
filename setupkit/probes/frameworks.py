"""Probe: PyTorch, JAX and the NVIDIA CUDA library wheels beside them (torch.*, jax.*, python.cuda_wheels).

By hand: ``pip list | grep -i -E '^(torch|jax|nvidia-)'``. Everything comes from the one scan of package
metadata that the Python probe reads (distribution names and versions): importing torch or JAX here could take
seconds or crash, and only ``doctor --deep`` does that, in a child process.
"""

from __future__ import annotations

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.packages import pip_package, pip_packages, python_info
from setupkit.probes.text import normalize_package, version_text

TORCH_PACKAGES = ("torch",)
JAX_PACKAGES = ("jax",)
NOT_A_FRAMEWORK = frozenset({"nvidia-ml-py"})
"""NVIDIA's NVML binding, which setupkit itself depends on: no CUDA library, no framework."""
NONE_INSTALLED: Facts = {"torch.version": None, "torch.build": None, "torch.cuda_version": None,
                         "jax.version": None, "jax.cuda_plugin": {}, "jax.cuda_version": None,
                         "python.cuda_wheels": {}}


def cuda_wheels(packages: object) -> dict[str, str]:
    """Every NVIDIA CUDA library wheel among ``packages`` ({name: version} as the host lists them), by name:
    nvidia-cudnn-cu12, nvidia-cuda-runtime ... (nvidia-ml-py is no CUDA library)."""
    if not isinstance(packages, dict):
        return {}
    from setupkit.knowledge import framework_wheels

    found = {}
    for name, version in packages.items():
        if not isinstance(name, str) or not name.lower().startswith("nvidia"):
            continue
        normal, text = normalize_package(name), version_text(version)
        if text and normal not in NOT_A_FRAMEWORK and framework_wheels.is_cuda_wheel(normal):
            found[normal] = text
    return dict(sorted(found.items()))


def may_hold_a_framework(packages: object) -> bool:
    """Whether ``packages`` has a name PyTorch, JAX or NVIDIA's CUDA wheels could go by; where none has, the
    facts are told without reading the wheels table (most environments `setupkit doctor` sees)."""
    if not isinstance(packages, dict):
        return False
    names = (normalize_package(name) for name in packages if isinstance(name, str))
    return any(name.startswith(("torch", "jax", "nvidia")) and name not in NOT_A_FRAMEWORK for name in names)


def probe(host: Host, facts: Facts) -> Facts:
    packages = python_info(host).packages
    if not may_hold_a_framework(packages):
        return dict(NONE_INSTALLED)
    from setupkit.knowledge import framework_wheels

    wheels = cuda_wheels(packages)
    torch = pip_package(host, TORCH_PACKAGES)
    build, torch_cuda = framework_wheels.torch_build(torch[1], wheels) if torch else (None, None)
    jax = pip_package(host, JAX_PACKAGES)
    plugins = pip_packages(host, framework_wheels.jax_plugin_names())
    jax_cuda = framework_wheels.jax_cuda(plugins, wheels)
    return {
        "torch.version": torch[1] if torch else None,
        "torch.build": build,
        "torch.cuda_version": None if torch_cuda is None else str(torch_cuda),
        "jax.version": jax[1] if jax else None,
        "jax.cuda_plugin": plugins,
        "jax.cuda_version": None if jax_cuda is None else str(jax_cuda),
        "python.cuda_wheels": wheels,
    }
