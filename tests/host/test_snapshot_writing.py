"""`setupkit snapshot -o PATH` where PATH cannot take it: one line naming the path and the fix, exit 3 before
anything is read or written, exit 4 when it fails midway, and never a half-written bundle in the retry's way."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import tarfile
import time

import pytest

from setupkit.errors import ActionFailed, PreconditionError
from setupkit.host import bundle
from setupkit.host.base import CommandResult, PythonInfo
from setupkit.host.bundle import write_recording
from setupkit.host.recording import Recording
from setupkit.host.snapshot import SnapshotHost

RECORDING = Recording(
    files={"/etc/os-release": b"ID=debian\n", "/proc/cpuinfo": b"flags\t\t: fpu vme de pse\n"},
    links={"/usr/local/cuda": "cuda-12.2"},
    dirs={"/sys/firmware/efi"},
    commands={("uname", "-r"): CommandResult(("uname", "-r"), 0, "6.1.0\n", "")},
    nvml={"devices": [{"power_w": float("nan"), "temperature_c": 41.0}]},
    env={"DISPLAY": None},
    python=PythonInfo("/usr/bin/python3", "3.11.2", 64, "23.0.1", {}),
)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".setupkit-snapshot-"))


def one_error(done) -> tuple[str, str]:
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 2 and lines[1].startswith("fix: "), done.stderr
    return lines[0], lines[1]


class TestTargetsThatCannotTakeIt:
    @pytest.mark.parametrize("make, output, says", [
        (lambda d: None, "missing/x.tar.gz", "the folder {d}/missing does not exist"),
        (lambda d: (d / "file").write_text("x"), "file/x.tar.gz", "the folder {d}/file is not a folder"),
        (lambda d: os.mkfifo(d / "x.tar.gz"), "x.tar.gz", "x.tar.gz already exists (a FIFO)"),
        (lambda d: (d / "x.tar.gz").mkdir(), "x.tar.gz", "x.tar.gz already exists (a folder)"),
        (lambda d: os.symlink(d / "elsewhere", d / "x.tar.gz"), "x.tar.gz", "already exists (a symbolic link)"),
        (lambda d: (d / "out").mkdir() or (d / "out" / "keep.txt").write_text("mine"), "out", "out already exists"),
        (lambda d: (d / "x.tar.gz").write_text("mine"), "x.tar.gz", "x.tar.gz already exists (a file)"),
        (lambda d: None, "n" * 300 + ".tar.gz", "file name too long"),
    ], ids=["missing-parent", "parent-is-a-file", "fifo", "folder-for-tarball", "dangling-link", "full-folder",
            "file", "name-too-long"])
    def test_refused_before_anything_is_written(self, tmp_path, make, output, says):
        make(tmp_path)
        before = sorted(p.name for p in tmp_path.iterdir())
        with pytest.raises(PreconditionError, match=re.escape(says.format(d=tmp_path))) as caught:
            write_recording(RECORDING, str(tmp_path / output))
        assert caught.value.exit_code == 3 and caught.value.hint
        assert sorted(p.name for p in tmp_path.iterdir()) == before
        assert not (tmp_path / "elsewhere").exists()  # nothing written through the dangling link

    def test_an_empty_folder_takes_a_folder_bundle(self, tmp_path):
        (tmp_path / "out").mkdir()
        with SnapshotHost(write_recording(RECORDING, str(tmp_path / "out"))) as host:
            assert host.read_text("/etc/os-release") == "ID=debian\n"

    def test_the_command_says_it_at_once_in_one_line(self, run_setupkit, tmp_path):
        done = run_setupkit("snapshot", "-o", str(tmp_path / "missing" / "x.tar.gz"), timeout=60)
        assert done.returncode == 3
        message, fix = one_error(done)
        assert message == (f"setupkit: cannot write {tmp_path}/missing/x.tar.gz:"
                           f" the folder {tmp_path}/missing does not exist")
        assert fix == f"fix: create it first (mkdir -p {tmp_path}/missing), or choose another -o PATH"
        assert not (tmp_path / "missing").exists()

    def test_a_fifo_target_is_left_alone(self, run_setupkit, tmp_path):
        os.mkfifo(tmp_path / "x.tar.gz")
        done = run_setupkit("snapshot", "-o", str(tmp_path / "x.tar.gz"), timeout=30)
        assert done.returncode == 3 and "already exists (a FIFO)" in one_error(done)[0]
        assert stat.S_ISFIFO(os.lstat(tmp_path / "x.tar.gz").st_mode)

    @pytest.mark.skipif(not os.path.isdir("/sys/class"), reason="no sysfs here")
    def test_a_folder_nobody_may_write_in(self, run_setupkit):
        # sysfs refuses new files to root too, so this holds wherever the tests run.
        done = run_setupkit("snapshot", "-o", "/sys/setupkit-test.tar.gz", timeout=30)
        assert done.returncode == 3
        message, fix = one_error(done)
        assert message.startswith("setupkit: cannot write the snapshot in /sys: ") and "-o PATH" in fix

    @pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
    def test_a_read_only_folder(self, tmp_path):
        (tmp_path / "ro").mkdir(mode=0o555)
        with pytest.raises(PreconditionError, match="permission denied") as caught:
            write_recording(RECORDING, str(tmp_path / "ro" / "x.tar.gz"))
        assert "folder you may write to" in caught.value.hint


def fill_the_disk(entries, temp, *rest):
    """Write a part of the bundle, then meet a full disk: /dev/full answers every write with ENOSPC."""
    if temp.is_dir():
        (temp / "files").mkdir()
    else:
        temp.write_bytes(b"\x1f\x8b half a bundle")
    with open("/dev/full", "wb") as full:
        full.write(b"x" * 65536)
        full.flush()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
class TestFailuresMidway:
    @pytest.mark.parametrize("output, writer", [("x.tar.gz", "_write_tarball"), ("folder", "_write_folder")])
    def test_a_full_disk_leaves_nothing_and_the_retry_succeeds(self, tmp_path, monkeypatch, output, writer):
        target = tmp_path / output
        monkeypatch.setattr(bundle, writer, fill_the_disk)
        with pytest.raises(ActionFailed, match="no space left on device; nothing was left behind") as caught:
            write_recording(RECORDING, str(target))
        assert caught.value.exit_code == 4 and "free some space" in caught.value.hint
        assert not os.path.lexists(target) and leftovers(tmp_path) == []
        monkeypatch.undo()
        with SnapshotHost(write_recording(RECORDING, str(target))) as host:
            assert host.read_text("/etc/os-release") == "ID=debian\n"

    def test_an_interrupt_midway_removes_the_partial_bundle(self, tmp_path, monkeypatch):
        def interrupted(entries, temp, *rest):
            (temp / "files").mkdir()
            raise KeyboardInterrupt

        monkeypatch.setattr(bundle, "_write_folder", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_recording(RECORDING, str(tmp_path / "folder"))
        assert not (tmp_path / "folder").exists() and leftovers(tmp_path) == []

    def test_the_command_past_its_file_size_limit(self, tmp_path):
        """A real write error midway, from the kernel: RLIMIT_FSIZE (ulimit -f) cuts the bundle at 2 KiB."""

        def small_files():
            resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing

        target = tmp_path / "x.tar.gz"
        done = subprocess.run([sys.executable, "-m", "setupkit", "snapshot", "-o", str(target)], capture_output=True,
                              text=True, timeout=120, preexec_fn=small_files, env={**os.environ, "NO_COLOR": "1"})
        assert done.returncode == 4, done.stderr
        message, fix = one_error(done)
        assert message == f"setupkit: writing the snapshot {target} failed: file too large; nothing was left behind"
        assert "ulimit -f" in fix
        assert not target.exists() and leftovers(tmp_path) == []


class TestWhatIsWritten:
    def test_nan_is_written_as_null_so_that_it_reads_back(self, tmp_path):
        with SnapshotHost(write_recording(RECORDING, str(tmp_path / "s.tar.gz"))) as host:
            assert host.nvml()["devices"][0] == {"power_w": None, "temperature_c": 41.0}

    @pytest.mark.parametrize("name, top", [("box-1.tar.gz", "box-1"), (".hidden.tgz", "setupkit-snapshot"),
                                           ("[red]x.tar.gz", "setupkit-snapshot")])
    def test_the_top_folder(self, tmp_path, name, top):
        with tarfile.open(write_recording(RECORDING, str(tmp_path / name))) as tar:
            assert {m.name.split("/")[0] for m in tar.getmembers()} == {top}

    def test_paths_are_printed_as_they_are_named(self, run_setupkit, tmp_path):
        name = "[red]x\x1b[2Jy.tar.gz"
        done = run_setupkit("snapshot", "-o", str(tmp_path / name), timeout=60)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / name).is_file()
        assert f"snapshot written to {tmp_path}/[red]x\\x1b[2Jy.tar.gz\n" in done.stderr
        assert "\x1b" not in done.stderr

    def test_the_same_recording_and_time_give_the_same_bytes_an_hour_later(self, tmp_path, monkeypatch):
        entries = bundle.bundle_entries(RECORDING, note="ci", created="2026-01-01T00:00:00Z")
        first = bundle.write_bundle(entries, str(tmp_path / "a.tar.gz")).read_bytes()
        now = time.time()
        monkeypatch.setattr(time, "time", lambda: now + 3600)
        (tmp_path / "b").mkdir()
        assert bundle.write_bundle(entries, str(tmp_path / "b" / "a.tar.gz")).read_bytes() == first

    def test_the_deep_probes_runs_are_probes_json_when_there_are_any(self, tmp_path):
        tf_run = ("/usr/bin/python3", "-I", "-c", "import tensorflow")
        record = dataclasses.replace(RECORDING, probes={
            "tensorflow": CommandResult(tf_run, 0, '{"version": "2.20.0"}\n', ""),
            "tensorflow-gpu": CommandResult(tf_run, None, "", "timed out after 120s")})
        folder = write_recording(record, str(tmp_path / "deep"))
        assert json.loads((folder / "probes.json").read_text()) == {
            "tensorflow": {"argv": list(tf_run), "returncode": 0, "stdout": '{"version": "2.20.0"}\n', "stderr": ""},
            "tensorflow-gpu": {"argv": list(tf_run), "returncode": None, "stdout": "", "stderr": "timed out after 120s",
                               "timed_out": True},
        }
        assert not (write_recording(RECORDING, str(tmp_path / "plain")) / "probes.json").exists()
