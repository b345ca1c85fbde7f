"""The build plan: every choice made before anything runs, so that --dry-run and the real run share it.

The plan is made from the options and from what the host says of the machine the build is for (``Machine``):
its facts, its free disk and its Python. With a snapshot that machine is the captured one, and nothing about it
is read from this machine instead.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from setupkit import dialog
from setupkit.bounded import ascii_int
from setupkit.buildtf import configure, cpuflags, prereqs, releases
from setupkit.buildtf.bazel import build_commands
from setupkit.buildtf.interpreter import Interpreter
from setupkit.buildtf.log import LOG_FIX, default_log_path, log_problem
from setupkit.buildtf.measure import BENCH_SCRIPT
from setupkit.buildtf.prereqs import Prerequisite
from setupkit.buildtf.source import TfSource, read_source
from setupkit.errors import UsageError
from setupkit.facts import Facts
from setupkit.knowledge import tensorflow

MAX_JOBS = 5000
"""Bazel refuses --jobs above 5000."""
MAX_BENCH_STEPS = 100_000
MAX_BENCH_BATCH = 65_536
MAX_BENCH_REPEATS = 20
"""Bounds that keep the benchmark within its timeout and memory; a comparison wants a few repeats, not more."""
MAX_CAPABILITIES = 32
_CAPABILITY = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}[af]?|(?:sm|compute)_[0-9]{2,3}[af]?")
"""What configure takes: "x.y", or "sm_xy" / "compute_xy" (a or f: the arch-specific variants of CUDA 12.8+)."""
CAPABILITIES_FIX = "give --cuda-capabilities 8.9,9.0 (https://developer.nvidia.com/cuda-gpus)"


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """What the user asked for on the command line."""

    source: Path
    cpu_flags: str = "native"
    cuda: bool = False
    cuda_capabilities: str | None = None
    jobs: int | None = None
    non_interactive: bool = False
    install: bool = True
    venv: Path = Path("tf-native-venv")
    stock_venv: Path = Path("tf-stock-venv")
    log: Path | None = None
    output_dir: Path = Path("/tmp/tensorflow_pkg")
    python: str | None = None
    """None: the interpreter setupkit runs in on that host."""
    min_free_gb: float = prereqs.MIN_FREE_GB
    bench_steps: int = 50
    bench_batch_size: int = 128
    bench_repeats: int = 2
    bench_script: Path = BENCH_SCRIPT


@dataclass(frozen=True)
class Machine:
    """What the host says of the machine the build is for: this one, or the one a snapshot captured."""

    facts: Facts
    python: Interpreter
    free_bytes: Callable[[str], int | None]
    """Free disk at a path of that machine, None when unknown."""
    snapshot: str | None = None
    """The snapshot read instead of this machine: what it does not tell is unknown, not missing."""


@dataclass
class BuildPlan:
    options: BuildOptions
    source: TfSource
    python: Interpreter
    cpu_flags: set[str] | None
    cc_opt_flags: list[str]
    capabilities: str | None
    jobs: prereqs.Jobs
    choices: configure.ConfigureChoices
    answers: dict[str, str]
    configure_env: dict[str, str]
    commands: list[list[str]]
    prerequisites: list[Prerequisite]
    notes: list[str] = field(default_factory=list)
    log: Path = Path()
    snapshot: str | None = None

    @property
    def missing(self) -> list[Prerequisite]:
        return [prerequisite for prerequisite in self.prerequisites if prerequisite.missing]

    @property
    def configure_argv(self) -> list[str]:
        return ["./configure"]


def _absolute(path: Path) -> Path:
    """``path`` made absolute, ~ expanded where it can be (os.path.expanduser never raises, Path's does)."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def absolute_paths(options: BuildOptions) -> BuildOptions:
    """The options with every path absolute, once: what the plan shows is what the build uses."""
    return dataclasses.replace(options, source=_absolute(options.source), venv=_absolute(options.venv),
                               stock_venv=_absolute(options.stock_venv), output_dir=_absolute(options.output_dir),
                               log=_absolute(options.log) if options.log is not None else None)


def _in_range(name: str, value: int | None, low: int, high: int, what: str) -> None:
    if value is not None and not low <= value <= high:
        raise UsageError(f"{name} {value} is out of range", hint=f"give {what} from {low} to {high:,}")


def validate_options(options: BuildOptions) -> None:
    """Exit 2, in one line and its fix, for a value no build can use; before anything is read or run."""
    _in_range("--jobs", options.jobs, 1, MAX_JOBS, "a number of Bazel jobs")
    _in_range("--bench-steps", options.bench_steps, 1, MAX_BENCH_STEPS, "a number of steps")
    _in_range("--bench-batch-size", options.bench_batch_size, 1, MAX_BENCH_BATCH, "a batch size")
    _in_range("--bench-repeats", options.bench_repeats, 1, MAX_BENCH_REPEATS, "a number of runs per wheel")
    if not math.isfinite(options.min_free_gb) or options.min_free_gb < 0:
        raise UsageError(f"--min-free-gb {options.min_free_gb} is not an amount of disk",
                         hint="give a number of GB, 0 or more")
    cpuflags.check_mode(options.cpu_flags)
    if options.cuda_capabilities is not None:
        _capability_list(options.cuda_capabilities)
    python = options.python
    if python is not None and (not python or len(python) > dialog.MAX_ANSWER or "\n" in python or "\r" in python):
        raise UsageError(f"--python {dialog.clip(python, 80)!r} is not a program path",
                         hint="give the path of a Python interpreter")


def _capability_list(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    bad = next((part for part in parts if not _CAPABILITY.fullmatch(part)), None)
    if not parts or bad is not None or len(parts) > MAX_CAPABILITIES:
        shown = dialog.clip(bad if bad is not None else text, 40)
        raise UsageError(f"--cuda-capabilities {shown!r} is not a list of compute capabilities",
                         hint=f"give up to {MAX_CAPABILITIES} compute capabilities as X.Y (or sm_XY), "
                              "comma-separated: 8.9,9.0 (https://developer.nvidia.com/cuda-gpus)")
    return list(dict.fromkeys(parts))


def _capability_order(text: str) -> tuple[int, int, str]:
    """'8.6' and 'sm_86' both as (8, 6), then by their text: the same order on every run."""
    digits = re.findall(r"[0-9]+", text)
    major = ascii_int(digits[0]) or 0
    number = (major, ascii_int(digits[1]) or 0) if len(digits) > 1 else divmod(major, 10)
    return (*number, text)


def capabilities_for(cuda: bool, asked: str | None, facts: Facts) -> str | None:
    """The compute capabilities to build for: as asked, else those of the GPUs present; required with --cuda."""
    if not cuda:
        return None
    if asked is not None:
        return ",".join(_capability_list(asked))
    present = facts.get("gpu.compute_capabilities") or []
    values = present if isinstance(present, list) else []
    found = sorted({str(value) for value in values if _CAPABILITY.fullmatch(str(value))}, key=_capability_order)
    if not found:
        raise UsageError("--cuda needs the GPUs' compute capabilities and none is known (no GPU, or no driver "
                         "answered)", hint=CAPABILITIES_FIX)
    return ",".join(found)


def _notes(source: TfSource, python: Interpreter, flags: list[str], cpu_flags: set[str] | None) -> list[str]:
    notes = []
    build = tensorflow.tested_build(source.tf_version)
    if build is None:
        notes.append(f"TF {source.tf_version} is not in TensorFlow's tested-configurations table")
    else:
        notes.append(f"TF {source.tf_version} is tested with Python {build.python}, {build.compiler}, "
                     f"Bazel {build.bazel}")
        if python.version and not build.runs_on(python.version):
            notes.append(f"Python {python.version} ({python.path}) is outside TF {source.tf_version}'s "
                         f"{build.python}: the build may fail")
    if source.minor < releases.OLDEST_KNOWN_CONFIGURE:
        notes.append("this configure is older than 2.11: a prompt setupkit does not know stops the run")
    lacking = cpuflags.flags_this_cpu_lacks(flags, cpu_flags)
    if lacking:
        notes.append(f"this CPU lacks {' '.join(lacking)}: the wheel will not run on this machine")
    if cpu_flags is not None and "avx" not in cpu_flags:
        notes.append("this CPU has no AVX: official wheels need it (since TF 1.6), so a source build is its only way")
    return notes


def check_log(log: Path) -> Prerequisite:
    problem = log_problem(log)
    return Prerequisite("log", problem is None, problem or f"{log} is writable", LOG_FIX)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _toolchain_prerequisites(machine: Machine, source: TfSource, options: BuildOptions) -> list[Prerequisite]:
    """Bazel, the compiler, the headers and the disk: what the host says, on a snapshot never this machine."""
    facts, snapshot = machine.facts, machine.snapshot is not None
    build = tensorflow.tested_build(source.tf_version)
    disks = (("the source tree", str(source.path)), ("Bazel's output root", prereqs.BAZEL_OUTPUT_ROOT))
    return [
        prereqs.check_bazel(_text(facts.get("toolchain.bazel")), source.bazel_version, snapshot),
        prereqs.check_compiler(_text(facts.get("toolchain.clang")), _text(facts.get("toolchain.gcc")),
                               build.compiler if build else None, snapshot),
        prereqs.check_python_headers(machine.python, snapshot),
        *(prereqs.check_disk(label, path, machine.free_bytes(path), options.min_free_gb, snapshot)
          for label, path in disks),
    ]


def _folder_prerequisites(machine: Machine, source: TfSource, options: BuildOptions,
                          log: Path) -> list[Prerequisite]:
    """The log and the folders the build writes into, on this machine's filesystem: the hour of compiling must
    not end on a log that cannot be written or a venv folder that is someone's files. For a snapshot's machine
    they are unknown: this machine's folders say nothing about that one's."""
    checks: list[tuple[str, str, Callable[[], Prerequisite]]] = [("log", f"the log {log}", partial(check_log, log))]
    if source.minor < releases.WHEEL_TARGET_SINCE:
        checks.append(("--output-dir", f"--output-dir {options.output_dir}",
                       partial(prereqs.check_output_folder, "--output-dir", options.output_dir)))
    if options.install:
        checks += [(f"venv:{label}", f"{label} {venv}", partial(prereqs.check_venv_target, label, venv))
                   for label, venv in (("--venv", options.venv), ("--stock-venv", options.stock_venv))]
    if machine.snapshot is not None:
        return [prereqs.unknown_in_snapshot(name, what) for name, what, _ in checks]
    return [check() for _, _, check in checks]


def check_prerequisites(options: BuildOptions, source: TfSource, machine: Machine, log: Path) -> list[Prerequisite]:
    """Everything the build needs, checked before it starts."""
    found = [prereqs.check_configure(source.path), *_toolchain_prerequisites(machine, source, options),
             *_folder_prerequisites(machine, source, options, log)]
    if options.install:
        found.append(prereqs.check_venv_module(machine.python, machine.snapshot is not None))
        if not options.bench_script.is_file():
            found.append(Prerequisite("benchmark", False, f"the benchmark script {options.bench_script} is missing",
                                      "reinstall setupkit, or use --no-install"))
    return found


def make_plan(options: BuildOptions, machine: Machine) -> BuildPlan:
    """Every choice of the build, from the options and what the host says of the machine it is for."""
    validate_options(options)
    options = absolute_paths(options)
    source = read_source(options.source)
    facts = machine.facts
    cpu_flags = cpuflags.normalise_cpu_flags(facts.get("cpu.flags"))
    flags = cpuflags.cc_opt_flags(options.cpu_flags, cpu_flags)
    capabilities = capabilities_for(options.cuda, options.cuda_capabilities, facts)
    jobs = prereqs.choose_jobs(_count(facts.get("cpu.count")), _count(facts.get("host.memory_mib")), options.jobs)
    choices = configure.ConfigureChoices(python=machine.python.path, cuda=options.cuda, capabilities=capabilities,
                                         clang=_text(facts.get("toolchain.clang")),
                                         gcc=_text(facts.get("toolchain.gcc")), cc_opt_flags=" ".join(flags),
                                         hermetic_cuda=source.minor >= releases.HERMETIC_CUDA_SINCE)
    commands = build_commands(_text(facts.get("toolchain.bazel")) or "bazelisk", source.minor, options.cuda,
                              jobs.count, options.output_dir)
    log = options.log or default_log_path(source.path)
    return BuildPlan(options=options, source=source, python=machine.python, cpu_flags=cpu_flags,
                     cc_opt_flags=flags, capabilities=capabilities, jobs=jobs, choices=choices,
                     answers=configure.expected_answers(choices), configure_env=configure.configure_env(choices),
                     commands=commands, prerequisites=check_prerequisites(options, source, machine, log),
                     notes=_notes(source, machine.python, flags, cpu_flags), log=log, snapshot=machine.snapshot)


def _count(value: object) -> int | None:
    return value if type(value) is int else None
