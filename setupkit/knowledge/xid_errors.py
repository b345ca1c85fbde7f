"""What the NVIDIA driver's Xid numbers mean (``xid_errors.yaml``): ``xid_error(79)`` -> "GPU has fallen off the
bus ...", with what to do; None for an Xid the table does not list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table

TABLE = "xid_errors"
MAX_XID = 1000
"""Xids are small numbers (NVIDIA's catalog ends in the low hundreds): a larger one is no Xid."""


@dataclass(frozen=True)
class XidError:
    xid: int
    meaning: str
    action: str


def parse_xid_errors(table: Table) -> tuple[XidError, ...]:
    """The rows of an xid_errors table, each Xid once; a row of the wrong form is refused."""
    rows = tuple(_row(table, row, f"xid row {index}") for index, row in enumerate(table.rows("xids"), 1))
    numbers = [row.xid for row in rows]
    if len(set(numbers)) != len(numbers):
        raise table.fail("an Xid is listed twice")
    return rows


def _row(table: Table, row: Mapping[str, Any], where: str) -> XidError:
    xid = loader.optional_int(table, row, "xid", where)
    if xid is None or not 0 < xid < MAX_XID:
        raise table.fail(f"{where}: 'xid' must be a whole number from 1 to {MAX_XID - 1}")
    return XidError(xid=xid, meaning=loader.text(table, row, "meaning", where),
                    action=loader.text(table, row, "action", where))


@lru_cache(maxsize=1)
def xid_errors() -> dict[int, XidError]:
    return {row.xid: row for row in parse_xid_errors(loader.load_table(TABLE))}


def xid_error(xid: object) -> XidError | None:
    """The table's row for Xid ``xid``; None for one it does not list (or no Xid at all)."""
    return xid_errors().get(xid) if type(xid) is int else None
