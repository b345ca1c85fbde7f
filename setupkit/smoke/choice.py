"""Which framework Keras 3 trains on: the one --backend names, else the first installed of TensorFlow, JAX and
PyTorch, and the line that says which and why.

What is installed is told from package metadata (distribution names and versions, as doctor reads them), never
by importing a framework: Keras reads KERAS_BACKEND once, at its import, so the choice must be made before any
framework loads in this process, and importing one to find out could crash (SIGILL) or take seconds. Nothing
here imports numpy either (``backend.require_framework`` runs after, and must run before anything that does).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from setupkit import versions
from setupkit.errors import PreconditionError
from setupkit.facts import Facts

PREFERENCE = ("tensorflow", "jax", "torch")
"""Without --backend: TensorFlow first (the CIFAR-10 tutorial's own framework, and the one input pipeline in
tf.data), then JAX, then PyTorch."""
TITLE = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


@dataclass(frozen=True)
class Installed:
    """A framework Keras 3 can run on, as its package metadata tells it."""

    backend: str
    version: str
    build: str | None
    """What the wheel was built for: "CPU", "CUDA 13.0"; None where the metadata does not tell."""

    def label(self) -> str:
        """'PyTorch 2.13.0 (CPU)'."""
        return f"{TITLE[self.backend]} {self.version}" + (f" ({self.build})" if self.build else "")


@dataclass(frozen=True)
class Choice:
    backend: str
    installed: Installed | None
    """None when --backend names a framework the metadata does not list (``require_framework`` then says so)."""
    line: str | None
    """Which framework and why, when it is not TensorFlow and --backend did not name it; else None."""


def read_host() -> tuple[Facts, dict[str, str]]:
    """The host's facts and its Python's packages ({PEP 503 name: version}), in one read of the machine."""
    from setupkit.host import open_host
    from setupkit.probes import collect_facts
    from setupkit.probes.packages import python_info

    with open_host() as host:
        facts = collect_facts(host)
        packages = python_info(host).packages
    return facts, dict(packages) if isinstance(packages, dict) else {}


def choose(requested: str | None, packages: Mapping[str, str], facts: Facts) -> Choice:
    """--backend ``requested``, or the first framework of PREFERENCE that ``packages`` holds. None of them
    installed exits 3 with the install command for this host (``facts``: its GPUs, driver and Python)."""
    found = installed_frameworks(packages)
    if requested is not None:
        return Choice(requested, found.get(requested), None)
    if not found:
        raise PreconditionError(nothing_installed(facts), hint=install_command(facts))
    picked = found[next(name for name in PREFERENCE if name in found)]
    refuse_keras_2(picked.backend, packages)
    return Choice(picked.backend, picked, None if picked.backend == "tensorflow" else fallback_line(picked, found))


def fallback_line(picked: Installed, found: Mapping[str, Installed]) -> str:
    """'TensorFlow is not installed: training through Keras 3 on PyTorch 2.13.0 (CPU)', and the other framework
    --backend can name, where there is one. (TensorFlow, the default since the smoke test began, goes unsaid.)"""
    others = [f"--backend {name} for {found[name].label()}" for name in PREFERENCE
              if name in found and name != picked.backend]
    line = f"TensorFlow is not installed: training through Keras 3 on {picked.label()}"
    return line + (f"; give {', '.join(others)}" if others else "")


def installed_frameworks(packages: Mapping[str, str]) -> dict[str, Installed]:
    """Every framework of PREFERENCE that ``packages`` holds, by backend name."""
    found = {}
    for backend, reader in (("tensorflow", _tensorflow), ("jax", _jax), ("torch", _torch)):
        framework = reader(packages)
        if framework is not None:
            found[backend] = framework
    return found


def _version(packages: Mapping[str, str], name: str) -> str | None:
    value = packages.get(name)
    return value if isinstance(value, str) and value else None


def _tensorflow(packages: Mapping[str, str]) -> Installed | None:
    from setupkit.probes.python_env import TENSORFLOW_PACKAGES

    for name in TENSORFLOW_PACKAGES:
        version = _version(packages, name)
        if version is not None:
            return Installed("tensorflow", version, "CPU" if name.endswith("-cpu") else None)
    return None


def _torch(packages: Mapping[str, str]) -> Installed | None:
    from setupkit.knowledge import framework_wheels
    from setupkit.probes.frameworks import cuda_wheels

    version = _version(packages, "torch")
    if version is None:
        return None
    build, cuda = framework_wheels.torch_build(version, cuda_wheels(dict(packages)))
    label = {framework_wheels.CPU: "CPU", framework_wheels.ROCM: "ROCm", framework_wheels.XPU: "XPU"}.get(build or "")
    if build == framework_wheels.CUDA:
        label = f"CUDA {cuda}" if cuda is not None else "CUDA"
    parsed = versions.parse(version)
    # The build stands beside the version in words: 2.13.0 (CPU), not 2.13.0+cpu (CPU).
    return Installed("torch", parsed.public if parsed is not None and label else version, label)


def _jax(packages: Mapping[str, str]) -> Installed | None:
    from setupkit.knowledge import framework_wheels
    from setupkit.probes.frameworks import cuda_wheels

    version = _version(packages, "jax")
    if version is None:
        return None
    plugins = {name: packages[name] for name in framework_wheels.jax_plugin_names() if _version(packages, name)}
    cuda = framework_wheels.jax_cuda(plugins, cuda_wheels(dict(packages)))
    return Installed("jax", version, "CPU" if cuda is None else f"CUDA {cuda}")


def refuse_keras_2(backend: str, packages: Mapping[str, str]) -> None:
    """JAX and PyTorch need Keras 3: Keras 2 (TensorFlow's tf.keras of old) has no other backend."""
    keras = versions.parse(_version(packages, "keras"))
    if backend != "tensorflow" and keras is not None and keras.major < 3:
        raise PreconditionError(f"training on {TITLE[backend]} needs Keras 3, and Keras {packages['keras']} is "
                                f"installed for {sys.executable}", hint="pip install --upgrade keras")


# -- none installed: what to install, for this host -----------------------------------------------------------------


def nvidia_gpu_count(facts: Facts) -> int:
    count = facts.get("gpu.count")
    return count if type(count) is int and count > 0 else 0


def nothing_installed(facts: Facts) -> str:
    gpus = nvidia_gpu_count(facts)
    build = f"this host's {gpus} NVIDIA GPU(s) want the CUDA build" if gpus else "with no NVIDIA GPU, the CPU build"
    return (f"smoke-test trains through Keras 3 on TensorFlow, JAX or PyTorch, and none of them is installed for "
            f"{sys.executable} ({build})")


def install_command(facts: Facts) -> str:
    """The pip command that gives this host a framework to train on: TensorFlow where it has a wheel for this
    Python (and glibc), CUDA build or CPU build as the host has NVIDIA GPUs or not; else PyTorch, the CUDA variant
    the driver runs (PyTorch's index), and Keras beside it."""
    from setupkit.knowledge import framework_wheels, tensorflow_wheels

    gpus = nvidia_gpu_count(facts)
    if tensorflow_wheels.newest_for_python("tensorflow", facts.get("python.version"), facts.get("libc.version")):
        return "pip install 'tensorflow[and-cuda]'" if gpus else "pip install tensorflow"
    variant = torch_variant(facts) if gpus else framework_wheels.CPU
    if variant is None:  # no driver answers: PyPI's own wheel is a CUDA build
        return "pip install torch keras"
    return f"pip install torch --index-url {framework_wheels.torch_index_url(variant)} && pip install keras"


def torch_variant(facts: Facts) -> str | None:
    """The newest PyTorch CUDA variant (cu130) that the driver runs and that has kernels for every GPU."""
    from setupkit.knowledge import cuda, framework_wheels

    driver_cuda = facts.get("driver.cuda_max")
    if not isinstance(driver_cuda, str):
        supported = cuda.supported_cuda_for_driver(facts.get("driver.version"))
        driver_cuda = None if supported is None else str(supported)
    return framework_wheels.torch_variant_for(None, driver_cuda, facts.get("gpu.names"),
                                              facts.get("gpu.compute_capabilities"), facts.get("gpu.architectures"))
