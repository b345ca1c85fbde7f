"""What every verb shares: the consoles and the options that mean the same everywhere."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use: importing rich costs `setupkit doctor --json` a tenth of its time, and
    a JSON run, the one scripts and fleets make, prints nothing through it."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._settings)
        return getattr(self._console, name)


# Diagnostics go to stderr so that stdout stays clean for --json. Rich honours NO_COLOR and a non-terminal
# stream by itself.
# soft_wrap: an error stays one line, whatever the terminal's width.
err_console = cast("Console", _LazyConsole(stderr=True, soft_wrap=True))
console = cast("Console", _LazyConsole())

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of the report.")]
DeepOption = Annotated[bool, typer.Option("--deep", help="Also import TensorFlow (and run an op on each GPU), PyTorch "
                                                        "and JAX, each in a child process (from a snapshot: the runs "
                                                        "`setupkit snapshot --deep` recorded).")]
DeepTimeoutOption = Annotated[str, typer.Option("--deep-timeout", metavar="SECONDS",
                                                help="How long each deep probe may take (1 to 3600).")]
DeepPythonOption = Annotated[str | None, typer.Option("--deep-python", metavar="PATH",
                                                      help="Interpreter whose frameworks --deep probes "
                                                           "(default: this one; not with doctor --snapshot).")]
LevelOption = Annotated[str, typer.Option(
    "--level", metavar="N", help="1: read the host (the default). 2: also measure the CPU and every GPU (matrix "
                                 "multiply, memory and host-link bandwidth, under 30 s a device) and judge each "
                                 "figure against its reference (from a snapshot: the runs `setupkit snapshot "
                                 "--level 2` recorded).")]
SnapshotOption = Annotated[
    str | None,
    typer.Option("--snapshot", metavar="PATH", help="Read this snapshot (folder or .tar.gz) instead of this machine."),
]


def print_json(document: dict[str, Any]) -> None:
    """Write a JSON document to stdout; every one carries its ``schema`` and its ``stamp`` (setupkit/stamp.py)."""
    assert "schema" in document, "every JSON output has a top-level schema"
    from setupkit.stamp import stamped

    sys.stdout.write(json.dumps(stamped(document), indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()
