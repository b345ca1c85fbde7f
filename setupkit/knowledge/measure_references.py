"""What `doctor --level 2` judges its measurements against (``measure_references.yaml``): per GPU model the
vendor's dense peaks and, where published, what a healthy card measures; the CPU's FLOP per cycle by vector ISA;
PCIe's practical host bandwidth by generation; the shares and the pass fractions.

- ``gpu_reference("NVIDIA H100 80GB HBM3")`` -> the H100 SXM row; None for a GPU the table does not list. A name
  part matches as whole words: "H200" is not the H200 row's in "NVIDIA GH200 480GB", nor "L4" the L4's in "L40S"
- ``cpu_isa(flags)`` -> the widest ISA row the CPU flags name; None for none
- ``pcie_practical(gen, width)`` -> GB/s a healthy pinned host copy reaches on that link; None for an unknown gen
- ``references()`` -> the whole table (shares, verdict fractions, CPU memory floor)
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table
from setupkit.yamlio import brief

TABLE = "measure_references"
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")


@dataclass(frozen=True)
class GpuReference:
    model: str
    name_contains: tuple[str, ...]
    peaks: Mapping[str, float]
    """Dense TFLOP/s by precision; a precision the card has no units for is absent."""
    memory_gbs: float
    pcie_gen: int
    pcie_width: int
    healthy: Mapping[str, float]
    """Measured TFLOP/s of a healthy card by precision, where one was published."""
    source: str
    checked: str | None = None
    """The date the row's figures were compared with ``source``; None where they were not (yet)."""


@dataclass(frozen=True)
class CpuIsa:
    isa: str
    flags: tuple[str, ...]
    fp64: int
    fp32: int


@dataclass(frozen=True)
class PcieRate:
    gen: int
    x16_gbs: float
    practical_x16_gbs: float


@dataclass(frozen=True)
class References:
    gpus: tuple[GpuReference, ...]
    cpu_isas: tuple[CpuIsa, ...]
    pcie: tuple[PcieRate, ...]
    shares: Mapping[str, float]
    verdict: Mapping[str, float]
    cpu_memory_floor_gbs: float
    sources: tuple[str, ...]
    checked: str | None


SHARES = ("healthy_matmul", "healthy_memory", "healthy_cpu_matmul")
VERDICTS = ("matmul", "memory", "host", "cpu_matmul", "cpu_memory")


def parse_references(table: Table) -> References:
    """The rows of a measure_references table; a row of the wrong form is refused."""
    cpu = _mapping(table, table.value("cpu"), "'cpu'")
    isas = cpu.get("flop_per_cycle")
    if not isinstance(isas, list) or not all(isinstance(row, dict) for row in isas):
        raise table.fail(f"'cpu.flop_per_cycle' must be a list of mappings, not {brief(isas)}")
    return References(
        gpus=tuple(_gpu(table, row, f"gpu {index}") for index, row in enumerate(table.rows("gpus"), 1)),
        cpu_isas=tuple(_isa(table, row, f"cpu isa {index}") for index, row in enumerate(isas, 1)),
        pcie=tuple(_pcie(table, row, f"pcie {index}") for index, row in enumerate(table.rows("pcie"), 1)),
        shares=_fractions(table, "shares", SHARES),
        verdict=_fractions(table, "verdict", VERDICTS),
        cpu_memory_floor_gbs=_positive(table, cpu, "memory_floor_gbs", "'cpu'"),
        sources=table.sources, checked=table.checked)


def _mapping(table: Table, value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise table.fail(f"{where} must be a mapping, not {brief(value)}")
    return value


def _positive(table: Table, row: Mapping[str, Any], key: str, where: str) -> float:
    value = loader.number(table, row, key, where)
    if not value > 0:  # measurements are divided by it
        raise table.fail(f"{where}: {key!r} must be above 0")
    return float(value)


def _fractions(table: Table, key: str, names: Iterable[str]) -> Mapping[str, float]:
    values = _mapping(table, table.value(key), repr(key))
    found = {}
    for name in names:
        value = _positive(table, values, name, repr(key))
        if value > 1.5:
            raise table.fail(f"{key!r}: {name!r} is a fraction, not {brief(value)}")
        found[name] = value
    return found


def _gpu(table: Table, row: Mapping[str, Any], where: str) -> GpuReference:
    peaks = {name: float(loader.number(table, row, name, where)) for name in PRECISIONS if row.get(name) is not None}
    if "fp32" not in peaks:
        raise table.fail(f"{where}: 'fp32' is required")
    healthy = {name: _positive(table, row, f"healthy_{name}", where) for name in PRECISIONS
               if row.get(f"healthy_{name}") is not None}
    width = loader.optional_int(table, row, "pcie_width", where)
    gen = loader.optional_int(table, row, "pcie_gen", where)
    if width is None or gen is None:
        raise table.fail(f"{where}: 'pcie_gen' and 'pcie_width' are required")
    names = loader.texts(table, row, "name_contains", where)
    if not names:
        raise table.fail(f"{where}: 'name_contains' must name at least one part of a GPU name")
    return GpuReference(model=loader.text(table, row, "model", where), name_contains=names, peaks=peaks,
                        memory_gbs=_positive(table, row, "memory_gbs", where), pcie_gen=gen, pcie_width=width,
                        healthy=healthy, source=loader.text(table, row, "source", where),
                        checked=_row_checked(table, row, where))


def _row_checked(table: Table, row: Mapping[str, Any], where: str) -> str | None:
    value = row.get("checked")
    if value is None:
        return None
    try:
        datetime.date.fromisoformat(value if isinstance(value, str) else "")
    except ValueError:
        raise table.fail(f"{where}: 'checked' must be a date, YYYY-MM-DD, or null, not {brief(value)}") from None
    return str(value)


def _isa(table: Table, row: Mapping[str, Any], where: str) -> CpuIsa:
    fp64, fp32 = loader.optional_int(table, row, "fp64", where), loader.optional_int(table, row, "fp32", where)
    if not fp64 or not fp32:
        raise table.fail(f"{where}: 'fp64' and 'fp32' must be whole numbers above 0")
    return CpuIsa(isa=loader.text(table, row, "isa", where), flags=loader.texts(table, row, "flags", where),
                  fp64=fp64, fp32=fp32)


def _pcie(table: Table, row: Mapping[str, Any], where: str) -> PcieRate:
    gen = loader.optional_int(table, row, "gen", where)
    if gen is None:
        raise table.fail(f"{where}: 'gen' is required")
    return PcieRate(gen=gen, x16_gbs=_positive(table, row, "x16_gbs", where),
                    practical_x16_gbs=_positive(table, row, "practical_x16_gbs", where))


@lru_cache(maxsize=1)
def references() -> References:
    return parse_references(loader.load_table(TABLE))


def gpu_reference(name: str) -> GpuReference | None:
    """The row of the first GPU model one of whose name parts ``name`` holds as whole words (case aside); None
    for one the table lacks."""
    return next((row for row in references().gpus if any(_holds(name, part) for part in row.name_contains)), None)


def _holds(name: str, part: str) -> bool:
    # Letters or digits on either side would make the part another model's name: GH200 is not an H200.
    return re.search(rf"(?<![a-z0-9]){re.escape(part.lower())}(?![a-z0-9])", name.lower()) is not None


def cpu_isa(flags: Iterable[str]) -> CpuIsa | None:
    """The widest ISA row all of whose flags ``flags`` holds."""
    present = set(flags)
    return next((row for row in references().cpu_isas if set(row.flags) <= present), None)


def pcie_practical(gen: int, width: int = 16) -> float | None:
    """GB/s a healthy pinned host copy reaches on a PCIe link of ``gen`` and ``width`` lanes."""
    row = next((rate for rate in references().pcie if rate.gen == gen), None)
    if row is None or width <= 0:
        return None
    return row.practical_x16_gbs * min(width, 16) / 16
