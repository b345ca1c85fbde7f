"""`setupkit snapshot`: what it writes is a readable snapshot, links stay links, and --redact hides names."""

from __future__ import annotations

import json
import os
import socket

import pytest

from setupkit.errors import PreconditionError
from setupkit.host.base import CommandResult, PythonInfo
from setupkit.host.live import LiveHost
from setupkit.host.recording import Recording, RecordingHost
from setupkit.host.snapshot import SnapshotHost
from setupkit.snapshot.redact import redact_recording
from setupkit.snapshot.run import write_snapshot

UUID = "GPU-c8a18bfd-e4b1-ed51-a742-b00675a77712"


def test_recording_keeps_the_links_met_on_the_way(tmp_path):
    (tmp_path / "cuda-12.2").mkdir()
    (tmp_path / "cuda-12.2" / "version.txt").write_text("CUDA Version 12.2.140\n")
    os.symlink("cuda-12.2", tmp_path / "cuda")
    host = RecordingHost(LiveHost())
    assert host.read_text(f"{tmp_path}/cuda/version.txt") == "CUDA Version 12.2.140\n"
    assert host.record.links[f"{tmp_path}/cuda"] == "cuda-12.2"
    assert host.record.files[f"{tmp_path}/cuda-12.2/version.txt"] == b"CUDA Version 12.2.140\n"


def test_a_glob_records_only_the_matching_entries(tmp_path):
    for name in ("libcudnn.so.9.1.0", "libc.so.6", "libm.so.6"):
        (tmp_path / name).write_bytes(b"\x7fELF")
    host = RecordingHost(LiveHost())
    assert host.glob_dir(str(tmp_path), prefix="libcudnn.so") == [f"{tmp_path}/libcudnn.so.9.1.0"]
    assert set(host.record.files) == {f"{tmp_path}/libcudnn.so.9.1.0"}


def test_a_written_recording_reads_back_the_same(tmp_path):
    recording = Recording(
        files={"/etc/os-release": b'ID=debian\nVERSION_ID="12"\n', "/usr/local/cuda-12.2/version.txt": b"CUDA 12.2"},
        links={"/usr/local/cuda": "cuda-12.2"},
        dirs={"/sys/firmware/efi"},
        commands={("uname", "-r"): CommandResult(("uname", "-r"), 0, "6.1.0\n", "")},
        nvml={"error": "NVMLError_LibraryNotFound", "message": "NVML Shared Library Not Found"},
        env={"CUDA_VISIBLE_DEVICES": None},
        python=PythonInfo("/usr/bin/python3", "3.11.2", 64, "23.0.1", {"pip": "23.0.1"}),
    )
    for output in (str(tmp_path / "folder"), str(tmp_path / "packed.tar.gz")):
        with SnapshotHost(write_snapshot(recording, output, note="test host")) as host:
            assert host.read_text("/etc/os-release") == 'ID=debian\nVERSION_ID="12"\n'
            assert host.read_link("/usr/local/cuda") == "cuda-12.2"
            assert host.read_text("/usr/local/cuda/version.txt") == "CUDA 12.2"
            assert host.list_dir("/sys/firmware/efi") == []
            assert host.run(["uname", "-r"]).stdout == "6.1.0\n"
            assert host.nvml()["error"] == "NVMLError_LibraryNotFound"
            assert host.python().pip_version == "23.0.1"
            assert host.manifest["note"] == "test host"


def test_it_never_writes_over_something_there(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(PreconditionError, match="already exists"):
        write_snapshot(Recording(), str(tmp_path / "taken"))
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_redact_replaces_host_names_user_names_and_gpu_uuids(monkeypatch):
    monkeypatch.setenv("USER", "alice")
    hostname = "build-host-3"
    monkeypatch.setattr(socket, "gethostname", lambda: hostname)
    monkeypatch.setattr(socket, "getfqdn", lambda *args: hostname)  # no resolver is asked
    recording = Recording(
        files={"/home/alice/.bashrc": b"export PATH=/home/alice/bin", "/etc/hostname": f"{hostname}\n".encode(),
               "/sys/class/dmi/id/product_serial": b"SN123"},
        commands={("nvidia-smi", "-L"): CommandResult(("nvidia-smi", "-L"), 0, f"GPU 0: H100 (UUID: {UUID})", "")},
        nvml={"devices": [{"uuid": UUID}]},
        env={"PATH": "/home/alice/venv/bin:/usr/bin"},
        python=PythonInfo("/home/alice/venv/bin/python", "3.12.3", 64, "24.0", {}),
    )
    redacted = redact_recording(recording)
    text = json.dumps([list(redacted.files), [d.decode() for d in redacted.files.values()],
                       [r.stdout for r in redacted.commands.values()], redacted.nvml, redacted.env,
                       redacted.python.executable])
    assert "alice" not in text and UUID not in text and "SN123" not in text and hostname not in text
    # The same UUID gets the same stand-in everywhere, so CUDA_VISIBLE_DEVICES=GPU-... still matches.
    stand_in = redacted.nvml["devices"][0]["uuid"]
    assert stand_in.startswith("GPU-") and stand_in in next(iter(redacted.commands.values())).stdout


def test_the_command_writes_a_snapshot_doctor_can_read(run_setupkit, tmp_path):
    out = tmp_path / "here.tar.gz"
    done = run_setupkit("snapshot", "-o", str(out), "--redact", "--note", "CI machine")
    assert done.returncode == 0, done.stderr
    assert "snapshot written to" in done.stderr and out.is_file()
    read_back = run_setupkit("doctor", "--snapshot", str(out), "--json")
    assert read_back.returncode in (0, 1), read_back.stderr
    assert json.loads(read_back.stdout)["schema"] == "setupkit-doctor/1"
