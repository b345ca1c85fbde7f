"""NVIDIA's driver branches and their end of life (``driver_branches.yaml``), as of the date the table was checked.

- ``branch_life(535)`` -> long term support, end of life 2026-06, ended; ``branch_life(550)`` -> ended (no date
  given); ``branch_life(590)`` -> None (newer than the table knows)
- ``newest_long_term_branch()`` -> 580, the branch to move to
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setupkit import versions
from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table

TABLE = "driver_branches"
LONG_TERM = "long term support"
DESIGNATIONS = (LONG_TERM, "production", "new feature")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")


@dataclass(frozen=True)
class BranchLife:
    """A driver branch's place in NVIDIA's lifecycle."""

    branch: int
    designation: str | None
    """long term support, production, new feature; None for a branch the source names only as ended."""
    end_of_life: str | None
    """The month its life ends, YYYY-MM; None where the source gives no date."""
    ended: bool
    """Past its end of life on the date the table was checked."""

    @property
    def end_of_life_text(self) -> str | None:
        """"June 2026", as NVIDIA writes it."""
        if self.end_of_life is None:
            return None
        year, month = self.end_of_life.split("-")
        return f"{_MONTH_NAMES[int(month) - 1]} {year}"


@dataclass(frozen=True)
class DriverBranches:
    rows: tuple[BranchLife, ...]
    older_ended_below: int


def parse_branches(table: Table) -> DriverBranches:
    """The rows of a driver_branches table; a row of the wrong form is refused."""
    checked = table.checked
    if checked is None:
        raise table.fail("a lifecycle table needs its 'checked' date: an end of life is past or not as of it")
    today = datetime.date.fromisoformat(checked)
    rows = tuple(_row(table, row, f"branch {index}", today) for index, row in enumerate(table.rows("branches"), 1))
    below = loader.optional_int(table, table.data, "older_branches_ended_below", "the table")
    if below is None:
        raise table.fail("'older_branches_ended_below' must be a driver branch")
    return DriverBranches(rows=tuple(sorted(rows, key=lambda row: row.branch, reverse=True)),
                          older_ended_below=below)


def _row(table: Table, row: Mapping[str, Any], where: str, today: datetime.date) -> BranchLife:
    branch = loader.optional_int(table, row, "branch", where)
    if branch is None or branch not in versions.BRANCHES:
        raise table.fail(f"{where}: 'branch' must be a three-digit driver branch")
    designation = loader.text(table, row, "designation", where)
    if designation not in DESIGNATIONS:
        raise table.fail(f"{where}: 'designation' must be one of {', '.join(DESIGNATIONS)}")
    month = _MONTH.match(loader.text(table, row, "end_of_life", where))
    if month is None or not 1 <= int(month[2]) <= 12:
        raise table.fail(f"{where}: 'end_of_life' must be a month, YYYY-MM")
    # A life that ends in a month lasts through it: ended once the checked date is past that month.
    ended = (today.year, today.month) > (int(month[1]), int(month[2]))
    return BranchLife(branch=branch, designation=designation, end_of_life=month[0], ended=ended)


@lru_cache(maxsize=1)
def driver_branches() -> DriverBranches:
    return parse_branches(loader.load_table(TABLE))


def branch_life(branch: object) -> BranchLife | None:
    """Where branch ``branch`` (535, or a driver version "535.183.01") stands; None for one newer than the table
    knows, or no branch at all."""
    number = branch if type(branch) is int else versions.driver_branch(branch)
    if number is None or number not in versions.BRANCHES:
        return None
    table = driver_branches()
    listed = next((row for row in table.rows if row.branch == number), None)
    if listed is not None:
        return listed
    if number < table.older_ended_below:
        return BranchLife(branch=number, designation=None, end_of_life=None, ended=True)
    return None


def branch_ended(driver_version: object) -> bool | None:
    """Whether the branch of ``driver_version`` is past its end of life; None when the table does not know it."""
    life = branch_life(driver_version)
    return None if life is None else life.ended


def branch_end_of_life(driver_version: object) -> str | None:
    """The month the branch of ``driver_version`` ends, as NVIDIA writes it ("June 2026"); None where unknown."""
    life = branch_life(driver_version)
    return None if life is None else life.end_of_life_text


def newest_long_term_branch() -> int | None:
    """The newest maintained long term support branch: where a driver whose branch has ended moves to."""
    return next((row.branch for row in driver_branches().rows if row.designation == LONG_TERM and not row.ended),
                None)
