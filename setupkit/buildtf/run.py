"""One build-tf run: read the machine the build is for, plan, then (unless a dry run) configure, build, find the
wheel, install it and measure it. Returns what it planned and did; progress goes to the ``Ui`` it is given.

Each step logs to one file. Ctrl-C anywhere becomes exit 130 naming the step and the log; the Bazel step stops
its process group first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from setupkit import exitcodes
from setupkit.buildtf import configure, measure
from setupkit.buildtf.bazel import find_wheel, stream
from setupkit.buildtf.interpreter import describe_interpreter
from setupkit.buildtf.log import BuildLog, LogWriteFailed
from setupkit.buildtf.plan import BuildOptions, BuildPlan, Machine, make_plan
from setupkit.errors import ActionFailed, PreconditionError, SetupkitError
from setupkit.facts import Facts
from setupkit.host import open_host
from setupkit.host.base import Host
from setupkit.probes import collect_facts


class Ui(Protocol):
    """What the run tells the person watching (report.py draws it)."""

    def planned(self, plan: BuildPlan) -> None: ...

    def info(self, text: str) -> None: ...

    def bazelrc(self, text: str) -> None: ...

    def build_line(self, line: str) -> None: ...

    def build_started(self, argv: list[str]) -> None: ...

    def build_finished(self) -> None: ...


@dataclass
class BuildResult:
    """What a run did: the answers configure got, the bazelrc it wrote, the wheel, and the benchmark."""

    configure_given: list[tuple[str, str]] = field(default_factory=list)
    bazelrc: str | None = None
    wheel: Path | None = None
    installed: bool = False
    benchmark: dict | None = None


@dataclass(frozen=True)
class BuildOutcome:
    plan: BuildPlan
    result: BuildResult | None
    """None for a dry run."""


def run(options: BuildOptions, ui: Ui, *, snapshot: str | None = None, dry_run: bool = False) -> BuildOutcome:
    """Plan the build for this machine (or the one ``snapshot`` captured), show the plan, and unless ``dry_run``
    carry it out. A real run refuses (exit 3) on a missing prerequisite before anything runs."""
    plan = plan_build(options, snapshot)
    ui.planned(plan)
    if dry_run:
        return BuildOutcome(plan, None)
    return BuildOutcome(plan, execute(plan, ui))


def plan_build(options: BuildOptions, snapshot: str | None = None) -> BuildPlan:
    # The host stays open while planning: besides its facts, the plan asks it for free disk at the build's
    # folders and, for another --python, about that interpreter.
    with open_host(snapshot) as host:
        return make_plan(options, read_machine(host, collect_facts(host), options.python, snapshot))


def read_machine(host: Host, facts: Facts, python: str | None, snapshot: str | None) -> Machine:
    """What the plan needs of ``host`` besides ``facts``: the interpreter it builds for and its free disk."""
    return Machine(facts=facts, python=describe_interpreter(host, facts, python), free_bytes=host.free_bytes,
                   snapshot=snapshot)


def refuse_if_missing(plan: BuildPlan) -> None:
    """Exit 3 with every missing prerequisite and its fix, before anything runs. Unknown ones (a snapshot's)
    are not refused: there is nothing to say they are missing."""
    missing = plan.missing
    if missing:
        fixes = dict.fromkeys(prerequisite.fix for prerequisite in missing if prerequisite.fix)  # each once
        raise PreconditionError("; ".join(prerequisite.detail for prerequisite in missing),
                                hint="; ".join(fixes) or None)


def execute(plan: BuildPlan, ui: Ui,
            runner_factory: Callable[[BuildLog], measure.BenchmarkRunner] = measure.BenchmarkRunner,
            with_pip: bool = True) -> BuildResult:
    """Configure, build, find the wheel, then (unless --no-install) install and measure it."""
    refuse_if_missing(plan)
    log = BuildLog(plan.log)
    ui.info(f"log: {log.path}")
    result, step = BuildResult(), "configure"
    try:
        result.configure_given = _configure(plan, log)
        result.bazelrc = configure.read_bazelrc(plan.source.path)
        ui.bazelrc(result.bazelrc)
        step = "the build"
        result.wheel = _build(plan, ui, log)
        ui.info(f"wheel: {result.wheel}")
        if plan.options.install:
            step = "install and benchmark"
            result.benchmark = _install_and_measure(plan, result.wheel, ui, runner_factory(log), with_pip)
            result.installed = True
    except LogWriteFailed as error:
        raise ActionFailed(f"{step} stopped: {error.message}", hint=error.hint) from None
    except KeyboardInterrupt as error:
        _note(log, f"\n[setupkit] interrupted ({getattr(error, 'signal_name', 'SIGINT')}) during {step}\n")
        raise SetupkitError(f"interrupted during {step}; log: {log.path}", exitcodes.INTERRUPTED) from None
    finally:
        log.close()
    return result


def _note(log: BuildLog, text: str) -> None:
    try:
        log.write(text)
    except ActionFailed:
        pass  # the interruption is what the person must hear about, not the log


def _configure(plan: BuildPlan, log: BuildLog) -> list[tuple[str, str]]:
    log.section("./configure" + (" (answers from the environment)" if plan.options.non_interactive else ""))
    if plan.options.non_interactive:
        configure.run_non_interactive(plan.source.path, plan.configure_env, log)
        return list(plan.configure_env.items())
    full_answers = configure.answers_for(plan.choices)
    return configure.run_interactive(plan.source.path, full_answers, log)


def _build(plan: BuildPlan, ui: Ui, log: BuildLog) -> Path:
    output_dir = plan.options.output_dir
    for argv in plan.commands:
        if not argv[0].startswith("./"):
            ui.build_started(argv)
        try:
            status = stream(argv, plan.source.path, log, ui.build_line)
        finally:
            ui.build_finished()
        if status != 0:
            raise ActionFailed(f"{' '.join(argv[:2])} failed with exit {status}; log: {log.path}")
    wheel = find_wheel(plan.source.path, output_dir, plan.source.minor)
    if wheel is None:
        raise ActionFailed(f"the build finished but left no wheel; log: {log.path}")
    return wheel


def stock_requirement(plan: BuildPlan) -> str:
    """The official wheel of the same version: tensorflow-cpu, or tensorflow[and-cuda] for a CUDA build."""
    name = "tensorflow[and-cuda]" if plan.options.cuda else "tensorflow-cpu"
    return f"{name}=={plan.source.tf_version.replace('-', '')}"


def _install_and_measure(plan: BuildPlan, wheel: Path, ui: Ui, runner: measure.BenchmarkRunner,
                         with_pip: bool) -> dict:
    options = plan.options
    venv = options.venv
    ui.info(f"installing {wheel.name} into {venv}")
    measure.ensure_venv(plan.python.path, venv, runner, with_pip)
    done = measure.pip_install(venv, str(wheel), runner)
    if done.returncode != 0:
        raise ActionFailed(f"pip could not install {wheel.name} into {venv} ({measure.last_line(done)}); "
                           f"log: {runner.log.path}")
    stock_venv, stock_error = _install_stock(plan, ui, runner, with_pip)
    built, stock, bench_error = _bench_alternately(plan, ui, runner, venv, stock_venv)
    ratio = measure.ratios(built, stock)
    return {"venv": str(venv), "repeats": options.bench_repeats, "built": built.to_json(),
            "stock": stock.to_json() if stock else None, "stock_requirement": stock_requirement(plan),
            "stock_error": stock_error or bench_error, "ratio": ratio,
            "verdict": measure.verdicts(ratio, built, stock)}


def _install_stock(plan: BuildPlan, ui: Ui, runner: measure.BenchmarkRunner,
                   with_pip: bool) -> tuple[Path | None, str | None]:
    """The venv holding the stock wheel, or why there is none (no network, no such version): never fatal."""
    requirement = stock_requirement(plan)
    venv = plan.options.stock_venv
    ui.info(f"installing the stock {requirement} into {venv} for comparison")
    try:
        measure.ensure_venv(plan.python.path, venv, runner, with_pip)
    except SetupkitError as error:
        return None, error.message
    done = measure.pip_install(venv, requirement, runner)
    if done.returncode != 0:
        return None, f"pip could not install {requirement} ({measure.last_line(done)})"
    return venv, None


def _bench_alternately(plan: BuildPlan, ui: Ui, runner: measure.BenchmarkRunner, venv: Path,
                       stock_venv: Path | None) -> tuple[measure.Figures, measure.Figures | None, str | None]:
    """Built, stock, built, stock ...: each wheel's best of the repeats, so that a busy moment of the machine
    does not land on one wheel only. A failing built benchmark is fatal; a failing stock one is reported."""
    options = plan.options
    ui.info(f"benchmark: {options.bench_steps} steps, batch {options.bench_batch_size}, best of "
            f"{options.bench_repeats}, the two wheels in turn")
    built_runs, stock_runs, stock_error = [], [], None
    for _ in range(options.bench_repeats):
        built_runs.append(measure.run_bench(venv, options.bench_script, options.bench_steps,
                                            options.bench_batch_size, runner))
        if stock_venv is not None and stock_error is None:
            try:
                stock_runs.append(measure.run_bench(stock_venv, options.bench_script, options.bench_steps,
                                                    options.bench_batch_size, runner))
            except ActionFailed as error:
                stock_error = f"the stock wheel's benchmark failed: {error.message}"
    stock = measure.best(stock_runs) if stock_runs and stock_error is None else None
    return measure.best(built_runs), stock, stock_error
