"""One doctor run: which checks, which facts (host or snapshot, plus the deep probe), which findings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from setupkit.doctor import engine
from setupkit.doctor.catalog import Check, load_catalog
from setupkit.errors import UsageError
from setupkit.probes.deep import DEFAULT_TIMEOUT, DeepRequest, check_deep_python, check_deep_timeout


@dataclass(frozen=True, kw_only=True)
class DoctorOptions:
    snapshot: str | None = None
    checks_dirs: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    deep: bool = False
    deep_timeout: float = DEFAULT_TIMEOUT
    deep_python: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "deep_timeout", check_deep_timeout(self.deep_timeout))

    def selected_checks(self) -> list[Check]:
        """The catalog (built-in and --checks-dir), filtered; an unknown id in --only/--skip is a usage error."""
        checks = load_catalog(self.checks_dirs)
        known = {check.id for check in checks}
        for wanted in (*self.only, *self.skip):
            if wanted not in known:
                shown = wanted if len(wanted) <= 60 else f"{wanted[:60]}..."
                raise UsageError(f"unknown check id {shown!r}", hint="see `setupkit doctor --list-checks`")
        deep_only = sorted(check.id for check in checks if check.deep and check.id in self.only)
        if deep_only and not self.deep:
            raise UsageError(f"check {deep_only[0]!r} needs --deep")
        return engine.select(checks, self.only, self.skip, deep=self.deep)

    def source_label(self) -> str:
        return f"snapshot {Path(self.snapshot).name}" if self.snapshot else "this host"

    def deep_request(self) -> DeepRequest | None:
        """What --deep asks of the probes; None without it."""
        return DeepRequest(self.deep_python, self.deep_timeout) if self.deep else None


def collect(options: DoctorOptions) -> dict[str, Any]:
    """The registered facts of the host or snapshot, the deep probe's among them when --deep (from a snapshot:
    the run it recorded)."""
    from setupkit.probes import read_facts

    return read_facts(options.snapshot, deep=options.deep_request())


def run_doctor(options: DoctorOptions) -> tuple[list[engine.Finding], dict[str, Any]]:
    if options.snapshot and options.deep_python is not None:
        raise UsageError("--deep-python cannot go with --snapshot: the snapshot's deep probe ran the interpreter of "
                         "the machine it was taken on", hint="drop --deep-python")
    checks = options.selected_checks()
    if options.deep and options.deep_python is not None:
        check_deep_python(options.deep_python)
    facts = collect(options)
    return engine.run_checks(checks, facts), facts
