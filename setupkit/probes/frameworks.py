"""Probe: PyTorch, JAX and the NVIDIA CUDA library wheels beside them (torch.*, jax.*, python.cuda_wheels).

By hand: ``pip list | grep -i -E '^(torch|jax|nvidia-)'``. Everything comes from the one scan of package
metadata that the Python probe reads (distribution names and versions): importing torch or JAX here could take
seconds or crash, and only ``doctor --deep`` does that, in a child process.
"""

from __future__ import annotations

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.knowledge import framework_wheels
from setupkit.probes.packages import pip_package, pip_packages, python_info
from setupkit.probes.text import normalize_package, version_text

TORCH_PACKAGES = ("torch",)
JAX_PACKAGES = ("jax",)


def cuda_wheels(packages: object) -> dict[str, str]:
    """Every NVIDIA CUDA library wheel among ``packages`` ({name: version} as the host lists them), by name:
    nvidia-cudnn-cu12, nvidia-cuda-runtime ... (nvidia-ml-py is no CUDA library)."""
    if not isinstance(packages, dict):
        return {}
    found = {}
    for name, version in packages.items():
        if not isinstance(name, str) or not name.lower().startswith("nvidia"):
            continue
        normal, text = normalize_package(name), version_text(version)
        if text and framework_wheels.is_cuda_wheel(normal):
            found[normal] = text
    return dict(sorted(found.items()))


def probe(host: Host, facts: Facts) -> Facts:
    wheels = cuda_wheels(python_info(host).packages)
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
