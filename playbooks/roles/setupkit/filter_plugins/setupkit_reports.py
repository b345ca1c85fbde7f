"""Jinja filters for setupkit's JSON reports on the hosts' side: parse safely, summarise a host in a line,
tabulate smoke reports (the fleet report is setupkit_report's).

The playbooks stay declarative; the string work lives here, where it can be read and unit-tested.
"""

from __future__ import annotations

import json

DOCTOR_COLUMNS = ("host", "os", "gpus", "driver", "cuda", "status", "failing checks")
SMOKE_COLUMNS = ("host", "status", "backend", "devices", "data", "images/s", "loss first>last", "test acc")


def setupkit_json(text) -> dict:
    """The JSON document a setupkit verb printed, or {} when it printed none (it failed before --json output)."""
    try:
        document = json.loads(text or "")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def setupkit_gpu_count(doctor: dict) -> int:
    """NVIDIA GPUs the doctor saw (0 when it could not tell): the gate between the GPU and the CPU paths."""
    count = (doctor.get("facts") or {}).get("gpu.count")
    return count if isinstance(count, int) else 0


def setupkit_failing(doctor: dict) -> list[str]:
    return [f.get("id", "?") for f in doctor.get("findings") or [] if f.get("status") == "fail"]


def _show(value) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _doctor_row(host: str, doctor: dict) -> tuple[str, ...]:
    facts = doctor.get("facts") or {}
    names = facts.get("gpu.names") or []
    gpus = str(setupkit_gpu_count(doctor)) + (f" x {names[0]}" if names else "")
    cuda = facts.get("cuda.toolkit_version") or facts.get("driver.cuda_max")
    return (host, _show(facts.get("os.pretty_name")), gpus, _show(facts.get("driver.version")), _show(cuda),
            _show(doctor.get("status")), _show(setupkit_failing(doctor)))


def setupkit_summary(doctor: dict, host: str) -> str:
    """One line per host: what the doctor found and which checks fail."""
    row = dict(zip(DOCTOR_COLUMNS, _doctor_row(host, doctor), strict=True))
    return (f"{host}: doctor {row['status']}; {row['os']}; GPUs {row['gpus']}; driver {row['driver']}; "
            f"CUDA {row['cuda']}; failing: {row['failing checks']}")


def _devices(devices) -> str:
    """"2 x GPU NVIDIA H100 80GB HBM3" from the smoke test's device list (dicts with type and name, or strings)."""
    labels = [" ".join(str(d.get(k)) for k in ("type", "name") if d.get(k)) if isinstance(d, dict) else str(d)
              for d in devices or []]
    counts = {label: labels.count(label) for label in labels}
    return ", ".join(f"{n} x {label}" if n > 1 else label for label, n in counts.items()) or "-"


def _smoke_row(host: str, smoke: dict) -> tuple[str, ...]:
    loss = f"{_show(smoke.get('loss_first'))}>{_show(smoke.get('loss_last'))}"
    source = (smoke.get("dataset") or {}).get("source")
    return (host, _show(smoke.get("status")), _show(smoke.get("backend")), _devices(smoke.get("devices")),
            _show(source), _show(smoke.get("images_per_sec")), loss, _show(smoke.get("test_accuracy")))


def setupkit_smoke_summary(smoke: dict, host: str) -> str:
    row = dict(zip(SMOKE_COLUMNS, _smoke_row(host, smoke), strict=True))
    return (f"{host}: smoke test {row['status']} on {row['backend']} {row['devices']}; {row['data']} data; "
            f"{row['images/s']} images/s; loss {row['loss first>last']}; test accuracy {row['test acc']}")


def _table(columns, rows) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in (columns, *rows)]
    return lines[:1] + ["  ".join("-" * width for width in widths)] + lines[1:]


def setupkit_smoke_table(reports: dict) -> list[str]:
    return _table(SMOKE_COLUMNS, [_smoke_row(host, doc) for host, doc in sorted(reports.items())])


class FilterModule:
    def filters(self):
        return {name: func for name, func in globals().items() if name.startswith("setupkit_") and callable(func)}
