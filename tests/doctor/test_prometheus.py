"""`setupkit doctor --format prometheus`: node_exporter's textfile format, read back by a real parser
(prometheus_client's) and, where it is installed, checked by `promtool check metrics`; on every scenario, on
hostile facts, on level-2 figures of two GPUs, and through the real CLI."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from setupkit.doctor import measured
from setupkit.doctor.document import json_document
from setupkit.doctor.engine import run_checks, select
from setupkit.doctor.prometheus import MAX_LABEL_VALUE, render
from setupkit.probes.measure import CpuContext, DeviceRun, Measurements
from setupkit.stamp import stamped
from tests.helpers.doctor import builtin_checks, facts_with
from tests.helpers.scenarios import snapshot_facts, snapshot_names, snapshot_path

MOMENT = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
FAMILIES = {"setupkit_check_status", "setupkit_doctor_checks", "setupkit_doctor_status", "setupkit_info",
            "setupkit_doctor_timestamp_seconds"}
# The exposition format's lines: a comment (HELP/TYPE), or a sample without a timestamp.
SAMPLE = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? \S+')
COMMENT = re.compile(r"# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+")


def document_of(facts, findings=None):
    findings = run_checks(select(builtin_checks().values()), facts) if findings is None else findings
    return stamped(json.loads(json.dumps(json_document(findings, facts))), now=MOMENT)


def parsed(text: str) -> dict:
    """The families, by name, as Prometheus' own Python parser reads them; the text checked line by line too."""
    assert text.endswith("\n")
    for line in text.splitlines():
        assert COMMENT.fullmatch(line) or SAMPLE.fullmatch(line), line
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert all(family.type == "gauge" and family.documentation for family in families.values())
    for family in families.values():
        keys = [tuple(sorted(sample.labels.items())) for sample in family.samples]
        assert len(keys) == len(set(keys)), f"{family.name} repeats a series"  # node_exporter drops such a file
    return families


def promtool_accepts(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        return  # the parser above has read it; promtool is checked where it is installed (test below)
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr


def samples(family) -> list[tuple[dict, float]]:
    return [(sample.labels, sample.value) for sample in family.samples]


@pytest.mark.parametrize("name", snapshot_names())
def test_every_check_is_one_series_labelled_with_its_status(name):
    document = document_of(snapshot_facts(name))
    families = parsed(render(document))
    assert FAMILIES <= set(families)
    statuses = {labels["check"]: (labels["status"], value) for labels, value in
                samples(families["setupkit_check_status"])}
    assert statuses == {finding["id"]: (finding["status"], 1) for finding in document["findings"]}
    counts = {labels["status"]: value for labels, value in samples(families["setupkit_doctor_checks"])}
    assert sum(counts.values()) == len(document["findings"])
    assert counts["fail"] == sum(finding["status"] == "fail" for finding in document["findings"])
    (overall,) = samples(families["setupkit_doctor_status"])
    assert overall == ({}, {"pass": 0, "warn": 1, "fail": 2}[document["status"]])
    (when,) = samples(families["setupkit_doctor_timestamp_seconds"])
    assert when == ({}, MOMENT.timestamp())


def test_the_info_series_holds_the_key_versions():
    facts = snapshot_facts("ubuntu2404-rtx5090-tensorflow221")
    ((labels, value),) = samples(parsed(render(document_of(facts)))["setupkit_info"])
    assert value == 1
    assert labels == {"driver": "580.95.05", "cuda": facts["cuda.pip_runtime_version"], "cuda_driver_max": "13.0",
                      "cudnn": facts["cudnn.pip_version"], "tensorflow": "2.21.0", "torch": "", "jax": "",
                      "kernel": "6.8.0-71-generic", "os": "ubuntu 24.04", "setupkit": document_of(facts)["stamp"]
                      ["setupkit"]}
    h100 = snapshot_facts("h100")
    ((labels, _),) = samples(parsed(render(document_of(h100)))["setupkit_info"])
    assert (labels["cuda"], labels["cudnn"], labels["torch"], labels["jax"]) == \
        (h100["cuda.toolkit_version"], h100["cudnn.version"], h100["torch.version"], h100["jax.version"])


def test_hostile_values_are_escaped_and_read_back_as_the_report_shows_them():
    hostile = 'x"y\\z\nnext\x1b[31m\u202eend\ud800'
    facts = facts_with(driver__version=hostile, kernel__release="k" * 5000, os__id="ubuntu",
                       os__version_id="24.04 } 1\nsetupkit_doctor_status 0")
    text = render(document_of(facts))
    families = parsed(text)
    promtool_accepts(text)
    ((labels, _),) = samples(families["setupkit_info"])
    assert labels["driver"] == 'x"y\\z\\nnext\\x1b[31m\\u202eend?'
    assert labels["kernel"] == "k" * MAX_LABEL_VALUE
    assert labels["os"] == "ubuntu 24.04 } 1\\nsetupkit_doctor_status 0"
    assert len(families["setupkit_doctor_status"].samples) == 1  # no sample smuggled in through a label


def gpu_run(index: int, bf16: float) -> DeviceRun:
    return DeviceRun(f"gpu{index}", "ok", result={
        "index": index, "name": "NVIDIA H100 80GB HBM3", "framework": "torch", "version": "2.13.0",
        "matmul": {"bf16": {"value": bf16, "n": 8192}}, "copy": {"value": 3000.0, "bytes": 1 << 30},
        "host_to_device": {"value": 50.0, "pinned": True}, "device_to_host": {"value": 49.0, "pinned": True}})


def test_level_2_figures_are_gauges_one_series_a_gpu():
    facts = {**facts_with(cpu__flags=["sse2", "avx", "avx2", "fma"], gpu__count=2,
                          gpu__names=["NVIDIA H100 80GB HBM3"] * 2)}
    cpu = DeviceRun("cpu", "ok", result={"matmul": {"float32": {"value": 123.4}, "float64": {"value": 61.0}},
                                         "threads": 2, "blas": "openblas", "copy": {"value": 10.5, "threads": 2}})
    found = measured.findings(Measurements(cpu=cpu, cpu_context=CpuContext(cores=2, mhz=3000.0,
                                                                           clock_source="cpuinfo"),
                                           gpus=(gpu_run(0, 700.0), gpu_run(1, 300.0))), facts)
    text = render(document_of(facts, found))
    families = parsed(text)
    promtool_accepts(text)
    figures = {(labels["check"], labels.get("gpu"), labels["unit"]): value
               for labels, value in samples(families["setupkit_measured"])}
    assert figures == {("cpu.matmul", None, "GFLOP/s"): 123.4, ("cpu.memory-bandwidth", None, "GB/s"): 10.5,
                       ("gpu.matmul", "0", "TFLOP/s"): 700.0, ("gpu.matmul", "1", "TFLOP/s"): 300.0,
                       ("gpu.memory-bandwidth", "0", "GB/s"): 3000.0, ("gpu.memory-bandwidth", "1", "GB/s"): 3000.0,
                       ("gpu.host-bandwidth", "0", "GB/s"): 49.0, ("gpu.host-bandwidth", "1", "GB/s"): 49.0}
    expected = {(labels["check"], labels.get("gpu")): value
                for labels, value in samples(families["setupkit_measured_expected"])}
    by_finding = {(f.id, f.message.split(" ")[1].rstrip(":") if f.id.startswith("gpu.") else None): f.expected
                  for f in found}
    assert expected == {key: figure["value"] for key, figure in by_finding.items()}
    statuses = {(labels["check"], labels.get("gpu")): labels["status"]
                for labels, _ in samples(families["setupkit_check_status"])}
    assert statuses[("gpu.matmul", "0")] == "pass" and statuses[("gpu.matmul", "1")] == "warn"


def test_findings_a_message_does_not_tell_apart_are_told_apart_by_their_place():
    finding = {"id": "gpu.matmul", "status": "unknown", "message": "Unknown.", "measured": {"value": 1.0,
                                                                                             "unit": "TFLOP/s"}}
    document = {"schema": "setupkit-doctor/1", "status": "pass", "facts": {}, "findings": [finding, finding]}
    families = parsed(render(stamped(document, now=MOMENT)))
    assert [labels.get("n") for labels, _ in samples(families["setupkit_check_status"])] == [None, "1"]
    assert len(families["setupkit_measured"].samples) == 2


def test_a_figure_that_is_not_a_finite_number_is_left_out():
    findings = [{"id": "cpu.matmul", "status": "info", "message": "", "measured": {"value": value, "unit": "x"}}
                for value in (None, "12", True, math.inf)]
    document = {"schema": "setupkit-doctor/1", "status": "pass", "facts": {}, "findings": findings[:1]}
    for finding in findings:
        document["findings"] = [finding]
        assert "setupkit_measured" not in parsed(render(stamped(document, now=MOMENT)))


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (Debian: the prometheus "
                                                              "package); prometheus_client's parser reads the "
                                                              "output in every other test")
def test_promtool_accepts_every_scenario():
    for name in snapshot_names():
        promtool_accepts(render(document_of(snapshot_facts(name))))


# -- the real CLI ----------------------------------------------------------------------------------------------

def test_the_cli_prints_the_format_on_this_host(run_setupkit):
    done = run_setupkit("doctor", "--format", "prometheus")
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == ""
    families = parsed(done.stdout)
    assert FAMILIES <= set(families)
    promtool_accepts(done.stdout)
    (when,) = samples(families["setupkit_doctor_timestamp_seconds"])
    assert abs(when[1] - datetime.now(timezone.utc).timestamp()) < 120


def test_the_cli_renders_what_doctor_json_reports(run_setupkit):
    snapshot = str(snapshot_path("ubuntu2204-driver-mismatch"))
    text = run_setupkit("doctor", "--snapshot", snapshot, "--format", "prometheus")
    report = run_setupkit("doctor", "--snapshot", snapshot, "--format", "json")
    assert text.returncode == report.returncode == 1
    document = json.loads(report.stdout)
    without_time = [line for line in text.stdout.splitlines() if "timestamp_seconds " not in line]
    assert without_time == [line for line in render(document).splitlines() if "timestamp_seconds " not in line]


@pytest.mark.parametrize(("args", "message"), [
    (["--json", "--format", "prometheus"], "setupkit: --json and --format prometheus ask for two outputs"),
    (["--format", "yaml"], "setupkit: --format 'yaml' is not a format of doctor"),
])
def test_a_bad_format_is_a_usage_error_in_one_line(run_setupkit, args, message):
    done = run_setupkit("doctor", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[0] == message and done.stderr.splitlines()[1].startswith("fix: ")


def test_json_and_format_json_are_one_output(run_setupkit):
    snapshot = str(snapshot_path("centos7-no-avx"))
    both = run_setupkit("doctor", "--snapshot", snapshot, "--json", "--format", "json")
    assert both.returncode == 1 and json.loads(both.stdout)["schema"] == "setupkit-doctor/1"


@pytest.mark.parametrize("args", [["--json"], ["--format", "prometheus"]])
def test_the_machine_formats_import_no_renderer_they_do_not_use(args):
    """Plain doctor imports nothing new for this format, and the format itself needs no rich (as --json)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "setupkit", "doctor", *args],
                          capture_output=True, text=True, timeout=120)
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "setupkit.doctor.document" in modules
    assert not {name for name in modules if name.startswith(("rich", "prometheus_client"))}
    assert ("setupkit.doctor.prometheus" in modules) == ("prometheus" in args)
