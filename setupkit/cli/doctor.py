"""`setupkit doctor`: read the host (never change it) and report each check's verdict with its fix."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from setupkit.cli.common import (
    DeepOption,
    DeepPythonOption,
    DeepTimeoutOption,
    JsonOption,
    LevelOption,
    SnapshotOption,
    console,
    err_console,
    print_json,
)
from setupkit.errors import UsageError

ChecksDirOption = Annotated[list[str], typer.Option(
    "--checks-dir", metavar="DIR", help="Also run the checks in DIR/*.yaml (site policy). Repeatable.")]
OnlyOption = Annotated[list[str], typer.Option("--only", metavar="ID", help="Run only this check. Repeatable.")]
SkipOption = Annotated[list[str], typer.Option("--skip", metavar="ID", help="Do not run this check. Repeatable.")]
FORMATS = ("text", "json", "prometheus")
FormatOption = Annotated[str | None, typer.Option(
    "--format", metavar="FORMAT", show_default=False,
    help="text (the report, the default), json (as --json) or prometheus (node_exporter's textfile format; "
         "docs/monitoring.md).")]


def doctor(
    snapshot: SnapshotOption = None,
    json_output: JsonOption = False,
    output_format: FormatOption = None,
    checks_dir: ChecksDirOption = [],  # noqa: B006 - typer reads the default, never mutates it
    only: OnlyOption = [],  # noqa: B006
    skip: SkipOption = [],  # noqa: B006
    list_checks: Annotated[bool, typer.Option("--list-checks", help="List the checks and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Explain every check.")] = False,
    deep: DeepOption = False,
    deep_timeout: DeepTimeoutOption = "120",
    deep_python: DeepPythonOption = None,
    level: LevelOption = "1",
) -> None:
    """Inspect this host (or a snapshot) and report each check with its fix. Exit 1 if a check fails."""
    from setupkit.doctor.run import DoctorOptions, run_doctor
    from setupkit.probes.deep import parse_deep_timeout

    # Parsed here rather than by click: its float type takes "nan" and "1e308", and its errors take four lines.
    options = DoctorOptions(snapshot=snapshot, checks_dirs=tuple(checks_dir), only=tuple(only), skip=tuple(skip),
                            deep=deep, deep_timeout=parse_deep_timeout(deep_timeout), deep_python=deep_python,
                            level=_level(level))
    if list_checks:
        from setupkit.doctor.measured import listed_checks
        from setupkit.doctor.report import list_checks as print_checks

        print_checks(console, [*options.selected_checks(), *listed_checks(options.only, options.skip)])
        return
    shape = _format(output_format, json_output)
    # The progress of level 2 goes to stderr, and only beside the text report: --json prints nothing else.
    findings, facts = run_doctor(options, progress=_progress if shape == "text" else None)
    from setupkit.doctor.engine import exit_code

    if shape == "json":
        from setupkit.doctor.document import json_document

        print_json(json_document(findings, facts))
    elif shape == "prometheus":
        from setupkit.doctor.document import json_document
        from setupkit.doctor.prometheus import render as exposition
        from setupkit.stamp import stamped

        sys.stdout.write(exposition(stamped(json_document(findings, facts))))
        sys.stdout.flush()
    else:
        from setupkit.doctor import report

        report.render(console, findings, facts, options.source_label(), verbose=verbose)
    raise typer.Exit(exit_code(findings))


def _format(chosen: str | None, json_output: bool) -> str:
    """The output's shape: --format, else json with --json, else the text report; checked before anything runs."""
    if chosen is not None and chosen not in FORMATS:
        shown = chosen if len(chosen) <= 40 else f"{chosen[:40]}..."
        raise UsageError(f"--format {shown!r} is not a format of doctor", hint=f"give {', '.join(FORMATS)}")
    if json_output and chosen not in (None, "json"):
        raise UsageError(f"--json and --format {chosen} ask for two outputs", hint="give one of them")
    return chosen or ("json" if json_output else "text")


def _level(text: str) -> int:
    if text == "1":  # the default: plain doctor does not import the measurement probe
        return 1
    from setupkit.probes.measure import parse_level

    return parse_level(text)


def _progress(line: str) -> None:
    err_console.print(f"{line} ...", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
