"""The one loader of the knowledge tables: ``setupkit/knowledge/<name>.yaml`` read once, through the bounded
plain-data YAML reader (``setupkit.yamlio``), into a ``Table`` that says where its rows come from.

Every table is a mapping that starts with ``sources`` (the documents its rows were taken from) and ``checked``
(the date, YYYY-MM-DD, the rows were last compared with those sources; null while no date is recorded), then
holds its own keys. A table that breaks this shape, or a row of the wrong form, is a ``CatalogError``: exit 3,
one line naming the file and the problem, as for a check file.

The helpers below read one value of a row with its type checked, so that each table module turns its rows into
frozen dataclasses without repeating the checks.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from setupkit.yamlio import CatalogError, brief, load_yaml

TABLES_DIR = Path(__file__).resolve().parent
"""Where the tables live: beside this module, in a checkout and in the wheel alike (package data)."""
HEADER_KEYS = ("sources", "checked")


@dataclass(frozen=True)
class Table:
    """One knowledge table: its provenance, and its own keys as read (plain data)."""

    name: str
    path: Path
    sources: tuple[str, ...]
    checked: str | None
    data: Mapping[str, Any]

    def fail(self, problem: str) -> CatalogError:
        """The error for a row or key of this table that is not what the table promises."""
        return CatalogError(f"{self.path}: {problem}")

    def value(self, key: str) -> Any:
        """A key of the table; a table without it is refused."""
        if key not in self.data:
            raise self.fail(f"the table lacks the key {key!r}")
        return self.data[key]

    def rows(self, key: str) -> list[Mapping[str, Any]]:
        """The list of rows (mappings) under ``key``."""
        rows = self.value(key)
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise self.fail(f"{key!r} must be a list of mappings, not {brief(rows)}")
        return rows


@cache
def load_table(name: str) -> Table:
    """The table ``name`` (``cuda_driver``, ``tensorflow_builds`` ...), read once per process."""
    return read_table(TABLES_DIR / f"{name}.yaml", shipped=True)


def read_table(path: Path, *, shipped: bool = False) -> Table:
    """The table in ``path``, its header checked; anything else is refused in one line (CatalogError).
    ``shipped``: one of setupkit's own tables (see yamlio.load_yaml)."""
    data = load_yaml(path, shipped=shipped)
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: a knowledge table is a mapping, not {brief(data)}")
    missing = [key for key in HEADER_KEYS if key not in data]
    if missing:
        raise CatalogError(f"{path}: a knowledge table names its sources and the date checked; {missing[0]!r} "
                           f"is missing")
    body = {key: value for key, value in data.items() if key not in HEADER_KEYS}
    return Table(name=path.stem, path=path, sources=_sources(path, data["sources"]),
                 checked=_checked(path, data["checked"]), data=MappingProxyType(body))


def _sources(path: Path, sources: Any) -> tuple[str, ...]:
    if not isinstance(sources, list) or not sources or \
            not all(isinstance(source, str) and source.strip() for source in sources):
        raise CatalogError(f"{path}: 'sources' must be a non-empty list of texts, not {brief(sources)}")
    return tuple(sources)


def _checked(path: Path, checked: Any) -> str | None:
    if checked is None:
        return None
    try:
        datetime.date.fromisoformat(checked if isinstance(checked, str) else "")
    except ValueError:
        raise CatalogError(f"{path}: 'checked' must be a date, YYYY-MM-DD, or null, not {brief(checked)}") from None
    return str(checked)


def text(table: Table, row: Mapping[str, Any], key: str, where: str) -> str:
    """``row[key]``, a non-empty string."""
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise table.fail(f"{where}: {key!r} must be a non-empty string, not {brief(value)}")
    return value


def optional_int(table: Table, row: Mapping[str, Any], key: str, where: str) -> int | None:
    """``row[key]``, a whole number or null (absent counts as null)."""
    value = row.get(key)
    if value is not None and (type(value) is not int):
        raise table.fail(f"{where}: {key!r} must be a whole number or null, not {brief(value)}")
    return value


def number(table: Table, row: Mapping[str, Any], key: str, where: str) -> float:
    """``row[key]``, a number (kept as written: 770 stays an integer)."""
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise table.fail(f"{where}: {key!r} must be a number, not {brief(value)}")
    return value


def texts(table: Table, row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """``row[key]``, a list of strings (absent counts as empty)."""
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise table.fail(f"{where}: {key!r} must be a list of strings, not {brief(value)}")
    return tuple(value)
