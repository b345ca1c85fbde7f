"""`setupkit doctor`: read the host (never change it) and report what it found."""

from __future__ import annotations

import typer

from setupkit.cli.common import JsonOption, SnapshotOption, console, print_json


def doctor(snapshot: SnapshotOption = None, json_output: JsonOption = False) -> None:
    """Inspect this host (or a snapshot) and report each check with its fix."""
    from setupkit.host import open_host
    from setupkit.probes import collect_facts

    host = open_host(snapshot)
    try:
        facts = collect_facts(host)
    finally:
        getattr(host, "close", lambda: None)()
    if json_output:
        print_json({"schema": "setupkit-doctor/1", "status": "unknown", "facts": facts, "findings": []})
        return
    for name, value in facts.items():
        console.print(f"{name:32} {value}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
