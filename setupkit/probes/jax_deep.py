"""The deep JAX probe: jax imported for real in a child interpreter (``jax_script.py``), its answers turned into the
``jaxprobe.*`` facts (setupkit.facts).

What package metadata cannot say, the import does: whether jax loads (a crash, a hang or an ImportError is a
finding: jax.imports), the backend it chose and the devices it sees. JAX falls back to the CPU, with a log line
only, when its CUDA plugin cannot start: the probe keeps why (jax.gpu-visible names it). From a snapshot, the run
`setupkit snapshot --deep` recorded (probes.json, under the name "jax").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes import framework_child as child
from setupkit.probes.deep import DeepRequest

NAME = "jax"
"""The probe's name in a snapshot's probes.json."""
CHILD = child.ChildScript(NAME, "JAX", Path(__file__).with_name("jax_script.py"), "SETUPKIT-JAXPROBE ", {
    # JAX takes 75% of each GPU's memory as its backend starts: the probe must not take it from running jobs.
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "PYTHONDONTWRITEBYTECODE": "1",
})
GPU_PLATFORMS = ("gpu", "cuda")
"""A JAX device's platform on an NVIDIA GPU ("gpu"; "cuda" in some releases)."""
NOT_RECORDED = ("this snapshot holds no JAX import to judge (taken without --deep, or by a setupkit that did not "
                "probe JAX); take one with `setupkit snapshot --deep`")
PREFIX = "jaxprobe"


def probe(host: Host, request: DeepRequest) -> Facts:
    """The jaxprobe.* facts from importing jax in ``request.python`` (default: this interpreter)."""
    return facts_of(child.run_child(host, CHILD, request))


def facts_of(outcome: child.ChildOutcome | None) -> Facts:
    """The facts of the child's outcome (None: the host holds no run of it)."""
    return child.outcome_facts(PREFIX, outcome, NOT_RECORDED, answer_facts)


def answer_facts(answer: dict[str, Any]) -> Facts:
    """The facts the script's answer gives (each of the type its checks expect, or None)."""
    devices = _devices(answer.get("devices"))
    gpus = None if devices is None else [device["device_kind"] for device in devices
                                         if device["platform"] in GPU_PLATFORMS]
    return {
        "jaxprobe.version": child.text(answer.get("version"), 100),
        "jaxprobe.backend": child.text(answer.get("backend"), 40),
        "jaxprobe.devices": devices,
        "jaxprobe.gpus": gpus,
        "jaxprobe.gpu_count": None if gpus is None else len(gpus),
        "jaxprobe.cuda_plugins": _versions(answer.get("cuda_plugins")),
        "jaxprobe.cuda_error": child.text(answer.get("cuda_error")),
    }


def _devices(value: Any) -> list[dict[str, str]] | None:
    """[{platform, device_kind}] as the script wrote them; None when the list is not of that form."""
    if not isinstance(value, list) or len(value) > 1024:
        return None
    devices = []
    for item in value:
        platform = child.text(item.get("platform"), 40) if isinstance(item, dict) else None
        kind = child.text(item.get("device_kind"), 200) if isinstance(item, dict) else None
        if platform is None or kind is None:
            return None
        devices.append({"platform": platform.lower(), "device_kind": kind})
    return devices


def _versions(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or len(value) > 64:
        return None
    found = {child.text(name, 100): child.text(version, 100) for name, version in value.items()}
    return {name: version for name, version in found.items() if name is not None and version is not None}
