"""The deep PyTorch probe: torch imported for real in a child interpreter (``torch_script.py``), its answers turned
into the ``torchprobe.*`` facts (setupkit.facts).

What package metadata cannot say, the import does: whether torch loads at all (a SIGSEGV in a CUDA library, a
hang on a driver call, an ImportError for a missing libcudnn are findings: torch.imports), the CUDA and cuDNN it
really loaded, whether it sees the GPUs (torch.cuda.is_available(), the devices) and which architectures it was
built for (torch.cuda.get_arch_list(), which torch.gpu-arch prefers to the release table). From a snapshot, the
run `setupkit snapshot --deep` recorded (probes.json, under the name "torch").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes import framework_child as child
from setupkit.probes.deep import DeepRequest

NAME = "torch"
"""The probe's name in a snapshot's probes.json."""
CHILD = child.ChildScript(NAME, "PyTorch", Path(__file__).with_name("torch_script.py"), "SETUPKIT-TORCHPROBE ",
                          # no __pycache__ written into the interpreter's site-packages by the probe
                          {"PYTHONDONTWRITEBYTECODE": "1"})
NOT_RECORDED = ("this snapshot holds no PyTorch import to judge (taken without --deep, or by a setupkit that did not "
                "probe PyTorch); take one with `setupkit snapshot --deep`")
PREFIX = "torchprobe"


def probe(host: Host, request: DeepRequest) -> Facts:
    """The torchprobe.* facts from importing torch in ``request.python`` (default: this interpreter)."""
    return facts_of(child.run_child(host, CHILD, request))


def facts_of(outcome: child.ChildOutcome | None) -> Facts:
    """The facts of the child's outcome (None: the host holds no run of it)."""
    return child.outcome_facts(PREFIX, outcome, NOT_RECORDED, answer_facts)


def answer_facts(answer: dict[str, Any]) -> Facts:
    """The facts the script's answer gives (each of the type its checks expect, or None)."""
    return {
        "torchprobe.version": child.text(answer.get("version"), 100),
        "torchprobe.cuda": child.text(answer.get("cuda"), 40),
        "torchprobe.cudnn": child.count(answer.get("cudnn"), 10**9),
        "torchprobe.nccl": child.text(answer.get("nccl"), 40),
        "torchprobe.cuda_available": child.flag(answer.get("cuda_available")),
        "torchprobe.device_count": child.count(answer.get("device_count")),
        "torchprobe.devices": child.texts(answer.get("devices")),
        "torchprobe.arch_list": child.texts(answer.get("arch_list"), 40),
        "torchprobe.cuda_error": child.text(answer.get("cuda_error")),
    }
