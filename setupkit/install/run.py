"""`setupkit install`'s work, from options to result: the plan from the host's facts, and its application (root,
the lock, the refusals, the person's confirmation, the execution). Nothing here prints: the plan, each step
and each warning reach the person through the callbacks the caller gives, and the result comes back as data.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from setupkit.errors import PreconditionError, UsageError
from setupkit.facts import Facts
from setupkit.install import executor
from setupkit.install.model import Plan, Step
from setupkit.install.options import PlanOptions, check_runfile, parse_lock_wait
from setupkit.install.planner import build_plan, check_step_names, select_steps
from setupkit.install.runner import SubprocessStepRunner

SNAPSHOT_ONLY_PLANS = "--snapshot plans for another host: it only goes with --dry-run"


@dataclass(frozen=True, kw_only=True)
class InstallOptions:
    """What to plan (``plan``), which steps (--only, --skip, checked as the options are made: exit 2 for a step
    no plan has), from where (a snapshot, for a dry run only) and how long to wait for a lock held by another
    install or by apt (--lock-wait; 0: exit 3 at once, as apt would)."""

    plan: PlanOptions = field(default_factory=PlanOptions)
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    snapshot: str | None = None
    lock_wait: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lock_wait", parse_lock_wait(self.lock_wait))
        object.__setattr__(self, "only", tuple(check_step_names(list(self.only), "--only")))
        object.__setattr__(self, "skip", tuple(check_step_names(list(self.skip), "--skip")))


def _nothing(*_args: object) -> None:
    """A callback that does nothing: the default of each one."""


@dataclass(frozen=True, kw_only=True)
class ApplyCallbacks:
    """How the run talks to the person. ``confirm`` is asked only for a plan that would change the host, and
    says no by raising (typer.Abort, or PreconditionError where there is no one to ask)."""

    show_plan: Callable[[Plan], None] = _nothing
    confirm: Callable[[Plan], None] = _nothing
    announce: Callable[[Step, str], None] = _nothing
    notify: Callable[[str], None] = _nothing


@dataclass(frozen=True)
class InstallResult:
    plan: Plan  # each step's status after the run; ``ran`` is set on the steps this run carried out
    ran: list[str]
    log: str


def read_plan(options: InstallOptions) -> tuple[Plan, Facts]:
    """The plan for the host (or the snapshot) and the facts it was made from, read once."""
    from setupkit.probes import read_facts

    facts = read_facts(options.snapshot)
    return select_steps(build_plan(facts, options.plan), list(options.only), list(options.skip)), facts


def make_plan(options: InstallOptions) -> Plan:
    """The plan a dry run shows; nothing is locked, run or written."""
    return read_plan(options)[0]


def needs_confirmation(plan: Plan) -> bool:
    """Only a plan that would change the host is worth a question (a blocked one runs nothing)."""
    return not plan.blocked and any(step.changes for step in plan.todo())


def apply(options: InstallOptions, callbacks: ApplyCallbacks, argv: Sequence[str]) -> InstallResult:
    """Run the plan for this host. ``argv`` is how setupkit was started: the messages say how to run it again.

    The runfile is checked (exit 3) before root, the lock or a plan; the settings of the runner before the lock
    is taken. PreconditionError (exit 3) for what stops the run before it starts, ActionFailed (exit 4) for a
    step that fails, KeyboardInterrupt once the running command is gone."""
    if options.snapshot:
        raise UsageError(SNAPSHOT_ONLY_PLANS)
    if options.plan.cuda_runfile:
        check_runfile(options.plan.cuda_runfile)
    command = executor.setupkit_command(argv, sys.executable)
    executor.require_root(command)
    paths = executor.Paths.from_env()
    runner = SubprocessStepRunner()  # reads its settings now: a bad one stops us before anything is taken
    with executor.install_lock(paths.lock, options.lock_wait, callbacks.notify):
        plan, facts = read_plan(options)
        callbacks.show_plan(plan)
        if options.plan.cuda_runfile and not Path(options.plan.cuda_runfile).is_file():
            raise PreconditionError(f"the CUDA runfile {options.plan.cuda_runfile} does not exist")
        executor.refuse_display_stop_inside_session(plan, facts.get("display.graphical_session"), command)
        if needs_confirmation(plan):
            callbacks.confirm(plan)
        # The lock is released only when execute() is left, and execute() only leaves once the running
        # command is gone (it is given its grace on an interruption, then its process group is killed).
        ran = executor.execute(plan, runner, paths, announce=callbacks.announce, notify=callbacks.notify,
                               command=command, lock_wait=options.lock_wait)
    return InstallResult(plan, ran, paths.log)
