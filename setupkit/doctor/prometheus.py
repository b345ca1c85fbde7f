"""doctor's report in the Prometheus text exposition format, for node_exporter's textfile collector
(`setupkit doctor --format prometheus`; docs/monitoring.md).

Rendered from the stamped JSON document (``setupkit-doctor/1``), so a report saved with ``--json`` renders the
same. One family a kind of figure, each with its HELP and TYPE; every label value escaped as the format asks
(backslash, double quote, newline), stripped of control characters and clipped, since facts are read from a host
that may be hostile. No sample carries a timestamp: the textfile collector refuses them; the time of the run is a
gauge of its own. node_exporter drops a whole file whose series repeat, so every series here is unique.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from setupkit.bounded import printable
from setupkit.stamp import epoch_seconds

STATUSES = ("pass", "warn", "fail", "info", "unknown", "skip")
OVERALL = {"pass": 0, "warn": 1, "fail": 2}
"""setupkit_doctor_status: doctor's overall verdict as a number, worse is higher."""
INFO_LABELS = {
    "driver": ("driver.version",),
    "cuda": ("cuda.toolkit_version", "cuda.pip_runtime_version"),
    "cuda_driver_max": ("driver.cuda_max",),
    "cudnn": ("cudnn.version", "cudnn.pip_version"),
    "tensorflow": ("tensorflow.version",),
    "torch": ("torch.version",),
    "jax": ("jax.version",),
    "kernel": ("kernel.release",),
}
"""setupkit_info's labels and the facts they hold, the first known one ("" where none is: the system's CUDA
toolkit and cuDNN, else those pip wheels brought); ``os`` and ``setupkit`` are added."""
MAX_LABEL_VALUE = 200
_GPU_IN_MESSAGE = re.compile(r"\bGPU ([0-9]{1,4})\b")

Labels = dict[str, str]


def render(document: Mapping[str, Any]) -> str:
    """The exposition text of a stamped doctor document; ends with a newline, as the collector wants."""
    facts = document.get("facts") or {}
    findings = [finding for finding in document.get("findings") or [] if isinstance(finding, Mapping)]
    stamp = document.get("stamp") or {}
    labelled = _unique([(_finding_labels(finding), finding) for finding in findings])
    lines: list[str] = []
    lines += _family("setupkit_check_status", "Verdict of each doctor check: 1 for the status it has now "
                     "(pass, warn, fail, info, unknown, skip).",
                     [(labels | {"status": str(finding.get("status"))}, 1) for labels, finding in labelled])
    lines += _family("setupkit_doctor_checks", "How many of doctor's checks have each status.",
                     [({"status": status}, sum(finding.get("status") == status for finding in findings))
                      for status in STATUSES])
    lines += _family("setupkit_doctor_status", "doctor's overall verdict: 0 pass, 1 warn, 2 fail.",
                     [({}, OVERALL.get(str(document.get("status")), OVERALL["fail"]))])
    lines += _family("setupkit_info", "The host's key versions as labels (empty where unknown); always 1.",
                     [(_info_labels(facts, stamp), 1)])
    lines += _family("setupkit_measured", "A level-2 figure as measured (doctor --level 2), in its unit.",
                     _figures(labelled, "measured"))
    lines += _family("setupkit_measured_expected", "The healthy figure a level-2 measurement is judged against.",
                     _figures(labelled, "expected"))
    if isinstance(stamp.get("time"), str):
        lines += _family("setupkit_doctor_timestamp_seconds", "When doctor made this report (Unix time): an old "
                         "value means the job that writes this file stopped.", [({}, epoch_seconds(stamp["time"]))])
    return "".join(line + "\n" for line in lines)


def _finding_labels(finding: Mapping[str, Any]) -> Labels:
    """``check``, and ``gpu`` for a level-2 finding of one GPU (its message names it: "GPU 1 (...)")."""
    labels = {"check": str(finding.get("id"))}
    if "measured" in finding and str(finding.get("id")).startswith("gpu."):
        found = _GPU_IN_MESSAGE.search(str(finding.get("message")))
        if found:
            labels["gpu"] = found.group(1)
    return labels


def _unique(labelled: Iterable[tuple[Labels, Mapping[str, Any]]]) -> list[tuple[Labels, Mapping[str, Any]]]:
    """A check whose labels repeat (two GPUs a message did not tell apart) is told apart by its place, ``n``."""
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    unique = []
    for labels, finding in labelled:
        key = tuple(sorted(labels.items()))
        count = seen.get(key, 0)
        seen[key] = count + 1
        unique.append((labels | {"n": str(count)} if count else labels, finding))
    return unique


def _info_labels(facts: Mapping[str, Any], stamp: Mapping[str, Any]) -> Labels:
    labels = {label: _text(next((facts[fact] for fact in names if facts.get(fact) is not None), None))
              for label, names in INFO_LABELS.items()}
    os_name = " ".join(_text(facts.get(fact)) for fact in ("os.id", "os.version_id") if facts.get(fact))
    return labels | {"os": os_name, "setupkit": _text(stamp.get("setupkit"))}


def _figures(labelled: Iterable[tuple[Labels, Mapping[str, Any]]], key: str) -> list[tuple[Labels, float]]:
    samples = []
    for labels, finding in labelled:
        figure = finding.get(key)
        if not isinstance(figure, Mapping):
            continue
        value = figure.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            continue
        samples.append((labels | {"unit": _text(figure.get("unit"))}, value))
    return samples


def _family(name: str, help_text: str, samples: list[tuple[Labels, float]]) -> list[str]:
    if not samples:
        return []
    lines = [f"# HELP {name} {_escape_help(help_text)}", f"# TYPE {name} gauge"]
    return lines + [f"{name}{_label_text(labels)} {_number(value)}" for labels, value in samples]


def _label_text(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape_label(value)}"' for name, value in labels.items()) + "}"


def _text(value: Any) -> str:
    """A fact as one clean label value: unknown is empty, control characters and odd code points gone."""
    if value is None:
        return ""
    text = printable(str(value), keep_newlines=False)
    text = text.encode("utf-8", errors="replace").decode("utf-8")  # a lone surrogate is not UTF-8
    return text[:MAX_LABEL_VALUE]


def _escape_label(value: str) -> str:
    return _text(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))
