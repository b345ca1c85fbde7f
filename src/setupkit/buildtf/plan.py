"""The build plan: every choice made before anything runs, so that --dry-run and the real run share it."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from setupkit import exitcodes
from setupkit.buildtf import configure, cpuflags, prereqs, tested
from setupkit.buildtf.bazel import build_commands
from setupkit.buildtf.log import default_log_path
from setupkit.buildtf.measure import BENCH_SCRIPT
from setupkit.buildtf.source import TfSource, read_source
from setupkit.errors import SetupkitError
from setupkit.facts import Facts


@dataclass(frozen=True)
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
    python: str = sys.executable
    min_free_gb: float = prereqs.MIN_FREE_GB
    bench_steps: int = 50
    bench_batch_size: int = 128
    bench_repeats: int = 2
    bench_script: Path = BENCH_SCRIPT


@dataclass
class BuildPlan:
    options: BuildOptions
    source: TfSource
    cpu_flags: set[str] | None
    cc_opt_flags: list[str]
    capabilities: str | None
    jobs: prereqs.Jobs
    choices: configure.Choices
    answers: dict[str, str]
    configure_env: dict[str, str]
    commands: list[list[str]]
    findings: list[prereqs.Finding]
    notes: list[str] = field(default_factory=list)
    log: Path = Path()

    @property
    def missing(self) -> list[prereqs.Finding]:
        return [finding for finding in self.findings if not finding.ok]

    @property
    def configure_argv(self) -> list[str]:
        return ["./configure"]


def capabilities_for(cuda: bool, asked: str | None, facts: Facts) -> str | None:
    """The compute capabilities to build for: as asked, else those of the GPUs present; required with --cuda."""
    if not cuda:
        return None
    if asked:
        return ",".join(part.strip() for part in asked.split(",") if part.strip())
    present = facts.get("gpu.compute_capabilities") or []
    found = sorted({str(value) for value in present if value}, key=lambda text: tuple(map(int, text.split("."))))
    if not found:
        raise SetupkitError("--cuda needs the GPUs' compute capabilities and none was found on this machine: "
                            "give --cuda-capabilities 8.9,9.0 (https://developer.nvidia.com/cuda-gpus)",
                            exitcodes.USAGE)
    return ",".join(found)


def _python_version(python: str) -> str | None:
    if python == sys.executable:
        return platform.python_version()
    try:
        done = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _notes(source: TfSource, options: BuildOptions, flags: list[str], cpu_flags: set[str] | None) -> list[str]:
    notes = []
    build = tested.tested_for(source.minor)
    if build is None:
        notes.append(f"TF {source.tf_version} is not in TensorFlow's tested-configurations table")
    else:
        notes.append(f"TF {source.tf_version} is tested with Python {build['python']}, {build['compiler']}, "
                     f"Bazel {build['bazel']}")
        version = _python_version(options.python)
        if version and not tested.python_in_range(version, source.tf_version):
            notes.append(f"Python {version} ({options.python}) is outside TF {source.tf_version}'s "
                         f"{build['python']}: the build may fail")
    if source.minor < tested.OLDEST_KNOWN_CONFIGURE:
        notes.append("this configure is older than 2.11: a prompt setupkit does not know stops the run")
    lacking = cpuflags.flags_this_cpu_lacks(flags, cpu_flags)
    if lacking:
        notes.append(f"this CPU lacks {' '.join(lacking)}: the wheel will not run on this machine")
    if cpu_flags is not None and "avx" not in cpu_flags:
        notes.append("this CPU has no AVX: official wheels need it (since TF 1.6), so a source build is its only way")
    return notes


def check_prerequisites(options: BuildOptions, source: TfSource, tools: prereqs.Toolchain,
                        disk_usage: Callable = shutil.disk_usage) -> list[prereqs.Finding]:
    build = tested.tested_for(source.minor)
    findings = [
        prereqs.check_bazel(tools, source.bazel_version),
        prereqs.check_compiler(tools, build["compiler"] if build else None),
        prereqs.check_python_headers(options.python, prereqs.python_include(options.python)),
        prereqs.check_disk("the source tree", source.path, options.min_free_gb, disk_usage),
        prereqs.check_disk("Bazel's output root", prereqs.BAZEL_OUTPUT_ROOT, options.min_free_gb, disk_usage),
    ]
    if options.install:
        findings.append(prereqs.check_venv_module(options.python))
        if not options.bench_script.is_file():
            findings.append(prereqs.Finding("benchmark", False, f"the benchmark script {options.bench_script} is "
                                            "missing", "reinstall setupkit, or use --no-install"))
    return findings


def make_plan(options: BuildOptions, facts: Facts, tools: prereqs.Toolchain,
              disk_usage: Callable = shutil.disk_usage) -> BuildPlan:
    """Every choice of the build, from the options, the facts about this host and the tools on PATH."""
    source = read_source(options.source)
    cpu_flags = cpuflags.normalise_cpu_flags(facts.get("cpu.flags"))
    flags = cpuflags.cc_opt_flags(options.cpu_flags, cpu_flags)
    capabilities = capabilities_for(options.cuda, options.cuda_capabilities, facts)
    jobs = prereqs.choose_jobs(facts.get("cpu.count"), facts.get("host.memory_mib"), options.jobs)
    choices = configure.Choices(python=options.python, cuda=options.cuda, capabilities=capabilities,
                                clang=tools.clang, gcc=tools.gcc, cc_opt_flags=" ".join(flags),
                                hermetic_cuda=source.minor >= tested.HERMETIC_CUDA_SINCE)
    commands = build_commands(tools.bazel or "bazelisk", source.minor, options.cuda, jobs.count,
                              options.output_dir.expanduser().resolve())
    return BuildPlan(options=options, source=source, cpu_flags=cpu_flags, cc_opt_flags=flags,
                     capabilities=capabilities, jobs=jobs, choices=choices,
                     answers=configure.expected_answers(choices), configure_env=configure.configure_env(choices),
                     commands=commands, findings=check_prerequisites(options, source, tools, disk_usage),
                     notes=_notes(source, options, flags, cpu_flags),
                     log=(options.log or default_log_path(source.path)).expanduser().resolve())
