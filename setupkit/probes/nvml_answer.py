"""NVML's answer as the probes read it (nvml.json's form, SNAPSHOT.md), every field checked for its form.

The answer comes from a snapshot's JSON or from a child process that talked to a driver that may be broken:
a field may be missing, a list, a string where a number belongs. What is not in the documented form is
unknown; an answer that is not an object at all means NVML could not be read.
"""

from __future__ import annotations

from typing import Any

from setupkit.host.base import Host
from setupkit.host.nvml import PROBE_FAILED

UNREADABLE = PROBE_FAILED
"""The error class for an answer not in nvml.json's form: NVML (or the child asking it) answered garbage."""


def nvml_answer(host: Host) -> dict[str, Any]:
    answer = host.nvml()
    return answer if isinstance(answer, dict) else {"error": UNREADABLE}


def nvml_error(answer: dict[str, Any]) -> str | None:
    """The error class when NVML could not start; None when it started."""
    error = answer.get("error")
    if isinstance(error, str):
        return error or None
    return UNREADABLE if error else None


def nvml_devices(answer: dict[str, Any]) -> list[dict[str, Any]] | None:
    """NVML's device list when NVML started, else None; an entry that is not an object is dropped."""
    devices = answer.get("devices")
    if nvml_error(answer) or not isinstance(devices, list):
        return None
    return [dev for dev in devices if isinstance(dev, dict)]


def device_error(device: dict[str, Any]) -> str | None:
    """Why NVML could not read this GPU (setupkit's reader writes {"index", "error"} for one it cannot open)."""
    error = device.get("error")
    if isinstance(error, str):
        return error or None
    return "NVML could not read this GPU" if error else None
