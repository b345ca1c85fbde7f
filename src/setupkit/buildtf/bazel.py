"""The Bazel build: the command for each TensorFlow version, its progress lines, Ctrl-C, and the wheel it leaves."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from setupkit.buildtf.log import BuildLog
from setupkit.buildtf.tested import WHEEL_TARGET_SINCE
from setupkit.errors import ActionFailed

PIP_PACKAGE = "//tensorflow/tools/pip_package"
WHEEL_HOUSE = Path("bazel-bin/tensorflow/tools/pip_package/wheel_house")
BUILD_PIP_PACKAGE = "./bazel-bin/tensorflow/tools/pip_package/build_pip_package"

INTERRUPT_GRACE = 30.0
"""Seconds Bazel gets to cancel its actions after SIGINT before it is terminated."""

_PROGRESS = re.compile(r"^\s*\[(\d[\d,]*) / (\d[\d,]*)\]\s*(.*?)\s*$")


def build_commands(bazel: str, minor: tuple[int, int], cuda: bool, jobs: int, output_dir: Path) -> list[list[str]]:
    """The Bazel command (and, before 2.17, the packaging script) for this TensorFlow (tensorflow/docs source.md)."""
    if minor >= WHEEL_TARGET_SINCE:
        wheel_name = "tensorflow" if cuda else "tensorflow_cpu"
        cuda_configs = ["--config=cuda", "--config=cuda_wheel"] if cuda else []
        return [[bazel, "build", f"{PIP_PACKAGE}:wheel", "--repo_env=USE_PYWRAP_RULES=1",
                 f"--repo_env=WHEEL_NAME={wheel_name}", "--config=opt", *cuda_configs, f"--jobs={jobs}"]]
    cuda_configs = ["--config=cuda"] if cuda else []
    return [[bazel, "build", "--config=opt", *cuda_configs, f"--jobs={jobs}", f"{PIP_PACKAGE}:build_pip_package"],
            [BUILD_PIP_PACKAGE, str(output_dir)]]


@dataclass(frozen=True)
class Progress:
    """One "[N / M] what" line of Bazel's: N actions done of M known so far."""

    done: int
    total: int
    text: str


def parse_progress(line: str) -> Progress | None:
    """'[1,234 / 5,678] Compiling x.cc; 3s local' -> Progress(1234, 5678, 'Compiling x.cc; 3s local').

    A line that redraws itself with carriage returns counts by its last drawing.
    """
    drawings = [part for part in line.split("\r") if part.strip()]
    match = _PROGRESS.match(drawings[-1]) if drawings else None
    if not match:
        return None
    number = lambda text: int(text.replace(",", ""))  # noqa: E731
    return Progress(number(match.group(1)), number(match.group(2)), match.group(3))


def stop_process_group(process: subprocess.Popen, grace: float = INTERRUPT_GRACE) -> None:
    """Ctrl-C for a process in its own group: SIGINT (Bazel cancels cleanly), then SIGTERM, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def stream(argv: list[str], cwd: Path, log: BuildLog, on_line: Callable[[str], None]) -> int:
    """Run one build step, every line to the log and to ``on_line``; its exit status.

    The step runs in a session of its own so that the terminal's Ctrl-C reaches only setupkit, which then
    stops the step's whole process group itself (Bazel's client and what it started) and re-raises.
    """
    log.section("$ " + " ".join(argv))
    try:
        process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
    except OSError as error:
        raise ActionFailed(f"could not start {argv[0]}: {error.strerror}; log: {log.path}") from error
    try:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, ""):
            log.write(line)
            on_line(line.rstrip("\n"))
        return process.wait()
    except KeyboardInterrupt:
        log.write("\n[setupkit] interrupted: SIGINT sent to the build's process group\n")
        stop_process_group(process)
        raise


def find_wheel(source: Path, output_dir: Path, minor: tuple[int, int]) -> Path | None:
    """The newest wheel where this version's build leaves it, or None."""
    folder = source / WHEEL_HOUSE if minor >= WHEEL_TARGET_SINCE else output_dir
    wheels = sorted(folder.glob("*.whl"), key=lambda path: path.stat().st_mtime)
    return wheels[-1] if wheels else None
