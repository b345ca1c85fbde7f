"""What every step builder reads: the facts, the distribution, the options and the choices made from them."""

from __future__ import annotations

from dataclasses import dataclass

from setupkit.facts import Facts
from setupkit.install.choices import StackChoice
from setupkit.install.distro import Distro
from setupkit.install.options import PlanOptions


@dataclass
class Context:
    facts: Facts
    distro: Distro
    options: PlanOptions
    gpu: bool  # the GPU path is planned (--gpu and an NVIDIA GPU present)
    wsl: bool
    choices: StackChoice

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
