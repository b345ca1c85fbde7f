"""The plan's word on a driver branch past its end of life (NVIDIA's lifecycle, knowledge/driver_branches)."""

from __future__ import annotations

from setupkit.knowledge import driver_branches


def end_of_life_warnings(branch: int | None, kept: bool) -> list[str]:
    """One warning when the branch the plan keeps or installs gets no more fixes from NVIDIA; none otherwise."""
    life = driver_branches.branch_life(branch)
    if life is None or not life.ended:
        return []
    ended = (f"reached its end of life in {life.end_of_life_text}" if life.end_of_life_text
             else "is past its end of life")
    doing = "keeps" if kept else "installs"
    newest = driver_branches.newest_long_term_branch()
    move = (f"; branch {newest} is a maintained long term support branch (pass --driver-branch {newest} where it "
            f"serves this GPU)") if newest else ""
    return [f"driver branch {branch} {ended} (NVIDIA's driver lifecycle): it gets no more "
            f"bug or security fixes, and the plan {doing} it{move}"]
