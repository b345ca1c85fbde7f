"""What the smoke test's model (TensorFlow's CIFAR-10 tutorial CNN, batch 128) trains at on known devices
(``reference_speeds.yaml``).

- ``cpu_reference()`` -> the CPU figure (a practitioner's Intel Core i7)
- ``gpu_reference("NVIDIA H100 80GB HBM3")`` -> the H100 figure; None for a GPU the table does not list
- ``unlisted_gpu_reference()`` -> the figure an unlisted GPU is compared with (a floor any newer GPU should beat)
- ``gpu_to_cpu_ratio()`` -> how much faster the reference GPU trained than the reference CPU
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table
from setupkit.yamlio import brief

TABLE = "reference_speeds"


@dataclass(frozen=True)
class ReferenceSpeed:
    """A device class's training speed on this model; a GPU belongs to it when its name holds one of
    ``name_contains`` (compared without case)."""

    device_class: str
    name_contains: tuple[str, ...]
    images_per_sec: float
    source: str


@dataclass(frozen=True)
class ReferenceSpeeds:
    cpu: ReferenceSpeed
    gpus: tuple[ReferenceSpeed, ...]
    unlisted_gpu: ReferenceSpeed
    gpu_to_cpu_ratio: float


def parse_speeds(table: Table) -> ReferenceSpeeds:
    """The rows of a reference_speeds table; a row of the wrong form is refused."""
    cpu = table.value("cpu")
    if not isinstance(cpu, dict):
        raise table.fail(f"'cpu' must be a mapping, not {brief(cpu)}")
    gpus = tuple(_speed(table, row, f"gpu {index}") for index, row in enumerate(table.rows("gpus"), 1))
    unlisted = loader.text(table, table.data, "unlisted_gpu", "the table")
    floor = next((gpu for gpu in gpus if gpu.device_class == unlisted), None)
    if floor is None:
        raise table.fail(f"'unlisted_gpu' {unlisted!r} names no row of 'gpus'")
    return ReferenceSpeeds(cpu=_speed(table, cpu, "cpu"), gpus=gpus, unlisted_gpu=floor,
                           gpu_to_cpu_ratio=loader.number(table, table.data, "gpu_to_cpu_ratio", "the table"))


def _speed(table: Table, row: Mapping[str, Any], where: str) -> ReferenceSpeed:
    images_per_sec = loader.number(table, row, "images_per_sec", where)
    if not images_per_sec > 0:  # a run's speed is divided by it
        raise table.fail(f"{where}: 'images_per_sec' must be above 0")
    return ReferenceSpeed(device_class=loader.text(table, row, "device_class", where),
                          name_contains=loader.texts(table, row, "name_contains", where),
                          images_per_sec=images_per_sec, source=loader.text(table, row, "source", where))


@lru_cache(maxsize=1)
def reference_speeds() -> ReferenceSpeeds:
    return parse_speeds(loader.load_table(TABLE))


def cpu_reference() -> ReferenceSpeed:
    return reference_speeds().cpu


def gpu_reference(name: str) -> ReferenceSpeed | None:
    """The figure of the first GPU class whose name part ``name`` holds; None for a GPU the table does not list."""
    wanted = name.lower()
    return next((row for row in reference_speeds().gpus
                 if any(part.lower() in wanted for part in row.name_contains)), None)


def unlisted_gpu_reference() -> ReferenceSpeed:
    return reference_speeds().unlisted_gpu


def gpu_to_cpu_ratio() -> float:
    return reference_speeds().gpu_to_cpu_ratio
