"""The condition functions of the GPU health checks (checks/35-gpu-health.yaml): per GPU lists of facts in,
the GPUs that show a condition out, one text a GPU ("GPU 0 (NVIDIA L4): x8 of x16").

Each answers a list of what it found; ``[]`` when every GPU is known and none shows it; None when none shows it
but some GPU's value is unknown (the check cannot tell, it does not pass). Pure, like every check function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from setupkit import bounded

MAX_GPUS = 1024
POWER_TOLERANCE_W = 1.0
"""Watts a limit may lie under the default and still be the default (NVML counts milliwatts)."""


def _entries(values: Any, names: Any) -> list[tuple[str, Any]] | None:
    """(label, value) per GPU; None when ``values`` is no per GPU list."""
    if not isinstance(values, list) or len(values) > MAX_GPUS:
        return None
    listed = names if isinstance(names, list) else []
    return [(_label(index, listed[index] if index < len(listed) else None), value)
            for index, value in enumerate(values)]


def _label(index: int, name: Any) -> str:
    if not isinstance(name, str) or not name:
        return f"GPU {index}"
    return f"GPU {index} ({bounded.printable(name[:100], keep_newlines=False)})"


def _answer(found: list[str], unknown: bool) -> list[str] | None:
    return found if found or not unknown else None


def _number(value: Any) -> float | None:
    return None if isinstance(value, bool) else bounded.finite_number(value)


def _show(value: float) -> str:
    return f"{value:g}"


def gpus_below(values: Any, limits: Any, names: Any, unit: Any) -> list[str] | None:
    """The GPUs whose value lies below its limit, "GPU 0 (NVIDIA L4): x8 of x16" (``unit`` "x") or "gen 1 of
    gen 4" (``unit`` "gen")."""
    return _below(values, limits, names, 0.0,
                  lambda label, current, most: f"{label}: {_unit(unit, current)} of {_unit(unit, most)}")


def _unit(unit: Any, value: float) -> str:
    return f"x{_show(value)}" if unit == "x" else f"{unit} {_show(value)}"


def power_capped(limits: Any, defaults: Any, names: Any) -> list[str] | None:
    """The GPUs whose enforced power limit lies below their default one, "GPU 0 (NVIDIA L4): 60 W, default
    72 W"."""
    return _below(limits, defaults, names, POWER_TOLERANCE_W,
                  lambda label, limit, usual: f"{label}: {_show(limit)} W, default {_show(usual)} W")


def _below(values: Any, bounds: Any, names: Any, margin: float,
           describe: Callable[[str, float, float], str]) -> list[str] | None:
    """The GPUs whose value lies more than ``margin`` below its bound (one bound per GPU), as ``describe`` words
    them; None when the lists do not pair up, or when none is below and some value is unknown."""
    entries = _entries(values, names)
    if entries is None or not isinstance(bounds, list) or len(bounds) != len(entries):
        return None
    found, unknown = [], False
    for (label, value), bound in zip(entries, bounds, strict=True):
        current, most = _number(value), _number(bound)
        if current is None or most is None:
            unknown = True
        elif current < most - margin:
            found.append(describe(label, current, most))
    return _answer(found, unknown)


def gpus_where(values: Any, names: Any, wanted: Any) -> list[str] | None:
    """The GPUs whose value is ``wanted`` (true, false, a text), "GPU 0 (NVIDIA L4)"."""
    entries = _entries(values, names)
    if entries is None:
        return None
    found = [label for label, value in entries if value is not None and value == wanted
             and isinstance(value, bool) == isinstance(wanted, bool)]
    return _answer(found, any(value is None for _, value in entries))


def gpus_counting(counts: Any, names: Any) -> list[str] | None:
    """The GPUs whose count is above zero, "GPU 0 (NVIDIA A100-SXM4-80GB): 3"."""
    entries = _entries(counts, names)
    if entries is None:
        return None
    found, unknown = [], False
    for label, value in entries:
        count = _number(value)
        if count is None:
            unknown = True
        elif count > 0:
            found.append(f"{label}: {_show(count)}")
    return _answer(found, unknown)


def gpus_with_reasons(reasons: Any, names: Any, wanted: Any) -> list[str] | None:
    """The GPUs whose reasons (gpu.throttle_reasons) hold any of ``wanted``, "GPU 0 (NVIDIA L4):
    hw_thermal_slowdown"."""
    entries = _entries(reasons, names)
    if entries is None or not isinstance(wanted, list):
        return None
    found, unknown = [], False
    for label, listed in entries:
        if not isinstance(listed, list):
            unknown = True
            continue
        held = [reason for reason in listed if isinstance(reason, str) and reason in wanted]
        if held:
            found.append(f"{label}: {', '.join(held)}")
    return _answer(found, unknown)


def unsupported_on_all(unsupported: Any, fields: Any) -> bool | None:
    """Whether NVML answered NotSupported for every one of ``fields`` on every GPU (gpu.nvml_unsupported): the
    cards lack the feature (ECC on a GeForce card)."""
    if not isinstance(unsupported, list) or not unsupported or not isinstance(fields, list):
        return None
    if any(not isinstance(listed, list) for listed in unsupported):
        return None
    return all(field in listed for listed in unsupported for field in fields)


def xid_events(events: Any, codes: Any) -> list[str] | None:
    """The kernel log's Xid errors (gpu.xid_events) among ``codes`` (null: every one), each with its meaning:
    "Xid 79 on PCI 0000:3b:00 (2 times): GPU has fallen off the bus ...; reboot; ..."."""
    return _xids(events, codes, inside=True)


def xid_events_except(events: Any, codes: Any) -> list[str] | None:
    """The kernel log's Xid errors that are not among ``codes``."""
    return _xids(events, codes, inside=False)


def _xids(events: Any, codes: Any, inside: bool) -> list[str] | None:
    if not isinstance(events, list) or (codes is not None and not isinstance(codes, list)):
        return None
    picked = [event for event in events if isinstance(event, dict) and type(event.get("xid")) is int
              and (codes is None or (event["xid"] in codes) == inside)]
    if not picked:
        return []
    from setupkit.knowledge.xid_errors import xid_error  # the table only where there is an Xid to explain

    return [_describe_xid(event, xid_error(event["xid"])) for event in picked]


def _describe_xid(event: dict[str, Any], known: Any) -> str:
    pci = event.get("pci")
    count = event.get("count")
    where = f" on PCI {bounded.printable(pci[:20], keep_newlines=False)}" if isinstance(pci, str) and pci else ""
    times = f" ({count} times)" if type(count) is int and count > 1 else ""
    if known is not None:
        return f"Xid {event['xid']}{where}{times}: {known.meaning}; {known.action}"
    message = event.get("message")
    said = f": {bounded.printable(message[:200], keep_newlines=False)}" if isinstance(message, str) and message else ""
    return f"Xid {event['xid']}{where}{times}{said}"
