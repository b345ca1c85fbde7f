"""`setupkit install`: plan the driver, CUDA toolkit, cuDNN, pip and TensorFlow from doctor's facts, show the
plan, and run it safely (root, a lock, a log, resumable). The work lives in setupkit.install."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from setupkit.cli.common import JsonOption, SnapshotOption, console, err_console, print_json
from setupkit.errors import PreconditionError, SetupkitError

StepList = Annotated[Optional[list[str]], typer.Option(metavar="STEP", help="Repeatable.")]


def install(
    gpu: Annotated[bool, typer.Option("--gpu", help="Plan the GPU path: driver, CUDA toolkit, cuDNN, "
                                                    "tensorflow[and-cuda]. Without it: the CPU path.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; run nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Run the plan without asking.")] = False,
    json_output: JsonOption = False,
    only: StepList = None,
    skip: StepList = None,
    cuda_version: Annotated[Optional[str], typer.Option(metavar="X.Y", help="CUDA toolkit version.")] = None,
    driver_branch: Annotated[Optional[str], typer.Option(metavar="N", help="NVIDIA driver branch (580).")] = None,
    toolkit_path: Annotated[Optional[str], typer.Option(metavar="DIR", help="Toolkit folder (runfile).")] = None,
    cuda_runfile: Annotated[Optional[str], typer.Option(metavar="FILE", help="Install the toolkit from NVIDIA's "
                                                                             ".run file (toolkit only).")] = None,
    override: Annotated[bool, typer.Option("--override", help="Let the runfile skip its compiler/distribution "
                                                              "checks.")] = False,
    snapshot: SnapshotOption = None,
) -> None:
    """Plan and run the steps from an NVIDIA driver to a working TensorFlow; a re-run changes nothing."""
    from setupkit.install.options import PlanOptions, check_runfile
    from setupkit.install.planner import check_step_names

    if snapshot and not dry_run:
        raise SetupkitError("--snapshot plans for another host: it only goes with --dry-run", exit_code=2)
    # Every value is checked (exit 2) before anything is read, and the runfile (exit 3) before root, the lock or
    # a plan: the texts arrive unparsed, since click's int takes '٥٨٠' and its errors take four lines.
    options = PlanOptions(gpu=gpu, cuda_version=cuda_version, driver_branch=driver_branch, toolkit_path=toolkit_path,
                          cuda_runfile=cuda_runfile, override=override)
    only, skip = check_step_names(only or [], "--only"), check_step_names(skip or [], "--skip")
    if options.cuda_runfile and not dry_run:
        check_runfile(options.cuda_runfile)
    if dry_run:
        _show(_plan(snapshot, options, only, skip), json_output)
        return
    _apply(options, only, skip, yes, json_output)


def _plan(snapshot: str | None, options, only: list[str], skip: list[str]):
    from setupkit.host import open_host
    from setupkit.install.planner import build_plan, select_steps
    from setupkit.probes import collect_facts

    host = open_host(snapshot)
    try:
        facts = collect_facts(host)
    finally:
        getattr(host, "close", lambda: None)()
    return select_steps(build_plan(facts, options), only, skip), facts


def _show(planned, json_output: bool) -> None:
    from setupkit.install.render import render_plan

    plan, _ = planned
    if json_output:
        print_json(plan.to_json())
    else:
        render_plan(plan, console)


def _apply(options, only: list[str], skip: list[str], yes: bool, json_output: bool) -> None:
    from setupkit.install import executor
    from setupkit.install.render import render_plan
    from setupkit.install.runner import SubprocessRunner

    command = executor.setupkit_command(sys.argv, sys.executable)  # what the messages say to run again
    executor.require_root(command)
    paths = executor.Paths.from_env()
    runner = SubprocessRunner()  # reads its settings now: a bad one stops us before anything is taken
    with executor.install_lock(paths.lock):
        plan, facts = _plan(None, options, only, skip)
        render_plan(plan, err_console if json_output else console)
        if options.cuda_runfile and not Path(options.cuda_runfile).is_file():
            raise PreconditionError(f"the CUDA runfile {options.cuda_runfile} does not exist")
        executor.refuse_display_stop_inside_session(plan, facts.get("display.graphical_session"), command)
        _confirm(plan, yes)
        # The lock is released only when execute() is left, and execute() only leaves once the running
        # command is gone (it is given its grace on an interruption, then its process group is killed).
        ran = executor.execute(plan, runner, paths, announce=_announce, notify=_notify, command=command)
    _finish(plan, ran, paths.log, json_output)


def _confirm(plan, yes: bool) -> None:
    if yes or plan.blocked or not any(step.changes for step in plan.todo()):
        return  # nothing would change the host: no need to ask
    if not sys.stdin.isatty():
        raise PreconditionError("no terminal to ask for confirmation: pass --yes to run this plan")
    typer.confirm("Run these steps?", abort=True)


def _announce(step, what: str) -> None:
    err_console.print(f"[bold]==>[/] {step.id}: {what}", highlight=False)


def _notify(text: str) -> None:
    """A line from the executor for the person: a warning, or where an interruption came and how to resume."""
    from setupkit.bounded import printable

    err_console.print(f"setupkit: {printable(text, keep_newlines=False)}", markup=False, highlight=False)


def _finish(plan, ran: list[str], log_path: str, json_output: bool) -> None:
    from setupkit.bounded import printable

    if json_output:
        print_json(plan.to_json() | {"ran": ran, "log": log_path})
        return
    console.print(f"Ran {len(ran)} step(s): {', '.join(ran) or 'none'}. Log: {printable(log_path)}", markup=False,
                  highlight=False)
    if plan.reboot_required:
        console.print("Reboot now (sudo reboot), then run setupkit doctor.")


def register(app: typer.Typer) -> None:
    app.command("install")(install)
