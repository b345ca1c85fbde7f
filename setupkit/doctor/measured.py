"""Level-2 verdicts: each measured figure against its reference (knowledge/measure_references.yaml), as findings
that carry ``measured`` ({value, unit}) and ``expected`` ({value, unit, source}) in the JSON.

Pass at or above the table's stated fraction of the healthy figure, warn below it with the likely causes read
from the level-1 facts where the probes found them (another process on the GPU, a power cap, throttling, MIG, a
slot that gives fewer lanes or a lower PCIe generation than the card has) and from the PCIe link the child read
under load. A measurement that crashed fails; one cut by its timeout warns;
one that could not run (no numpy, no framework that sees a GPU) or printed garbage says unknown or skip with
the reason. The facts named here may be absent from the registry: they are read with ``facts.get``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from setupkit.bounded import finite_number
from setupkit.doctor.catalog import Check, Outcome
from setupkit.doctor.engine import Finding
from setupkit.doctor.run import MEASURED_IDS
from setupkit.knowledge import measure_references as refs
from setupkit.probes.measure import CpuContext, DeviceRun, Measurements

SECTION = "Measured (level 2)"
IDS = MEASURED_IDS
CPU_IDS = tuple(check for check in IDS if check.startswith("cpu."))
GPU_IDS = tuple(check for check in IDS if check.startswith("gpu."))
TITLES = {
    "cpu.matmul": "CPU matrix multiply (numpy BLAS)",
    "cpu.memory-bandwidth": "CPU memory bandwidth (array copy)",
    "gpu.matmul": "GPU matrix multiply",
    "gpu.memory-bandwidth": "GPU memory bandwidth (device copy)",
    "gpu.host-bandwidth": "GPU host link bandwidth (pinned copies)",
}
SEVERITY = "medium"
LEVEL_NOTE = "[--level 2]"
MAIN_PRECISIONS = ("bf16", "fp16", "tf32", "fp32")
"""The precision a GPU's matmul finding is judged by first: the fastest the card has."""
NUMPY_HINT = "numpy is not installed (pip install numpy)"
SLOWING_REASONS = {
    "sw_power_cap": "the power cap",
    "hw_slowdown": "a hardware slowdown (power supply or temperature)",
    "sw_thermal_slowdown": "a thermal slowdown",
    "hw_thermal_slowdown": "a hardware thermal slowdown",
    "hw_power_brake_slowdown": "the power brake",
    "applications_clocks_setting": "application clocks set below the maximum",
}
"""NVML's clocks event reasons that hold a busy GPU's clocks down (gpu.throttle_reasons), with what they mean; an
idle GPU, sync boost and a display clock say nothing of its speed under load."""


@dataclass(frozen=True)
class MeasuredFinding(Finding):
    measured: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "measured": self.measured, "expected": self.expected}


def findings(measurements: Measurements, facts: Mapping[str, Any], wanted: Iterable[str] = IDS) -> list[Finding]:
    chosen = set(wanted)
    found: list[Finding] = []
    if measurements.cpu is not None:
        found += _cpu(measurements, facts)
    if measurements.gpu_skipped is not None:
        found += [_finding(check, "skip", f"Skipped: {measurements.gpu_skipped}.") for check in GPU_IDS]
    for run in measurements.gpus:
        found += _gpu(run, facts)
    return [finding for finding in found if finding.id in chosen]


def listed_checks(only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Check]:
    """The measured findings as rows of `doctor --list-checks`, their titles saying that they run at --level 2
    (--only and --skip choose among them as among checks)."""
    wanted, dropped = set(only), set(skip)
    return [Check(id=check, section=SECTION, title=f"{TITLES[check]} {LEVEL_NOTE}", severity=SEVERITY, facts=(),
                  rules=(), default=Outcome(status="info", message="measured at --level 2"), source=__name__)
            for check in IDS if (not wanted or check in wanted) and check not in dropped]


def _finding(check: str, status: str, message: str, detail: str = "", measured: dict[str, Any] | None = None,
             expected: dict[str, Any] | None = None, fix: str | None = None) -> MeasuredFinding:
    return MeasuredFinding(id=check, section=SECTION, title=TITLES[check], status=status, message=message,
                           detail=detail, fix={"text": fix, "commands": []} if fix and status in ("fail", "warn")
                           else None, severity=SEVERITY, measured=measured, expected=expected)


def _failed(check: str, run: DeviceRun, what: str) -> MeasuredFinding:
    """The finding of a measurement that gave no figure."""
    if run.status == "not-installed" and run.device == "cpu":
        return _finding(check, "unknown", f"Unknown: {NUMPY_HINT}.")
    if run.status == "crashed":
        return _finding(check, "fail", f"The {what} measurement crashed: {run.error}.", detail=run.stderr_tail,
                        fix="run `setupkit doctor --level 2 -v` to see the child's last line; a crashing framework "
                            "or driver needs fixing before training")
    if run.status == "timeout":
        return _finding(check, "warn", f"The {what} measurement gave no answer in time: {run.error}.",
                        detail=run.stderr_tail, fix="look for another process holding the device, then run again")
    if run.status == "no-framework":
        return _finding(check, "skip", f"Skipped: no framework that sees a GPU ({run.error}).",
                        detail="install one of torch, jax, cupy or tensorflow with CUDA to measure the GPU")
    return _finding(check, "unknown", f"Unknown: the {what} measurement gave no figure ({run.error}).",
                    detail=run.stderr_tail)


def _rounded(value: float) -> float:
    return round(value, 1) if value >= 10 else round(value, 3)


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def _judge(value: float, healthy: float, fraction: float) -> str:
    return "pass" if value >= healthy * fraction else "warn"


# -- CPU -----------------------------------------------------------------------------------------------------------

def _cpu(measurements: Measurements, facts: Mapping[str, Any]) -> list[Finding]:
    run = measurements.cpu
    assert run is not None
    if run.status != "ok":
        return [_failed(check, run, "CPU") for check in CPU_IDS]
    flags = facts.get("cpu.flags")
    return [_cpu_matmul(run, measurements, flags if isinstance(flags, list) else []),
            _cpu_memory(run, measurements.cpu_context)]


def _cpu_matmul(run: DeviceRun, measurements: Measurements, flags: list[Any]) -> Finding:
    fp32, fp64 = run.figure("matmul", "float32", "value"), run.figure("matmul", "float64", "value")
    if fp32 is None:
        return _finding("cpu.matmul", "unknown", "Unknown: the CPU measurement gave no float32 figure.")
    measured = {"value": _rounded(fp32), "unit": "GFLOP/s", "precision": "float32",
                "float64": None if fp64 is None else _rounded(fp64), "blas": run.text("blas"),
                "threads": _whole(run.figure("threads")), "n": _whole(run.figure("matmul", "float32", "n"))}
    figures = f"float32 {_rounded(fp32):g} GFLOP/s" + ("" if fp64 is None else f", float64 {_rounded(fp64):g}")
    context = measurements.cpu_context
    threads = run.figure("threads")
    cores = min(context.cores, int(threads)) if context.cores and threads else context.cores
    isa = refs.cpu_isa(flag for flag in flags if isinstance(flag, str))
    if not cores or not context.mhz or isa is None:
        missing = "its cores" if not cores else "its clock" if not context.mhz else "its vector instructions"
        return _finding("cpu.matmul", "info", f"{figures}; no reference: {missing} unknown.", measured=measured)
    table = refs.references()
    peak = cores * context.mhz / 1000 * isa.fp32
    healthy = peak * table.shares["healthy_cpu_matmul"]
    fraction = table.verdict["cpu_matmul"]
    source = (f"theoretical float32 peak {peak:.0f} GFLOP/s = {cores} cores x {context.mhz / 1000:.2f} GHz "
              f"({context.clock_source}) x {isa.fp32} FLOP/cycle ({isa.isa}, two FMA units); healthy = "
              f"{table.shares['healthy_cpu_matmul']:.0%} of it (knowledge/measure_references.yaml)")
    expected = {"value": _rounded(healthy), "unit": "GFLOP/s", "source": source, "peak": _rounded(peak),
                "pass_at": _rounded(healthy * fraction)}
    status = _judge(fp32, healthy, fraction)
    message = (f"{figures} ({fp32 / healthy:.0%} of the healthy {_rounded(healthy):g} for {cores} x "
               f"{isa.isa} cores; passes at {fraction:.0%}).")
    if status == "warn":
        message += " Likely: " + "; ".join(_cpu_causes(context.load_1min, cores, run)) + "."
    elif fp32 > peak:
        # A VM's or a power-saving host's reported clock is often the base one; turbo runs above it.
        message += (f" That is above the {peak:.0f} GFLOP/s peak computed from the clock ({context.clock_source}): "
                    "the cores run faster than that clock (turbo), so the figure is a floor, not a fault.")
    return _finding("cpu.matmul", status, message, detail=source, measured=measured, expected=expected,
                    fix="run it again on an idle machine; if it stays low, check the BLAS numpy uses "
                        "(numpy.show_config()) and the CPU's clock")


def _cpu_causes(load: float | None, cores: int, run: DeviceRun) -> list[str]:
    causes = _busy(load, cores)
    blas = run.text("blas")
    if blas and "openblas" not in blas.lower() and "mkl" not in blas.lower() and "accelerate" not in blas.lower():
        causes.append(f"numpy's BLAS is {blas}, not a tuned one")
    causes.append("a part with one AVX-512 FMA unit, or a clock lowered under vector load")
    return causes


def _busy(load: float | None, cores: int | None) -> list[str]:
    if load is None or not cores or load <= cores / 2:
        return []
    return [f"other work shares the CPU (load average {load:g} on {cores} cores)"]


def _cpu_memory(run: DeviceRun, context: CpuContext) -> Finding:
    value = run.figure("copy", "value")
    if value is None:
        return _finding("cpu.memory-bandwidth", "unknown", "Unknown: the CPU measurement gave no copy figure.")
    table = refs.references()
    floor = table.cpu_memory_floor_gbs
    threads = run.figure("threads")
    used = run.figure("copy", "threads")
    measured = {"value": _rounded(value), "unit": "GB/s", "counted": "bytes read + written",
                "threads": _whole(used), "bytes": _whole(run.figure("copy", "bytes"))}
    source = ("one channel of the slowest DDR4 (JEDEC JESD79-4, 1600 MT/s: 12.8 GB/s peak) copies about "
              f"{floor:g} GB/s; below it the memory or the machine is starved (knowledge/measure_references.yaml)")
    expected = {"value": floor, "unit": "GB/s", "source": source,
                "pass_at": _rounded(floor * table.verdict["cpu_memory"])}
    status = _judge(value, floor, table.verdict["cpu_memory"])
    on = f"on {used:g} of {threads:g} threads" if used and threads else ""
    message = f"{_rounded(value):g} GB/s copied (read + written{', ' + on if on else ''}); the floor is {floor:g}."
    if status == "warn":
        likely = _busy(context.load_1min, context.cores) + ["a single populated memory channel, or a VM on an "
                                                            "oversubscribed host"]
        message += " Likely: " + "; ".join(likely) + "."
    return _finding("cpu.memory-bandwidth", status, message, detail=source, measured=measured, expected=expected,
                    fix="run it again on an idle machine; if it stays low, check the memory channels populated "
                        "(`dmidecode -t memory`) or the VM's host")


# -- GPU -----------------------------------------------------------------------------------------------------------

def _gpu(run: DeviceRun, facts: Mapping[str, Any]) -> list[Finding]:
    label = _gpu_label(run, facts)
    if run.status != "ok":
        return [_failed(check, run, label) for check in GPU_IDS]
    name = run.text("name") or _fact_at(facts, "gpu.names", _index(run)) or ""
    reference = refs.gpu_reference(name) if isinstance(name, str) and name else None
    causes = _gpu_causes(run, facts)
    return [_gpu_matmul(run, label, reference, causes), _gpu_memory(run, label, reference, causes),
            _gpu_host(run, label, reference, causes, _level1_link(facts, _index(run)))]


def _index(run: DeviceRun) -> int:
    index = run.figure("index")
    return int(index) if index is not None else int(run.device.removeprefix("gpu") or 0)


def _gpu_label(run: DeviceRun, facts: Mapping[str, Any]) -> str:
    index = _index(run) if run.status == "ok" else int(run.device.removeprefix("gpu") or 0)
    name = run.text("name") or _fact_at(facts, "gpu.names", index)
    return f"GPU {index}" + (f" ({name})" if isinstance(name, str) and name else "")


def _fact_at(facts: Mapping[str, Any], name: str, index: int) -> Any:
    """A per-GPU fact's value for GPU ``index`` (a list), or the fact itself where it is one value."""
    value = facts.get(name)
    if isinstance(value, list):
        return value[index] if 0 <= index < len(value) else None
    return value


def _no_reference(check: str, label: str, figures: str, measured: dict[str, Any]) -> Finding:
    return _finding(check, "info", f"{label}: {figures}; no reference for this GPU in setupkit's table.",
                    measured=measured)


def _gpu_matmul(run: DeviceRun, label: str, reference: refs.GpuReference | None, causes: list[str]) -> Finding:
    values = {precision: run.figure("matmul", precision, "value") for precision in refs.PRECISIONS}
    measured_all = {precision: _rounded(value) for precision, value in values.items() if value is not None}
    if not measured_all:
        errors = run.result.get("errors")
        return _finding("gpu.matmul", "unknown", f"Unknown: {label} gave no matmul figure ({_errors(errors)}).")
    figures = ", ".join(f"{precision} {value:g}" for precision, value in measured_all.items()) + " TFLOP/s"
    framework = f"{run.text('framework')} {run.text('version') or ''}".strip()
    if reference is None:
        main = next(p for p in MAIN_PRECISIONS if p in measured_all)
        return _no_reference("gpu.matmul", label, figures, {"value": measured_all[main], "unit": "TFLOP/s",
                                                            "precision": main, "precisions": measured_all,
                                                            "framework": framework})
    table = refs.references()
    fraction = table.verdict["matmul"]
    judged = {}
    for precision, value in measured_all.items():
        healthy = _healthy_matmul(reference, precision, table.shares["healthy_matmul"])
        if healthy is not None:
            judged[precision] = (value, healthy)
    judged_main = next((p for p in MAIN_PRECISIONS if p in judged), None)
    if judged_main is None:
        return _no_reference("gpu.matmul", label, figures, {"value": next(iter(measured_all.values())),
                                                            "unit": "TFLOP/s", "precisions": measured_all})
    main = judged_main
    value, healthy = judged[main]
    measured = {"value": value, "unit": "TFLOP/s", "precision": main, "precisions": measured_all,
                "framework": framework, "n": _whole(run.figure("matmul", main, "n"))}
    basis = "measured" if main in reference.healthy else f"{table.shares['healthy_matmul']:.0%} of the peak"
    source = (f"{reference.model}: dense {main} peak {reference.peaks[main]:g} TFLOP/s; healthy ({basis}) "
              f"{healthy:g} ({_cited(reference)})")
    expected = {"value": _rounded(healthy), "unit": "TFLOP/s", "source": source, "precision": main,
                "peak": reference.peaks[main], "pass_at": _rounded(healthy * fraction)}
    low = [p for p, (v, h) in judged.items() if v < h * fraction]
    status = "warn" if low else "pass"
    message = (f"{label}: {figures} ({main} at {value / healthy:.0%} of the healthy {healthy:g}; passes at "
               f"{fraction:.0%}).")
    if low:
        message += f" Below: {', '.join(low)}. Likely: {'; '.join(causes or ['a slow or throttled card'])}."
    return _finding("gpu.matmul", status, message, detail=source, measured=measured, expected=expected,
                    fix="check `nvidia-smi -q -d PERFORMANCE,POWER,CLOCK` for throttling and power caps, and "
                        "`nvidia-smi` for other processes on the card")


def _healthy_matmul(reference: refs.GpuReference, precision: str, share: float) -> float | None:
    if precision in reference.healthy:
        return reference.healthy[precision]
    peak = reference.peaks.get(precision)
    return None if peak is None else peak * share


def _gpu_memory(run: DeviceRun, label: str, reference: refs.GpuReference | None, causes: list[str]) -> Finding:
    value = run.figure("copy", "value")
    if value is None:
        return _finding("gpu.memory-bandwidth", "unknown",
                        f"Unknown: {label} gave no copy figure ({_errors(run.result.get('errors'))}).")
    measured = {"value": _rounded(value), "unit": "GB/s", "counted": "bytes read + written",
                "bytes": _whole(run.figure("copy", "bytes"))}
    figures = f"{_rounded(value):g} GB/s device-to-device (read + written)"
    if reference is None:
        return _no_reference("gpu.memory-bandwidth", label, figures, measured)
    table = refs.references()
    healthy = reference.memory_gbs * table.shares["healthy_memory"]
    fraction = table.verdict["memory"]
    source = (f"{reference.model}: memory peak {reference.memory_gbs:g} GB/s; a healthy copy reaches "
              f"{table.shares['healthy_memory']:.0%} of it ({_cited(reference)})")
    expected = {"value": _rounded(healthy), "unit": "GB/s", "source": source, "peak": reference.memory_gbs,
                "pass_at": _rounded(healthy * fraction)}
    status = _judge(value, healthy, fraction)
    message = f"{label}: {figures}, {value / healthy:.0%} of the healthy {healthy:g}; passes at {fraction:.0%}."
    if status == "warn":
        message += f" Likely: {'; '.join(causes or ['a memory clock held down'])}."
    return _finding("gpu.memory-bandwidth", status, message, detail=source, measured=measured, expected=expected,
                    fix="check `nvidia-smi -q -d CLOCK,PERFORMANCE` for a lowered memory clock and `nvidia-smi` "
                        "for other processes")


def _cited(reference: refs.GpuReference) -> str:
    if reference.checked is None:
        return f"{reference.source}; not checked against a vendor document"
    return f"{reference.source}; checked {reference.checked}"


def _gpu_host(run: DeviceRun, label: str, reference: refs.GpuReference | None, causes: list[str],
              level1: dict[str, int]) -> Finding:
    to_device, to_host = run.figure("host_to_device", "value"), run.figure("device_to_host", "value")
    if to_device is None or to_host is None:
        return _finding("gpu.host-bandwidth", "unknown",
                        f"Unknown: {label} gave no host copy figure ({_errors(run.result.get('errors'))}).")
    value = min(to_device, to_host)
    pinned = run.result.get("host_to_device", {}).get("pinned") is True
    link = _link(run)
    measured = {"value": _rounded(value), "unit": "GB/s", "host_to_device": _rounded(to_device),
                "device_to_host": _rounded(to_host), "pinned": pinned, "pcie_under_load": link or None}
    figures = (f"host to device {_rounded(to_device):g} GB/s, device to host {_rounded(to_host):g}"
               + ("" if pinned else " (not pinned memory)") + _link_text(link))
    if reference is None:
        return _no_reference("gpu.host-bandwidth", label, figures, measured)
    practical = refs.pcie_practical(reference.pcie_gen, reference.pcie_width)
    if practical is None:
        return _no_reference("gpu.host-bandwidth", label, figures, measured)
    fraction = refs.references().verdict["host"]
    source = (f"{reference.model}: PCIe gen{reference.pcie_gen} x{reference.pcie_width}; pinned copies reach about "
              f"{practical:g} GB/s on it (PCI-SIG rates, about 80 % after packet overheads)")
    expected = {"value": practical, "unit": "GB/s", "source": source, "pass_at": _rounded(practical * fraction)}
    status = _judge(value, practical, fraction)
    message = f"{label}: {figures}; {value / practical:.0%} of {practical:g}, passes at {fraction:.0%}."
    if status == "warn":
        likely = _link_causes(link, level1, reference) + causes or ["a slot or riser below x16"]
        message += f" Likely: {'; '.join(likely)}."
    return _finding("gpu.host-bandwidth", status, message, detail=source, measured=measured, expected=expected,
                    fix="check the slot and riser (`nvidia-smi -q -d PCIE`, `lspci -vv` LnkSta against LnkCap); "
                        "a card in an x8 or gen3 slot moves data at half speed or less")


def _link(run: DeviceRun) -> dict[str, int]:
    found = run.result.get("pcie")
    if not isinstance(found, Mapping):
        return {}
    return {key: int(number) for key in ("gen", "width", "max_gen", "max_width")
            if (number := finite_number(found.get(key))) is not None}


def _link_text(link: Mapping[str, int]) -> str:
    if "gen" not in link or "width" not in link:
        return ""
    return f"; link under load gen{link['gen']} x{link['width']}"


def _level1_link(facts: Mapping[str, Any], index: int) -> dict[str, int]:
    """GPU ``index``'s PCIe link as level 1 read it (at idle): the slot's maxima hold whatever the load; the
    generation of the moment does not (an idle link trains down), its width does."""
    found = {}
    for key, name in (("width", "gpu.pcie_width"), ("max_gen", "gpu.pcie_gen_max"),
                      ("max_width", "gpu.pcie_width_max")):
        number = finite_number(_fact_at(facts, name, index))
        if number is not None and number > 0:
            found[key] = int(number)
    return found


def _link_causes(link: Mapping[str, int], level1: Mapping[str, int], reference: refs.GpuReference) -> list[str]:
    """Why host copies are slow, read from the link: the one the child read under load first, level 1's where
    the child could not read it (no NVML in its interpreter)."""
    max_gen = link.get("max_gen", level1.get("max_gen"))
    max_width = link.get("max_width", level1.get("max_width"))
    causes = []
    if max_gen is not None and max_gen < reference.pcie_gen:
        causes.append(f"the slot allows PCIe gen{max_gen} at most, the card does gen{reference.pcie_gen}")
    elif "gen" in link and link["gen"] < (max_gen or reference.pcie_gen):
        causes.append(f"the link runs at gen{link['gen']} under load, gen{max_gen or reference.pcie_gen} possible")
    if max_width is not None and max_width < reference.pcie_width:
        causes.append(f"the slot gives x{max_width}, the card has x{reference.pcie_width}")
    else:
        width, when = (link["width"], "under load") if "width" in link else (level1.get("width"), "at level 1")
        possible = max_width or reference.pcie_width
        if width is not None and width < possible:
            causes.append(f"the link has {width} lanes {when}, not {possible}")
    return causes


def _gpu_causes(run: DeviceRun, facts: Mapping[str, Any]) -> list[str]:
    """Likely causes of a slow GPU from the level-1 facts, where they are known."""
    index = _index(run)
    causes = []
    processes = facts.get("gpu.processes")
    others = [proc for proc in processes if isinstance(proc, Mapping) and proc.get("gpu") == index] \
        if isinstance(processes, list) else []
    if others:
        names = ", ".join(sorted({str(proc.get("name") or proc.get("pid")) for proc in others}))[:120]
        causes.append(f"{len(others)} other process(es) on this GPU ({names})")
    throttle = _fact_at(facts, "gpu.throttle_reasons", index)
    slowing = [SLOWING_REASONS[reason] for reason in throttle if reason in SLOWING_REASONS] \
        if isinstance(throttle, list) else []
    if slowing:
        causes.append("its clocks were held down by " + ", ".join(slowing) + " (NVML, before the measurement)")
    limit = finite_number(_fact_at(facts, "gpu.power_limit_w", index))
    default = finite_number(_fact_at(facts, "gpu.power_default_limit_w", index))
    if limit is not None and default is not None and limit < default:
        causes.append(f"power capped at {limit:g} W (default {default:g} W)")
    if _fact_at(facts, "gpu.mig_mode", index) is True:
        causes.append("MIG is on: the measurement ran on a slice of the card")
    return causes


def _errors(errors: Any) -> str:
    if isinstance(errors, Mapping) and errors:
        key, value = next(iter(errors.items()))
        return f"{key}: {str(value)[:200]}"
    return "no figure in its answer"
