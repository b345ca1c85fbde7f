"""`doctor --deep`: TensorFlow imported for real, in a subprocess with a timeout, its answers turned into facts.

A TensorFlow that dies ("Illegal instruction": SIGILL, exit 132), hangs or fails to import is a finding
(tensorflow.import), never a crash of doctor. The facts it sets are the ``tfprobe.*`` names below; the
catalog's deep checks read them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 120.0
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
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", PYTHONDONTWRITEBYTECODE="1")
    facts = empty_deep_facts() | {"tfprobe.python": interpreter}
    try:
        done = subprocess.run([interpreter, "-c", SCRIPT.read_text(encoding="utf-8")], capture_output=True,
                              text=True, errors="replace", timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        stderr = _text(expired.stderr)
        return facts | _cpu_facts(stderr) | {"tfprobe.status": "timeout",
                                             "tfprobe.error": f"no answer within {timeout:g} s (TensorFlow hangs)"}
    except OSError as error:
        return facts | {"tfprobe.status": "import-error", "tfprobe.error": f"cannot run {interpreter}: {error}"}
    return facts | _cpu_facts(done.stderr) | interpret(done.returncode, done.stdout, done.stderr)


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


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
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                return json.loads(line[len(MARKER):])
            except json.JSONDecodeError:
                return None
    return None


def _failure(returncode: int, stderr: str) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-returncode} ({name})"
    last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["no output"]
    return f"exit {returncode}: {last[0][:300]}"


def _result_facts(result: dict[str, Any]) -> dict[str, Any]:
    gpu_ops = result.get("gpu_ops") or []
    gpus = result.get("gpus")
    return {
        "tfprobe.status": result.get("status"),
        "tfprobe.error": result.get("error"),
        "tfprobe.version": result.get("version"),
        "tfprobe.built_with_cuda": result.get("built_with_cuda"),
        "tfprobe.cuda_version": result.get("cuda_version"),
        "tfprobe.cudnn_version": result.get("cudnn_version"),
        "tfprobe.gpus": gpus,
        "tfprobe.gpu_count": None if gpus is None else len(gpus),
        "tfprobe.gpu_ops": gpu_ops,
        "tfprobe.gpu_ops_ok": all(op.get("ok") for op in gpu_ops) if gpus is not None else None,
        "tfprobe.cpu_op_ok": (result.get("cpu_op") or {}).get("ok"),
    }
