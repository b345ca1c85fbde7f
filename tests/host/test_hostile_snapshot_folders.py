"""Hostile snapshot folders: FIFOs, devices, links out, sparse giants, deep or odd JSON.

A JSON document that cannot be read is one line and exit 3; a file under files/ that cannot be read as a
bounded regular file is absent, as the live host would have it; what the loader hands on is well typed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from setupkit.errors import SnapshotError
from setupkit.host.live import MAX_FILE_BYTES
from setupkit.host.snapshot import SnapshotHost

SECONDS = 15


pytestmark = pytest.mark.usefixtures("no_hang")


DOCS = {
    "manifest.json": {"format": "setupkit-snapshot", "version": 1, "created": "2026-01-01T00:00:00Z"},
    "commands.json": [{"argv": ["uname", "-r"], "returncode": 0, "stdout": "6.1.0-18-amd64\n", "stderr": ""}],
    "nvml.json": {"error": "NVMLError_LibraryNotFound", "message": "not found"},
    "env.json": {"CUDA_VISIBLE_DEVICES": "0"},
    "python.json": {"executable": "/usr/bin/python3", "version": "3.11.2", "bits": 64, "pip_version": "23.0.1",
                    "packages": {"pip": "23.0.1"}},
}


def snapshot(root: Path, **docs) -> Path:
    (root / "files" / "etc").mkdir(parents=True)
    (root / "files" / "etc" / "os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    for name, doc in {**DOCS, **{f"{key}.json": doc for key, doc in docs.items()}}.items():
        (root / name).write_text(json.dumps(doc))
    return root


def refused_by_the_cli(run_setupkit, root: Path, *needles: str) -> None:
    started = time.monotonic()
    done = run_setupkit("doctor", "--snapshot", str(root), "--json", timeout=SECONDS * 2)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3 and "Traceback" not in done.stderr and done.stdout == "", done.stderr
    assert len(lines) in (1, 2) and lines[0].startswith(f"setupkit: snapshot {root}: ")
    assert len(lines) == 1 or lines[1].startswith("fix: ")
    for needle in needles:
        assert needle in lines[0]
    assert time.monotonic() - started < SECONDS


class TestJsonDocuments:
    def test_a_fifo_as_manifest(self, run_setupkit, tmp_path):
        root = snapshot(tmp_path / "s")
        (root / "manifest.json").unlink()
        os.mkfifo(root / "manifest.json")
        refused_by_the_cli(run_setupkit, root, "manifest.json is a FIFO, not a regular file")

    def test_a_link_to_dev_zero_as_commands(self, run_setupkit, tmp_path):
        root = snapshot(tmp_path / "s")
        (root / "commands.json").unlink()
        os.symlink("/dev/zero", root / "commands.json")
        refused_by_the_cli(run_setupkit, root, "commands.json is a symbolic link")

    def test_a_sparse_4_gib_commands_json(self, run_setupkit, tmp_path):
        root = snapshot(tmp_path / "s")
        os.truncate(root / "commands.json", 4 << 30)  # a hole: no disk is used
        refused_by_the_cli(run_setupkit, root, "commands.json is 4,294,967,296 bytes, more than")

    def test_a_folder_as_env(self, tmp_path):
        root = snapshot(tmp_path / "s")
        (root / "env.json").unlink()
        (root / "env.json").mkdir()
        with pytest.raises(SnapshotError, match="env.json is a folder, not a regular file"):
            SnapshotHost(root)

    def test_deep_nesting(self, run_setupkit, tmp_path):
        root = snapshot(tmp_path / "s")
        (root / "nvml.json").write_text("[" * 100_000 + "]" * 100_000)  # RecursionError in json.loads
        refused_by_the_cli(run_setupkit, root, "nvml.json nests deeper than")

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_nan_and_infinity(self, tmp_path, constant):
        root = snapshot(tmp_path / "s")
        (root / "env.json").write_text(f'{{"CUDA_VISIBLE_DEVICES": {constant}}}')
        with pytest.raises(SnapshotError, match=f"env.json holds {constant}, which is not JSON"):
            SnapshotHost(root)

    def test_not_utf8(self, tmp_path):
        root = snapshot(tmp_path / "s")
        (root / "python.json").write_bytes(b'{"version": "\xff"}')
        with pytest.raises(SnapshotError, match="python.json is not UTF-8"):
            SnapshotHost(root)


class TestFilesEntries:
    def test_a_fifo_under_files_is_absent_at_once(self, run_setupkit, tmp_path):
        root = snapshot(tmp_path / "s")
        (root / "files" / "proc").mkdir()
        os.mkfifo(root / "files" / "proc" / "cpuinfo")
        with SnapshotHost(root) as host:
            assert host.read_bytes("/proc/cpuinfo") is None and host.exists("/proc/cpuinfo")
        done = run_setupkit("doctor", "--snapshot", str(root), "--json", timeout=SECONDS * 2)
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
        assert json.loads(done.stdout)["schema"] == "setupkit-doctor/1"

    def test_a_real_link_out_of_a_folder_snapshot_is_never_followed(self, tmp_path):
        root = snapshot(tmp_path / "s")
        (root / "files" / "etc" / "os-release").unlink()
        os.symlink("/dev/zero", root / "files" / "etc" / "os-release")
        os.symlink("../../../../../../dev/urandom", root / "files" / "etc" / "machine-id")
        with SnapshotHost(root) as host:
            # /dev/zero means files/dev/zero, which is not there ...
            assert host.read_bytes("/etc/os-release") is None and host.read_bytes("/etc/machine-id") is None
        (root / "files" / "dev").mkdir()
        os.mkfifo(root / "files" / "dev" / "zero")
        os.mkfifo(root / "files" / "dev" / "urandom")
        with SnapshotHost(root) as host:
            # ... and when it is, a FIFO there is absent too.
            assert host.read_bytes("/etc/os-release") is None and host.read_bytes("/etc/machine-id") is None

    def test_files_are_read_up_to_the_live_hosts_cap(self, tmp_path):
        root = snapshot(tmp_path / "s")
        (root / "files" / "var" / "log").mkdir(parents=True)
        for name, size in {"at-the-cap": MAX_FILE_BYTES, "over-the-cap": MAX_FILE_BYTES + 1,
                           "sparse-4gib": 4 << 30}.items():
            os.truncate(os.open(root / "files" / "var" / "log" / name, os.O_CREAT | os.O_WRONLY, 0o644), size)
        with SnapshotHost(root) as host:
            assert len(host.read_bytes("/var/log/at-the-cap")) == MAX_FILE_BYTES
            started = time.monotonic()
            assert host.read_bytes("/var/log/over-the-cap") is None
            assert host.read_bytes("/var/log/sparse-4gib") is None
            assert time.monotonic() - started < 1
            assert host.exists("/var/log/sparse-4gib")  # it is there; only its content is out of bounds


class TestShapes:
    """What a hand-edited snapshot may hold where a string or an int belongs."""

    @pytest.mark.parametrize("returncode", [1.0, True, 10**30, "0", -1000, [0]])
    def test_a_returncode_that_is_no_exit_status(self, tmp_path, returncode):
        root = snapshot(tmp_path / "s", commands=[{"argv": ["uname", "-r"], "returncode": returncode}])
        with pytest.raises(SnapshotError, match=r"commands.json has a malformed entry \(number 0\)"):
            SnapshotHost(root)

    @pytest.mark.parametrize("argv", [[["uname"], "-r"], [], "uname -r", [None]])
    def test_an_argv_that_is_no_list_of_strings(self, tmp_path, argv):
        root = snapshot(tmp_path / "s", commands=[{"argv": argv, "returncode": 0}])
        with pytest.raises(SnapshotError, match="malformed entry"):
            SnapshotHost(root)

    def test_a_malformed_entry_is_one_line_with_its_fix(self, run_setupkit, tmp_path):
        root = snapshot(tmp_path / "s", commands=[{"argv": ["nvidia-smi"], "returncode": 1.5}])
        refused_by_the_cli(run_setupkit, root, "commands.json has a malformed entry")

    def test_odd_values_load_as_unknown(self, run_setupkit, tmp_path):
        root = snapshot(
            tmp_path / "s",
            commands=[{"argv": ["uname", "-r"], "returncode": 0, "stdout": ["6.1.0"], "stderr": {"x": 1}},
                      {"argv": ["nvidia-smi"], "returncode": -11, "stdout": "", "stderr": ""}],
            env={"PATH": ["/usr/bin"], "DISPLAY": 5, "CUDA_VISIBLE_DEVICES": None, "CUDA_HOME": "/usr/local/cuda"},
            python={"executable": ["/usr/bin/python3"], "version": 3.11, "bits": True, "pip_version": None,
                    "packages": {"numpy": ["1.26"], "tensorflow": {"v": "2.16"}, "pip": "24.0", "keras": 3},
                    "externally_managed": "yes"},
            manifest={**DOCS["manifest.json"], "note": ["not", "a", "line"]},
        )
        with SnapshotHost(root) as host:
            uname = host.run(["uname", "-r"])
            assert (uname.returncode, uname.stdout, uname.stderr) == (0, "", "")
            assert host.run(["nvidia-smi"]).returncode == -11
            env = host.env()
            assert env["PATH"] is None and env["DISPLAY"] is None and env["CUDA_HOME"] == "/usr/local/cuda"
            python = host.python()
            assert python.executable is None and python.version is None and python.bits is None
            assert python.packages == {"pip": "24.0"} and python.externally_managed is None
        done = run_setupkit("doctor", "--snapshot", str(root), "--json", timeout=SECONDS * 2)
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr

    @pytest.mark.parametrize("version", [True, 1.0, "1", None])
    def test_a_manifest_version_that_only_looks_like_1(self, tmp_path, version):
        root = snapshot(tmp_path / "s", manifest={"format": "setupkit-snapshot", "version": version})
        with pytest.raises(SnapshotError, match="setupkit reads format 'setupkit-snapshot' version 1"):
            SnapshotHost(root)

    def test_bits_must_be_a_real_word_size(self, tmp_path):
        for index, (bits, seen) in enumerate(((64, 64), (32, 32), (63, None), (10**40, None), ("64", None))):
            root = snapshot(tmp_path / f"s{index}", python={**DOCS["python.json"], "bits": bits})
            assert SnapshotHost(root).python().bits == seen
