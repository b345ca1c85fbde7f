"""What build-tf prints: the plan, the live build progress, the result, and the JSON document."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from rich.console import Console

from setupkit.bounded import printable
from setupkit.buildtf import cpuflags
from setupkit.buildtf.bazel import parse_progress
from setupkit.buildtf.plan import BuildPlan
from setupkit.buildtf.prereqs import Prerequisite
from setupkit.buildtf.run import BuildResult

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

SCHEMA = "setupkit-build-tf/1"


def allowed_flags_line(plan: BuildPlan) -> str:
    if plan.cpu_flags is None:
        return "unknown (no CPU flags could be read)"
    return " ".join(cpuflags.auto_flags(plan.cpu_flags)) or "none of SSE4.1/SSE4.2/AVX/AVX2/FMA/AVX-512"


def plan_lines(plan: BuildPlan) -> list[str]:
    """The plan as `label  value` lines, the same for --dry-run and before a real build."""
    source, options = plan.source, plan.options
    lines = [f"machine:           the snapshot {plan.snapshot}"] if plan.snapshot is not None else []
    lines += [f"source:            {source.path}",
             f"TensorFlow:        {source.tf_version}",
             f"Bazel:             {source.bazel_version or 'not pinned (no .bazelversion)'}",
             f"this CPU allows:   {allowed_flags_line(plan)}",
             f"CC_OPT_FLAGS:      {' '.join(plan.cc_opt_flags)}   (--cpu-flags {options.cpu_flags})"]
    if options.cuda:
        lines.append(f"CUDA:              compute capabilities {plan.capabilities}")
    lines.append(f"jobs:              {plan.jobs.reason}")
    lines += [f"prerequisite:      {prerequisite_line(item)}" for item in plan.prerequisites]
    lines += _configure_lines(plan)
    lines += [f"command:           {shlex.join(argv)}" for argv in [plan.configure_argv, *plan.commands]]
    lines += _install_lines(plan)
    lines.append(f"log:               {plan.log}")
    lines += [f"note:              {note}" for note in plan.notes]
    return lines


def prerequisite_line(item: Prerequisite) -> str:
    """ok / MISSING (with its fix) / unknown, then what was found."""
    if item.ok:
        return f"ok      {item.detail}"
    if item.missing:
        return f"MISSING {item.detail}" + (f"; fix: {item.fix}" if item.fix else "")
    return f"unknown {item.detail}"


def dry_run_line(plan: BuildPlan) -> str:
    line = "dry run: nothing was run"
    if plan.missing:
        line += "; a real run would stop at the MISSING prerequisites"
    if any(item.ok is None for item in plan.prerequisites):
        line += "; the unknown prerequisites are to be checked on the build machine"
    return line


def _configure_lines(plan: BuildPlan) -> list[str]:
    if plan.options.non_interactive:
        return [f"configure env:     {name}={shlex.quote(value)}" for name, value in plan.configure_env.items()]
    return [f"configure answer:  {key} = {value!r}" for key, value in plan.answers.items()]


def _install_lines(plan: BuildPlan) -> list[str]:
    options = plan.options
    if not options.install:
        return ["install:           no (--no-install)"]
    return [f"install:           the built wheel into the venv {options.venv}",
            f"compare with:      the stock wheel in {options.stock_venv}",
            f"benchmark:         {options.bench_script.name} --steps {options.bench_steps} "
            f"--batch-size {options.bench_batch_size} in each venv, in turn, best of {options.bench_repeats}"]


def result_lines(result: BuildResult) -> list[str]:
    lines = [f"wheel:             {result.wheel or 'none'}"]
    bench = result.benchmark
    if bench is None:
        return lines
    built = bench["built"]
    lines.append(f"built wheel:       train {built['train_images_per_sec']:.1f} images/s, "
                 f"infer {built['infer_images_per_sec']:.1f} images/s")
    if bench["stock"] is None:
        lines.append(f"stock wheel:       not measured: {bench['stock_error']} (the built wheel's figures alone)")
        return lines
    stock, ratio = bench["stock"], bench["ratio"]
    lines.append(f"stock wheel:       train {stock['train_images_per_sec']:.1f} images/s, "
                 f"infer {stock['infer_images_per_sec']:.1f} images/s ({bench['stock_requirement']})")
    if ratio:
        verdict = bench.get("verdict") or {}
        lines.append(f"built / stock:     train x{ratio['train']:.2f} ({verdict.get('train')}), "
                     f"infer x{ratio['infer']:.2f} ({verdict.get('infer')})")
        if bench.get("repeats", 1) < 2:
            lines.append("note:              one run per wheel: no estimate of run-to-run noise (--bench-repeats)")
    return lines


def json_document(plan: BuildPlan, result: BuildResult | None, dry_run: bool) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "dry_run": dry_run, "source": str(plan.source.path), "tf_version": plan.source.tf_version,
        "bazel_version": plan.source.bazel_version, "cc_opt_flags": " ".join(plan.cc_opt_flags),
        "cpu_flags_allowed": cpuflags.auto_flags(plan.cpu_flags) if plan.cpu_flags is not None else None,
        "cuda_capabilities": plan.capabilities, "jobs": plan.jobs.count, "jobs_reason": plan.jobs.reason,
        "configure_answers": dict(result.configure_given) if result and result.configure_given else
        (plan.configure_env if plan.options.non_interactive else plan.answers),
        "commands": [plan.configure_argv, *plan.commands],
        "prerequisites": [{"name": item.name, "ok": item.ok, "detail": item.detail, "fix": item.fix}
                          for item in plan.prerequisites],
        "snapshot": plan.snapshot,
        "notes": plan.notes, "log": str(plan.log),
        "wheel": str(result.wheel) if result and result.wheel else None,
        "installed": bool(result and result.installed),
        "benchmark": result.benchmark if result else None,
    }


class ConsoleUi:
    """Draws a run on a rich console: the plan, info lines, the bazelrc, and Bazel's progress as a bar."""

    PRINT_EVERY = 10
    """On a non-terminal (a log, CI) one progress line per this many percent, instead of a live bar."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar: tuple[Progress, TaskID] | None = None
        self._last_decile = -1

    def info(self, text: str) -> None:
        # Paths and Bazel's lines come from the tree and the build: their escape sequences are shown, not obeyed.
        self.console.print(printable(text, keep_newlines=False), markup=False, highlight=False, soft_wrap=True)

    def planned(self, plan: BuildPlan) -> None:
        for line in plan_lines(plan):
            self.info(line)

    def bazelrc(self, text: str) -> None:
        self.info(".tf_configure.bazelrc:")
        for line in text.splitlines():
            self.info(f"  {line}")

    def build_started(self, argv: list[str]) -> None:
        self.info(f"$ {shlex.join(argv)}")
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           console=self.console, transient=False)
            self._bar = (bar, bar.add_task("bazel", total=None))
            bar.start()

    def build_line(self, line: str) -> None:
        progress = parse_progress(line)
        if progress is None:
            if line.startswith(("ERROR:", "FAILED:", "Target ")) or (line.startswith("INFO:") and "wheel" in line):
                self.info(line)  # failures and where the output went, as Bazel says them
            return
        if self._bar is not None:
            bar, task = self._bar
            bar.update(task, completed=progress.done, total=progress.total, description=progress.text[:60])
            return
        decile = progress.done * 100 // max(progress.total, 1) // self.PRINT_EVERY
        if decile != self._last_decile:
            self._last_decile = decile
            self.info(f"[{progress.done:,} / {progress.total:,}] {progress.text}")

    def build_finished(self) -> None:
        if self._bar is not None:
            self._bar[0].stop()
        self._bar, self._last_decile = None, -1
