"""Read two sides (a snapshot, or a doctor JSON report) and compare the facts each holds.

A snapshot is read as `doctor --snapshot` reads it: through the host source (every bound of docs/snapshot.md)
and the probes, the deep probes' recorded runs included. A report is read under the same bounds as a
snapshot's own JSON files: a regular file of at most 16 MiB, UTF-8, nested at most 64 deep, no NaN. Whatever
the input, an unreadable or hostile one is one line and exit 3.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from setupkit import bounded
from setupkit.errors import PreconditionError
from setupkit.facts import FACTS
from setupkit.host.snapshot import MAX_JSON_BYTES

DOCTOR_SCHEMA = "setupkit-doctor/1"
"""The report diff reads: doctor's JSON (``setupkit doctor --json``)."""
KEY_FACTS = (
    "driver.version", "cuda.toolkit_version", "cuda.pip_runtime_version", "driver.cuda_max", "cudnn.version",
    "cudnn.pip_version", "tensorflow.version", "torch.version", "jax.version", "kernel.release", "os.id",
    "os.version_id", "os.pretty_name", "gpu.names", "gpu.count",
)
"""What drifts and breaks training, shown first: the driver, CUDA (toolkit, pip wheels, the driver's most),
cuDNN, the frameworks, the kernel, the distribution, the GPUs."""
DEEP_FAMILIES = ("tfprobe", "torchprobe", "jaxprobe")
"""The deep probes' facts: null where a side was read without --deep, which says nothing of the host."""
PACKED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")
"""gzip, and the compressions the snapshot reader refuses by name (bzip2, xz, zstd): a bundle, whatever its name."""
HEAD_BYTES = 512
"""One tar header: a plain .tar says "ustar" at byte 257."""
READ_AS_REPORT_HINT = ("give a snapshot (folder or .tar.gz from `setupkit snapshot`) or a report from "
                       "`setupkit doctor --json`")


@dataclass(frozen=True)
class Side:
    """One side of a diff: where it was read and the facts it holds (values as JSON has them)."""

    path: str
    kind: str  # "snapshot" | "report"
    facts: dict[str, Any]
    time: str | None = None
    host: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "time": self.time, "host": self.host}


@dataclass(frozen=True)
class Change:
    fact: str
    a: Any
    b: Any


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    changed: list[Change] = field(default_factory=list)
    """Facts both sides hold with different values: the key facts first (KEY_FACTS' order), then the others in
    the registry's order, then unregistered ones by name."""
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)
    """Deep probe families one side ran and the other did not (``tfprobe``): left out, not counted as changed."""

    @property
    def same(self) -> bool:
        return not (self.changed or self.only_a or self.only_b)


def run_diff(a: str, b: str) -> Comparison:
    return compare(read_side(a), read_side(b))


# -- reading a side ------------------------------------------------------------------------------------------------

def read_side(path: str) -> Side:
    """A snapshot (a folder, or a packed bundle by its name or its first bytes) or a doctor report."""
    if os.path.isdir(path) or path.endswith((".tar.gz", ".tgz", ".tar")) or _looks_packed(_head(path)):
        return _snapshot_side(path)
    return _report_side(path)


def _looks_packed(head: bytes) -> bool:
    return head.startswith(PACKED_MAGIC) or head[257:262] == b"ustar"


def _head(path: str) -> bytes:
    """The first bytes of a regular file, to tell a bundle from JSON by its magic; b"" for anything else (the
    report reader then says what it is). Opened without blocking: a FIFO is not waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        return os.read(fd, HEAD_BYTES) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    finally:
        os.close(fd)


def _snapshot_side(path: str) -> Side:
    from setupkit.host.snapshot import SnapshotHost
    from setupkit.probes import DeepRequest, collect_facts

    host = SnapshotHost(path)
    with host:
        # The deep probes answer from the runs the snapshot recorded; none is run.
        facts = collect_facts(host, deep=DeepRequest())
        created = host.manifest.get("created")
    return Side(path=path, kind="snapshot", facts=_unrecorded_deep_as_null(_as_json(facts)),
                time=created if isinstance(created, str) else None)


def _unrecorded_deep_as_null(facts: dict[str, Any]) -> dict[str, Any]:
    """A deep probe a snapshot did not record (``not-recorded``, also in a report of `doctor --snapshot S --deep`)
    reads as doctor without --deep reports it: every fact null."""
    for family in DEEP_FAMILIES:
        if facts.get(f"{family}.status") == "not-recorded":
            facts.update({name: None for name in facts if name.startswith(f"{family}.")})
    return facts


def _report_side(path: str) -> Side:
    try:
        document = bounded.loads_json(bounded.read_regular_file(path, MAX_JSON_BYTES))
    except bounded.BoundError as error:
        raise PreconditionError(f"report {path}: {error}", hint=READ_AS_REPORT_HINT) from None
    if not isinstance(document, dict):
        raise PreconditionError(f"report {path}: holds no JSON object", hint=READ_AS_REPORT_HINT)
    schema = document.get("schema")
    if schema != DOCTOR_SCHEMA:
        shown = bounded.one_line(schema, 60) if isinstance(schema, str) else "no schema"
        raise PreconditionError(f"report {path}: is {shown}, not a doctor report ({DOCTOR_SCHEMA})",
                                hint=READ_AS_REPORT_HINT)
    facts = document.get("facts")
    if not isinstance(facts, dict):
        raise PreconditionError(f"report {path}: its \"facts\" is not a JSON object", hint=READ_AS_REPORT_HINT)
    found = document.get("stamp")
    stamp: dict[str, Any] = found if isinstance(found, dict) else {}
    return Side(path=path, kind="report", facts=_unrecorded_deep_as_null(facts), time=_text_or_none(stamp.get("time")),
                host=_text_or_none(stamp.get("host")))


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_json(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts as a report holds them (tuples are lists), so that a snapshot and a report compare alike."""
    loaded: dict[str, Any] = json.loads(json.dumps(dict(facts), default=str))
    return loaded


# -- comparing -----------------------------------------------------------------------------------------------------

def compare(a: Side, b: Side) -> Comparison:
    skipped = _not_compared(a.facts, b.facts)

    def compared(name: str) -> bool:
        return name.split(".", 1)[0] not in skipped

    changed = [Change(name, a.facts[name], b.facts[name]) for name in _ordered(a.facts.keys() & b.facts.keys())
               if compared(name) and a.facts[name] != b.facts[name]]
    only_a = [name for name in _ordered(a.facts.keys() - b.facts.keys()) if compared(name)]
    only_b = [name for name in _ordered(b.facts.keys() - a.facts.keys()) if compared(name)]
    return Comparison(a=a, b=b, changed=changed, only_a=only_a, only_b=only_b, not_compared=skipped)


def _not_compared(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The deep families one side probed and the other did not."""
    return [family for family in DEEP_FAMILIES
            if (a.get(f"{family}.status") is None) != (b.get(f"{family}.status") is None)]


def _ordered(names: set[str]) -> list[str]:
    """Key facts first, then the registry's order, then facts no registry of this setupkit knows, by name."""
    order = {name: place for place, name in enumerate((*KEY_FACTS, *(n for n in FACTS if n not in KEY_FACTS)))}
    return sorted(names, key=lambda name: (order.get(name, len(order)), name))

