"""`setupkit install`: plan the driver, CUDA toolkit, cuDNN, pip and TensorFlow from doctor's facts, show the
plan, and run it safely (root, a lock, a log, resumable). The options are parsed here and the results rendered;
the work is setupkit.install.run's, the rendering setupkit.install.report's."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from setupkit.bounded import printable
from setupkit.cli.common import JsonOption, SnapshotOption, console, err_console, print_json
from setupkit.errors import PreconditionError, UsageError

StepList = Annotated[list[str] | None, typer.Option(metavar="STEP", help="Repeatable.")]


def install(
    gpu: Annotated[bool, typer.Option("--gpu", help="Plan the GPU path: driver, TensorFlow with its CUDA wheels "
                                                    "(cuDNN and the CUDA toolkit where it needs them). In a "
                                                    "container, or with no GPU visible: the user-space part only. "
                                                    "Without it: the CPU path.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; run nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Run the plan without asking.")] = False,
    json_output: JsonOption = False,
    only: StepList = None,
    skip: StepList = None,
    cuda_version: Annotated[str | None, typer.Option(metavar="X.Y", help="CUDA toolkit version.")] = None,
    driver_branch: Annotated[str | None, typer.Option(metavar="N", help="NVIDIA driver branch (580).")] = None,
    toolkit_path: Annotated[str | None, typer.Option(metavar="DIR", help="Toolkit folder (runfile).")] = None,
    cuda_runfile: Annotated[str | None, typer.Option(metavar="FILE", help="Install the toolkit from NVIDIA's "
                                                                             ".run file (toolkit only).")] = None,
    override: Annotated[bool, typer.Option("--override", help="Let the runfile skip its compiler/distribution "
                                                              "checks.")] = False,
    with_toolkit: Annotated[bool, typer.Option("--with-toolkit", help="Install the system CUDA toolkit (nvcc) even "
                                                                      "where TensorFlow brings its CUDA as pip "
                                                                      "wheels.")] = False,
    upgrade_tensorflow: Annotated[bool, typer.Option("--upgrade-tensorflow", help="Replace an installed TensorFlow "
                                                                                  "that works here by the newest "
                                                                                  "that fits.")] = False,
    framework: Annotated[list[str] | None, typer.Option(
        "--framework", metavar="NAME", help="tensorflow, torch or jax (repeatable; default tensorflow): each with "
                                            "the CUDA variant the driver runs, its CUDA as pip wheels (PyTorch's "
                                            "index for its variant; JAX's cuda12 or cuda13 extra).")] = None,
    upgrade_frameworks: Annotated[bool, typer.Option("--upgrade-frameworks", help="Replace an installed PyTorch or "
                                                                                  "JAX that works here by the newest "
                                                                                  "that fits.")] = False,
    cuda_repo_mirror: Annotated[str | None, typer.Option(
        "--cuda-repo-mirror", metavar="URL", help="A mirror of https://developer.download.nvidia.com/compute/cuda/"
                                                  "repos: every NVIDIA repository, keyring and .repo download of the "
                                                  "plan comes from it.")] = None,
    pip_index_url: Annotated[str | None, typer.Option(
        "--pip-index-url", metavar="URL", help="The index every pip install of the plan reads (--index-url); "
                                               "PyTorch's own index stays beside it as an extra index.")] = None,
    lock_wait: Annotated[str, typer.Option(
        "--lock-wait", metavar="SECONDS", help="Wait up to SECONDS for another setupkit install, and before each "
                                               "apt or dpkg step for the dpkg lock (unattended-upgrades), instead "
                                               "of exit 3 at once.")] = "0",
    snapshot: SnapshotOption = None,
) -> None:
    """Plan and run the steps from an NVIDIA driver to a working TensorFlow (or PyTorch, or JAX); a re-run changes
    nothing."""
    from setupkit.install import run
    from setupkit.install.options import PlanOptions, parse_driver_branch, parse_lock_wait

    if snapshot and not dry_run:
        raise UsageError(run.SNAPSHOT_ONLY_PLANS)
    # Every value is checked (exit 2) before anything is read, and the runfile (exit 3) before root, the lock or
    # a plan: the texts arrive unparsed, since click's int takes '٥٨٠' and its errors take four lines.
    branch = None if driver_branch is None else parse_driver_branch(driver_branch)
    wait = parse_lock_wait(lock_wait)
    plan_options = PlanOptions(gpu=gpu, cuda_version=cuda_version, driver_branch=branch, toolkit_path=toolkit_path,
                               cuda_runfile=cuda_runfile, override=override, with_toolkit=with_toolkit,
                               upgrade_tensorflow=upgrade_tensorflow, frameworks=tuple(framework or ()),
                               upgrade_frameworks=upgrade_frameworks, cuda_repo_mirror=cuda_repo_mirror,
                               pip_index_url=pip_index_url)
    options = run.InstallOptions(plan=plan_options, only=tuple(only or ()), skip=tuple(skip or ()), snapshot=snapshot,
                                 lock_wait=wait)
    if dry_run:
        _show_plan(run.make_plan(options), json_output)
        return
    _show_result(run.apply(options, _callbacks(yes, json_output), sys.argv), json_output)


def _show_plan(plan, json_output: bool) -> None:
    from setupkit.install import report

    if json_output:
        print_json(report.plan_document(plan))
    else:
        report.render_plan(plan, console)


def _show_result(result, json_output: bool) -> None:
    from setupkit.install import report

    if json_output:
        print_json(report.result_document(result))
    else:
        report.render_result(result, console)


def _callbacks(yes: bool, json_output: bool):
    """The plan goes to stderr under --json (stdout holds the one JSON document), the steps and warnings always."""
    from setupkit.install import report, run

    plan_console = err_console if json_output else console
    return run.ApplyCallbacks(show_plan=lambda plan: report.render_plan(plan, plan_console),
                              confirm=lambda plan: _confirm(yes), announce=_announce, notify=_notify)


def _confirm(yes: bool) -> None:
    """The person's yes to a plan that changes the host: --yes, else a question at the terminal."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise PreconditionError("no terminal to ask for confirmation", hint="pass --yes to run this plan")
    typer.confirm("Run these steps?", abort=True)


def _announce(step, what: str) -> None:
    err_console.print(f"[bold]==>[/] {step.id}: {what}", highlight=False)


def _notify(text: str) -> None:
    """A line from the run for the person: a warning, or where an interruption came and how to resume."""
    err_console.print(f"setupkit: {printable(text, keep_newlines=False)}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("install")(install)
