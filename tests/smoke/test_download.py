"""The dataset as Keras users expect it: the cache, else a download (MD5 verified, atomic, bounded) from a
server on 127.0.0.1 that the test starts, else synthetic data said in one line; and the archive unpacked
without tarfile's ``filter=`` (this interpreter may be Debian 12's 3.11.2, which has none), refusing every
hostile member.

No test here reaches the internet: the URL is always a 127.0.0.1 address (conftest's offline_by_default).
"""

from __future__ import annotations

import gzip
import http.server
import io
import json
import socket
import tarfile
import threading
import time

import pytest

from setupkit.errors import PreconditionError, SetupkitError
from setupkit.smoke import archive, cifar_files, dataset, download, locate
from setupkit.smoke.progress import Silent

FAST = ["--steps", "16", "--warmup", "4", "--batch-size", "32"]


def leftovers(cache) -> list[str]:
    """Hidden staging folders and partial downloads: none may survive a run, good or bad."""
    return sorted(p.name for p in cache.iterdir() if p.name.startswith(".")) if cache.exists() else []


# -- the archive -------------------------------------------------------------------------------------------------

def test_archive_unpacks_into_the_cache_on_this_python(cifar, tmp_path):
    path, _ = cifar.write_archive(tmp_path / "cifar-10-python.tar.gz", per_batch=8)
    cache = tmp_path / "cache"
    cache.mkdir()
    folder = archive.unpack(path, cache)
    assert folder == cache / "cifar-10-batches-py" and leftovers(cache) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted([*cifar_files.PYTHON.train_names, "test_batch",
                                                               "batches.meta", "readme.html"])
    train, test = cifar_files.read_folder(folder, cifar_files.PYTHON)
    assert len(train.labels) == 40 and len(test.labels) == 8


def tar_gz(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue())


def member(name: str, data: bytes | None = b"x", kind: bytes = tarfile.REGTYPE, size: int | None = None,
           link: str = "") -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = size if size is not None else len(data or b"") if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE and size is None else None


def raw_header(name: bytes, size_field: bytes, kind: bytes) -> bytes:
    """A ustar header with any size field (tarfile would refuse to write a negative one); checksum fixed."""
    header = bytearray(name.ljust(100, b"\0") + b"0000644\0" + b"0000000\0" * 2 + size_field + b"0" * 11 + b"\0"
                       + b" " * 8 + kind + b"\0" * 100 + b"ustar\x0000" + b"\0" * 247)
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


TOP = "cifar-10-batches-py"
HOSTILE_ARCHIVES = {
    "climbs-out": (tar_gz(member(f"{TOP}/../../evil")), "is not a file directly in"),
    "absolute": (tar_gz(member("/etc/evil")), "is not a file directly in"),
    "another-top-folder": (tar_gz(member("other/data_batch_1")), "is not a file directly in"),
    "a-subfolder": (tar_gz(member(f"{TOP}/sub/data_batch_1")), "is not a file directly in"),
    "symlink": (tar_gz(member(f"{TOP}/data_batch_1", kind=tarfile.SYMTYPE, link="/etc/passwd")),
                "is not a regular file"),
    "hard-link": (tar_gz(member(f"{TOP}/a"), member(f"{TOP}/b", kind=tarfile.LNKTYPE, link=f"{TOP}/a")),
                  "is not a regular file"),
    "fifo": (tar_gz(member(f"{TOP}/data_batch_1", kind=tarfile.FIFOTYPE)), "is not a regular file"),
    "device": (tar_gz(member(f"{TOP}/data_batch_1", kind=tarfile.CHRTYPE)), "is not a regular file"),
    "too-many-members": (tar_gz(*(member(f"{TOP}/f{i}") for i in range(17))), "more than 16 members"),
    "member-larger-than-a-batch": (tar_gz(member(f"{TOP}/data_batch_1", size=40 * 1024 * 1024)),
                                   "claims 41,943,040 bytes, more than a batch"),
    "negative-size": (gzip.compress(raw_header(f"{TOP}/data_batch_1".encode(), b"\xff" * 12, b"0") + b"\0" * 2048),
                      "refusing to unpack it"),
    "pax-header-of-300-mb": (gzip.compress(raw_header(b"././@PaxHeader", b"%011o\0" % (300 * 1024 * 1024), b"x")
                                           + b"\0" * 65536), "a header asks for a read of"),
    "not-gzip": (b"<html>captive portal</html>", "not the CIFAR-10 archive"),
}


@pytest.mark.parametrize("case", list(HOSTILE_ARCHIVES))
def test_hostile_archive_is_refused_and_leaves_nothing(case, tmp_path):
    content, expected = HOSTILE_ARCHIVES[case]
    path, cache = tmp_path / "cifar-10-python.tar.gz", tmp_path / "cache"
    path.write_bytes(content)
    cache.mkdir()
    started = time.monotonic()
    with pytest.raises(PreconditionError, match="refusing to unpack it") as refused:
        archive.unpack(path, cache)
    assert expected in str(refused.value) and refused.value.hint.startswith(f"delete {path}")
    assert time.monotonic() - started < 10
    assert list(cache.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["cache", path.name]


def test_truncated_archive_is_refused(cifar, tmp_path):
    path, _ = cifar.write_archive(tmp_path / "cifar-10-python.tar.gz", per_batch=8)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    (tmp_path / "cache").mkdir()
    with pytest.raises(PreconditionError, match="not the CIFAR-10 archive"):
        archive.unpack(path, tmp_path / "cache")
    assert leftovers(tmp_path / "cache") == [] and not (tmp_path / "cache" / TOP).exists()


def test_archive_that_unpacks_past_the_bound_is_refused(cifar, tmp_path, monkeypatch):
    path, _ = cifar.write_archive(tmp_path / "cifar-10-python.tar.gz", per_batch=8)
    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", 100_000)
    (tmp_path / "cache").mkdir()
    with pytest.raises(PreconditionError, match="unpacks to more than 100,000 bytes"):
        archive.unpack(path, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


# -- the download ------------------------------------------------------------------------------------------------

def served_archive(cifar, http_folder, per_batch: int = 8) -> download.Source:
    folder, base = http_folder
    _, md5 = cifar.write_archive(folder / "cifar-10-python.tar.gz", per_batch=per_batch)
    return download.Source(f"{base}/cifar-10-python.tar.gz", md5)


def test_download_is_verified_cached_and_then_needs_no_network(cifar, http_folder, tmp_path):
    source, cache = served_archive(cifar, http_folder), tmp_path / "cache"
    fetched = download.fetch(cache, source, Silent())
    assert fetched == cache / "cifar-10-python.tar.gz" and download.md5_of_regular_file(fetched) == source.md5
    assert leftovers(cache) == []
    offline = download.Source(cifar.CLOSED_PORT_URL, source.md5)
    assert download.fetch(cache, offline, Silent()) == fetched  # the verified copy: no network asked


def test_wrong_checksum_leaves_no_archive(cifar, http_folder, tmp_path):
    source, cache = served_archive(cifar, http_folder), tmp_path / "cache"
    with pytest.raises(PreconditionError, match=r"download corrupt \(md5 [0-9a-f]{32}, expected 0{32}\)"):
        download.fetch(cache, download.Source(source.url, "0" * 32), Silent())
    assert list(cache.iterdir()) == []


def test_http_error_says_so(http_folder, tmp_path):
    _, base = http_folder
    with pytest.raises(PreconditionError, match="HTTP 404") as error:
        download.fetch(tmp_path / "cache", download.Source(f"{base}/missing.tar.gz"), Silent())
    assert "SETUPKIT_CIFAR_URL" in error.value.hint


def test_closed_port_means_no_network(cifar, tmp_path):
    with pytest.raises(download.DownloadImpossible, match=r"the connection failed \(Connection refused\)"):
        download.fetch(tmp_path / "cache", download.Source(cifar.CLOSED_PORT_URL), Silent())
    assert leftovers(tmp_path / "cache") == []


@pytest.fixture
def silent_server():
    """A TCP port on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/cifar-10-python.tar.gz"
    listener.close()


def test_a_server_that_never_answers_is_no_network_within_the_timeout(silent_server, tmp_path, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT_S", 1)
    started = time.monotonic()
    with pytest.raises(download.DownloadImpossible, match="no answer within 1 s"):
        download.fetch(tmp_path / "cache", download.Source(silent_server), Silent())
    assert time.monotonic() - started < 5 and leftovers(tmp_path / "cache") == []


class Lying(http.server.BaseHTTPRequestHandler):
    """Announces ``length`` bytes, sends ``sent`` of them, and closes the connection."""

    length, sent = 10_000_000, 100_000

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(self.length))
        self.end_headers()
        self.wfile.write(b"\0" * self.sent)
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_a_download_cut_midway_counts_as_no_network_and_leaves_nothing(serve, tmp_path):
    url = serve(Lying) + "/cifar-10-python.tar.gz"
    with pytest.raises(download.DownloadImpossible, match="the connection failed"):
        download.fetch(tmp_path / "cache", download.Source(url), Silent())
    assert list((tmp_path / "cache").iterdir()) == []


def test_an_announced_size_past_the_bound_is_refused_before_reading(serve, tmp_path):
    huge = type("Huge", (Lying,), {"length": 10**12, "sent": 0})
    with pytest.raises(PreconditionError, match=r"1,000,000,000,000 bytes: not the CIFAR-10 archive"):
        download.fetch(tmp_path / "cache", download.Source(serve(huge) + "/x.tar.gz"), Silent())
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_body_past_the_bound_is_cut(cifar, http_folder, tmp_path, monkeypatch):
    source = served_archive(cifar, http_folder)
    monkeypatch.setattr(download, "MAX_ARCHIVE_BYTES", 1000)
    monkeypatch.setattr(download, "_declared_size", lambda response, url: None)  # a server that announces none
    with pytest.raises(PreconditionError, match="more than 1,000 bytes: not the CIFAR-10 archive"):
        download.fetch(tmp_path / "cache", source, Silent())
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("environ, expected, fix", [
    ({"SETUPKIT_CIFAR_URL": "ftp://mirror/cifar-10-python.tar.gz"},
     "SETUPKIT_CIFAR_URL='ftp://mirror/cifar-10-python.tar.gz' is not a URL setupkit downloads from",
     "give an http://, https:// or file:// URL of cifar-10-python.tar.gz"),
    ({"SETUPKIT_CIFAR_MD5": "not-a-checksum"}, "SETUPKIT_CIFAR_MD5='not-a-checksum' is not an MD5",
     "give the archive's MD5 (32 hexadecimal digits)"),
])
def test_bad_source_variables_are_usage_errors(environ, expected, fix):
    with pytest.raises(SetupkitError) as error:
        download.Source.from_environment(environ)
    assert error.value.exit_code == 2
    assert (error.value.message, error.value.hint) == (expected, fix)


def test_source_defaults_to_the_official_archive():
    assert download.Source.from_environment({}) == download.Source(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")


def test_cache_folders(tmp_path):
    assert locate.download_dir({"SETUPKIT_CACHE_DIR": str(tmp_path / "s"), "KERAS_HOME": "/k"}) == tmp_path / "s"
    assert locate.download_dir({"KERAS_HOME": str(tmp_path / "k")}) == tmp_path / "k" / "datasets"
    assert locate.download_dir({"HOME": str(tmp_path)}) == tmp_path / ".keras" / "datasets"
    with pytest.raises(PreconditionError, match="no writable cache folder") as error:
        locate.download_dir({"HOME": str(tmp_path / "absent")})  # Keras would fall back to /tmp/.keras
    assert "SETUPKIT_CACHE_DIR" in error.value.hint


def test_a_downloaded_copy_is_found_again_without_the_network(cifar, http_folder, tmp_path, monkeypatch):
    source = served_archive(cifar, http_folder)
    monkeypatch.setenv("SETUPKIT_CIFAR_URL", source.url)
    monkeypatch.setenv("SETUPKIT_CIFAR_MD5", source.md5)
    monkeypatch.setenv("SETUPKIT_CACHE_DIR", str(tmp_path / "cache"))
    first = dataset.load(None, synthetic=False, may_download=True, seed=0)
    assert (first.source, first.path) == ("download", str(tmp_path / "cache" / TOP))
    monkeypatch.setenv("SETUPKIT_CIFAR_URL", cifar.CLOSED_PORT_URL)
    again = dataset.load(None, synthetic=False, may_download=False, seed=0)
    assert (again.source, again.path, len(again.train.labels)) == ("setupkit-cache", first.path, 40)


def test_a_cached_archive_is_unpacked_without_the_network(cifar, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    _, md5 = cifar.write_archive(cache / "cifar-10-python.tar.gz", per_batch=8)
    monkeypatch.setenv("SETUPKIT_CIFAR_MD5", md5)
    monkeypatch.setenv("SETUPKIT_CACHE_DIR", str(cache))
    assert dataset.load(None, synthetic=False, may_download=True, seed=0).source == "download"


# -- as a user runs it -------------------------------------------------------------------------------------------

def test_default_run_downloads_with_progress_then_trains_on_it(cifar, http_folder, tmp_path, smoke_cli):
    source = served_archive(cifar, http_folder, per_batch=128)
    cache = tmp_path / "cache"
    done = smoke_cli(*FAST, env={"SETUPKIT_CIFAR_URL": source.url, "SETUPKIT_CIFAR_MD5": source.md5,
                                 "SETUPKIT_CACHE_DIR": str(cache)})
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "downloading cifar-10-python.tar.gz: " in done.stderr and " MB of " in done.stderr  # progress lines
    assert f"dataset      download {cache / TOP} (640 train, 128 test)" in done.stdout
    assert "SYNTHETIC" not in done.stdout + done.stderr and leftovers(cache) == []


def test_no_network_trains_on_synthetic_data_and_says_so_in_one_line(smoke_cli, cifar, tmp_path):
    done = smoke_cli("--json", *FAST, env={"SETUPKIT_CACHE_DIR": str(tmp_path / "cache")})
    doc = json.loads(done.stdout)
    assert done.returncode == 0, doc["failures"]
    said = done.stderr.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("WARNING: SYNTHETIC DATA: cannot download CIFAR-10 from "
                                                 f"{cifar.CLOSED_PORT_URL}: the connection failed"), said
    assert doc["dataset"]["source"] == "synthetic" and doc["dataset"]["note"] == said[0][len("WARNING: "):]
    assert doc["dataset"]["note"] in doc["warnings"]


def test_no_download_without_a_cached_copy_exits_3(run_setupkit, tmp_path):
    done = run_setupkit("smoke-test", "--no-download", env={"SETUPKIT_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 3 and done.stderr.splitlines() == [
        "setupkit: no CIFAR-10 in the cache and --no-download was given",
        "fix: give --data DIR, leave out --no-download to download it, or pass --synthetic"]


def test_bad_url_variable_exits_2_before_anything_loads(run_setupkit):
    done = run_setupkit("smoke-test", env={"SETUPKIT_CIFAR_URL": "gopher://x"})
    assert done.returncode == 2 and "SETUPKIT_CIFAR_URL='gopher://x'" in done.stderr and "Traceback" not in done.stderr


def test_help_documents_the_data_choice(smoke_cli):
    done = smoke_cli("--help", env={"COLUMNS": "250"})
    text = " ".join(done.stdout.replace("\u2502", " ").split())  # rich's table wraps and frames the help
    assert done.returncode == 0
    for words in ("--no-download", "$SETUPKIT_CACHE_DIR", "$SETUPKIT_CIFAR_URL", "--no-download never touches the "
                  "network: no cached copy is then an error (exit 3)", "a larger batch is a usage error"):
        assert words in text, words


def test_interrupted_download_leaves_no_partial_file(serve, tmp_path):
    """Ctrl-C in the middle of a transfer: the partial file goes, nothing counts as cached."""
    started = threading.Event()

    class Slow(Lying):
        length, sent = 10_000_000, 0

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(self.length))
            self.end_headers()
            self.wfile.write(b"\0" * 200_000)
            self.wfile.flush()
            started.set()
            time.sleep(3)

    class Interrupting(Silent):
        def downloaded(self, done_bytes):
            raise KeyboardInterrupt

    url = serve(Slow) + "/cifar-10-python.tar.gz"
    with pytest.raises(KeyboardInterrupt):
        download.fetch(tmp_path / "cache", download.Source(url), Interrupting())
    assert list((tmp_path / "cache").iterdir()) == []
