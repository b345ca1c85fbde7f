"""The deep TensorFlow probe: TensorFlow imported for real in a child interpreter, its answers turned into facts.

A TensorFlow that dies ("Illegal instruction": SIGILL, exit 132), hangs or fails to import is a finding
(tensorflow.import), never a crash of doctor. The child (``tensorflow_script.py``'s text, run as
``python -c``) runs through the host's door for probes (``Host.run_probe``): live, on this machine; from a
snapshot, the run the captured machine made, so that `doctor --snapshot S --deep` judges that machine's
TensorFlow. The facts it sets are the ``tfprobe.*`` names of the registry (setupkit.facts).
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path
from typing import Any

from setupkit.bounded import finite_number
from setupkit.facts import FACTS, Facts
from setupkit.host.base import CommandResult, Host
from setupkit.probes.child_answer import answer_line, killed_by, last_line
from setupkit.probes.deep import DEFAULT_TIMEOUT, DeepRequest
from setupkit.process import NOT_EXECUTABLE, NOT_INSTALLED

NAME = "tensorflow"
"""The probe's name in a snapshot's probes.json."""
MAX_TIMEOUT = 24 * 3600.0
"""A timeout past a day is no timeout: it is held to a day, so that the probe is still bounded."""
SCRIPT = Path(__file__).with_name("tensorflow_script.py")
MARKER = "SETUPKIT-TFPROBE "
SIGILL_CODES = (-signal.SIGILL, 128 + signal.SIGILL)
CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "0", "PYTHONDONTWRITEBYTECODE": "1"}
"""Over the user's environment: TensorFlow's full log (its CPU-instruction line is an info message), and no
__pycache__ written into the interpreter's site-packages by the probe."""
NOT_RECORDED = ("this snapshot was taken without --deep, so it holds no TensorFlow import to judge; take one "
                "with `setupkit snapshot --deep`")
FACT_NAMES = tuple(name for name in FACTS if name.startswith("tfprobe."))

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
_LOG_PREFIX = re.compile(r"^.*?\.cc:\d+\] ")
"""TensorFlow's C++ log prefix: "I0000 00:00:1795770314.005264   10577 cpu_feature_guard.cc:227] "."""
_CUT_AFTER = re.compile(r"timed out after ([0-9]{1,9}(?:\.[0-9]{1,9})?)s\Z")
"""How setupkit.process ends the stderr of a program its timeout cut: the seconds that run really had."""


def probe(host: Host, request: DeepRequest) -> Facts:
    """The tfprobe.* facts from importing TensorFlow in ``request.python`` (default: this interpreter)."""
    interpreter = request.python or sys.executable
    seconds = bounded_timeout(request.timeout)
    argv = [interpreter, "-c", SCRIPT.read_text(encoding="utf-8")]
    done = host.run_probe(NAME, argv, seconds, env=CHILD_ENV)
    if done is None:
        return empty_probe_facts() | {"tfprobe.status": "not-recorded", "tfprobe.error": NOT_RECORDED}
    return outcome(done, seconds)


def empty_probe_facts() -> Facts:
    return {name: None for name in FACT_NAMES}


def outcome(done: CommandResult, seconds: float) -> Facts:
    """The facts from the child's run, live or recorded: ``seconds`` is the timeout asked for, used only where
    the run does not say the one it had."""
    interpreter = done.argv[0]  # the captured machine's, read from a snapshot
    facts = empty_probe_facts() | {"tfprobe.python": interpreter}
    if done.returncode is None:  # cut by its timeout
        had = _timeout_had(done.stderr, seconds)
        return facts | _cpu_facts(done.stderr) | {"tfprobe.status": "timeout",
                                                  "tfprobe.error": f"no answer within {had:g} s (TensorFlow hangs)"}
    if done.returncode in (NOT_INSTALLED, NOT_EXECUTABLE) and not done.stdout:
        return facts | {"tfprobe.status": "import-error",
                        "tfprobe.error": f"cannot run {interpreter}: {last_line(done.stderr)}"}
    return facts | _cpu_facts(done.stderr) | interpret(done.returncode, done.stdout, done.stderr)


def bounded_timeout(timeout: Any) -> float:
    """Seconds the probe may take, whatever number it is given: not a positive finite number (NaN, -5, 0,
    a string) gives the default, more than a day gives a day."""
    seconds = finite_number(timeout)
    if seconds is None or seconds <= 0:
        return DEFAULT_TIMEOUT
    return min(seconds, MAX_TIMEOUT)


def _timeout_had(stderr: str, asked: float) -> float:
    """The timeout the run was cut by (a snapshot's may differ from the one asked for here)."""
    match = _CUT_AFTER.search(stderr.rstrip())
    return bounded_timeout(float(match.group(1))) if match else asked


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


def _cpu_facts(stderr: str) -> Facts:
    line, instructions = parse_cpu_log(stderr)
    return {"tfprobe.cpu_log": line, "tfprobe.cpu_instructions": instructions}


def interpret(returncode: int, stdout: str, stderr: str) -> Facts:
    """The probe's outcome from its exit status and output (pure: the tests feed it strings)."""
    facts: Facts = {"tfprobe.returncode": returncode}
    if returncode in SIGILL_CODES:
        return facts | {"tfprobe.status": "crashed",
                        "tfprobe.error": f"Illegal instruction (exit {returncode}): this TensorFlow needs CPU "
                                         f"instructions this CPU lacks"}
    result = answer_line(stdout, MARKER)
    if returncode < 0 or result is None:
        return facts | {"tfprobe.status": "crashed" if returncode != 0 else "no-output",
                        "tfprobe.error": _failure(returncode, stderr)}
    return facts | _result_facts(result)


def _failure(returncode: int, stderr: str) -> str:
    return killed_by(returncode) if returncode < 0 else f"exit {returncode}: {last_line(stderr)}"


def _result_facts(result: dict[str, Any]) -> Facts:
    """The facts from the result object, each of the type its checks expect or None (the script writes them
    so; another program's line may not)."""
    gpus = _strings(result.get("gpus"))
    listed_ops = result.get("gpu_ops")
    gpu_ops = [op for op in listed_ops if isinstance(op, dict)] if isinstance(listed_ops, list) else []
    found_cpu_op = result.get("cpu_op")
    cpu_op = found_cpu_op if isinstance(found_cpu_op, dict) else {}
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
