"""`setupkit snapshot`: freeze what doctor reads from this machine into a bundle (SNAPSHOT.md)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from setupkit.cli.common import err_console


def snapshot(
    output: Annotated[
        Optional[str],
        typer.Option("-o", "--output", metavar="PATH",
                     help="Where to write: a folder, or a file ending in .tar.gz (default: ./setupkit-snapshot-<host>-<time>.tar.gz)."),
    ] = None,
    redact: Annotated[bool, typer.Option("--redact", help="Replace hostnames, user names, serial numbers and GPU UUIDs.")] = False,
    note: Annotated[str, typer.Option("--note", help="A line for manifest.json: what this host is, why it was taken.")] = "",
) -> None:
    """Write a snapshot of this host, to share it or to diagnose it elsewhere with `doctor --snapshot`."""
    from setupkit.host.capture import default_output, record_live_host, write_snapshot

    path = write_snapshot(record_live_host(), output or default_output(), note=note, redact=redact)
    err_console.print(f"snapshot written to {path}" + (" (redacted)" if redact else ""))
    err_console.print(f"read it back with: setupkit doctor --snapshot {path}")


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
