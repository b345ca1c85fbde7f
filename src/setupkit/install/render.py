"""The plan for people: one line a step with its status and reason, the commands of the steps to run."""

from __future__ import annotations

import shlex

from rich.console import Console
from rich.markup import escape

from setupkit.install.model import DONE, SKIP, TODO, Plan

_MARK = {TODO: "[bold yellow]todo[/]", DONE: "[green]done[/]", SKIP: "[dim]skip[/]"}


def render_plan(plan: Plan, console: Console) -> None:
    distro = plan.distro
    console.print(f"[bold]setupkit install[/]: {plan.path.upper()} path for {escape(distro['name'])} "
                  f"({distro['package_manager']})")
    for warning in plan.warnings:
        console.print(f"[yellow]warning[/]: {escape(warning)}")
    if plan.blocked:
        console.print(f"[bold red]blocked[/]: {escape(plan.blocked)}")
    for number, step in enumerate(plan.steps, 1):
        reboot = " [magenta](reboot)[/]" if step.reboot and step.status == TODO else ""
        console.print(f"{number:2}. {_MARK[step.status]} {step.id:15} {escape(step.title)}{reboot}")
        console.print(f"      [dim]{escape(step.reason)}[/]")
        if step.status == TODO:
            _render_actions(step, console)
    todo = len(plan.todo())
    tail = " A reboot is needed at the end." if plan.reboot_required else ""
    console.print(f"{todo} step(s) to run.{tail}")


def _render_actions(step, console: Console) -> None:
    for item in step.files:
        console.print(f"      write {escape(item.path)}: {escape(item.content.strip()).replace(chr(10), ' | ')}")
    for argv in step.commands:
        console.print(f"      $ {escape(shlex.join(argv))}", highlight=False)
    if step.dialog:
        answers = ", ".join(f"{k}={v}" for k, v in step.dialog["answers"].items())
        console.print(f"      (prompts answered by setupkit: {escape(answers)})")
