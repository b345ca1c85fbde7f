"""`setupkit snapshot`: freeze what doctor reads from this machine into a bundle (SNAPSHOT.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from setupkit.cli.common import DeepOption, DeepPythonOption, DeepTimeoutOption, LevelOption, err_console


def snapshot(
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", metavar="PATH",
                     help="Where to write: a folder, or a file ending in .tar.gz"
                          " (default: ./setupkit-snapshot-<host>-<time>.tar.gz, without <host> under --redact)."),
    ] = None,
    redact: Annotated[bool, typer.Option(
        "--redact", help="Replace host and user names (whole words, and every /home/<name>), the SSH client,"
                         " serial numbers and GPU UUIDs.")] = False,
    note: Annotated[str, typer.Option(
        "--note", help="A line for manifest.json: what this host is, why it was taken.")] = "",
    deep: DeepOption = False,
    deep_timeout: DeepTimeoutOption = "120",
    deep_python: DeepPythonOption = None,
    level: LevelOption = "1",
) -> None:
    """Write a snapshot of this host, to share it or to diagnose it elsewhere with `doctor --snapshot`."""
    from setupkit.probes.deep import deep_request
    from setupkit.snapshot.report import written_lines
    from setupkit.snapshot.run import default_output, measure_request, take_snapshot

    # Checked before anything is read: a bad value is exit 2 (an unusable interpreter exit 3), not a snapshot
    # whose deep probe "crashed".
    request = deep_request(deep, deep_timeout, deep_python)
    measuring = measure_request(level)
    path = take_snapshot(output or default_output(redact), note=note, redact=redact, deep=request,
                         measure=measuring, progress=_progress)
    for line in written_lines(path, redacted=redact):
        # markup=False: a file named [red]x.tar.gz is printed as it is named.
        err_console.print(line, markup=False, highlight=False)


def _progress(line: str) -> None:
    err_console.print(f"{line} ...", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
