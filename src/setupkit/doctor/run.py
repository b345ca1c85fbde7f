"""One doctor run: which checks, which facts (host or snapshot, plus the deep probe), which findings."""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from setupkit import exitcodes
from setupkit.bounded import describe_mode, finite_number
from setupkit.doctor import engine
from setupkit.doctor.catalog import Check, load_catalog
from setupkit.errors import PreconditionError, SetupkitError, UsageError

DEEP_TIMEOUT_RANGE = (1.0, 3600.0)
"""Seconds the deep probe may take: a TensorFlow import and an op on each GPU take well under a minute; an
hour is past any wait worth having, and a timeout must be a number a clock can count (not NaN, not 1e308)."""
_SECONDS = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,3})?")


def parse_deep_timeout(text: str) -> float:
    """--deep-timeout "120" -> 120.0; anything but plain decimal seconds in DEEP_TIMEOUT_RANGE: exit 2."""
    seconds = float(text) if isinstance(text, str) and _SECONDS.fullmatch(text) else None
    return check_deep_timeout(seconds, text)


def check_deep_timeout(seconds: Any, given: Any = None) -> float:
    low, high = DEEP_TIMEOUT_RANGE
    number = finite_number(seconds)
    if number is None or not low <= number <= high:
        shown = str(seconds if given is None else given)[:40] or "''"
        raise UsageError(f"--deep-timeout {shown} is not a number of seconds from {low:g} to {high:g}: give one, "
                         f"e.g. 120")
    return number


def check_deep_python(path: str) -> None:
    """--deep-python names a program this machine can run (a path, or a name on PATH): exit 3 otherwise, before
    the probe starts, instead of a probe that 'crashed' for want of an interpreter."""
    found = path if "/" in path else shutil.which(path)
    if found is None:
        raise PreconditionError(f"--deep-python {path}: no such program on PATH; give the interpreter's path")
    try:
        mode = os.stat(found).st_mode
    except OSError as error:
        reason = error.strerror.lower() if error.strerror else str(error)
        raise PreconditionError(f"--deep-python {path}: {reason}; give the path of a Python interpreter") from None
    if not stat.S_ISREG(mode):
        raise PreconditionError(f"--deep-python {path} is {describe_mode(mode)}, not a program: give the path of a "
                                f"Python interpreter")
    if not os.access(found, os.X_OK):
        raise PreconditionError(f"--deep-python {path} is not executable: give the path of a Python interpreter")


@dataclass(frozen=True)
class DoctorOptions:
    snapshot: str | None = None
    checks_dirs: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    deep: bool = False
    deep_timeout: float = 120.0
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
                raise SetupkitError(f"unknown check id {shown!r}: see `setupkit doctor --list-checks`",
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
    if options.deep and options.deep_python is not None:
        check_deep_python(options.deep_python)
    facts = collect(options)
    return engine.run_checks(checks, facts), facts
