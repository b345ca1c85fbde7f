"""One doctor run: which checks, which facts (host or snapshot, plus the deep probe), which findings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from setupkit import exitcodes
from setupkit.doctor import engine
from setupkit.doctor.catalog import Check, load_catalog
from setupkit.errors import SetupkitError


@dataclass(frozen=True)
class DoctorOptions:
    snapshot: str | None = None
    checks_dirs: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    deep: bool = False
    deep_timeout: float = 120.0
    deep_python: str | None = None

    def selected_checks(self) -> list[Check]:
        """The catalog (built-in and --checks-dir), filtered; an unknown id in --only/--skip is a usage error."""
        checks = load_catalog(self.checks_dirs)
        known = {check.id for check in checks}
        for wanted in (*self.only, *self.skip):
            if wanted not in known:
                raise SetupkitError(f"unknown check id {wanted!r}: see `setupkit doctor --list-checks`",
                                    exit_code=exitcodes.USAGE)
        deep_only = sorted(check.id for check in checks if check.deep and check.id in self.only)
        if deep_only and not self.deep:
            raise SetupkitError(f"check {deep_only[0]!r} needs --deep", exit_code=exitcodes.USAGE)
        return engine.select(checks, self.only, self.skip, deep=self.deep)

    def source_label(self) -> str:
        return f"snapshot {Path(self.snapshot).name}" if self.snapshot else "this host"


def collect(options: DoctorOptions) -> dict[str, Any]:
    """The registered facts of the host or snapshot, plus the deep probe's when --deep."""
    from setupkit.host import open_host
    from setupkit.probes import collect_facts

    host = open_host(options.snapshot)
    try:
        facts = collect_facts(host)
    finally:
        getattr(host, "close", lambda: None)()
    if options.deep:
        from setupkit.doctor.deep import run_deep_probe

        facts.update(run_deep_probe(options.deep_python, options.deep_timeout))
    return facts


def run_doctor(options: DoctorOptions) -> tuple[list[engine.Finding], dict[str, Any]]:
    if options.deep and options.snapshot:
        raise SetupkitError("--deep imports TensorFlow on this machine; it cannot read a snapshot (drop one of them)",
                            exit_code=exitcodes.USAGE)
    checks = options.selected_checks()
    facts = collect(options)
    return engine.run_checks(checks, facts), facts
