"""The driver lifecycle table (driver_branches.yaml): the rows say what NVIDIA's support matrix says, an end of life
is past only after its month, a malformed table is refused in one line."""

from __future__ import annotations

import pytest

from setupkit.knowledge import driver_branches
from setupkit.knowledge.loader import read_table
from setupkit.yamlio import CatalogError


def test_driver_branches_as_nvidia_lists_them():
    lts = driver_branches.branch_life(535)
    assert (lts.designation, lts.end_of_life, lts.end_of_life_text, lts.ended) == (
        "long term support", "2026-06", "June 2026", True)
    assert driver_branches.branch_life("580.159.04").ended is False
    assert driver_branches.branch_life(570).ended is True  # production branch, February 2026
    assert driver_branches.branch_life(550) == driver_branches.BranchLife(550, None, None, True)
    assert driver_branches.branch_life(590) is None and driver_branches.branch_life("not a driver") is None
    assert driver_branches.newest_long_term_branch() == 580
    assert driver_branches.branch_ended("535.183.01") is True and driver_branches.branch_ended(None) is None
    assert driver_branches.branch_end_of_life("580.95.05") == "August 2028"


def test_an_end_of_life_is_past_only_after_its_month(tmp_path):
    path = tmp_path / "driver_branches.yaml"
    rows = 'older_branches_ended_below: 580\nbranches:\n  - {branch: 535, designation: long term support, ' \
           'end_of_life: "2026-06"}\n'
    path.write_text('sources: ["s"]\nchecked: "2026-06-30"\n' + rows)
    assert driver_branches.parse_branches(read_table(path)).rows[0].ended is False
    path.write_text('sources: ["s"]\nchecked: "2026-07-01"\n' + rows)
    assert driver_branches.parse_branches(read_table(path)).rows[0].ended is True


HEADER = 'sources: ["a source"]\nchecked: "2026-12-01"\n'
BAD_TABLES = {
    "a month that is none": (HEADER + 'older_branches_ended_below: 580\nbranches:\n  - {branch: 535, designation: '
                             'production, end_of_life: "2026-13"}\n', driver_branches.parse_branches,
                             "'end_of_life' must be a month"),
    "a designation NVIDIA has not": (HEADER + 'older_branches_ended_below: 580\nbranches:\n  - {branch: 535, '
                                     'designation: eternal, end_of_life: "2026-06"}\n',
                                     driver_branches.parse_branches, "'designation' must be one of"),
    "a lifecycle without its date": ('sources: ["s"]\nchecked: null\nolder_branches_ended_below: 580\nbranches: []\n',
                                     driver_branches.parse_branches, "needs its 'checked' date"),
}


@pytest.mark.parametrize(("text", "parser", "words"), BAD_TABLES.values(), ids=BAD_TABLES)
def test_a_malformed_table_is_refused_in_one_line(tmp_path, text, parser, words):
    path = tmp_path / "table.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as caught:
        parser(read_table(path))
    assert "\n" not in caught.value.message and words in caught.value.message, caught.value.message
