"""The deep TensorFlow probe is a probe like the others: a recording host keeps its run, the snapshot written from
that recording gives `doctor --snapshot S --deep` the same tfprobe.* facts as the live run, and a snapshot taken
without --deep says so (not-recorded), which every deep check answers "unknown", never pass or fail."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from setupkit.facts import FACTS
from setupkit.host.base import CommandResult
from setupkit.host.bundle import write_recording
from setupkit.host.live import LiveHost
from setupkit.host.recording import RecordingHost
from setupkit.host.snapshot import SnapshotHost
from setupkit.probes import collect_facts, tensorflow
from setupkit.probes.deep import DeepRequest
from tests.helpers.doctor import facts_with, verdict
from tests.helpers.scenarios import H100, REPO

FAKES = REPO / "tests" / "doctor" / "fakes"
DEEP_FACTS = [name for name in FACTS if name.startswith("tfprobe.")]
DEEP_CHECKS = ("tensorflow.import", "tensorflow.gpu-visible")


def record_live(tmp_path: Path, python: str | None, timeout: float) -> tuple[dict, Path]:
    """The deep probe's facts on this machine through a recording host, and the snapshot written from it."""
    host = RecordingHost(LiveHost())
    live = tensorflow.probe(host, DeepRequest(python, timeout))
    assert set(host.record.probes) == {"tensorflow"}
    return live, write_recording(host.record, str(tmp_path / "snapshot"))


def doctor_deep(run_setupkit, snapshot: Path, *extra: str) -> tuple[int, dict]:
    done = run_setupkit("doctor", "--snapshot", str(snapshot), "--deep", "--json", *extra, timeout=120)
    assert "Traceback" not in done.stderr and done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def deep_facts(facts: dict) -> dict:
    return {name: facts[name] for name in DEEP_FACTS}


def findings(document: dict) -> dict[str, str]:
    return {found["id"]: found["status"] for found in document["findings"]}


def missing_interpreter(tmp_path: Path) -> str:
    return str(tmp_path / "no-python")


@pytest.mark.parametrize(("python", "timeout", "status"), [
    (lambda tmp: str(FAKES / "python-sigill"), 20, "crashed"),
    (lambda tmp: str(FAKES / "python-exit132"), 20, "crashed"),
    (lambda tmp: str(FAKES / "python-hang"), 1.5, "timeout"),
    (lambda tmp: str(FAKES / "python-no-site"), 30, "not-installed"),
    (missing_interpreter, 5, "import-error"),
], ids=["sigill", "exit132", "hang", "not-installed", "no-interpreter"])
def test_the_snapshot_of_a_deep_run_gives_the_live_runs_facts(run_setupkit, tmp_path, monkeypatch, python, timeout,
                                                               status):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    live, snapshot = record_live(tmp_path, python(tmp_path), timeout)
    assert live["tfprobe.status"] == status
    code, document = doctor_deep(run_setupkit, snapshot, "--only", "tensorflow.import")
    assert deep_facts(document["facts"]) == deep_facts(json.loads(json.dumps(live)))
    # The hang was cut after 1.5 s there, whatever --deep-timeout is here.
    assert status != "timeout" or "within 1.5 s" in document["facts"]["tfprobe.error"]
    judged = verdict("tensorflow.import", facts_with() | live).status
    assert findings(document) == {"tensorflow.import": judged} and judged in ("fail", "warn")
    assert code == (1 if judged == "fail" else 0)


def test_an_import_error_recorded_there_is_a_failing_finding_here(run_setupkit, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(FAKES / "broken_tf"))
    live, snapshot = record_live(tmp_path, str(FAKES / "python-no-site"), 30)
    assert live["tfprobe.status"] == "import-error" and "libcudart.so.12" in live["tfprobe.error"]
    code, document = doctor_deep(run_setupkit, snapshot, "--only", "tensorflow.import")
    assert code == 1 and deep_facts(document["facts"]) == deep_facts(live)
    assert document["findings"][0]["fix"]["commands"]


def test_real_tensorflow_recorded_and_read_back(run_setupkit, tmp_path):
    if importlib.util.find_spec("tensorflow") is None:  # looked up, not imported: this process stays light
        pytest.skip("TensorFlow is not installed (the test extra installs it)")
    # The whole machine this time, as `setupkit snapshot --deep` records it: every fact must come back.
    with RecordingHost(LiveHost()) as host:
        live = collect_facts(host, deep=DeepRequest(None, 120))
    snapshot = write_recording(host.record, str(tmp_path / "snapshot"))
    assert live["tfprobe.status"] == "ok", live["tfprobe.error"]
    assert live["tfprobe.python"] == sys.executable and live["tfprobe.cpu_op_ok"] is True
    code, document = doctor_deep(run_setupkit, snapshot)
    assert document["facts"] == json.loads(json.dumps(live))
    judged = {check_id: verdict(check_id, live).status for check_id in DEEP_CHECKS}
    assert {check_id: findings(document)[check_id] for check_id in DEEP_CHECKS} == judged
    assert judged["tensorflow.import"] == "pass"


def test_the_recording_holds_the_deep_run_only_when_deep_is_asked(tmp_path):
    with RecordingHost(LiveHost()) as host:
        facts = collect_facts(host)
    assert host.record.probes == {} and all(facts[name] is None for name in DEEP_FACTS)
    with RecordingHost(LiveHost()) as host:
        facts = collect_facts(host, deep=DeepRequest(str(FAKES / "python-sigill"), 20))
    # every deep probe ran (PyTorch's and JAX's too), each in the interpreter asked for
    assert set(host.record.probes) == {"tensorflow", "torch", "jax"} and facts["tfprobe.status"] == "crashed"


# -- a snapshot taken without --deep -------------------------------------------------------------------------


def test_a_snapshot_without_the_run_says_not_recorded_and_how_to_take_one():
    with SnapshotHost(H100) as host:
        facts = tensorflow.probe(host, DeepRequest())
    assert facts["tfprobe.status"] == "not-recorded"
    assert "without --deep" in facts["tfprobe.error"] and "`setupkit snapshot --deep`" in facts["tfprobe.error"]
    assert all(facts[name] is None for name in DEEP_FACTS if name not in ("tfprobe.status", "tfprobe.error"))


@pytest.mark.parametrize("gpus", [0, 1, None])
def test_not_recorded_is_unknown_in_every_deep_check(gpus):
    facts = facts_with(gpu__count=gpus, tfprobe__status="not-recorded", tfprobe__error=tensorflow.NOT_RECORDED)
    for check_id in DEEP_CHECKS:
        finding = verdict(check_id, facts)
        assert finding.status == "unknown", (check_id, finding)
        assert "setupkit snapshot --deep" in finding.message


def test_doctor_deep_on_a_snapshot_without_the_run_exits_0_with_unknowns(run_setupkit):
    code, document = doctor_deep(run_setupkit, H100)
    assert code == 0 and document["facts"]["tfprobe.status"] == "not-recorded"
    statuses = findings(document)
    assert {statuses[check_id] for check_id in DEEP_CHECKS} == {"unknown"}


def test_deep_python_cannot_go_with_a_snapshot(run_setupkit):
    done = run_setupkit("doctor", "--snapshot", str(H100), "--deep", "--deep-python", sys.executable)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and not done.stdout and "Traceback" not in done.stderr
    assert lines == ["setupkit: --deep-python cannot go with --snapshot: the snapshot's deep probe ran the "
                     "interpreter of the machine it was taken on", "fix: drop --deep-python"]


@pytest.mark.parametrize(("stderr", "said"), [
    ("TensorFlow log\ntimed out after 7s", "within 7 s"),
    ("timed out after 2.5s\n", "within 2.5 s"),
    ("timed out after 999999999s", "within 86400 s"),  # held to a day, as a timeout asked for is
    ("timed out after 1e999s", "within 120 s"),  # no number a run could have had: the one asked for
    ("", "within 120 s"),
])
def test_a_recorded_hang_says_the_timeout_that_run_had(stderr, said):
    facts = tensorflow.outcome(CommandResult(("/opt/python3", "-c", "x"), None, "", stderr), 120)
    assert facts["tfprobe.status"] == "timeout" and said in facts["tfprobe.error"]
    assert facts["tfprobe.python"] == "/opt/python3"
