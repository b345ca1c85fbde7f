"""One doctor run: which checks, which facts (host or snapshot, plus the deep probe), which findings; at level 2
also the measurements of the CPU and each GPU, judged into findings of their own (doctor/measured.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from setupkit.doctor import engine
from setupkit.doctor.catalog import Check, load_catalog
from setupkit.errors import UsageError
from setupkit.probes.deep import DEFAULT_TIMEOUT, DeepRequest, check_deep_python, check_deep_timeout

if TYPE_CHECKING:
    from setupkit.probes.measure import Measurements, MeasureRequest

MEASURED_IDS = ("cpu.matmul", "cpu.memory-bandwidth", "gpu.matmul", "gpu.memory-bandwidth", "gpu.host-bandwidth")
"""The findings of level 2 (doctor/measured.py, which is imported only at that level)."""


@dataclass(frozen=True, kw_only=True)
class DoctorOptions:
    snapshot: str | None = None
    checks_dirs: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    deep: bool = False
    deep_timeout: float = DEFAULT_TIMEOUT
    deep_python: str | None = None
    level: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "deep_timeout", check_deep_timeout(self.deep_timeout))
        if self.level not in (1, 2):
            raise UsageError(f"--level {self.level} is not a level of doctor", hint="give 1 or 2")

    def selected_checks(self) -> list[Check]:
        """The catalog (built-in and --checks-dir), filtered; an unknown id in --only/--skip is a usage error."""
        checks = load_catalog(self.checks_dirs)
        known = {check.id for check in checks} | set(MEASURED_IDS)
        for wanted in (*self.only, *self.skip):
            if wanted not in known:
                shown = wanted if len(wanted) <= 60 else f"{wanted[:60]}..."
                raise UsageError(f"unknown check id {shown!r}", hint="see `setupkit doctor --list-checks`")
        deep_only = sorted(check.id for check in checks if check.deep and check.id in self.only)
        if deep_only and not self.deep:
            raise UsageError(f"check {deep_only[0]!r} needs --deep")
        measured_only = [check for check in MEASURED_IDS if check in self.only]
        if measured_only and self.level < 2:
            raise UsageError(f"check {measured_only[0]!r} needs --level 2")
        return engine.select(checks, self.only, self.skip, deep=self.deep)

    def measured_ids(self) -> tuple[str, ...]:
        """The level-2 findings to make: none at level 1; --only and --skip choose among them as among checks."""
        if self.level < 2:
            return ()
        return tuple(check for check in MEASURED_IDS
                     if (not self.only or check in self.only) and check not in self.skip)

    def measure_request(self) -> MeasureRequest | None:
        """What level 2 asks of the measurement probes; None at level 1 or when no measured finding is wanted."""
        wanted = self.measured_ids()
        if not wanted:
            return None
        from setupkit.probes.measure import MeasureRequest

        return MeasureRequest(cpu=any(check.startswith("cpu.") for check in wanted),
                              gpus=any(check.startswith("gpu.") for check in wanted))

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


def collect_measured(options: DoctorOptions, request: MeasureRequest,
                     progress: Callable[[str], None] | None = None) -> tuple[dict[str, Any], Measurements]:
    """The facts and, on the same host, the measurements ``request`` asks for (from a snapshot: the runs it
    recorded)."""
    from setupkit.host import open_host
    from setupkit.probes import collect_facts
    from setupkit.probes.measure import measure

    with open_host(options.snapshot) as host:
        facts = collect_facts(host, deep=options.deep_request())
        return facts, measure(host, facts, request, progress)


def run_doctor(options: DoctorOptions, progress: Callable[[str], None] | None = None,
               ) -> tuple[list[engine.Finding], dict[str, Any]]:
    if options.snapshot and options.deep_python is not None:
        raise UsageError("--deep-python cannot go with --snapshot: the snapshot's deep probe ran the interpreter of "
                         "the machine it was taken on", hint="drop --deep-python")
    checks = options.selected_checks()
    if options.deep and options.deep_python is not None:
        check_deep_python(options.deep_python)
    request = options.measure_request()
    if request is None:
        facts = collect(options)
        return engine.run_checks(checks, facts), facts
    from setupkit.doctor import measured

    facts, measurements = collect_measured(options, request, progress)
    return engine.run_checks(checks, facts) + measured.findings(measurements, facts, options.measured_ids()), facts
