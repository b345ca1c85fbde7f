"""The host's door for the deep probes' children (``Host.run_probe``): live it runs the child bounded in time with
its environment over the user's; a recording host keeps every run; a snapshot answers from probes.json, or with
None where the snapshot was taken without that probe. A hostile probes.json is one line naming it, exit 3."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from setupkit.errors import SnapshotError
from setupkit.host.base import CommandResult
from setupkit.host.bundle import write_recording
from setupkit.host.live import LiveHost
from setupkit.host.recording import Recording, RecordingHost
from setupkit.host.snapshot import SnapshotHost

SECONDS = 15

pytestmark = pytest.mark.usefixtures("no_hang")

DOCS = {
    "manifest.json": {"format": "setupkit-snapshot", "version": 1, "created": "2026-01-01T00:00:00Z"},
    "commands.json": [],
    "nvml.json": {"error": "NVMLError_LibraryNotFound", "message": "not found"},
    "env.json": {},
    "python.json": {"packages": {}},
}
RUN = {"argv": ["/usr/bin/python3", "-c", "import tensorflow"], "returncode": 0,
       "stdout": 'SETUPKIT-TFPROBE {"status": "ok"}\n', "stderr": ""}


def snapshot(root: Path, probes: object = None, raw: str | bytes | None = None) -> Path:
    """A small snapshot folder; probes.json holds ``probes`` as JSON, or ``raw`` as it is, or is absent."""
    (root / "files").mkdir(parents=True)
    for name, doc in DOCS.items():
        (root / name).write_text(json.dumps(doc))
    if probes is not None:
        (root / "probes.json").write_text(json.dumps(probes))
    if raw is not None:
        (root / "probes.json").write_bytes(raw.encode() if isinstance(raw, str) else raw)
    return root


# -- live ----------------------------------------------------------------------------------------------------


def test_live_the_child_gets_the_users_environment_with_the_probes_over_it(monkeypatch):
    monkeypatch.setenv("SETUPKIT_TEST_USER_VAR", "mine")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    code = "import os; print(os.environ['SETUPKIT_TEST_USER_VAR'], os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    done = LiveHost().run_probe("tensorflow", [sys.executable, "-c", code], 30, env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert (done.returncode, done.stdout) == (0, "mine 0\n"), done.stderr
    assert done.argv == (sys.executable, "-c", code)


def test_live_a_hanging_child_is_cut_by_its_timeout():
    started = time.monotonic()
    done = LiveHost().run_probe("tensorflow", [sys.executable, "-c", "import time; time.sleep(60)"], 1)
    assert done.timed_out and time.monotonic() - started < 8


def test_live_a_missing_interpreter_is_127_not_an_exception(tmp_path):
    done = LiveHost().run_probe("tensorflow", [str(tmp_path / "no-python"), "-c", "pass"], 5)
    assert done.returncode == 127


# -- recording -----------------------------------------------------------------------------------------------


def test_the_recording_host_keeps_every_run_by_probe_name_a_missing_interpreter_too(tmp_path):
    host = RecordingHost(LiveHost())
    ran = host.run_probe("tensorflow", [sys.executable, "-c", "print('hi')"], 30)
    assert host.record.probes == {"tensorflow": ran} and ran.stdout == "hi\n"
    missing = host.run_probe("tensorflow", [str(tmp_path / "no-python"), "-c", "pass"], 5)
    assert host.record.probes["tensorflow"] is missing and missing.returncode == 127


def test_the_recording_host_keeps_nothing_where_its_source_has_no_run(tmp_path):
    with SnapshotHost(snapshot(tmp_path / "s")) as inner:
        host = RecordingHost(inner)
        assert host.run_probe("tensorflow", ["python3", "-c", "pass"], 5) is None
        assert host.record.probes == {}


# -- snapshot ------------------------------------------------------------------------------------------------


def test_a_snapshot_without_probes_json_holds_no_run(tmp_path):
    with SnapshotHost(snapshot(tmp_path / "s")) as host:
        assert host.run_probe("tensorflow", ["python3", "-c", "pass"], 120) is None


def test_a_snapshot_answers_with_the_recorded_run_whatever_is_asked(tmp_path):
    with SnapshotHost(snapshot(tmp_path / "s", probes={"tensorflow": RUN})) as host:
        done = host.run_probe("tensorflow", ["/elsewhere/python", "-c", "other"], 5, env={"X": "1"})
        assert done == CommandResult(tuple(RUN["argv"]), 0, RUN["stdout"], "")
        assert host.run_probe("jax", ["python3"], 5) is None


def test_what_the_writer_writes_from_a_recording_reads_back_the_same(tmp_path):
    runs = {"tensorflow": CommandResult(("/opt/py/bin/python", "-c", "x"), None, "", "log\ntimed out after 1.5s"),
            "other": CommandResult(("python3", "-c", "y"), -4, "partial", "")}
    folder = write_recording(Recording(probes=runs), str(tmp_path / "bundle"))
    assert json.loads((folder / "probes.json").read_text())["tensorflow"]["timed_out"] is True
    with SnapshotHost(folder) as host:
        for name, run in runs.items():
            assert host.run_probe(name, ["python3"], 120) == run
        assert host.run_probe("tensorflow", ["python3"], 120).timed_out


# -- hostile probes.json -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("probes", "says"), [
    ([RUN], "probes.json must hold a JSON dict"),
    ("tensorflow", "probes.json must hold a JSON dict"),
    ({"tensorflow": 5}, r"probes.json has a malformed entry \('tensorflow'\)"),
    ({"tensorflow": {**RUN, "argv": []}}, "malformed entry"),
    ({"tensorflow": {**RUN, "argv": "python3 -c x"}}, "malformed entry"),
    ({"tensorflow": {**RUN, "argv": [None]}}, "malformed entry"),
    ({"tensorflow": {**RUN, "returncode": 256}}, "malformed entry"),
    ({"tensorflow": {**RUN, "returncode": True}}, "malformed entry"),
    ({"tensorflow": {**RUN, "returncode": 1.0}}, "malformed entry"),
    ({"tensorflow": {**RUN, "returncode": 10**30}}, "malformed entry"),
    ({"tensorflow": {**RUN, "returncode": "0"}}, "malformed entry"),
    ({"x" * 5000: 5}, r"malformed entry \('xxxx"),
])
def test_a_malformed_probes_json_is_refused_naming_it(tmp_path, probes, says):
    with pytest.raises(SnapshotError, match=says) as caught:
        SnapshotHost(snapshot(tmp_path / "s", probes=probes))
    assert len(str(caught.value)) < 400 and caught.value.exit_code == 3 and caught.value.hint


@pytest.mark.parametrize(("raw", "says"), [
    ('{"tensorflow": {"argv": ["python3"], "returncode": NaN}}', "probes.json holds NaN, which is not JSON"),
    ("[" * 100_000 + "]" * 100_000, "probes.json nests deeper than"),
    (b'{"tensorflow": "\xff"}', "probes.json is not UTF-8"),
    ("{", "probes.json"),
])
def test_probes_json_that_is_no_bounded_json_is_refused(tmp_path, raw, says):
    with pytest.raises(SnapshotError, match=says):
        SnapshotHost(snapshot(tmp_path / "s", raw=raw))


def test_probes_json_as_a_link_a_fifo_a_folder_or_a_sparse_giant_is_refused_at_once(tmp_path):
    makers = {
        "is a symbolic link": lambda path: os.symlink("/dev/zero", path),
        "is a FIFO, not a regular file": os.mkfifo,
        "is a folder, not a regular file": os.mkdir,
        "is 4,294,967,296 bytes, more than": lambda path: os.truncate(os.open(path, os.O_CREAT | os.O_WRONLY), 4 << 30),
    }
    for index, (says, make) in enumerate(makers.items()):
        root = snapshot(tmp_path / f"s{index}")
        make(root / "probes.json")
        started = time.monotonic()
        with pytest.raises(SnapshotError, match=f"probes.json {says}"):
            SnapshotHost(root)
        assert time.monotonic() - started < 2


def test_streams_of_the_wrong_type_read_as_empty(tmp_path):
    odd = {"tensorflow": {"argv": ["python3", "-c", "x"], "returncode": -4, "stdout": ["x"], "stderr": {"a": 1}}}
    with SnapshotHost(snapshot(tmp_path / "s", probes=odd)) as host:
        done = host.run_probe("tensorflow", ["python3"], 120)
        assert (done.returncode, done.stdout, done.stderr) == (-4, "", "")


def test_the_cli_refuses_a_hostile_probes_json_in_one_line_exit_3(run_setupkit, tmp_path):
    root = snapshot(tmp_path / "s", probes={"tensorflow": {**RUN, "returncode": 1.5}})
    started = time.monotonic()
    done = run_setupkit("doctor", "--snapshot", str(root), "--deep", "--json", timeout=SECONDS * 2)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3 and done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"setupkit: snapshot {root}: probes.json has a malformed entry ('tensorflow')")
    assert len(lines) == 2 and lines[1].startswith("fix: ")
    assert time.monotonic() - started < SECONDS
