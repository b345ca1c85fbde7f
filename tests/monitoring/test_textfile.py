"""The node_exporter textfile job of docs/monitoring/: the script run for real (around the real setupkit, and
around a slow fake one to catch a half-written file), the systemd units held to `systemd-analyze verify`, the
cron file's form, and, where node_exporter is installed, the report read through it."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.scenarios import REPO, snapshot_path

UNITS = REPO / "docs" / "monitoring"
SCRIPT = UNITS / "setupkit-textfile"
INSTALLED_AT = "/usr/local/sbin/setupkit-textfile"
"""Where docs/monitoring.md installs the script, and where the units and the cron file run it."""


def write_program(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def real_setupkit(tmp_path) -> Path:
    """A setupkit executable that is this checkout's, in this interpreter."""
    return write_program(tmp_path / "setupkit", f'exec "{sys.executable}" -m setupkit "$@"\n')


def run_job(program: Path, folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SETUPKIT_BIN=str(program), SETUPKIT_TEXTFILE_DIR=str(folder), NO_COLOR="1")
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env)


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_the_job_publishes_doctor_report_whole_and_readable(real_setupkit, tmp_path):
    folder = tmp_path / "textfile"
    folder.mkdir()
    # A failing check (exit 1) is a report to publish: the job succeeds.
    done = run_job(real_setupkit, folder, "--snapshot", str(snapshot_path("ubuntu1604-gtx-nouveau")))
    assert done.returncode == 0, done.stderr
    assert [path.name for path in folder.iterdir()] == ["setupkit.prom"]  # no temporary file left
    published = folder / "setupkit.prom"
    assert stat.S_IMODE(published.stat().st_mode) == 0o644  # node_exporter runs as its own user
    found = families(published.read_text())
    assert found["setupkit_doctor_status"].samples[0].value == 2
    assert {sample.labels["status"] for sample in found["setupkit_check_status"].samples} >= {"fail", "pass"}


def test_a_doctor_that_cannot_run_leaves_the_last_report(real_setupkit, tmp_path):
    folder = tmp_path / "textfile"
    folder.mkdir()
    (folder / "setupkit.prom").write_text("last week's\n")
    done = run_job(real_setupkit, folder, "--snapshot", str(tmp_path / "nowhere"))
    assert done.returncode == 3
    assert "setupkit doctor exited 3" in done.stderr and "left as it was" in done.stderr
    assert [path.name for path in folder.iterdir()] == ["setupkit.prom"]
    assert (folder / "setupkit.prom").read_text() == "last week's\n"


def test_the_collector_never_sees_a_half_written_report(tmp_path):
    folder = tmp_path / "textfile"
    folder.mkdir()
    (folder / "setupkit.prom").write_text("old 1\n")
    slow = write_program(tmp_path / "slow-setupkit", "echo 'new 1'\nsleep 1\necho 'new 2'\n")
    env = dict(os.environ, SETUPKIT_BIN=str(slow), SETUPKIT_TEXTFILE_DIR=str(folder))
    job = subprocess.Popen([str(SCRIPT)], env=env)
    seen = set()
    try:
        while job.poll() is None:
            seen.add((folder / "setupkit.prom").read_text())
            assert {path.name for path in folder.glob("*.prom")} == {"setupkit.prom"}  # the partial is hidden
            time.sleep(0.02)
    finally:
        job.wait(timeout=30)
    assert job.returncode == 0
    assert seen <= {"old 1\n", "new 1\nnew 2\n"} and "old 1\n" in seen
    assert (folder / "setupkit.prom").read_text() == "new 1\nnew 2\n"


def unit_file(name: str) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections, each its (key, value) lines in order (a key such as Environment= repeats)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = sections.setdefault("", [])
    for line in (UNITS / name).read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif line.strip() and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            current.append((key.strip(), value.strip()))
    return sections


def test_the_units_and_cron_run_the_installed_script_and_write_only_its_folder():
    service = unit_file("setupkit-textfile.service")["Service"]
    unit = dict(service)
    assert unit["Type"] == "oneshot" and unit["ExecStart"] == INSTALLED_AT
    settings = dict(value.split("=", 1) for key, value in service if key == "Environment")
    assert unit["ReadWritePaths"] == settings["SETUPKIT_TEXTFILE_DIR"] and unit["ProtectSystem"] == "strict"
    timer = unit_file("setupkit-textfile.timer")
    assert ("WantedBy", "timers.target") in timer["Install"] and ("OnUnitActiveSec", "15min") in timer["Timer"]
    jobs = [line for line in (UNITS / "setupkit-textfile.cron").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    variables = dict(line.split("=", 1) for line in jobs if "=" in line.split()[0])
    (entry,) = [line.split() for line in jobs if "=" not in line.split()[0]]
    assert entry[:5] == ["*/15", "*", "*", "*", "*"] and entry[5:] == ["root", INSTALLED_AT]
    assert variables["SETUPKIT_TEXTFILE_DIR"] == settings["SETUPKIT_TEXTFILE_DIR"]
    assert variables["SETUPKIT_BIN"] == settings["SETUPKIT_BIN"]
    assert os.access(SCRIPT, os.X_OK)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (no systemd)")
def test_systemd_analyze_verifies_the_units(tmp_path):
    # verify also checks that ExecStart's program exists: the copy runs the script where this checkout has it.
    for name in ("setupkit-textfile.service", "setupkit-textfile.timer"):
        text = (UNITS / name).read_text().replace(INSTALLED_AT, str(SCRIPT))
        (tmp_path / name).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "setupkit-textfile.service"),
                           str(tmp_path / "setupkit-textfile.timer")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done.stdout + done.stderr
    # The same verify speaks up at a mistake: it is really reading the units.
    broken = tmp_path / "broken" / "setupkit-textfile.service"
    broken.parent.mkdir()
    broken.write_text((tmp_path / "setupkit-textfile.service").read_text().replace("Type=oneshot", "Type=oneshoot"))
    done = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "oneshoot" in done.stderr


def node_exporter() -> str | None:
    return shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(node_exporter() is None, reason="node_exporter is not installed (Debian: "
                                                    "prometheus-node-exporter); the parser tests read the format")
def test_node_exporter_reads_the_report_without_an_error(real_setupkit, tmp_path):
    folder = tmp_path / "textfile"
    folder.mkdir()
    assert run_job(real_setupkit, folder, "--snapshot", str(snapshot_path("h100"))).returncode == 0
    address = f"127.0.0.1:{free_port()}"
    exporter = subprocess.Popen([str(node_exporter()), f"--web.listen-address={address}",
                                 "--collector.disable-defaults", "--collector.textfile",
                                 f"--collector.textfile.directory={folder}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        text = None
        deadline = time.monotonic() + 20
        while text is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as answer:
                    text = answer.read().decode()
            except OSError:
                time.sleep(0.1)
        assert text is not None, "node_exporter did not answer"
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
    found = families(text)
    assert found["node_textfile_scrape_error"].samples[0].value == 0
    assert {"setupkit_check_status", "setupkit_info", "setupkit_doctor_timestamp_seconds"} <= set(found)
    info = found["setupkit_info"].samples[0].labels
    assert info["driver"] == "580.159.04" and info["os"] == "ubuntu 24.04"
