"""What every step builder reads: the facts, the distribution, the options and the choices made from them."""

from __future__ import annotations

from dataclasses import dataclass

from setupkit.facts import Facts
from setupkit.install import installed
from setupkit.install.choices import StackChoice
from setupkit.install.distro import Distro
from setupkit.install.options import PlanOptions

WSL_REASON = "inside WSL the Windows driver serves the GPU (/usr/lib/wsl/lib): no Linux driver, nouveau or display step"
NO_GPU_REASON = ("no NVIDIA GPU is visible: --gpu plans the user-space GPU stack only, never a driver (the machine "
                 "that runs it brings its own)")


def container_reason(kind: str) -> str:
    """Why no kernel-side step is planned inside a container of this kind."""
    return (f"inside a {kind} container the NVIDIA kernel driver, nouveau, kernel headers and the display manager "
            f"belong to the host: its driver reaches this container through the NVIDIA Container Toolkit "
            f"(docker run --gpus all, podman run --device nvidia.com/gpu=all)")


@dataclass
class Context:
    facts: Facts
    distro: Distro
    options: PlanOptions
    gpu: bool  # the GPU stack is planned (--gpu): its user space at least
    wsl: bool
    choices: StackChoice
    container: str | None = None  # the kind of container this runs in (host.container), None outside one
    gpu_visible: bool = True  # an NVIDIA GPU is seen (gpu.count > 0)
    tensorflow_note: str = ""  # why the installed TensorFlow stays as it is, when the plan keeps it

    @property
    def python(self) -> str:
        """The interpreter TensorFlow is for: the one doctor read (a venv's python), else python3 on PATH."""
        return self.facts.get("python.executable") or "python3"

    def fact(self, name: str):
        return self.facts.get(name)

    @property
    def managed_python_reason(self) -> str | None:
        """Why pip cannot install into this Python (PEP 668), or None when it can."""
        if self.fact("python.externally_managed") is not True:
            return None
        return (f"{self.python} is the distribution's own Python (PEP 668): pip refuses to install into it "
                "('externally-managed-environment'); create a virtual environment (python3 -m venv ~/venvs/tf), "
                "install setupkit there and run setupkit install from it")

    @property
    def host_side_reason(self) -> str | None:
        """Why the driver and what it needs (kernel headers, nouveau, the display manager, Secure Boot's key)
        do not apply here, or None when they may."""
        if self.wsl:
            return WSL_REASON
        if self.container:
            return container_reason(self.container)
        if not self.gpu:
            return "CPU path: no NVIDIA GPU driver to install"
        if not self.gpu_visible:
            return NO_GPU_REASON
        return None

    @property
    def toolkit_asked(self) -> bool:
        """A system CUDA toolkit was asked for: --cuda-version, --cuda-runfile or --with-toolkit."""
        options = self.options
        return bool(options.cuda_version or options.cuda_runfile or options.with_toolkit)

    @property
    def tensorflow_problem(self) -> str | None:
        """What keeps the installed TensorFlow from the GPU, or from the libraries it was built with (doctor's
        tensorflow.cuda-compat fails or warns), on a GPU plan; None when nothing does, or on the CPU path."""
        return installed.problem(self.facts) if self.gpu else None
