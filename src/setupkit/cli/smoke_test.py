"""`setupkit smoke-test` (being built: see its issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
