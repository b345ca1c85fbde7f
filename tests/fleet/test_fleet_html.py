"""The fleet report builder (setupkit_report's filters): one row per targeted host from this run's results, the
outliers against the fleet majority, the text table, and the HTML page opened in real headless Chromium."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.fleet import chromium

RUN = {"run_id": "20261201T120000Z-abc123", "time": "2026-12-01T12:00:00Z", "playbook": "doctor"}


@pytest.fixture(scope="module")
def fleet_filters(fleet):
    path = fleet.PLAYBOOKS / "roles" / "setupkit_report" / "filter_plugins" / "setupkit_fleet.py"
    spec = importlib.util.spec_from_file_location("setupkit_fleet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def doctor(host: str, driver: str = "580.95.05", status: str = "pass", findings=(), run_id=RUN["run_id"]) -> dict:
    return {"schema": "setupkit-doctor/1", "status": status,
            "stamp": {"time": "2026-12-01T12:00:05Z", "host": host, "setupkit": "0.1.0", "run_id": run_id},
            "facts": {"os.pretty_name": "Ubuntu 24.04.3 LTS", "kernel.release": "6.8.0-87-generic", "gpu.count": 2,
                      "gpu.names": ["NVIDIA H100 80GB HBM3"] * 2, "driver.version": driver,
                      "cuda.toolkit_version": "12.8", "cudnn.version": "9.8.0", "tensorflow.version": "2.20.0"},
            "findings": list(findings)}


NOUVEAU = {"id": "nouveau.loaded", "status": "fail", "title": "nouveau is not loaded",
           "fix": {"text": "Blacklist nouveau and rebuild the initramfs, then reboot.",
                   "commands": ["sudo update-initramfs -u", "sudo reboot"]}}
MATMUL = {"id": "gpu.matmul", "status": "pass", "title": "GPU matrix multiply",
          "measured": {"value": 612.5, "unit": "TFLOP/s", "precision": "bf16"},
          "expected": {"value": 600.0, "unit": "TFLOP/s", "source": "datasheet"}}
HOSTVARS = {
    "gpu01": {"setupkit_doctor": doctor("gpu01", findings=[MATMUL, {**MATMUL, "measured": {"value": 600.1,
                                                                                        "unit": "TFLOP/s"}}])},
    "gpu02": {"setupkit_doctor": doctor("gpu02", status="fail", findings=[NOUVEAU])},
    "gpu03": {"setupkit_doctor": doctor("gpu03", driver="550.54.15")},
    "gpu04": {"setupkit_failure": {"task": "Install setupkit into its venv",
                                   "error": "Install setupkit into its venv: No matching distribution"},
              "setupkit_fetched": ["gpu04/pip.log"]},
    "gpu05": {"setupkit_unreachable": True,
              "setupkit_unreachable_error": "Task failed: Failed to connect to the host via ssh: timed out"},
    # A report left by another run (the host's variables hold it, its stamp says otherwise): not this run's.
    "gpu06": {"setupkit_doctor": doctor("gpu06", run_id="20261124T090000Z-old000")},
}
TARGETS = [*HOSTVARS, "gpu07"]  # gpu07 left the play without a word (unreachable mid-run)


@pytest.fixture(scope="module")
def document(fleet_filters):
    return fleet_filters.setupkit_fleet(HOSTVARS | {"gpu07": {}}, TARGETS, [h for h in TARGETS if h != "gpu07"], RUN)


def test_every_targeted_host_has_a_row_with_its_result(document):
    assert document["schema"] == "setupkit-fleet/1" and document["run_id"] == RUN["run_id"]
    results = {row["host"]: row["result"] for row in document["hosts"]}
    assert results == {"gpu01": "ok", "gpu02": "ok", "gpu03": "ok", "gpu04": "failed", "gpu05": "unreachable",
                       "gpu06": "failed", "gpu07": "unreachable"}
    rows = {row["host"]: row for row in document["hosts"]}
    assert rows["gpu04"]["error"].endswith("No matching distribution") and rows["gpu04"]["files"] == ["gpu04/pip.log"]
    assert rows["gpu05"]["error"] == "Failed to connect to the host via ssh: timed out"
    assert "not this run's" in rows["gpu06"]["error"] and rows["gpu06"]["report"] is None
    assert "left the play" in rows["gpu07"]["error"]
    assert json.loads(json.dumps(document)) == document  # plain JSON all the way down


def test_a_row_carries_the_failing_checks_with_fixes_and_the_speeds(document):
    rows = {row["host"]: row for row in document["hosts"]}
    assert rows["gpu02"]["failing"] == [{"id": "nouveau.loaded", "title": NOUVEAU["title"], "fix": NOUVEAU["fix"]}]
    assert rows["gpu01"]["measured"] == {"gpu.matmul": {"value": 612.5, "unit": "TFLOP/s", "expected": 600.0},
                                         "gpu.matmul#2": {"value": 600.1, "unit": "TFLOP/s", "expected": 600.0}}
    assert rows["gpu01"]["report"] == "gpu01.json" and rows["gpu01"]["stamp"]["host"] == "gpu01"


def test_the_host_off_the_majority_is_an_outlier(document):
    outliers = {row["host"]: row["outliers"] for row in document["hosts"]}
    assert outliers["gpu03"] == [{"fact": "driver.version", "value": "550.54.15", "majority": "580.95.05"}]
    assert outliers["gpu01"] == [] and outliers["gpu02"] == []


def test_no_majority_no_outliers(fleet_filters):
    two = {"a": {"setupkit_doctor": doctor("a")}, "b": {"setupkit_doctor": doctor("b", driver="550.54.15")}}
    rows = fleet_filters.setupkit_fleet(two, ["a", "b"], ["a", "b"], RUN)["hosts"]
    assert [row["outliers"] for row in rows] == [[], []]


def test_the_text_table_marks_failures_outliers_and_speeds(document, fleet_filters):
    lines = fleet_filters.setupkit_fleet_text(document)
    assert lines[0].split()[:3] == ["host", "os", "gpus"]
    rows = {line.split()[0]: line for line in lines[2:9]}
    assert "580.95.05" in rows["gpu01"] and "550.54.15*" in rows["gpu03"]
    assert "nouveau.loaded" in rows["gpu02"] and "gpu matmul 612.5 TFLOP/s" in rows["gpu01"]
    assert " FAILED " in rows["gpu04"] and " UNREACHABLE " in rows["gpu05"] + " "
    assert "* gpu03: driver.version is 550.54.15, most of the fleet has 580.95.05" in lines
    assert lines[-1] == f"setupkit doctor run {RUN['run_id']} at {RUN['time']}: 7 hosts: 3 ok, 2 failed, 2 unreachable"


def test_failure_text_names_the_task_the_exit_and_the_last_error_line(fleet_filters):
    result = {"msg": "non-zero return code", "rc": 4, "stderr": "warming up\nsetupkit: no lock\n"}
    assert fleet_filters.setupkit_failure_text(result, "Run setupkit doctor") == \
        "Run setupkit doctor: exit 4: setupkit: no lock"
    assert fleet_filters.setupkit_failure_text({"msg": "Task failed: timed out"}) == "timed out"


def test_the_html_page_is_self_contained(document, fleet_filters):
    page = fleet_filters.setupkit_fleet_html(document)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page and "<link" not in page and "src=" not in page and "url(" not in page
    assert "sudo update-initramfs -u" in page and "Blacklist nouveau" in page
    assert '<td class="outlier" title="differs from most of the fleet">550.54.15</td>' in page


def test_the_html_page_renders_in_headless_chromium(document, fleet_filters, tmp_path):
    if chromium.find() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    page = tmp_path / "fleet.html"
    page.write_text(fleet_filters.setupkit_fleet_html(document))
    rendered = chromium.open_page(page, tmp_path / "browser")
    print(f"\nscreenshot: {rendered.screenshot}")
    assert rendered.console == [], rendered.console
    assert rendered.screenshot.stat().st_size > 10_000
    for host in TARGETS:
        assert f'<tr class="host-row" data-host="{host}">' in rendered.dom
        assert f'<section class="host" id="host-{host}">' in rendered.dom
    assert "UNREACHABLE" in rendered.dom and "FAILED" in rendered.dom


def test_the_browser_check_sees_console_errors(tmp_path):
    """The check above means something: a page that logs an error and throws is caught by it."""
    if chromium.find() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("boom"); missing();</script></body></html>')
    console = chromium.open_page(page, tmp_path / "browser").console
    assert any('"boom"' in line for line in console) and any("Uncaught ReferenceError" in line for line in console)


def test_a_report_without_a_stamp_is_taken_as_it_is(fleet_filters):
    """An older setupkit prints no stamp: its report came from this run's output and proves nothing else."""
    report = {key: value for key, value in doctor("old").items() if key != "stamp"}
    rows = fleet_filters.setupkit_fleet({"old": {"setupkit_doctor": report}}, ["old"], ["old"], RUN)["hosts"]
    assert rows[0]["result"] == "ok" and rows[0]["stamp"] is None and rows[0]["report"] == "old.json"


def test_a_host_stopped_on_purpose_is_unknown_not_failed(fleet_filters):
    skipped = {"new": {"setupkit_skipped": "check mode: setupkit is not installed yet"}}
    document = fleet_filters.setupkit_fleet(skipped, ["new"], ["new"], RUN)
    assert [(r["result"], r["status"], r["error"]) for r in document["hosts"]] == [
        ("ok", "unknown", "check mode: setupkit is not installed yet")]
    assert "new no report: check mode: setupkit is not installed yet" in fleet_filters.setupkit_fleet_text(document)
