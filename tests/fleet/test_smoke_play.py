"""smoke.yml, run for real with ansible-playbook. Over a local connection: a host whose smoke test cannot start
(exit 3 and one line on stderr, no JSON, as an older setupkit prints) is reported failed with setupkit's own
message and keeps no older report; a host without a framework gets the real smoke test's JSON failure report,
saying what to install. Over ssh (the ssh_fleet hosts): the play keeps going past a host whose smoke test fails,
and every host (failed and unreachable included) is accounted for in the recap, the fleet report and the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.venvs import requirement_closure

MESSAGE = ("setupkit: smoke-test needs TensorFlow (or --backend jax|torch with that framework): tensorflow, keras "
           "and numpy are not installed for /opt/setupkit/venv/bin/python")
FIX = "fix: pip install 'setupkit[tf]'"

FAKE = f'''#!{sys.executable}
import json, sys
verb = sys.argv[1]
if verb == "doctor":
    print(json.dumps({{"schema": "setupkit-doctor/1", "status": "pass", "facts": {{"gpu.count": 0}}, "findings": []}}))
elif verb == "smoke-test":
    print({MESSAGE!r}, file=sys.stderr)
    print({FIX!r}, file=sys.stderr)
    sys.exit(3)
'''


@pytest.mark.slow
def test_smoke_play_reports_a_host_that_cannot_start_with_the_message(tmp_path, fleet):
    setupkit = tmp_path / "setupkit"
    setupkit.write_text(FAKE)
    setupkit.chmod(0o755)
    reports = tmp_path / "reports"
    reports.mkdir()
    stale = reports / "localhost-smoke.json"
    stale.write_text(json.dumps({"schema": "setupkit-smoke-test/1", "status": "pass"}))
    result = fleet.run_playbook("smoke.yml", tmp_path, {"setupkit_install_package": False,
                                                        "setupkit_bin": str(setupkit), "setupkit_become": False,
                                                        "setupkit_reports_dir": str(reports)})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert fleet.parse_recap(result.stdout)["localhost"]["failed"] == 1, fleet.recap_line(result.stdout)
    assert f"localhost: the smoke test could not start (exit 3): {MESSAGE} {FIX}" in output
    assert "non-zero return code" not in output  # the play judged the result; the command task did not die
    assert not stale.exists() and (reports / "localhost.json").exists()


# -- a host without a framework: the real smoke-test's JSON failure report ------------------------------------

@pytest.fixture(scope="module")
def bare_setupkit(tmp_path_factory) -> Path:
    """A `setupkit` command whose Python sees setupkit and its own dependencies only, as a fresh `pip install
    setupkit` leaves it: no TensorFlow, Keras, JAX, PyTorch or numpy (python -S, links to just those packages)."""
    folder = tmp_path_factory.mktemp("bare-setupkit")
    site = folder / "site"
    site.mkdir()
    found: dict = {}
    requirement_closure("setupkit", found)
    found.pop("setupkit")
    for distribution in found.values():
        for top in {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}:
            if not top.endswith(".dist-info") and top != "__pycache__" and not (site / top).exists():
                (site / top).symlink_to(Path(distribution.locate_file(top)))
    command = folder / "setupkit"
    command.write_text(f'#!/bin/sh\nPYTHONPATH={site}:{REPO} exec {sys.executable} -S -m setupkit "$@"\n')
    command.chmod(0o755)
    return command


REPO = Path(__file__).resolve().parents[2]


def test_smoke_test_json_without_a_framework_is_a_failure_report_saying_what_to_install(bare_setupkit):
    done = subprocess.run([str(bare_setupkit), "smoke-test", "--json"], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, SETUPKIT_RUN_ID="run-42", NO_COLOR="1"))
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    message, fix = done.stderr.splitlines()[-2:]
    assert message.startswith("setupkit: smoke-test trains through Keras 3 on TensorFlow, JAX or PyTorch, and none")
    assert fix.startswith("fix: pip install ")
    assert report["schema"] == "setupkit-smoke-test/1" and report["status"] == "fail" and report["started"] is False
    assert report["failures"] == [message.removeprefix("setupkit: ")] and report["fix"] == fix.removeprefix("fix: ")
    assert report["stamp"]["run_id"] == "run-42"


@pytest.mark.slow
def test_smoke_play_on_a_host_without_a_framework_keeps_its_json_failure_report(tmp_path, fleet, bare_setupkit):
    reports = tmp_path / "reports"
    result = fleet.run_playbook("smoke.yml", tmp_path, {"setupkit_install_package": False,
                                                        "setupkit_bin": str(bare_setupkit), "setupkit_become": False,
                                                        "setupkit_reports_dir": str(reports),
                                                        "setupkit_run_id": "smoke-run-1"})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    report = json.loads((reports / "localhost-smoke.json").read_text())
    assert report["status"] == "fail" and report["fix"].startswith("pip install ")
    assert report["stamp"]["run_id"] == "smoke-run-1"
    document = json.loads((reports / "fleet.json").read_text())
    assert document["playbook"] == "smoke" and document["run_id"] == "smoke-run-1"
    [row] = document["hosts"]
    assert row["host"] == "localhost" and row["result"] == "failed" and row["report"] == "localhost-smoke.json"
    assert row["status"] == "fail" and "could not start (exit 3)" in row["error"] and "fix: pip install" in row["error"]


# -- over ssh: two hosts (the first fails its smoke test) and one unreachable ----------------------------------

SMOKE_HOSTS = ("smoke-a", "smoke-b", "smoke-c")
FAKE_HOST_SETUPKIT = f'''#!{sys.executable}
import json, os, socket, sys
stamp = {{"time": "2026-12-01T12:00:00Z", "host": socket.gethostname(), "setupkit": "0.1.0",
         "run_id": os.environ.get("SETUPKIT_RUN_ID")}}
verb = sys.argv[1]
if verb == "doctor":
    print(json.dumps({{"schema": "setupkit-doctor/1", "status": "pass", "facts": {{"gpu.count": 0}}, "findings": [],
                      "stamp": stamp}}))
elif verb == "smoke-test":
    fails = open("/srv/setupkit-host/smoke-fails").read().strip() == "yes"
    print(json.dumps({{"schema": "setupkit-smoke-test/1", "status": "fail" if fails else "pass",
                      "backend": "tensorflow", "devices": [{{"type": "CPU", "name": "CPU"}}],
                      "dataset": {{"source": "synthetic"}}, "images_per_sec": 1234.5, "loss_first": 2.3,
                      "loss_last": 2.3 if fails else 1.9, "test_accuracy": 0.1,
                      "failures": ["the loss did not fall"] if fails else [], "warnings": [], "stamp": stamp}}))
    sys.exit(1 if fails else 0)
'''


@pytest.fixture(scope="module")
def smoke_fleet(ssh_fleet):
    hosts = ssh_fleet(list(SMOKE_HOSTS[:2]), unreachable=SMOKE_HOSTS[2:])
    for name in SMOKE_HOSTS[:2]:
        command = hosts.host_dir(name) / "bin" / "setupkit"
        command.parent.mkdir(parents=True, exist_ok=True)
        command.write_text(FAKE_HOST_SETUPKIT)
        command.chmod(0o755)
        (hosts.host_dir(name) / "smoke-fails").write_text("yes\n" if name == "smoke-a" else "no\n")
    return hosts


@pytest.mark.slow
def test_smoke_play_over_ssh_keeps_going_past_a_failing_host_and_accounts_for_every_host(smoke_fleet, fleet,
                                                                                         tmp_path):
    reports = tmp_path / "reports"
    extra = {"setupkit_install_package": False, "setupkit_bin": "/srv/setupkit-host/bin/setupkit",
             "setupkit_become": False, "setupkit_reports_dir": str(reports)}
    started = time.monotonic()
    result = smoke_fleet.run_playbook(fleet.PLAYBOOKS / "smoke.yml", tmp_path, extra, fleet.env(tmp_path))
    print(f"\n--- smoke.yml: rc {result.returncode} in {time.monotonic() - started:.1f}s")
    print((reports / "fleet.txt").read_text() if (reports / "fleet.txt").exists() else "")
    output = result.stdout[-20000:] + result.stderr[-5000:]
    recap = fleet.parse_recap(result.stdout)
    assert result.returncode == 4, output  # a host unreachable (4) outranks a host failed (2)
    assert recap["smoke-a"]["failed"] == 1 and recap["smoke-a"]["rescued"] == 1, output
    assert recap["smoke-b"]["failed"] == 0 and recap["smoke-c"]["unreachable"] == 1, output
    assert recap["localhost"]["failed"] == 1, output  # the summary
    assert "3 hosts: 1 ok, 1 failed, 1 unreachable; not passed: smoke-a, smoke-c" in output

    document = json.loads((reports / "fleet.json").read_text())
    rows = {row["host"]: row for row in document["hosts"]}
    assert document["playbook"] == "smoke" and list(rows) == list(SMOKE_HOSTS)
    assert {host: row["result"] for host, row in rows.items()} == {
        "smoke-a": "failed", "smoke-b": "ok", "smoke-c": "unreachable"}
    assert "smoke-a: the smoke test failed (the loss did not fall); its report is" in rows["smoke-a"]["error"]
    # smoke-a failed first (serial 1, inventory order), and smoke-b was tested all the same.
    for host, status in (("smoke-a", "fail"), ("smoke-b", "pass")):
        report = json.loads((reports / f"{host}-smoke.json").read_text())
        assert report["status"] == status and report["stamp"]["host"] == host
        assert report["stamp"]["run_id"] == document["run_id"]  # SETUPKIT_RUN_ID reached the smoke test
        assert rows[host]["report"] == f"{host}-smoke.json" and rows[host]["status"] == status
    assert "the smoke test failed" in rows["smoke-a"]["error"]
    assert rows["smoke-c"]["report"] is None and rows["smoke-c"]["error"]
    table = [line for line in output.splitlines() if "1234" in line]
    assert any("smoke-a" in line and "fail" in line for line in table), output
    assert any("smoke-b" in line and "pass" in line for line in table), output


@pytest.mark.slow
@pytest.mark.parametrize("options", [(), ("--check",)], ids=["second-run", "check-mode"])
def test_smoke_play_over_ssh_again_changes_nothing_and_runs_in_check_mode(smoke_fleet, fleet, tmp_path, options):
    reports = tmp_path / "reports"
    extra = {"setupkit_install_package": False, "setupkit_bin": "/srv/setupkit-host/bin/setupkit",
             "setupkit_become": False, "setupkit_reports_dir": str(reports)}
    started = time.monotonic()
    result = smoke_fleet.run_playbook(fleet.PLAYBOOKS / "smoke.yml", tmp_path, extra, fleet.env(tmp_path),
                                      options=options)
    print(f"\n--- smoke.yml {' '.join(options)}: rc {result.returncode} in {time.monotonic() - started:.1f}s")
    output = result.stdout[-20000:] + result.stderr[-5000:]
    assert "Traceback" not in output and "ERROR!" not in output, output
    recap = fleet.parse_recap(result.stdout)
    assert set(recap) >= set(SMOKE_HOSTS), output
    assert recap["smoke-b"]["changed"] == 0 and recap["smoke-b"]["failed"] == 0, output
    assert recap["smoke-c"]["unreachable"] == 1, output
    rows = {row["host"]: row for row in json.loads((reports / "fleet.json").read_text())["hosts"]}
    assert rows["smoke-b"]["result"] == "ok" and rows["smoke-c"]["result"] == "unreachable", rows
    if options:  # nothing trained: the row says what a real run would do
        assert rows["smoke-b"]["status"] == "unknown" and "check mode trains nothing" in rows["smoke-b"]["error"]
        assert rows["smoke-a"]["result"] == "ok", rows  # its failing smoke test never ran
