"""`setupkit snapshot`: freeze what doctor reads from this machine into a bundle (SNAPSHOT.md)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from setupkit.cli.common import err_console


def snapshot(
    output: Annotated[
        Optional[str],
        typer.Option("-o", "--output", metavar="PATH",
                     help="Where to write: a folder, or a file ending in .tar.gz"
                          " (default: ./setupkit-snapshot-<host>-<time>.tar.gz, without <host> under --redact)."),
    ] = None,
    redact: Annotated[bool, typer.Option(
        "--redact", help="Replace host and user names (whole words, and every /home/<name>), the SSH client,"
                         " serial numbers and GPU UUIDs.")] = False,
    note: Annotated[str, typer.Option("--note", help="A line for manifest.json: what this host is, why it was taken.")] = "",
) -> None:
    """Write a snapshot of this host, to share it or to diagnose it elsewhere with `doctor --snapshot`."""
    from setupkit.bounded import printable
    from setupkit.host.capture import check_output, default_output, record_live_host, write_snapshot

    target = output or default_output(redact)
    check_output(target)  # a path that cannot take the bundle says so before the host is read, not after
    path = printable(str(write_snapshot(record_live_host(), target, note=note, redact=redact)), keep_newlines=False)
    # markup=False: a file named [red]x.tar.gz is printed as it is named.
    err_console.print(f"snapshot written to {path}" + (" (redacted)" if redact else ""), markup=False, highlight=False)
    err_console.print(f"read it back with: setupkit doctor --snapshot {path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
