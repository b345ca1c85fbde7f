"""The stamp every JSON report carries (setupkit/stamp.py): its form, the run id from the environment, and the
real CLI's reports of doctor, install and smoke-test carrying it, nothing else changed."""

from __future__ import annotations

import json
import os
import re
import socket
from datetime import datetime, timedelta, timezone
from importlib import metadata

import pytest

import setupkit
from setupkit.doctor.document import json_document
from setupkit.doctor.engine import run_checks, select
from setupkit.stamp import epoch_seconds, stamp, stamped
from tests.helpers.doctor import builtin_checks
from tests.helpers.scenarios import snapshot_facts, snapshot_path

TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
SCENARIO = "ubuntu2404-rtx5090-tensorflow221"


def stamp_time(text: str) -> datetime:
    assert TIME.fullmatch(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def assert_fresh_stamp(document: dict, run_id: str | None, before: datetime) -> None:
    assert list(document)[:2] == ["schema", "stamp"]
    found = document["stamp"]
    assert set(found) == {"time", "host", "setupkit", "run_id"}
    assert before - timedelta(seconds=1) <= stamp_time(found["time"]) <= datetime.now(timezone.utc)
    assert found["host"] == socket.gethostname()
    assert found["setupkit"] == setupkit.__version__ == metadata.version("setupkit")
    assert found["run_id"] == run_id


def test_a_stamp_names_the_second_in_utc_the_host_the_version_and_the_run():
    moment = datetime(2026, 12, 1, 10, 30, 15, 987654, tzinfo=timezone(timedelta(hours=2)))
    made = stamp(moment, {"SETUPKIT_RUN_ID": "20261201T0830-ab12"})
    assert made == {"time": "2026-12-01T08:30:15Z", "host": socket.gethostname(), "setupkit": setupkit.__version__,
                    "run_id": "20261201T0830-ab12"}
    assert epoch_seconds(made["time"]) == int(datetime(2026, 12, 1, 8, 30, 15, tzinfo=timezone.utc).timestamp())


@pytest.mark.parametrize("environ", [{}, {"SETUPKIT_RUN_ID": ""}, {"OTHER": "x"}])
def test_no_run_id_is_null(environ):
    assert stamp(environ=environ)["run_id"] is None


def test_the_stamp_follows_the_schema_and_an_existing_one_is_kept():
    document = {"status": "pass", "schema": "setupkit-doctor/1", "facts": {}}
    made = stamped(document)
    assert list(made) == ["schema", "stamp", "status", "facts"] and "stamp" not in document
    assert stamped(made) == made and stamped(made) is not made


def test_doctor_json_is_the_report_with_the_stamp_added(run_setupkit):
    before = datetime.now(timezone.utc)
    done = run_setupkit("doctor", "--snapshot", str(snapshot_path(SCENARIO)), "--json",
                        env={"SETUPKIT_RUN_ID": "run-17"})
    assert done.returncode == 1, done.stderr  # tensorflow.gpu-arch fails on Blackwell
    document = json.loads(done.stdout)
    assert_fresh_stamp(document, "run-17", before)
    facts = snapshot_facts(SCENARIO)
    expected = json.loads(json.dumps(json_document(run_checks(select(builtin_checks().values()), facts), facts)))
    del document["stamp"]
    assert document == expected


def test_without_a_run_id_the_stamp_says_null(run_setupkit, monkeypatch):
    monkeypatch.delenv("SETUPKIT_RUN_ID", raising=False)
    done = run_setupkit("doctor", "--snapshot", str(snapshot_path(SCENARIO)), "--json", "--only", "cpu.avx")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stamp"]["run_id"] is None


def test_the_install_plan_is_stamped(run_setupkit):
    before = datetime.now(timezone.utc)
    done = run_setupkit("install", "--gpu", "--dry-run", "--json", "--snapshot", str(snapshot_path(SCENARIO)),
                        env={"SETUPKIT_RUN_ID": "plan-3"})
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "setupkit-install/1" and document["steps"]
    assert_fresh_stamp(document, "plan-3", before)


def test_the_install_result_is_stamped(run_setupkit, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to get past install's root check")
    env = {"SETUPKIT_INSTALL_LOCK": str(tmp_path / "install.lock"), "SETUPKIT_INSTALL_LOG_DIR": str(tmp_path / "log"),
           "SETUPKIT_INSTALL_STATE": str(tmp_path / "state.json"), "SETUPKIT_RUN_ID": "apply-9"}
    before = datetime.now(timezone.utc)
    done = run_setupkit("install", "--yes", "--only", "verify", "--json", env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["ran"] == ["verify"]
    assert_fresh_stamp(document, "apply-9", before)


@pytest.mark.slow
def test_the_smoke_test_report_is_stamped(run_setupkit):
    before = datetime.now(timezone.utc)
    done = run_setupkit("smoke-test", "--json", "--synthetic", "--steps", "1", "--warmup", "1", "--batch-size", "16",
                        env={"SETUPKIT_RUN_ID": "smoke-5"}, timeout=300)
    document = json.loads(done.stdout)
    assert document["schema"] == "setupkit-smoke-test/1" and done.returncode in (0, 1), done.stderr[-2000:]
    assert_fresh_stamp(document, "smoke-5", before)
