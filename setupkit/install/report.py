"""`setupkit install` rendered: the plan for people (one line a step with its status and reason, the commands of
the steps to run), what a run did, and the JSON documents of both.

Most of what a plan shows comes from the host (the distribution's name, the kernel release, a GPU name in a
reason), and a snapshot is anyone's file: every such text goes through ``bounded.one_line`` (an escape
sequence shows as \\x1b instead of acting on the terminal, a newline cannot forge a line) and is printed as
plain text, never as rich markup, emoji codes or highlighting ("[bold red]x" prints as typed).
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from setupkit.bounded import one_line, printable
from setupkit.install.model import DONE, SKIP, TODO, Plan, Step

if TYPE_CHECKING:
    from setupkit.install.run import InstallResult

_MARK = {TODO: ("todo", "bold yellow"), DONE: ("done", "green"), SKIP: ("skip", "dim")}
Part = str | tuple[str, str]
"""A piece of a line: setupkit's own text, or (text, style)."""


def render_plan(plan: Plan, console: Console) -> None:
    distro = plan.distro
    _say(console, ("setupkit install", "bold"), f": {plan.path.upper()} path for {one_line(distro['name'])} "
                                                f"({one_line(distro['package_manager'])})")
    for warning in plan.warnings:
        _say(console, ("warning", "yellow"), f": {one_line(warning)}")
    if plan.blocked:
        _say(console, ("blocked", "bold red"), f": {one_line(plan.blocked)}")
    for number, step in enumerate(plan.steps, 1):
        reboot: list[Part] = [" ", ("(reboot)", "magenta")] if step.reboot and step.status == TODO else []
        _say(console, f"{number:2}. ", _MARK[step.status], f" {step.id:15} {one_line(step.title)}", *reboot)
        _say(console, "      ", (one_line(step.reason), "dim"))
        if step.status == TODO:
            _render_actions(step, console)
    todo = len(plan.todo())
    tail = " A reboot is needed at the end." if plan.reboot_required else ""
    _say(console, f"{todo} step(s) to run.{tail}")


def _render_actions(step: Step, console: Console) -> None:
    for item in step.files:
        content = " | ".join(one_line(line) for line in item.content.strip().splitlines())
        _say(console, f"      write {one_line(item.path)}: {content}")
    for argv in step.commands:
        _say(console, f"      $ {one_line(shlex.join(argv))}")
    if step.dialog:
        answers = ", ".join(f"{k}={v}" for k, v in step.dialog["answers"].items())
        _say(console, f"      (prompts answered by setupkit: {one_line(answers)})")


def _say(console: Console, *parts: Part) -> None:
    """One line of plain text: no markup, no emoji codes, no highlighting of what the host wrote."""
    console.print(Text.assemble(*parts), highlight=False)


def render_result(result: InstallResult, console: Console) -> None:
    """What the run did: the steps it ran, where its log is, and whether to reboot now."""
    ran = ", ".join(result.ran) or "none"
    console.print(f"Ran {len(result.ran)} step(s): {ran}. Log: {printable(result.log)}", markup=False,
                  highlight=False)
    if result.plan.reboot_required:
        console.print("Reboot now (sudo reboot), then run setupkit doctor.")


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as --dry-run --json prints it."""
    return plan.to_json()


def result_document(result: InstallResult) -> dict[str, Any]:
    """The plan after the run (each step's status, ``ran`` where this run did it), the ids run and the log."""
    return plan_document(result.plan) | {"ran": result.ran, "log": result.log}
