"""The Bazel build: the command for each TensorFlow version, its progress lines, Ctrl-C, and the wheel it leaves."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from setupkit import process
from setupkit.buildtf.log import BuildLog
from setupkit.buildtf.releases import WHEEL_TARGET_SINCE
from setupkit.errors import ActionFailed

PIP_PACKAGE = "//tensorflow/tools/pip_package"
WHEEL_HOUSE = Path("bazel-bin/tensorflow/tools/pip_package/wheel_house")
BUILD_PIP_PACKAGE = "./bazel-bin/tensorflow/tools/pip_package/build_pip_package"

INTERRUPT_GRACE = 30.0
"""Seconds Bazel gets to cancel its actions after SIGINT before it is terminated."""
BUILD_TIMEOUT = 48 * 3600.0
"""A bound, not a budget: TensorFlow takes hours to build on a small machine, never two days."""
MAX_LOG_BYTES = 2 * 1024**3
"""Bytes of one step's output written to the log: a TensorFlow build prints tens of MB, warnings included."""
MAX_LINE = 64 * 1024
"""Characters of one unfinished line held for the progress display."""

_PROGRESS = re.compile(r"^\s*\[([0-9][0-9,]{0,20}) / ([0-9][0-9,]{0,20})\]\s*(.*?)\s*$")


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


class Lines:
    """Output chunks cut into lines for ``on_line``. A line that never ends (a progress line redrawn with
    carriage returns) is kept from its last drawing, within MAX_LINE characters."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line, self.partial = on_line, ""

    def feed(self, chunk: str) -> None:
        *complete, self.partial = (self.partial + chunk).split("\n")
        for line in complete:
            self.on_line(line.rstrip("\r"))
        if len(self.partial) > MAX_LINE:
            self.partial = self.partial.rpartition("\r")[2][-MAX_LINE:]

    def close(self) -> None:
        if self.partial:
            self.on_line(self.partial.rstrip("\r"))
        self.partial = ""


def stream(argv: list[str], cwd: Path, log: BuildLog, on_line: Callable[[str], None]) -> int:
    """Run one build step, every line to the log and to ``on_line``; its exit status.

    The step runs in a session of its own (process.run), so the terminal's Ctrl-C reaches only setupkit; on
    Ctrl-C or SIGTERM its group gets SIGINT (Bazel cancels its actions) and INTERRUPT_GRACE seconds before it
    is killed, then the interruption goes on. Nothing of the output is held in memory: it goes to the log.
    """
    log.section("$ " + " ".join(argv))
    lines = Lines(on_line)
    # process.run looks a program up from setupkit's own folder: ./bazel-bin/... is the tree's.
    program = str(cwd / argv[0]) if argv[0].startswith("./") else argv[0]

    def take(chunk: str) -> None:
        log.write(chunk)
        lines.feed(chunk)

    try:
        done = process.run([program, *argv[1:]], cwd=str(cwd), timeout=BUILD_TIMEOUT, max_output=MAX_LOG_BYTES,
                           merge_stderr=True, on_output=take, keep_output=False, on_interrupt="wait",
                           interrupt_grace=INTERRUPT_GRACE, interrupt_signal=signal.SIGINT)
    except KeyboardInterrupt as error:
        _note_interruption(log, getattr(error, "signal_name", "SIGINT"))
        raise
    lines.close()
    return _status(done, argv, log)


def _note_interruption(log: BuildLog, signal_name: str) -> None:
    try:
        log.write(f"\n[setupkit] interrupted ({signal_name}): the build's process group was sent SIGINT, "
                  "then stopped\n")
    except ActionFailed:
        pass  # a log that cannot be written does not turn an interruption into a failure


def _status(done: process.Completed, argv: list[str], log: BuildLog) -> int:
    """The step's exit status; a step that could not start, ran past its bound or was killed is exit 4 here."""
    step = " ".join(argv[:2])
    if done.returncode in (process.NOT_INSTALLED, process.NOT_EXECUTABLE) and done.stderr:
        log.write(done.stderr + "\n")
        raise ActionFailed(f"could not start {argv[0]} ({done.stderr.strip()}); log: {log.path}")
    if done.returncode is None:  # cut by its timeout
        raise ActionFailed(f"{step} was still running after {BUILD_TIMEOUT / 3600:g} h and was stopped; "
                           f"log: {log.path}")
    if done.signal_name:
        raise ActionFailed(f"{step} was killed by {done.signal_name}; log: {log.path}")
    if done.truncated:
        log.write(f"\n[setupkit] the log was cut at {MAX_LOG_BYTES:,} bytes of output\n")
    return done.returncode


def find_wheel(source: Path, output_dir: Path, minor: tuple[int, int]) -> Path | None:
    """The newest wheel where this version's build leaves it, or None."""
    folder = source / WHEEL_HOUSE if minor >= WHEEL_TARGET_SINCE else output_dir
    wheels = []
    for path in folder.glob("*.whl"):
        try:
            if path.is_file():
                wheels.append((path.stat().st_mtime, path))
        except OSError:
            continue  # gone or unreadable since the listing: not the wheel we want
    return max(wheels)[1] if wheels else None
