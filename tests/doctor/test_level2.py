"""`doctor --level 2`: the CPU measured for real (a small budget), the GPU path against fake frameworks that
behave like torch and CuPy (tests/doctor/fakes/measure), a crash, a timeout and garbage as findings, the
snapshot round trip, and --level's bad values."""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

import pytest

from setupkit.doctor import measured
from setupkit.host.base import CommandResult
from setupkit.host.bundle import write_recording
from setupkit.host.live import LiveHost
from setupkit.host.recording import RecordingHost
from setupkit.host.snapshot import SnapshotHost
from setupkit.knowledge import measure_references as refs
from setupkit.knowledge.loader import read_table
from setupkit.probes.measure import (
    CPU_PROBE,
    CpuContext,
    DeviceRun,
    Measurements,
    MeasureRequest,
    cpu_clock,
    measure,
    outcome,
    physical_cores,
)
from setupkit.yamlio import CatalogError

FAKES = Path(__file__).resolve().parent / "fakes" / "measure"
H100 = {"gpu.count": 1, "gpu.names": ["NVIDIA H100 80GB HBM3"]}
CPU_FACTS = {"gpu.count": 0, "cpu.flags": ["sse2", "avx", "avx2", "fma", "avx512f"]}


def by_id(findings):
    return {finding.id: finding for finding in findings}


def on_path(monkeypatch, *fakes: str, **env: str) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(str(FAKES / fake) for fake in fakes))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


# -- the CPU, for real -----------------------------------------------------------------------------------------

def test_the_cpu_is_measured_for_real_within_its_budget():
    with LiveHost() as host:
        found = measure(host, CPU_FACTS, MeasureRequest(budget=2.0, gpus=False))
    assert found.cpu is not None and found.cpu.status == "ok", found.cpu
    # The budget, and the last run under way when it ran out (the machine may be shared: room is left).
    assert found.cpu.figure("seconds") < 2.0 + 4.0
    assert found.cpu.figure("matmul", "float32", "value") > 0.5
    assert found.cpu.figure("matmul", "float64", "value") > 0.2
    assert found.cpu.figure("copy", "value") > 0.2
    findings = by_id(measured.findings(found, CPU_FACTS))
    matmul, memory = findings["cpu.matmul"], findings["cpu.memory-bandwidth"]
    assert matmul.status in ("pass", "warn") and memory.status in ("pass", "warn")
    assert matmul.measured["unit"] == "GFLOP/s" and matmul.expected["unit"] == "GFLOP/s"
    assert "FLOP/cycle" in matmul.expected["source"] and matmul.expected["value"] > 0
    assert matmul.measured["n"] >= 256  # the square size numpy multiplied
    assert memory.measured["counted"] == "bytes read + written"
    assert memory.expected["value"] == refs.references().cpu_memory_floor_gbs


def test_without_numpy_the_cpu_measurements_say_how_to_install_it(monkeypatch):
    on_path(monkeypatch, "no_numpy")
    with LiveHost() as host:
        found = measure(host, CPU_FACTS, MeasureRequest(budget=1.0, gpus=False))
    assert found.cpu.status == "not-installed"
    findings = measured.findings(found, CPU_FACTS)
    assert [f.id for f in findings] == ["cpu.matmul", "cpu.memory-bandwidth"]
    assert all(f.status == "unknown" and "numpy is not installed (pip install numpy)" in f.message
               for f in findings)


def test_the_cpu_peak_counts_cores_clock_and_vector_width():
    run = DeviceRun("cpu", "ok", result={"threads": 8, "matmul": {"float32": {"value": 1200.0}},
                                          "copy": {"value": 40.0, "threads": 8}})
    context = CpuContext(cores=8, mhz=3000.0, clock_source="the model name", load_1min=0.1)
    matmul = by_id(measured.findings(Measurements(cpu=run, cpu_context=context), CPU_FACTS))["cpu.matmul"]
    # 8 cores x 3.0 GHz x 64 fp32 FLOP a cycle (AVX-512, two FMA units) = 1536; healthy 70 % of it.
    assert matmul.expected["peak"] == 1536.0 and matmul.expected["value"] == pytest.approx(1075.2)
    assert matmul.status == "pass"
    avx2 = by_id(measured.findings(Measurements(cpu=run, cpu_context=context),
                                   {"cpu.flags": ["avx2", "fma"]}))["cpu.matmul"]
    assert avx2.expected["peak"] == 768.0


def test_a_cpu_above_the_peak_of_its_reported_clock_passes_and_says_the_clock_is_low():
    # Seen on a 2-core VM: /proc/cpuinfo's 2.3 GHz gives a 294 GFLOP/s peak, numpy measured 312 under turbo.
    run = DeviceRun("cpu", "ok", result={"threads": 2, "matmul": {"float32": {"value": 311.6}},
                                          "copy": {"value": 40.0, "threads": 2}})
    context = CpuContext(cores=2, mhz=2300.0, clock_source="/proc/cpuinfo cpu MHz", load_1min=0.3)
    matmul = by_id(measured.findings(Measurements(cpu=run, cpu_context=context), CPU_FACTS))["cpu.matmul"]
    assert matmul.status == "pass" and matmul.expected["peak"] == pytest.approx(294.4)
    assert "above the 294 GFLOP/s peak computed from the clock (/proc/cpuinfo cpu MHz)" in matmul.message
    within = DeviceRun("cpu", "ok", result={"threads": 2, "matmul": {"float32": {"value": 250.0}},
                                             "copy": {"value": 40.0, "threads": 2}})
    assert "turbo" not in by_id(measured.findings(Measurements(cpu=within, cpu_context=context),
                                                  CPU_FACTS))["cpu.matmul"].message


def test_a_slow_cpu_warns_with_the_likely_causes():
    run = DeviceRun("cpu", "ok", result={"threads": 8, "blas": "reference",
                                          "matmul": {"float32": {"value": 200.0}}, "copy": {"value": 6.0}})
    context = CpuContext(cores=8, mhz=3000.0, clock_source="the model name", load_1min=7.5)
    findings = by_id(measured.findings(Measurements(cpu=run, cpu_context=context), CPU_FACTS))
    matmul, memory = findings["cpu.matmul"], findings["cpu.memory-bandwidth"]
    assert matmul.status == "warn" and matmul.fix is not None
    assert "other work shares the CPU (load average 7.5 on 8 cores)" in matmul.message
    assert "numpy's BLAS is reference, not a tuned one" in matmul.message
    assert memory.status == "warn" and memory.expected["pass_at"] == 10.0
    assert "Likely: other work shares the CPU (load average 7.5 on 8 cores); a single populated memory channel" \
        in memory.message


def test_cpu_cores_and_clock_are_read_from_cpuinfo():
    cpuinfo = "".join(f"processor\t: {n}\nmodel name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\n"
                      f"physical id\t: 0\ncore id\t\t: {n // 2}\ncpu MHz\t\t: 3100.000\n\n" for n in range(8))
    assert physical_cores(cpuinfo) == 4  # hyperthreads share their core's FMA units
    assert cpu_clock(cpuinfo, None, "3200000") == (2000.0, "the model name")
    vm = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\ncpu MHz\t\t: 2300.000\n\n"
    assert physical_cores(vm) == 1
    assert cpu_clock(vm, None, None) == (2300.0, "/proc/cpuinfo cpu MHz")
    assert cpu_clock(vm, "2100000\n", None) == (2100.0, "cpufreq base_frequency")
    assert cpu_clock("", None, None) == (None, None)


# -- the GPU, against fake frameworks --------------------------------------------------------------------------

def test_a_healthy_gpu_passes_through_fake_torch(monkeypatch):
    on_path(monkeypatch, "torch_gpu")
    with LiveHost() as host:
        found = measure(host, H100, MeasureRequest(budget=4.0, cpu=False))
    (run,) = found.gpus
    assert run.status == "ok", run
    assert run.text("framework") == "torch" and run.text("name") == "NVIDIA H100 80GB HBM3"
    assert set(run.result["matmul"]) == {"fp32", "tf32", "bf16", "fp16"}
    assert run.figure("matmul", "bf16", "value") == pytest.approx(700, rel=0.25)
    assert run.figure("copy", "value") == pytest.approx(3000, rel=0.25)
    assert run.result["host_to_device"]["pinned"] is True
    assert "NVML" in run.result["pcie"]["error"]  # no driver here: the link stays unknown, said so
    findings = by_id(measured.findings(found, H100))
    assert {f.status for f in findings.values()} == {"pass"}, [f.message for f in findings.values()]
    matmul = findings["gpu.matmul"]
    assert matmul.measured["precision"] == "bf16" and matmul.expected["value"] == 794.5
    assert "stas00/ml-engineering" in matmul.expected["source"]
    assert findings["gpu.memory-bandwidth"].expected["peak"] == 3350
    assert findings["gpu.host-bandwidth"].expected["value"] == 50.0


def test_a_slow_gpu_warns_with_the_likely_causes(monkeypatch):
    on_path(monkeypatch, "torch_gpu", FAKE_GPU_RATES=json.dumps({"bf16": 300, "fp16": 300, "h2d": 12, "d2h": 12}))
    facts = {**H100, "gpu.processes": [{"gpu": 0, "pid": 4242, "name": "python3", "used_mib": 30000}],
             "gpu.power_limit_w": [350], "gpu.power_default_limit_w": [700]}
    with LiveHost() as host:
        found = measure(host, facts, MeasureRequest(budget=4.0, cpu=False))
    findings = by_id(measured.findings(found, facts))
    matmul, link = findings["gpu.matmul"], findings["gpu.host-bandwidth"]
    assert matmul.status == "warn" and "bf16" in matmul.message
    assert "1 other process(es) on this GPU (python3)" in matmul.message
    assert "power capped at 350 W (default 700 W)" in matmul.message
    assert link.status == "warn" and link.fix is not None
    assert findings["gpu.memory-bandwidth"].status == "pass"


def test_a_slow_gpu_names_throttling_and_mig_but_not_an_idle_gpu(monkeypatch):
    on_path(monkeypatch, "torch_gpu", FAKE_GPU_RATES=json.dumps({"bf16": 300, "fp16": 300, "copy": 1500}))
    facts = {**H100, "gpu.throttle_reasons": [["gpu_idle", "sw_thermal_slowdown", "sync_boost"]],
             "gpu.mig_mode": [True]}
    with LiveHost() as host:
        found = measure(host, facts, MeasureRequest(budget=2.0, cpu=False))
    findings = by_id(measured.findings(found, facts))
    for check in ("gpu.matmul", "gpu.memory-bandwidth"):
        finding = findings[check]
        assert finding.status == "warn", finding.message
        assert "its clocks were held down by a thermal slowdown (NVML, before the measurement)" in finding.message
        assert "MIG is on: the measurement ran on a slice of the card" in finding.message
        assert "idle" not in finding.message and "sync" not in finding.message


def test_a_link_that_trained_down_under_load_is_named_by_its_lanes(monkeypatch):
    on_path(monkeypatch, "torch_gpu", "pynvml_x8", FAKE_GPU_RATES=json.dumps({"h2d": 24, "d2h": 24}))
    with LiveHost() as host:
        found = measure(host, H100, MeasureRequest(budget=2.0, cpu=False))
    (run,) = found.gpus
    assert run.result["pcie"] == {"gen": 5, "width": 8, "max_gen": 5, "max_width": 16}
    link = by_id(measured.findings(found, H100))["gpu.host-bandwidth"]
    assert link.status == "warn" and link.measured["pcie_under_load"]["width"] == 8
    assert "the link has 8 lanes under load, not 16" in link.message
    assert "gen" not in link.message.split("Likely:")[1]  # gen5 of gen5: not a cause


def host_copies(gbs: float) -> DeviceRun:
    """An H100's run whose host copies reached ``gbs`` and whose child could not read the link (no NVML)."""
    return DeviceRun("gpu0", "ok", result={"index": 0, "name": "NVIDIA H100 80GB HBM3",
                                            "host_to_device": {"value": gbs, "pinned": True},
                                            "device_to_host": {"value": gbs, "pinned": True},
                                            "pcie": {"error": "NVML: ModuleNotFoundError"}})


def test_a_slot_below_the_card_is_named_from_level_1():
    facts = {**H100, "gpu.pcie_gen_max": [4], "gpu.pcie_width_max": [8], "gpu.pcie_width": [8]}
    link = by_id(measured.findings(Measurements(gpus=(host_copies(12.0),)), facts))["gpu.host-bandwidth"]
    assert link.status == "warn"
    assert "the slot allows PCIe gen4 at most, the card does gen5" in link.message
    assert "the slot gives x8, the card has x16" in link.message
    # A slot that has it all, the link at fewer lanes when level 1 read it; its idle generation is no cause.
    facts = {**H100, "gpu.pcie_gen_max": [5], "gpu.pcie_width_max": [16], "gpu.pcie_width": [4], "gpu.pcie_gen": [1]}
    link = by_id(measured.findings(Measurements(gpus=(host_copies(12.0),)), facts))["gpu.host-bandwidth"]
    assert "the link has 4 lanes at level 1, not 16" in link.message and "gen1" not in link.message
    # Nothing known of the link: the finding still says what to look at.
    link = by_id(measured.findings(Measurements(gpus=(host_copies(12.0),)), H100))["gpu.host-bandwidth"]
    assert "Likely: a slot or riser below x16." in link.message
    assert by_id(measured.findings(Measurements(gpus=(host_copies(48.0),)), facts))["gpu.host-bandwidth"].status \
        == "pass"


def test_every_gpu_the_framework_sees_is_measured(monkeypatch):
    on_path(monkeypatch, "torch_gpu", FAKE_GPU_COUNT="2")
    with LiveHost() as host:
        found = measure(host, {"gpu.count": 2}, MeasureRequest(budget=2.0, cpu=False))
    assert [run.device for run in found.gpus] == ["gpu0", "gpu1"]
    findings = measured.findings(found, {"gpu.count": 2})
    assert [f.message.split(":")[0] for f in findings if f.id == "gpu.matmul"] == \
        ["GPU 0 (NVIDIA H100 80GB HBM3)", "GPU 1 (NVIDIA H100 80GB HBM3)"]


def test_cupy_is_used_where_torch_and_jax_are_missing(monkeypatch):
    on_path(monkeypatch, "cupy_gpu")
    facts = {"gpu.count": 1, "gpu.names": ["NVIDIA L4"]}
    with LiveHost() as host:
        found = measure(host, facts, MeasureRequest(budget=3.0, cpu=False))
    (run,) = found.gpus
    assert run.status == "ok" and run.text("framework") == "cupy"
    assert run.result["tried"] == ["torch: not installed", "jax: not installed"]
    assert set(run.result["matmul"]) == {"fp32", "fp16"}  # CuPy has no bfloat16, nor TF32 per call
    findings = by_id(measured.findings(found, facts))
    assert findings["gpu.matmul"].measured["precision"] == "fp16"
    assert findings["gpu.matmul"].expected["peak"] == 121  # the L4's dense fp16
    assert findings["gpu.memory-bandwidth"].status == "pass"


def test_a_gpu_framework_that_crashes_is_a_failed_finding(monkeypatch):
    on_path(monkeypatch, "torch_segfault")
    with LiveHost() as host:
        found = measure(host, H100, MeasureRequest(budget=1.0, cpu=False))
    (run,) = found.gpus
    assert run.status == "crashed" and "SIGSEGV" in run.error
    findings = measured.findings(found, H100)
    assert [f.status for f in findings] == ["fail"] * 3 and findings[0].fix is not None


def test_no_gpu_skips_the_gpu_measurements_with_the_reason():
    with LiveHost() as host:
        found = measure(host, {"gpu.count": 0}, MeasureRequest(budget=1.0, cpu=False))
    assert found.gpus == () and found.gpu_skipped
    findings = measured.findings(found, {"gpu.count": 0})
    assert [(f.id, f.status) for f in findings] == [(check, "skip") for check in measured.GPU_IDS]
    assert all("no NVIDIA GPU on this host" in f.message for f in findings)


# -- the references -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "model"), [
    ("NVIDIA GH200 480GB", "GH200 96GB HBM3"), ("NVIDIA GH200 144G HBM3e", "GH200 144GB HBM3e"),
    ("NVIDIA H200", "H200 SXM"), ("NVIDIA H200 NVL", "H200 NVL"), ("NVIDIA H100 PCIe", "H100 PCIe"),
    ("NVIDIA H100 NVL", "H100 NVL"), ("NVIDIA H100 80GB HBM3", "H100 SXM"),
    ("NVIDIA A100-SXM4-40GB", "A100 40GB SXM"), ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe"), ("NVIDIA L4", "L4"),
    ("NVIDIA L40S", None), ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
    ("NVIDIA GeForce RTX 5090", "GeForce RTX 5090"), ("NVIDIA GeForce GTX 1080 Ti", "GeForce GTX 1080 Ti"),
])
def test_a_gpu_takes_the_row_whose_name_it_holds_as_whole_words(name, model):
    found = refs.gpu_reference(name)
    assert (found.model if found else None) == model


def test_every_gpu_row_names_its_source_and_when_it_was_checked():
    for row in refs.references().gpus:
        assert row.source.strip(), row.model
        if row.checked is None:
            assert "unverified" in row.source, row.model
        else:
            datetime.date.fromisoformat(row.checked)


def test_a_row_checked_on_no_date_is_refused(tmp_path):
    shipped = Path(refs.__file__).with_name("measure_references.yaml").read_text(encoding="utf-8")
    broken = shipped.replace('checked: "2026-12-01", source: "NVIDIA H200 product page, NVL',
                             'checked: "soon", source: "NVIDIA H200 product page, NVL', 1)
    assert broken != shipped
    (tmp_path / "measure_references.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(CatalogError, match="gpu 1: 'checked' must be a date"):
        refs.parse_references(read_table(tmp_path / "measure_references.yaml"))


def test_a_finding_says_whether_its_reference_was_checked():
    def memory_of(name: str):
        run = DeviceRun("gpu0", "ok", result={"index": 0, "name": name, "copy": {"value": 1400.0}})
        return by_id(measured.findings(Measurements(gpus=(run,)), {"gpu.count": 1}))["gpu.memory-bandwidth"]

    assert "not checked against a vendor document" in memory_of("NVIDIA A100-SXM4-40GB").expected["source"]
    assert "checked 2026-12-01" in memory_of("NVIDIA A100-SXM4-80GB").expected["source"]


# -- what a child's run means ----------------------------------------------------------------------------------

def result(returncode, stdout="", stderr=""):
    return CommandResult(("python", "-c", "..."), returncode, stdout, stderr)


@pytest.mark.parametrize(("done", "status"), [
    (result(None, stderr="timed out after 29s"), "timeout"),
    (result(-11), "crashed"),
    (result(1, stderr="Traceback ...\nRuntimeError: CUDA error"), "crashed"),
    (result(127, stderr="python: not found"), "crashed"),
    (result(0, stdout="hello\n"), "no-output"),
    (result(0, stdout="SETUPKIT-MEASURE [1, 2]\n"), "no-output"),
    (result(0, stdout="SETUPKIT-MEASURE {not json\n"), "no-output"),
    (result(0, stdout='SETUPKIT-MEASURE {"status": "no-framework", "error": "torch: not installed"}\n'),
     "no-framework"),
    (result(0, stdout='SETUPKIT-MEASURE {"status": "ok"}\n'), "ok"),
])
def test_every_way_a_child_ends_is_an_outcome(done, status):
    assert outcome("gpu0", done, 29.0).status == status


def test_a_timeout_says_the_seconds_it_had_and_warns():
    run = outcome("cpu", result(None, stderr="timed out after 29s"), 10.0)
    assert run.error == "no answer within 29 s"
    findings = measured.findings(Measurements(cpu=run), CPU_FACTS)
    assert {f.status for f in findings} == {"warn"} and "no answer within 29 s" in findings[0].message


def test_garbage_figures_are_unknown_not_a_verdict():
    stdout = ('SETUPKIT-MEASURE {"status": "ok", "name": "NVIDIA H100 80GB HBM3", "matmul": {"bf16": {"value": '
              '"fast"}, "fp32": {"value": -3}}, "copy": {"value": 1e300}, "host_to_device": [], '
              '"device_to_host": null}\n')
    run = outcome("gpu0", result(0, stdout), 29.0)
    findings = by_id(measured.findings(Measurements(gpus=(run,)), H100))
    assert {f.status for f in findings.values()} == {"unknown"}


# -- the snapshot round trip -----------------------------------------------------------------------------------

def test_a_snapshot_carries_the_measurements_and_gives_the_same_findings(tmp_path, monkeypatch):
    on_path(monkeypatch, "torch_gpu")
    facts = {**CPU_FACTS, **H100}
    request = MeasureRequest(budget=1.5)
    recording = RecordingHost(LiveHost())
    with recording:
        live = measure(recording, facts, request)
    bundle = write_recording(recording.record, str(tmp_path / "bundle"))
    assert {CPU_PROBE, "measure-gpu0"} <= set(json.loads((bundle / "probes.json").read_text()))
    with SnapshotHost(str(bundle)) as snapshot:
        offline = measure(snapshot, facts, request)
    assert [f.as_json() for f in measured.findings(offline, facts)] == \
        [f.as_json() for f in measured.findings(live, facts)]
    assert offline.cpu_context == live.cpu_context  # cores, clock and load came from the snapshot's files


def test_a_snapshot_without_level_2_says_how_to_take_one(tmp_path):
    recording = RecordingHost(LiveHost())
    with recording:
        recording.read_text("/proc/cpuinfo")
    bundle = write_recording(recording.record, str(tmp_path / "plain"))
    with SnapshotHost(str(bundle)) as snapshot:
        found = measure(snapshot, {**CPU_FACTS, **H100}, MeasureRequest())
    findings = measured.findings(found, H100)
    assert {f.status for f in findings} == {"unknown"}
    assert all("setupkit snapshot --level 2" in f.message for f in findings)


@pytest.mark.slow
def test_snapshot_level_2_then_doctor_snapshot_level_2(run_setupkit, tmp_path):
    bundle = tmp_path / "measured"
    taken = run_setupkit("snapshot", "--level", "2", "-o", str(bundle))
    assert taken.returncode == 0, taken.stderr
    assert "measuring the CPU" in taken.stderr
    ids = ("cpu.matmul", "cpu.memory-bandwidth", "gpu.matmul")
    first, second = (run_setupkit("doctor", "--snapshot", str(bundle), "--level", "2", "--json",
                                  *(arg for check in ids for arg in ("--only", check))) for _ in range(2))
    assert first.returncode in (0, 1) and first.stderr == ""
    findings = json.loads(first.stdout)["findings"]
    assert [f["id"] for f in findings] == list(ids)
    assert findings == json.loads(second.stdout)["findings"]
    assert findings[0]["measured"]["unit"] == "GFLOP/s"


# -- the command line ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("verb", ["doctor", "snapshot"])
@pytest.mark.parametrize("level", ["3", "0", "abc", "", "2.0", "-1", "1e3"])
def test_a_bad_level_is_a_usage_error_in_one_line(run_setupkit, tmp_path, verb, level):
    done = run_setupkit(verb, "--level", level, *(["-o", str(tmp_path / "never")] if verb == "snapshot" else []))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("setupkit: --level") and len(lines) == 2 and lines[1].startswith("fix: ")
    assert not (tmp_path / "never").exists()


def test_list_checks_names_the_measured_findings_and_their_level(run_setupkit):
    done = run_setupkit("doctor", "--list-checks", "--skip", "gpu.matmul")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    listed = [check for check in measured.IDS if check in rows]
    assert listed == [check for check in measured.IDS if check != "gpu.matmul"]
    assert all(rows[check].endswith("[--level 2]") and "Measured (level 2)" in rows[check] for check in listed)


def test_a_measured_check_in_only_needs_level_2(run_setupkit):
    done = run_setupkit("doctor", "--only", "cpu.matmul")
    assert done.returncode == 2 and "needs --level 2" in done.stderr


def test_plain_doctor_imports_no_numpy_and_no_measurement(run_setupkit):
    code = ("import sys\nfrom setupkit.cli import main\nsys.argv = ['setupkit', 'doctor', '--json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'setupkit.probes.measure', 'setupkit.doctor.measured') "
            "if m in sys.modules), file=sys.stderr)\n")
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
