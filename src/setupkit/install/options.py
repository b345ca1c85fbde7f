"""What the person asked for on the command line, as the planner sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlanOptions:
    gpu: bool = False
    cuda_version: str | None = None
    driver_branch: int | None = None
    toolkit_path: str | None = None
    cuda_runfile: str | None = None
    override: bool = False
