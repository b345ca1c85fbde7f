"""Level-2 measurements (`doctor --level 2`, `snapshot --level 2`): what the verbs ask (``MeasureRequest``, from
``--level``) and what the children measured (``Measurements``).

Each device is measured by its own child (``measure_script.py``'s text, run as ``python -c``) through the host's
door for probes (``Host.run_probe``), with a timeout: a crash, a hang or garbage on stdout is an outcome, never
an exception. Live, that runs on this machine; from a snapshot, it answers with the runs the captured machine
made (probes.json, by the names ``measure-cpu``, ``measure-gpu0`` ...), so that `doctor --snapshot S --level 2`
judges that machine's figures. What the verdict also needs of the CPU (its cores, clock and load) is read
through the host as well, so a snapshot carries it too.

Measurements are not facts: they are big, they are only there at level 2, and the findings carry them
(``measured`` / ``expected``), so the fact namespace stays the same whatever the level.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from setupkit.bounded import finite_number, printable
from setupkit.errors import UsageError
from setupkit.facts import Facts
from setupkit.host.base import CommandResult, Host
from setupkit.probes.child_answer import answer_line, killed_by, last_line
from setupkit.process import NOT_EXECUTABLE, NOT_INSTALLED

LEVELS = ("1", "2")
LEVEL_HINT = "give 1 (read the host) or 2 (also measure the CPU and every GPU)"
DEFAULT_BUDGET = 20.0
"""Seconds of measuring a device may take: its child is cut GRACE seconds after, so under 30 s a device."""
GRACE = 9.0
"""Seconds past the budget for the child to start and import its framework (torch takes a few)."""
MAX_GPUS = 64
SCRIPT = Path(__file__).with_name("measure_script.py")
MARKER = "SETUPKIT-MEASURE "
CPU_PROBE = "measure-cpu"
CHILD_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
             # JAX takes three quarters of the card's memory at start unless told not to.
             "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
NOT_RECORDED = ("this snapshot was taken without --level 2, so it holds no measurement; take one with "
                "`setupkit snapshot --level 2`")
MAX_FIGURE = 1e9
"""No measurement setupkit makes reaches a billion of its unit: a figure past it is garbage."""
_CUT_AFTER = re.compile(r"timed out after ([0-9]{1,9}(?:\.[0-9]{1,9})?)s\Z")

Progress = Callable[[str], None]


def gpu_probe(index: int) -> str:
    return f"measure-gpu{index}"


@dataclass(frozen=True)
class MeasureRequest:
    """Measure the CPU and/or the GPUs, each within ``budget`` seconds (its child cut GRACE s later)."""

    budget: float = DEFAULT_BUDGET
    cpu: bool = True
    gpus: bool = True

    @property
    def timeout(self) -> float:
        return self.budget + GRACE


def parse_level(text: Any) -> int:
    """--level "2" -> 2; anything but 1 or 2: exit 2, one line."""
    if isinstance(text, str) and text.strip() in LEVELS:
        return int(text.strip())
    shown = printable(str(text)[:40], keep_newlines=False) or "''"
    raise UsageError(f"--level {shown} is not a level of doctor", hint=LEVEL_HINT)


@dataclass(frozen=True)
class DeviceRun:
    """One child's outcome. ``status``: ok | not-installed | import-error | no-framework | crashed | timeout |
    no-output | not-recorded; ``result`` is the child's answer (ok only), ``error`` says what went wrong."""

    device: str
    status: str
    error: str | None = None
    result: Mapping[str, Any] = field(default_factory=dict)
    stderr_tail: str = ""

    def figure(self, *path: str) -> float | None:
        """The positive finite number at ``path`` of the result (``"matmul", "bf16", "value"``); None otherwise."""
        value: Any = self.result
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        number = finite_number(value)
        return number if number is not None and 0 < number < MAX_FIGURE else None

    def text(self, key: str) -> str | None:
        value = self.result.get(key)
        return printable(value[:200], keep_newlines=False) if isinstance(value, str) else None


@dataclass(frozen=True)
class CpuContext:
    """What the CPU's peak is computed from: physical cores, the clock and where it was read, the load."""

    cores: int | None = None
    mhz: float | None = None
    clock_source: str | None = None
    load_1min: float | None = None


@dataclass(frozen=True)
class Measurements:
    cpu: DeviceRun | None = None
    cpu_context: CpuContext = field(default_factory=CpuContext)
    gpus: tuple[DeviceRun, ...] = ()
    gpu_skipped: str | None = None
    """Why no GPU was measured (no NVIDIA GPU on the host), where none was."""


def measure(host: Host, facts: Facts, request: MeasureRequest, progress: Progress | None = None) -> Measurements:
    """Measure what ``request`` asks on ``host`` (live: for real; a snapshot: the runs it recorded)."""
    tell = progress or (lambda _line: None)
    cpu, context = None, CpuContext()
    if request.cpu:
        context = cpu_context(host)
        tell(f"measuring the CPU (up to {request.timeout:g} s)")
        cpu = run_device(host, CPU_PROBE, {"device": "cpu", "budget": request.budget}, request.timeout)
    gpus: list[DeviceRun] = []
    skipped = None
    if request.gpus:
        skipped = _no_gpu_reason(facts)
        if skipped is None:
            gpus = _measure_gpus(host, request, tell)
    return Measurements(cpu=cpu, cpu_context=context, gpus=tuple(gpus), gpu_skipped=skipped)


def _no_gpu_reason(facts: Facts) -> str | None:
    count = facts.get("gpu.count")
    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        return None
    if count == 0:
        return "no NVIDIA GPU on this host (gpu.count is 0)"
    return "no NVIDIA GPU found (gpu.count unknown)"


def _measure_gpus(host: Host, request: MeasureRequest, tell: Progress) -> list[DeviceRun]:
    """GPU 0, then every other GPU the framework of GPU 0 sees. A run that found no framework or failed is not
    repeated for the next GPU: it would fail the same way and cost its timeout again."""
    runs: list[DeviceRun] = []
    index, count = 0, 1
    while index < count:
        tell(f"measuring GPU {index} (up to {request.timeout:g} s)")
        run = run_device(host, gpu_probe(index), {"device": "gpu", "index": index, "budget": request.budget},
                         request.timeout, device=f"gpu{index}")
        runs.append(run)
        if run.status != "ok":
            break
        if index == 0:
            seen = finite_number(run.result.get("device_count"))
            count = int(seen) if seen is not None and 1 <= seen <= MAX_GPUS else 1
        index += 1
    return runs


def run_device(host: Host, name: str, request: Mapping[str, Any], timeout: float,
               device: str = "cpu") -> DeviceRun:
    argv = [sys.executable, "-c", SCRIPT.read_text(encoding="utf-8"), json.dumps(dict(request))]
    done = host.run_probe(name, argv, timeout, env=CHILD_ENV)
    if done is None:
        return DeviceRun(device, "not-recorded", NOT_RECORDED)
    return outcome(device, done, timeout)


def outcome(device: str, done: CommandResult, timeout: float) -> DeviceRun:
    """The device's outcome from its child's run, live or recorded (pure: the tests feed it results)."""
    tail = _tail(done.stderr)
    if done.returncode is None:
        match = _CUT_AFTER.search(done.stderr.rstrip())
        had = float(match.group(1)) if match else timeout
        return DeviceRun(device, "timeout", f"no answer within {had:g} s", stderr_tail=tail)
    if done.returncode in (NOT_INSTALLED, NOT_EXECUTABLE) and not done.stdout:
        return DeviceRun(device, "crashed", f"cannot run {done.argv[0]}: {tail or 'no output'}", stderr_tail=tail)
    if done.returncode != 0:
        return DeviceRun(device, "crashed", _failure(done.returncode, tail), stderr_tail=tail)
    result = answer_line(done.stdout, MARKER)
    if result is None:
        return DeviceRun(device, "no-output", "the measurement printed no result", stderr_tail=tail)
    status = result.get("status")
    if status == "ok":
        return DeviceRun(device, "ok", None, result, tail)
    error = result.get("error")
    text = printable(error[:400], keep_newlines=False) if isinstance(error, str) else "no reason given"
    known = status if status in ("not-installed", "import-error", "no-framework") else "no-output"
    return DeviceRun(device, known, text, stderr_tail=tail)


def _failure(returncode: int, tail: str) -> str:
    return killed_by(returncode) if returncode < 0 else f"exit {returncode}: {tail or 'no output'}"


def _tail(text: str) -> str:
    return last_line(text, empty="")


# -- the CPU's peak: cores and clock, read through the host --------------------------------------------------------

_MODEL_CLOCK = re.compile(r"@\s*([0-9]+(?:\.[0-9]+)?)\s*GHz", re.IGNORECASE)


def cpu_context(host: Host) -> CpuContext:
    cpuinfo = host.read_text("/proc/cpuinfo") or ""
    mhz, source = cpu_clock(cpuinfo, host.read_text("/sys/devices/system/cpu/cpu0/cpufreq/base_frequency"),
                            host.read_text("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
    return CpuContext(cores=physical_cores(cpuinfo), mhz=mhz, clock_source=source,
                      load_1min=load_average(host.read_text("/proc/loadavg")))


def physical_cores(cpuinfo: str) -> int | None:
    """Cores, not hyperthreads: distinct (physical id, core id) pairs; the processor count where they are absent
    (a VM, an ARM host)."""
    pairs, processors = set(), 0
    for block in cpuinfo.split("\n\n"):
        fields = dict(_field(line) for line in block.splitlines() if ":" in line)
        if "processor" not in fields:
            continue
        processors += 1
        if "core id" in fields:
            pairs.add((fields.get("physical id", "0"), fields["core id"]))
    return len(pairs) or processors or None


def cpu_clock(cpuinfo: str, base_khz: str | None, max_khz: str | None) -> tuple[float | None, str | None]:
    """The clock the peak is counted at, in MHz, and where it was read. The nominal clock first (the model name's
    "@ 2.30GHz", the driver's base frequency): a long AVX run holds about that, not the turbo; then the top of
    the frequency range; last /proc/cpuinfo's "cpu MHz", which a VM reports as the nominal clock and bare metal
    as the clock of the moment."""
    for line in cpuinfo.splitlines():
        key, value = _field(line)
        if key == "model name":
            found = _MODEL_CLOCK.search(value)
            if found:
                return float(found.group(1)) * 1000, "the model name"
            break
    for text, source in ((base_khz, "cpufreq base_frequency"), (max_khz, "cpufreq cpuinfo_max_freq")):
        number = finite_number(_number(text))
        if number and number > 0:
            return number / 1000, source
    speeds = [finite_number(_number(value)) for key, value in map(_field, cpuinfo.splitlines()) if key == "cpu MHz"]
    known = [speed for speed in speeds if speed and speed > 0]
    return (max(known), "/proc/cpuinfo cpu MHz") if known else (None, None)


def load_average(text: str | None) -> float | None:
    parts = (text or "").split()
    number = finite_number(_number(parts[0])) if parts else None
    return number if number is not None and number >= 0 else None


def _field(line: str) -> tuple[str, str]:
    key, _, value = line.partition(":")
    return key.strip(), value.strip()


def _number(text: str | None) -> float | None:
    try:
        number = float((text or "").strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
