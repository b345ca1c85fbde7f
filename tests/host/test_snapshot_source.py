"""The snapshot host source: the same answers as a live host would give, and no way out of its own folder."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from setupkit.errors import SnapshotError
from setupkit.host.snapshot import SnapshotHost


def make_snapshot(root: Path, files: dict[str, str] | None = None, links: dict[str, str] | None = None) -> Path:
    """A minimal valid snapshot folder with the given files and links under files/."""
    (root / "files").mkdir(parents=True)
    for path, content in (files or {}).items():
        dest = root / "files" / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(content)
    for path, target in (links or {}).items():
        dest = root / "files" / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, dest)
    (root / "manifest.json").write_text(json.dumps({"format": "setupkit-snapshot", "version": 1, "created": "x"}))
    (root / "commands.json").write_text(json.dumps([
        {"argv": ["uname", "-r"], "returncode": 0, "stdout": "6.1.0-18-amd64\n", "stderr": ""},
        {"argv": ["mokutil", "--sb-state"], "returncode": None, "stdout": "", "stderr": "", "timed_out": True},
    ]))
    (root / "nvml.json").write_text(json.dumps({"error": "NVMLError_LibraryNotFound", "message": "not found"}))
    (root / "env.json").write_text(json.dumps({"CUDA_VISIBLE_DEVICES": "0", "UNKNOWN_KEY": "ignored"}))
    (root / "python.json").write_text(json.dumps({"executable": "/usr/bin/python3", "version": "3.11.2", "bits": 64,
                                                  "pip_version": "23.0.1", "packages": {"pip": "23.0.1"}}))
    return root


def pack(folder: Path, archive: Path, extra: list[tarfile.TarInfo] | None = None) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="snap")
        for info in extra or []:
            data = b"owned" if info.isfile() else None
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return archive


class TestReading:
    def test_files_links_and_folders_answer_as_on_the_host(self, tmp_path):
        root = make_snapshot(tmp_path / "s", files={"/usr/local/cuda-12.2/version.json": '{"cuda": {}}'},
                             links={"/usr/local/cuda": "cuda-12.2", "/etc/alternatives/cuda": "/usr/local/cuda-12.2"})
        host = SnapshotHost(root)
        assert host.read_text("/usr/local/cuda/version.json") == '{"cuda": {}}'
        assert host.read_link("/usr/local/cuda") == "cuda-12.2"
        assert host.resolve_link("/usr/local/cuda") == "/usr/local/cuda-12.2"
        assert host.read_text("/etc/alternatives/cuda/version.json") == '{"cuda": {}}'
        assert host.list_dir("/usr/local") == ["cuda", "cuda-12.2"]
        assert host.is_dir("/usr/local/cuda") and not host.is_dir("/usr/local/cuda/version.json")
        assert host.read_text("/etc/os-release") is None and not host.exists("/etc/os-release")

    def test_a_keep_file_records_an_empty_folder(self, tmp_path):
        root = make_snapshot(tmp_path / "s", files={"/sys/firmware/efi/.keep": ""})
        host = SnapshotHost(root)
        assert host.is_dir("/sys/firmware/efi") and host.list_dir("/sys/firmware/efi") == []

    def test_commands_absent_from_the_snapshot_are_not_installed(self, tmp_path):
        host = SnapshotHost(make_snapshot(tmp_path / "s"))
        assert host.run(["uname", "-r"]).stdout == "6.1.0-18-amd64\n"
        assert host.run(["nvidia-smi"]).returncode == 127
        assert host.run(["mokutil", "--sb-state"]).timed_out

    def test_env_keeps_its_keys_and_ignores_unknown_ones(self, tmp_path):
        env = SnapshotHost(make_snapshot(tmp_path / "s")).env()
        assert env["CUDA_VISIBLE_DEVICES"] == "0" and env["DISPLAY"] is None and "UNKNOWN_KEY" not in env

    def test_links_never_lead_out_of_files(self, tmp_path):
        outside = tmp_path / "secret"
        outside.write_text("host secret")
        root = make_snapshot(tmp_path / "s", links={"/etc/escape": "../../../../../../../../" + str(outside),
                                                    "/etc/absolute": str(outside), "/etc/loop": "/etc/loop"})
        host = SnapshotHost(root)
        assert host.read_text("/etc/escape") is None
        assert host.read_text("/etc/absolute") is None
        assert host.read_text("/etc/loop") is None

    def test_links_flattened_into_files_by_a_copy_are_read_as_links(self, tmp_path):
        root = make_snapshot(tmp_path / "s", files={
            "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0": "",
            "/usr/lib/x86_64-linux-gnu/libcudnn.so.9": "libcudnn.so.9.1.0",
            "/etc/X11/default-display-manager": "/usr/sbin/gdm3\n",
            "/usr/sbin/gdm3": "",
        })
        host = SnapshotHost(root)
        assert host.read_link("/usr/lib/x86_64-linux-gnu/libcudnn.so.9") == "libcudnn.so.9.1.0"
        # A real file that holds a path with its newline stays a file.
        assert host.read_link("/etc/X11/default-display-manager") is None
        assert host.read_text("/etc/X11/default-display-manager") == "/usr/sbin/gdm3\n"

    def test_the_shared_h100_capture_reads_through_its_flattened_links(self, h100_snapshot):
        host = SnapshotHost(h100_snapshot)
        assert host.resolve_link("/usr/local/cuda") == "/etc/alternatives/cuda"
        assert host.is_dir("/usr/local/cuda/bin")
        assert "CUDNN_MINOR 14" in host.read_text("/usr/include/x86_64-linux-gnu/cudnn_version.h")


class TestBadSnapshots:
    def test_missing_path(self, tmp_path):
        with pytest.raises(SnapshotError, match="no such file or folder"):
            SnapshotHost(tmp_path / "nope")

    def test_folder_without_files(self, tmp_path):
        (tmp_path / "s").mkdir()
        with pytest.raises(SnapshotError, match="no files/ folder"):
            SnapshotHost(tmp_path / "s")

    @pytest.mark.parametrize("name", ["manifest.json", "commands.json", "nvml.json", "env.json", "python.json"])
    def test_each_json_file_missing_or_malformed_is_named(self, tmp_path, name):
        root = make_snapshot(tmp_path / "s")
        (root / name).write_text("{not json")
        with pytest.raises(SnapshotError, match=f"{name} is not valid JSON"):
            SnapshotHost(root)
        (root / name).unlink()
        with pytest.raises(SnapshotError, match=f"{name} is missing"):
            SnapshotHost(root)

    def test_wrong_format_or_version(self, tmp_path):
        root = make_snapshot(tmp_path / "s")
        (root / "manifest.json").write_text(json.dumps({"format": "setupkit-snapshot", "version": 2}))
        with pytest.raises(SnapshotError, match="version 2"):
            SnapshotHost(root)

    def test_malformed_command_record(self, tmp_path):
        root = make_snapshot(tmp_path / "s")
        (root / "commands.json").write_text(json.dumps([{"argv": "nvidia-smi"}]))
        with pytest.raises(SnapshotError, match="commands.json has a malformed entry"):
            SnapshotHost(root)


class TestPackedSnapshots:
    def test_a_good_bundle_unpacks_into_a_temporary_folder_and_goes_away(self, tmp_path):
        archive = pack(make_snapshot(tmp_path / "s", links={"/usr/local/cuda": "/usr/local/cuda-12.2"},
                                     files={"/usr/local/cuda-12.2/version.txt": "CUDA Version 12.2.140"}),
                       tmp_path / "s.tar.gz")
        with SnapshotHost(archive) as host:
            assert host.read_text("/usr/local/cuda/version.txt") == "CUDA Version 12.2.140"
            unpacked = host.root
            assert unpacked.exists()
        assert not unpacked.exists()

    @pytest.mark.parametrize("member, problem", [
        (tarfile.TarInfo("/etc/evil"), "absolute path"),
        (tarfile.TarInfo("snap/files/../../evil"), "'..'"),
    ])
    def test_hostile_names_are_refused(self, tmp_path, member, problem):
        member.type = tarfile.REGTYPE
        archive = pack(make_snapshot(tmp_path / "s"), tmp_path / "bad.tar.gz", [member])
        with pytest.raises(SnapshotError, match=problem):
            SnapshotHost(archive)
        assert not (tmp_path / "evil").exists() and not Path("/etc/evil").exists()

    @pytest.mark.parametrize("kind, problem", [
        (tarfile.CHRTYPE, "a device file"),
        (tarfile.BLKTYPE, "a device file"),
        (tarfile.FIFOTYPE, "a special file"),
        (tarfile.LNKTYPE, "a hard link"),
    ])
    def test_device_files_and_hard_links_are_refused(self, tmp_path, kind, problem):
        member = tarfile.TarInfo("snap/files/dev/nvidia0")
        member.type = kind
        member.linkname = "snap/manifest.json" if kind == tarfile.LNKTYPE else ""
        archive = pack(make_snapshot(tmp_path / "s"), tmp_path / "bad.tar.gz", [member])
        with pytest.raises(SnapshotError, match=problem):
            SnapshotHost(archive)

    def test_a_link_leading_outside_is_refused_before_anything_is_written(self, tmp_path):
        link = tarfile.TarInfo("snap/files/etc/escape")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../../outside"
        archive = pack(make_snapshot(tmp_path / "s"), tmp_path / "bad.tar.gz", [link])
        with pytest.raises(SnapshotError, match="leads outside the snapshot"):
            SnapshotHost(archive)

    def test_a_link_outside_files_is_refused(self, tmp_path):
        link = tarfile.TarInfo("snap/extra")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive = pack(make_snapshot(tmp_path / "s"), tmp_path / "bad.tar.gz", [link])
        with pytest.raises(SnapshotError, match="link outside files/"):
            SnapshotHost(archive)

    def test_writing_through_a_link_is_refused(self, tmp_path):
        target = tmp_path / "victim"
        target.mkdir()
        link = tarfile.TarInfo("snap/files/x")
        link.type = tarfile.SYMTYPE
        link.linkname = "/tmp"  # absolute targets are legal (inside files/ as in a chroot) ...
        through = tarfile.TarInfo("snap/files/x/planted")
        through.type = tarfile.REGTYPE
        archive = pack(make_snapshot(tmp_path / "s"), tmp_path / "bad.tar.gz", [link, through])
        with pytest.raises(SnapshotError, match="through a link"):  # ... but nothing is written through one
            SnapshotHost(archive)
        assert not Path("/tmp/planted").exists()

    def test_not_a_tarball(self, tmp_path):
        bogus = tmp_path / "s.tar.gz"
        bogus.write_bytes(b"\x1f\x8b garbage")
        with pytest.raises(SnapshotError, match="not a readable .tar.gz"):
            SnapshotHost(bogus)

    def test_a_bundle_without_manifest(self, tmp_path):
        folder = make_snapshot(tmp_path / "s")
        (folder / "manifest.json").unlink()
        with pytest.raises(SnapshotError, match="manifest.json is missing"):
            SnapshotHost(pack(folder, tmp_path / "s.tar.gz"))


class TestCommandLine:
    """What a user sees: one line naming the file and the problem, exit 3, no traceback."""

    def test_missing_snapshot(self, run_setupkit, tmp_path):
        done = run_setupkit("doctor", "--snapshot", str(tmp_path / "nope"))
        assert done.returncode == 3
        assert done.stderr.strip().splitlines() == [f"setupkit: snapshot {tmp_path / 'nope'}: no such file or folder"]

    def test_hostile_bundle(self, run_setupkit, tmp_path):
        member = tarfile.TarInfo("../../evil")
        member.type = tarfile.REGTYPE
        archive = pack(make_snapshot(tmp_path / "s"), tmp_path / "bad.tar.gz", [member])
        done = run_setupkit("doctor", "--snapshot", str(archive), "--json")
        assert done.returncode == 3 and "Traceback" not in done.stderr
        assert "refusing to unpack" in done.stderr and done.stdout == ""

    def test_malformed_json(self, run_setupkit, tmp_path):
        root = make_snapshot(tmp_path / "s")
        (root / "nvml.json").write_text("[")
        done = run_setupkit("doctor", "--snapshot", str(root))
        assert done.returncode == 3 and "nvml.json is not valid JSON" in done.stderr
        assert "Traceback" not in done.stderr

    def test_unknown_flag_is_a_usage_error(self, run_setupkit):
        done = run_setupkit("doctor", "--no-such-flag")
        assert done.returncode == 2 and "No such option" in done.stderr
