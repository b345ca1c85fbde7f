"""`setupkit diff A B`: compare two snapshots or doctor reports (or one of each) fact by fact. Exit 0 when no
fact differs, 1 when one does (as a failed check: the answer is no), 2 usage, 3 a side unreadable."""

from __future__ import annotations

from typing import Annotated

import typer

from setupkit import exitcodes
from setupkit.cli.common import JsonOption, console, print_json

SideArgument = Annotated[str, typer.Argument(metavar="A|B", show_default=False,
                                             help="A snapshot (folder or .tar.gz) or a `doctor --json` report.")]


def diff(a: SideArgument, b: SideArgument, json_output: JsonOption = False) -> None:
    """Compare two snapshots or doctor reports fact by fact: the driver, CUDA, cuDNN, the frameworks, the kernel,
    the OS and the GPUs first, then every other fact that changed. Exit 1 if any differs."""
    from setupkit.diff import report
    from setupkit.diff.run import run_diff

    comparison = run_diff(a, b)
    if json_output:
        print_json(report.json_document(comparison))
    else:
        report.render(console, comparison)
    raise typer.Exit(exitcodes.OK if comparison.same else exitcodes.CHECK_FAILED)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
