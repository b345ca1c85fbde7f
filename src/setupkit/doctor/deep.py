"""`doctor --deep`: TensorFlow imported for real, in a subprocess with a timeout, its answers turned into facts.

A TensorFlow that dies ("Illegal instruction": SIGILL, exit 132), hangs or fails to import is a finding
(tensorflow.import), never a crash of doctor. The facts it sets are the ``tfprobe.*`` names below; the
catalog's deep checks read them.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from setupkit import process
from setupkit.bounded import BoundError, finite_number, loads_json, printable

DEFAULT_TIMEOUT = 120.0
MAX_TIMEOUT = 24 * 3600.0
"""A timeout past a day is no timeout: it is held to a day, so that the probe is still bounded."""
MAX_OUTPUT = 4 * 1024 * 1024
"""Bytes kept of each stream: TensorFlow's start-up log is a few KiB, its result line less."""
SCRIPT = Path(__file__).with_name("tfprobe_script.py")
MARKER = "SETUPKIT-TFPROBE "
SIGILL_CODES = (-signal.SIGILL, 128 + signal.SIGILL)

DEEP_FACTS: dict[str, str] = {
    "tfprobe.status": "ok | not-installed | import-error | crashed | timeout | no-output (the deep probe's outcome)",
    "tfprobe.error": "what went wrong, in one line (the ImportError, the signal, the timeout)",
    "tfprobe.returncode": "the probe interpreter's exit status (negative: killed by that signal)",
    "tfprobe.python": "the interpreter the probe ran",
    "tfprobe.version": "tf.__version__",
    "tfprobe.built_with_cuda": "tf.test.is_built_with_cuda()",
    "tfprobe.cuda_version": "CUDA of the build (tf.sysconfig.get_build_info()['cuda_version'])",
    "tfprobe.cudnn_version": "cuDNN of the build (tf.sysconfig.get_build_info()['cudnn_version'])",
    "tfprobe.gpus": "GPUs TensorFlow lists (/device:GPU:0 ...)",
    "tfprobe.gpu_count": "how many GPUs TensorFlow lists",
    "tfprobe.gpu_ops_ok": "true when a small matmul ran on every listed GPU",
    "tfprobe.gpu_ops": "per GPU: the device, ok, where the op was placed or the error",
    "tfprobe.cpu_op_ok": "true when the small matmul ran on the CPU",
    "tfprobe.cpu_log": "TensorFlow's CPU-instruction log line, as printed",
    "tfprobe.cpu_instructions": "the instructions that line names (AVX2 FMA ...)",
}
"""The facts only `doctor --deep` sets (None without it)."""

_CPU_LINES = (
    # TF 2.9 and later
    re.compile(r"To enable the following instructions: (?P<isa>[A-Z0-9_ ]+), in other operations"),
    # TF 2.4 to 2.8 (2.4 printed "(oneDNN)to" with no space)
    re.compile(r"\(oneDNN\)\s*to use the following CPU instructions in performance-critical operations:\s+"
               r"(?P<isa>[A-Z0-9_ ]+)"),
    # TF 1.x to about 2.3
    re.compile(r"Your CPU supports instructions that this TensorFlow binary was not compiled to use: "
               r"(?P<isa>[A-Z0-9_ ]+)"),
    # fatal: the binary needs what this CPU lacks
    re.compile(r"The TensorFlow library was compiled to use (?P<isa>[A-Z0-9_.]+) instructions, "
               r"but these aren't available on your machine"),
)


def parse_cpu_log(stderr: str) -> tuple[str | None, list[str] | None]:
    """TensorFlow's CPU-instruction line from its stderr, and the instruction names in it."""
    for pattern in _CPU_LINES:
        match = pattern.search(stderr)
        if match:
            line = _whole_line(stderr, match)
            return line, match.group("isa").split()
    return None, None


def _whole_line(text: str, match: re.Match[str]) -> str:
    """The log message around ``match``, with its companion line (the message spans two lines since TF 2.4)."""
    lines = text.splitlines()
    number = text.count("\n", 0, match.start())
    picked = [lines[number]]
    if number > 0 and "This TensorFlow binary is optimized" in lines[number - 1]:
        picked.insert(0, lines[number - 1])
    if number + 1 < len(lines) and lines[number + 1].startswith("To enable them"):
        picked.append(lines[number + 1])
    return " ".join(_LOG_PREFIX.sub("", line).strip() for line in picked)


_LOG_PREFIX = re.compile(r"^.*?\.cc:\d+\] ")
"""TensorFlow's C++ log prefix: "I0000 00:00:1795770314.005264   10577 cpu_feature_guard.cc:227] "."""


def empty_deep_facts() -> dict[str, Any]:
    return {name: None for name in DEEP_FACTS}


def run_deep_probe(python: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """The tfprobe.* facts from importing TensorFlow in ``python`` (default: this interpreter)."""
    interpreter = python or sys.executable
    seconds = bounded_timeout(timeout)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", PYTHONDONTWRITEBYTECODE="1")
    facts = empty_deep_facts() | {"tfprobe.python": interpreter}
    done = process.run([interpreter, "-c", SCRIPT.read_text(encoding="utf-8")], timeout=seconds,
                       max_output=MAX_OUTPUT, env=env)
    if done.timed_out:
        return facts | _cpu_facts(done.stderr) | {"tfprobe.status": "timeout",
                                                  "tfprobe.error": f"no answer within {seconds:g} s (TensorFlow hangs)"}
    if done.returncode in (process.NOT_INSTALLED, process.NOT_EXECUTABLE) and not done.stdout:
        return facts | {"tfprobe.status": "import-error",
                        "tfprobe.error": f"cannot run {interpreter}: {_last_line(done.stderr)}"}
    return facts | _cpu_facts(done.stderr) | interpret(done.returncode, done.stdout, done.stderr)


def bounded_timeout(timeout: Any) -> float:
    """Seconds the probe may take, whatever number it is given: not a positive finite number (NaN, -5, 0,
    a string) gives the default, more than a day gives a day."""
    seconds = finite_number(timeout)
    if seconds is None or seconds <= 0:
        return DEFAULT_TIMEOUT
    return min(seconds, MAX_TIMEOUT)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return printable(lines[-1][:300], keep_newlines=False) if lines else "no output"


def _cpu_facts(stderr: str) -> dict[str, Any]:
    line, instructions = parse_cpu_log(stderr)
    return {"tfprobe.cpu_log": line, "tfprobe.cpu_instructions": instructions}


def interpret(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """The probe's outcome from its exit status and output (pure: the tests feed it strings)."""
    facts: dict[str, Any] = {"tfprobe.returncode": returncode}
    if returncode in SIGILL_CODES:
        return facts | {"tfprobe.status": "crashed", "tfprobe.error":
                        f"Illegal instruction (exit {returncode}): this TensorFlow needs CPU instructions this CPU lacks"}
    result = _result_line(stdout)
    if returncode < 0 or result is None:
        return facts | {"tfprobe.status": "crashed" if returncode != 0 else "no-output",
                        "tfprobe.error": _failure(returncode, stderr)}
    return facts | _result_facts(result)


def _result_line(stdout: str) -> dict[str, Any] | None:
    """The probe's last result object; None when there is none or it is no JSON object (whatever printed
    it: the interpreter given may be anything)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                result = loads_json(line[len(MARKER):])
            except BoundError:
                return None
            return result if isinstance(result, dict) else None
    return None


def _failure(returncode: int, stderr: str) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-returncode} ({name})"
    return f"exit {returncode}: {_last_line(stderr)}"


def _result_facts(result: dict[str, Any]) -> dict[str, Any]:
    """The facts from the result object, each of the type its checks expect or None (the script writes them
    so; another program's line may not)."""
    gpus = _strings(result.get("gpus"))
    listed_ops = result.get("gpu_ops")
    gpu_ops = [op for op in listed_ops if isinstance(op, dict)] if isinstance(listed_ops, list) else []
    cpu_op = result.get("cpu_op") if isinstance(result.get("cpu_op"), dict) else {}
    status = result.get("status")
    return {
        "tfprobe.status": status if status in ("ok", "not-installed", "import-error") else "no-output",
        "tfprobe.error": _string(result.get("error")),
        "tfprobe.version": _string(result.get("version")),
        "tfprobe.built_with_cuda": _flag(result.get("built_with_cuda")),
        "tfprobe.cuda_version": _string(result.get("cuda_version")),
        "tfprobe.cudnn_version": _string(result.get("cudnn_version")),
        "tfprobe.gpus": gpus,
        "tfprobe.gpu_count": None if gpus is None else len(gpus),
        "tfprobe.gpu_ops": gpu_ops,
        "tfprobe.gpu_ops_ok": all(op.get("ok") is True for op in gpu_ops) if gpus is not None else None,
        "tfprobe.cpu_op_ok": _flag(cpu_op.get("ok")),
    }


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> list[str] | None:
    return value if isinstance(value, list) and all(isinstance(item, str) for item in value) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
