"""`setupkit diff A B` on the scenario snapshots (two Ubuntu 24.04 workstations whose drivers differ), a
snapshot against its own doctor report and its packed self, reports from another setupkit, hostile input, and
the real CLI."""

from __future__ import annotations

import gzip
import json
import os
import tarfile
import time
from pathlib import Path

import pytest

from setupkit.diff import report
from setupkit.diff.run import KEY_FACTS, read_side, run_diff
from setupkit.errors import PreconditionError
from tests.helpers.scenarios import snapshot_facts, snapshot_path

CU126 = "ubuntu2404-rtx5090-torch-cu126"
"""An RTX 5090 on driver 580 with PyTorch for CUDA 12.6."""
DRIVER570 = "ubuntu2404-torch-cu130-driver570"
"""An RTX 4090 on driver 570 with PyTorch for CUDA 13.0."""
KEY_CHANGES = {
    "driver.version": ("580.95.05", "570.172.08"),
    "cuda.pip_runtime_version": ("12.6", "13.0"),
    "driver.cuda_max": ("13.0", "12.8"),
    "cudnn.pip_version": ("9.10.2.21", "9.20.0.48"),
    "torch.version": ("2.13.0+cu126", "2.13.0+cu130"),
    "gpu.names": (["NVIDIA GeForce RTX 5090"], ["NVIDIA GeForce RTX 4090"]),
}


def doctor_report(run_setupkit, scenario: str, path: Path, *extra: str) -> Path:
    done = run_setupkit("doctor", "--snapshot", str(snapshot_path(scenario)), "--json", *extra)
    assert done.stdout.startswith("{"), done.stderr
    path.write_text(done.stdout)
    return path


def edited_report(source: Path, target: Path, change) -> Path:
    document = json.loads(source.read_text())
    change(document)
    target.write_text(json.dumps(document))
    return target


def test_two_workstations_differ_in_driver_cuda_torch_and_gpu_key_facts_first():
    comparison = run_diff(str(snapshot_path(CU126)), str(snapshot_path(DRIVER570)))
    changed = {change.fact: (change.a, change.b) for change in comparison.changed}
    assert {name: changed[name] for name in KEY_CHANGES} == KEY_CHANGES
    assert [change.fact for change in comparison.changed][:len(KEY_CHANGES)] == \
        [name for name in KEY_FACTS if name in KEY_CHANGES]  # the key facts first, in their order
    a, b = snapshot_facts(CU126), snapshot_facts(DRIVER570)
    assert set(changed) == {name for name in a if json.dumps(a[name]) != json.dumps(b[name])}
    assert {"gpu.architectures", "driver.open_kernel_module", "torch.cuda_version"} <= set(changed)
    assert "kernel.release" not in changed and "os.pretty_name" not in changed  # the same on both
    assert not (comparison.only_a or comparison.only_b or comparison.not_compared) and not comparison.same


def test_the_json_document():
    a, b = str(snapshot_path(CU126)), str(snapshot_path(DRIVER570))
    document = report.json_document(run_diff(a, b))
    assert document["schema"] == "setupkit-diff/1"
    assert document["a"] == {"path": a, "kind": "snapshot", "time": "2026-11-27T09:00:00Z", "host": None}
    assert document["changed"][0] == {"fact": "driver.version", "a": "580.95.05", "b": "570.172.08"}
    assert (document["only_a"], document["only_b"], document["not_compared"]) == ([], [], [])
    json.dumps(document, allow_nan=False)


def test_a_snapshot_is_the_same_as_its_doctor_report_and_its_packed_self(run_setupkit, tmp_path):
    folder = snapshot_path("h100")
    packed = tmp_path / "h100.tar.gz"
    with tarfile.open(packed, "w:gz") as tar:
        tar.add(folder, arcname="h100")
    plain = tmp_path / "h100-bundle"  # a packed bundle told by its first bytes, whatever its name
    plain.write_bytes(packed.read_bytes())
    own_report = doctor_report(run_setupkit, "h100", tmp_path / "h100.json")
    for other in (folder, packed, plain, own_report):
        comparison = run_diff(str(folder), str(other))
        assert comparison.same and not comparison.changed, [c.fact for c in comparison.changed]
    assert read_side(str(plain)).kind == "snapshot" and read_side(str(own_report)).kind == "report"


def test_a_report_from_another_setupkit_names_other_facts(run_setupkit, tmp_path):
    mine = doctor_report(run_setupkit, CU126, tmp_path / "mine.json")

    def older(document):
        del document["facts"]["gpu.xid_events"]
        document["facts"]["gpu.retired"] = 0
        document["facts"]["driver.version"] = "575.64"

    theirs = edited_report(mine, tmp_path / "older.json", older)
    comparison = run_diff(str(mine), str(theirs))
    assert [(c.fact, c.a, c.b) for c in comparison.changed] == [("driver.version", "580.95.05", "575.64")]
    assert (comparison.only_a, comparison.only_b) == (["gpu.xid_events"], ["gpu.retired"])
    document = report.json_document(comparison)
    assert document["only_b"] == [{"fact": "gpu.retired", "b": 0}]
    assert document["a"]["kind"] == "report" and document["a"]["host"] == json.loads(mine.read_text())["stamp"]["host"]


def test_a_deep_probe_one_side_did_not_run_is_not_compared(run_setupkit, tmp_path):
    plain = doctor_report(run_setupkit, CU126, tmp_path / "plain.json")

    def deep(document):
        document["facts"].update({"torchprobe.status": "ok", "torchprobe.version": "2.13.0+cu126"})

    comparison = run_diff(str(snapshot_path(CU126)), str(edited_report(plain, tmp_path / "deep.json", deep)))
    assert comparison.same and comparison.not_compared == ["torchprobe"]
    # A snapshot without the deep runs, read --deep, says "not-recorded": that is a side not probed, not a change.
    recorded = doctor_report(run_setupkit, CU126, tmp_path / "recorded.json", "--deep")
    assert json.loads(recorded.read_text())["facts"]["tfprobe.status"] == "not-recorded"
    assert run_diff(str(recorded), str(plain)).same


# -- hostile and unreadable input ------------------------------------------------------------------------------

def hostile_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, what the one line says)."""
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    sparse = tmp_path / "sparse.json"
    with open(sparse, "wb") as handle:
        handle.truncate(4 << 30)
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "not-a-snapshot").mkdir()
    cases = {
        "fifo": (fifo, "is a FIFO, not a regular file"),
        "sparse": (sparse, "is 4,294,967,296 bytes, more than the 16,777,216 allowed"),
        "nested": (nested, "nests deeper than 64 levels"),
        "missing": (tmp_path / "nowhere.json", "no such file or directory"),
        "folder": (tmp_path / "not-a-snapshot", "it has no files/ folder"),
    }
    for name, (content, said) in {
        "nan": (b'{"schema": "setupkit-doctor/1", "facts": {"x": NaN}}', "holds NaN, which is not JSON"),
        "latin1": (b'{"schema": "setupkit-doctor/1", "facts": {"x": "\xe9"}}', "is not UTF-8"),
        "array": (b"[1, 2]", "holds no JSON object"),
        "install-plan": (b'{"schema": "setupkit-install/1", "steps": []}',
                         "is setupkit-install/1, not a doctor report"),
        "no-schema": (b'{"facts": {}}', "is no schema, not a doctor report"),
        "facts-a-list": (b'{"schema": "setupkit-doctor/1", "facts": []}', 'its "facts" is not a JSON object'),
        "garbage.tar.gz": (b"not gzip at all", "snapshot"),
        "gzip-without-suffix": (gzip.compress(b"not a tar archive" * 100), "snapshot"),
    }.items():
        path = tmp_path / name
        path.write_bytes(content)
        cases[name] = (path, said)
    return cases


def test_every_hostile_input_is_one_line_and_exit_3_in_bounded_time(run_setupkit, tmp_path):
    good = str(snapshot_path(CU126))
    for name, (path, said) in hostile_inputs(tmp_path).items():
        started = time.monotonic()
        done = run_setupkit("diff", good, str(path), timeout=60)
        lines = done.stderr.splitlines()
        assert done.returncode == 3 and done.stdout == "", (name, done.stderr)
        assert lines[0].startswith("setupkit: ") and said in lines[0], (name, lines)
        assert len(lines) <= 2 and all(line.startswith("fix: ") for line in lines[1:]), (name, lines)
        assert time.monotonic() - started < 40, name
        with pytest.raises(PreconditionError):
            read_side(str(path))


def test_names_and_values_from_a_report_never_steer_the_terminal(run_setupkit, tmp_path):
    mine = doctor_report(run_setupkit, CU126, tmp_path / "mine.json")

    def hostile(document):
        document["facts"]["driver.version"] = "\x1b]0;pwned\x07\x1b[2J580"
        document["facts"]["\x1b[31mgpu.evil"] = "\u202e" + "x" * 10_000

    evil = edited_report(mine, tmp_path / "evil.json", hostile)
    done = run_setupkit("diff", str(mine), str(evil))
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    assert "\\x1b]0;pwned\\x07\\x1b[2J580" in done.stdout and "\\x1b[31mgpu.evil" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) < 400


# -- the real CLI ----------------------------------------------------------------------------------------------

def test_the_cli_says_what_changed_and_exits_1(run_setupkit):
    done = run_setupkit("diff", str(snapshot_path(CU126)), str(snapshot_path(DRIVER570)))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"A: snapshot {snapshot_path(CU126)} (2026-11-27T09:00:00Z)"
    assert "  driver.version             580.95.05 -> 570.172.08  (changed)" in lines
    assert "  kernel.release             6.8.0-71-generic  (same)" in lines
    assert any(line.startswith("  gpu.architectures ") and '["blackwell"] -> ["ada"]' in line for line in lines)
    assert lines.index("Key facts (A -> B):") < next(i for i, line in enumerate(lines) if line.startswith("Other"))
    assert lines[-1].startswith("Different: ") and "6 of them key facts" in lines[-1]


def test_the_cli_json_and_exit_0_when_the_same(run_setupkit, tmp_path):
    own = doctor_report(run_setupkit, DRIVER570, tmp_path / "own.json")
    done = run_setupkit("diff", "--json", str(snapshot_path(DRIVER570)), str(own), env={"SETUPKIT_RUN_ID": "d1"})
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "setupkit-diff/1" and document["stamp"]["run_id"] == "d1"
    assert (document["changed"], document["only_a"], document["only_b"]) == ([], [], [])
    assert document["b"]["kind"] == "report"
    text = run_setupkit("diff", str(own), str(own))
    assert text.returncode == 0 and text.stdout.splitlines()[-1] == "Same: no fact differs."


def test_a_missing_side_is_a_usage_error(run_setupkit):
    done = run_setupkit("diff", str(snapshot_path(CU126)))
    assert done.returncode == 2 and "Missing argument" in done.stderr
