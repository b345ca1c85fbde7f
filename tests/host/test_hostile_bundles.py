"""Hostile snapshot bundles, one class at a time: each is refused with exit 3 and one line, in seconds.

The archives are built here byte by byte (a tar header is 512 bytes we write ourselves), because the attacks
are exactly what a well-behaved writer such as ``tarfile`` never produces: negative base-256 sizes, pax records
that do not move forward, a million headers, a gzip bomb. Each runs the real CLI in a subprocess with a timeout,
so that a regression shows as a failed test, not as a hung suite.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from setupkit.errors import SnapshotError
from setupkit.host import tarsafe
from setupkit.host.snapshot import SnapshotHost

SECONDS = 15  # what a refusal may take through the CLI on a loaded machine; the real figure is under 3


pytestmark = pytest.mark.usefixtures("no_hang")


# -- archives, by hand ---------------------------------------------------------------------------------------


def header(name: str, size: int = 0, typeflag: bytes = b"0", linkname: str = "", size_field: bytes | None = None,
           checksum: bytes | None = None) -> bytes:
    block = bytearray(512)
    block[0:100] = name.encode()[:100].ljust(100, b"\0")
    block[100:108] = b"0000644\0"
    block[108:116] = block[116:124] = b"0000000\0"
    block[124:136] = size_field if size_field is not None else b"%011o\0" % size
    block[136:148] = b"%011o\0" % 946684800
    block[148:156] = b" " * 8
    block[156:157] = typeflag
    block[157:257] = linkname.encode()[:100].ljust(100, b"\0")
    block[257:265] = b"ustar\x0000"
    block[265:269] = block[297:301] = b"root"
    block[148:156] = checksum if checksum is not None else b"%06o\0 " % sum(block)
    return bytes(block)


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


def member(name: str, data: bytes = b"", typeflag: bytes = b"0", **fields) -> bytes:
    return header(name, len(data), typeflag, **fields) + padded(data)


def pax(records: dict[str, str], typeflag: bytes = b"x") -> bytes:
    body = b""
    for key, value in records.items():
        line = f" {key}={value}\n".encode()
        length = len(line)
        while length != len(line) + len(str(length)):  # the length counts its own digits
            length = len(line) + len(str(length))
        body += str(length).encode() + line
    return member("././@PaxHeader", body, typeflag)


def good_members(top: str = "snap") -> bytes:
    docs = {"manifest.json": {"format": "setupkit-snapshot", "version": 1}, "commands.json": [],
            "nvml.json": {"error": "NVMLError_LibraryNotFound", "message": "x"}, "env.json": {}, "python.json": {}}
    out = member(f"{top}/", typeflag=b"5") + member(f"{top}/files/", typeflag=b"5")
    for name, doc in docs.items():
        out += member(f"{top}/{name}", json.dumps(doc).encode())
    return out + member(f"{top}/files/etc/os-release", b"ID=debian\n")


END = bytes(1024)


def write_gz(path: Path, *parts: bytes) -> Path:
    path.write_bytes(gzip.compress(b"".join(parts) + END))
    return path


def write_gz_stream(path: Path, chunk: bytes, count: int) -> Path:
    """``count`` copies of ``chunk``, compressed as they go: a big stream without holding it in memory."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        for _ in range(count):
            out.write(compressor.compress(chunk))
        out.write(compressor.flush())
    return path


def refused_by_the_cli(run_setupkit, archive: Path, *needles: str) -> str:
    started = time.monotonic()
    done = run_setupkit("doctor", "--snapshot", str(archive), "--json", timeout=SECONDS * 2)
    elapsed = time.monotonic() - started
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert lines[0].startswith(f"setupkit: snapshot {archive}: ")
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("fix: ")), lines
    for needle in needles:
        assert needle in lines[0]
    assert elapsed < SECONDS, f"took {elapsed:.1f} s"
    return lines[0]


def refused(archive: Path, *needles: str) -> str:
    with pytest.raises(SnapshotError) as caught:
        SnapshotHost(archive).close()
    for needle in needles:
        assert needle in str(caught.value)
    return str(caught.value)


# -- the tarfile weaknesses, through the CLI -----------------------------------------------------------------


class TestTarfileWeaknesses:
    def test_a_negative_base256_size(self, run_setupkit, tmp_path):
        minus_512 = b"\xff" * 10 + b"\xfe\x00"  # two's complement base-256: -512, tarfile then seeks backwards
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), header("snap/files/x", size_field=minus_512))
        refused_by_the_cli(run_setupkit, archive, "negative", "refusing to unpack")

    def test_a_negative_octal_size(self, run_setupkit, tmp_path):
        minus_1000 = b" -1000\0".ljust(12)  # int(" -1000", 8) is what tarfile makes of it
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), header("snap/files/x", size_field=minus_1000))
        refused_by_the_cli(run_setupkit, archive, "not an octal number")

    def test_a_negative_size_in_a_pax_record(self, run_setupkit, tmp_path):
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), pax({"size": "-1024"}), header("snap/files/x"))
        refused_by_the_cli(run_setupkit, archive, "pax size", "not a number")

    def test_a_pax_record_whose_length_does_not_move_forward(self, run_setupkit, tmp_path):
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), member("././@PaxHeader", b"0 path=x\n", b"x"),
                           header("snap/files/x"))
        refused_by_the_cli(run_setupkit, archive, "malformed pax record")

    def test_a_huge_pax_header(self, run_setupkit, tmp_path):
        # It claims a GiB; the data need not be there for tarfile to try.
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), header("././@PaxHeader", 1 << 30, b"x"))
        refused_by_the_cli(run_setupkit, archive, "pax or GNU long-name header of 1,073,741,824 bytes")

    def test_a_pax_header_just_over_the_bound_present_in_full(self, run_setupkit, tmp_path):
        comment = "c" * tarsafe.MAX_META_BYTES
        archive = write_gz(tmp_path / "bad.tar.gz", pax({"comment": comment}), header("snap/files/x"), good_members())
        refused_by_the_cli(run_setupkit, archive, "pax or GNU long-name header")

    def test_a_huge_gnu_long_name(self, run_setupkit, tmp_path):
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), header("././@LongLink", 10 << 20, b"L"))
        refused_by_the_cli(run_setupkit, archive, "long-name header")

    def test_many_pax_headers_are_counted_as_they_come(self, run_setupkit, tmp_path):
        one = pax({"a": "bcde"})
        archive = write_gz_stream(tmp_path / "bad.tar.gz", one * 1024, tarsafe.MAX_MEMBERS // 1024 + 2)
        refused_by_the_cli(run_setupkit, archive, f"more than {tarsafe.MAX_MEMBERS:,} members")

    def test_a_gzip_bomb_is_cut_at_the_bound(self, run_setupkit, tmp_path):
        count = tarsafe.MAX_UNPACKED_BYTES // (1 << 20) + 1
        archive = write_gz_stream(tmp_path / "bad.tar.gz", bytes(1 << 20), count)
        assert archive.stat().st_size < 2 << 20
        refused_by_the_cli(run_setupkit, archive, "unpacks to more than 256 MiB")

    def test_many_empty_gzip_streams(self, run_setupkit, tmp_path):
        # Each stream is 20 bytes and yields nothing; decompressing them one by one copies the rest of the buffer
        # each time, which is quadratic.
        (tmp_path / "bad.tar.gz").write_bytes(gzip.compress(b"") * 200_000)
        refused_by_the_cli(run_setupkit, tmp_path / "bad.tar.gz", "gzip streams")

    def test_a_sparse_4_gib_archive_is_refused_by_its_size(self, run_setupkit, tmp_path):
        archive = tmp_path / "bad.tar.gz"
        with open(archive, "wb") as out:
            out.write(gzip.compress(good_members()))
            os.truncate(out.fileno(), 4 << 30)  # a hole: no disk is used
        refused_by_the_cli(run_setupkit, archive, "4,294,967,296 bytes")


class TestNotARegularFile:
    def test_a_fifo_given_as_snapshot(self, run_setupkit, tmp_path):
        fifo = tmp_path / "bundle.tar.gz"
        os.mkfifo(fifo)
        refused_by_the_cli(run_setupkit, fifo, "is a FIFO")

    def test_a_device_given_as_snapshot(self, run_setupkit):
        refused_by_the_cli(run_setupkit, Path("/dev/zero"), "is a device")

    def test_a_link_to_a_device_given_as_snapshot(self, run_setupkit, tmp_path):
        link = tmp_path / "bundle.tar.gz"
        os.symlink("/dev/zero", link)
        refused_by_the_cli(run_setupkit, link, "is a device")


# -- the rest of the walk, in process ------------------------------------------------------------------------


class TestHeaderWalk:
    def test_a_bad_checksum(self, tmp_path):
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), header("snap/files/x", checksum=b"0000001\0"))
        refused(archive, "bad header checksum")

    def test_a_member_running_past_the_end(self, tmp_path):
        archive = write_gz(tmp_path / "bad.tar.gz", good_members() + header("snap/files/x", 1 << 20))
        refused(archive, "runs past the end")

    def test_a_pax_header_with_no_member_after_it(self, tmp_path):
        (tmp_path / "bad.tar.gz").write_bytes(gzip.compress(good_members() + pax({"path": "x"})))
        refused(tmp_path / "bad.tar.gz", "no member follows")

    @pytest.mark.parametrize("parts", [
        [header("snap/files/x", 0, b"S")],
        [pax({"GNU.sparse.major": "1"}), header("snap/files/x")],
    ], ids=["gnu-sparse-type", "pax-sparse-keys"])
    def test_sparse_members(self, tmp_path, parts):
        refused(write_gz(tmp_path / "bad.tar.gz", good_members(), *parts), "sparse file")

    def test_a_pax_path_cannot_smuggle_a_name(self, tmp_path):
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), pax({"path": "../../evil"}), member("snap/x", b"1"))
        refused(archive, "climbs out with '..'")
        assert not (tmp_path.parent / "evil").exists()

    def test_a_pax_linkpath_cannot_lead_out(self, tmp_path):
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), pax({"linkpath": "../../../../etc/passwd"}),
                           header("snap/files/etc/passwd", typeflag=b"2", linkname="harmless"))
        refused(archive, "leads outside the snapshot")

    def test_a_long_name(self, tmp_path):
        archive = write_gz(tmp_path / "bad.tar.gz", good_members(), pax({"path": "snap/files/" + "a" * 300}),
                           member("x", b"1"))
        refused(archive, "longer than a snapshot's paths can be")

    def test_a_member_twice(self, tmp_path):
        twice = member("snap/files/etc/os-release", b"ID=evil\n")
        refused(write_gz(tmp_path / "bad.tar.gz", good_members(), twice), "appears twice")

    def test_a_member_inside_a_file(self, tmp_path):
        inside = member("snap/files/etc/os-release/x", b"1")
        refused(write_gz(tmp_path / "bad.tar.gz", good_members(), inside), "inside the file")

    def test_a_link_without_target(self, tmp_path):
        refused(write_gz(tmp_path / "bad.tar.gz", good_members(), header("snap/files/x", typeflag=b"2")), "no target")

    @pytest.mark.parametrize("data, problem", [
        (b"", "the file is empty"),
        (b"BZh91AY&SY" + bytes(100), "compressed with bzip2"),
        (b"\xfd7zXZ\x00" + bytes(100), "compressed with xz"),
        (gzip.compress(b"x" * 5000)[:-20], "cut short"),
        (gzip.compress(good_members() + END) + b"garbage", "data after the end of the gzip stream"),
        (b"\x1f\x8b\x08\x00" + bytes(20), "gzip"),
    ], ids=["empty", "bzip2", "xz", "truncated", "trailing-garbage", "bad-deflate"])
    def test_not_a_tar_gz(self, tmp_path, data, problem):
        (tmp_path / "bad.tar.gz").write_bytes(data)
        refused(tmp_path / "bad.tar.gz", problem)

    def test_the_time_budget_stops_the_walk(self, tmp_path, monkeypatch):
        monkeypatch.setattr(tarsafe, "MAX_SECONDS", -1.0)
        refused(write_gz(tmp_path / "s.tar.gz", good_members()), "unpacking took more than -1 s")

    def test_nothing_is_left_in_the_temporary_folder(self, tmp_path, monkeypatch):
        (tmp_path / "tmp").mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
        refused(write_gz(tmp_path / "bad.tar.gz", good_members(), header("snap/files/x", checksum=b"1\0")))
        assert list((tmp_path / "tmp").iterdir()) == []


# -- what real writers produce still reads -------------------------------------------------------------------


class TestRealWriters:
    FILES = {"etc/os-release": b'ID=ubuntu\nVERSION_ID="24.04"\n', "etc/caf\u00e9.conf": b"not ascii"}
    LONG = {"usr/share/" + "deep/" * 30 + "long-name.txt": b"a name past ustar's 100 bytes"}

    @staticmethod
    def folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
        root = tmp_path / "snap"
        (root / "files" / "usr").mkdir(parents=True)
        for name, data in files.items():
            (root / "files" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "files" / name).write_bytes(data)
        os.symlink("../etc/os-release", root / "files" / "usr" / "os-release")
        for name, doc in {"manifest.json": {"format": "setupkit-snapshot", "version": 1}, "commands.json": [],
                          "nvml.json": {}, "env.json": {}, "python.json": {}}.items():
            (root / name).write_text(json.dumps(doc))
        return root

    @staticmethod
    def reads_back(archive: Path, files: dict[str, bytes]) -> None:
        with SnapshotHost(archive) as host:
            for name, data in files.items():
                assert host.read_bytes("/" + name) == data
            assert host.read_link("/usr/os-release") == "../etc/os-release"

    @pytest.mark.parametrize("form", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
    def test_python_tarfile_in_each_format(self, tmp_path, form):
        files = self.FILES if form == tarfile.USTAR_FORMAT else {**self.FILES, **self.LONG}  # ustar: no long names
        with tarfile.open(tmp_path / "s.tar.gz", "w:gz", format=form) as tar:
            tar.add(self.folder(tmp_path, files), arcname="snap")
        self.reads_back(tmp_path / "s.tar.gz", files)

    def test_an_uncompressed_tar_without_a_top_folder(self, tmp_path):
        with tarfile.open(tmp_path / "s.tar", "w") as tar:
            tar.add(self.folder(tmp_path, self.FILES), arcname=".")
        self.reads_back(tmp_path / "s.tar", self.FILES)

    @pytest.mark.skipif(shutil.which("tar") is None, reason="no tar program on this machine")
    @pytest.mark.parametrize("form", ["gnu", "posix"])
    def test_the_tar_program(self, tmp_path, form):
        files = {**self.FILES, **self.LONG}
        self.folder(tmp_path, files)
        done = subprocess.run(["tar", f"--format={form}", "-czf", str(tmp_path / "s.tar.gz"), "-C", str(tmp_path),
                               "snap"], capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        self.reads_back(tmp_path / "s.tar.gz", files)

    def test_concatenated_gzip_members_and_zero_padding(self, tmp_path):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(self.folder(tmp_path, self.FILES), arcname="snap")
        data = buffer.getvalue()
        (tmp_path / "s.tar.gz").write_bytes(gzip.compress(data[:4096]) + gzip.compress(data[4096:]) + bytes(64))
        self.reads_back(tmp_path / "s.tar.gz", self.FILES)


def test_a_bundle_whose_files_is_not_a_folder(tmp_path):
    archive = write_gz(tmp_path / "bad.tar.gz", member("snap/manifest.json", json.dumps(
        {"format": "setupkit-snapshot", "version": 1}).encode()), member("snap/files", b"not a folder"))
    refused(archive, "no files/ folder")
