"""Helpers of the smoke-test tests: small CIFAR-10 folders and archives written in the official formats, a
local HTTP server to download them from, a Python without TensorFlow, and a child run measured for time and
memory.

The Python batches are pickled the way the official files were (Python 2's cPickle, protocol 2): every string
is a byte string (SHORT_BINSTRING / BINSTRING opcodes), and the only globals are numpy.core.multiarray
._reconstruct, numpy.ndarray and numpy.dtype.

No test reaches the internet: for the whole session the CIFAR URL points to a closed port on 127.0.0.1 and
the caches to a temporary folder (``offline_by_default``); a test that downloads serves its own archive.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import pickle
import resource
import struct
import subprocess
import sys
import tarfile
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.venvs import requirement_closure

CLOSED_PORT_URL = "http://127.0.0.1:9/cifar-10-python.tar.gz"
"""The discard port, closed on any test machine: 'connection refused' at once, the no-network case."""

PY2_MODULES = {"_reconstruct": "numpy.core.multiarray", "ndarray": "numpy", "dtype": "numpy"}


class Py2Pickler(pickle._Pickler):
    """Writes what Python 2 wrote: str and bytes as byte strings, numpy's globals under their Python 2 names."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_string(self, obj):
        raw = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = save_py2_string
    dispatch[str] = save_py2_string

    def save_global(self, obj, name=None):
        name = name or obj.__name__
        self.write(pickle.GLOBAL + PY2_MODULES[name].encode() + b"\n" + name.encode() + b"\n")
        self.memoize(obj)

    dispatch[type] = save_global


def py2_pickle(obj) -> bytes:
    import io

    stream = io.BytesIO()
    Py2Pickler(stream, protocol=2).dump(obj)
    return stream.getvalue()


@functools.lru_cache(maxsize=4)
def _learnable(total: int):
    from setupkit.smoke.synthetic import synthetic_cifar

    train, _ = synthetic_cifar(0, train_images=total, test_images=1)
    return train


def fake_images(count: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Batch ``index`` (of 6) as (N x 3072 uint8 channel planes, labels): learnable class patterns, one set of
    classes for every batch (the synthetic generator's)."""
    train = _learnable(count * 6)
    images, labels = train.images[index * count:(index + 1) * count], train.labels[index * count:(index + 1) * count]
    planes = images.transpose(0, 3, 1, 2).reshape(count, 3072)
    return np.ascontiguousarray(planes), labels.copy()


BATCH_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def write_python_folder(folder: Path, per_batch: int = 64, batches: list[str] | None = None) -> Path:
    """cifar-10-batches-py with the official keys: b'batch_label', b'labels', b'data', b'filenames'."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(batches or BATCH_NAMES):
        data, labels = fake_images(per_batch, index)
        batch = {b"batch_label": f"training batch {index + 1} of 5".encode(), b"labels": [int(x) for x in labels],
                 b"data": data, b"filenames": [f"image_{index}_{i}.png".encode() for i in range(per_batch)]}
        (folder / name).write_bytes(py2_pickle(batch))
    (folder / "batches.meta").write_bytes(py2_pickle({b"label_names": [b"airplane", b"automobile"]}))
    return folder


def write_binary_folder(folder: Path, per_batch: int = 64) -> Path:
    """cifar-10-batches-bin: records of <1 label byte><3072 pixel bytes>."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(BATCH_NAMES):
        data, labels = fake_images(per_batch, index)
        records = np.concatenate([labels[:, None], data], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())
    return folder


def write_archive(path: Path, per_batch: int = 64) -> tuple[Path, str]:
    """A cifar-10-python.tar.gz laid out as the official one (cifar-10-batches-py/ with the six batches,
    batches.meta and readme.html); (its path, its MD5)."""
    folder = write_python_folder(path.parent / f"{path.name}.src" / "cifar-10-batches-py", per_batch=per_batch)
    (folder / "readme.html").write_text("<a href='https://www.cs.toronto.edu/~kriz/cifar.html'>CIFAR-10</a>\n")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return path, hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def cifar():
    """The writers above, for the test modules (pytest's importlib mode keeps conftest out of their imports)."""
    return types.SimpleNamespace(py2_pickle=py2_pickle, fake_images=fake_images,
                                 write_python_folder=write_python_folder, write_binary_folder=write_binary_folder,
                                 write_archive=write_archive, CLOSED_PORT_URL=CLOSED_PORT_URL)


@pytest.fixture(scope="session", autouse=True)
def offline_by_default(tmp_path_factory):
    """Every smoke test, and every child it starts, downloads from a closed local port into a temporary cache
    unless it says otherwise: none reaches the internet, none reads or fills the user's ~/.keras."""
    caches = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SETUPKIT_CIFAR_URL", CLOSED_PORT_URL)
        patch.setenv("SETUPKIT_CACHE_DIR", str(caches / "setupkit"))
        patch.setenv("KERAS_HOME", str(caches / "keras"))
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "MD5", "SETUPKIT_CIFAR_MD5"):
            patch.delenv(name, raising=False)
        yield caches


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the test reads its own assertions, not an access log
        pass


@pytest.fixture
def serve():
    """serve(handler class) -> its base URL on 127.0.0.1 (an ephemeral port), stopped after the test."""
    servers = []

    def start(handler) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_folder(tmp_path, serve):
    """A folder served on 127.0.0.1 for the test: (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    return folder, serve(functools.partial(QuietHandler, directory=str(folder)))


@pytest.fixture(scope="session")
def python_without_frameworks(tmp_path_factory):
    """A Python that sees setupkit and its own dependencies only (and numpy when asked): no TensorFlow, Keras,
    JAX or torch. Made cheaply: `python -S` (no site-packages) with a folder of links to just those packages
    on PYTHONPATH, as a fresh `pip install setupkit` would leave it. Returns make(numpy) -> (argv, env)."""

    def make(numpy: bool) -> tuple[list[str], dict[str, str]]:
        site = tmp_path_factory.mktemp("site-numpy" if numpy else "site")
        found: dict = {}
        requirement_closure("setupkit", found)
        if numpy:
            requirement_closure("numpy", found)
        found.pop("setupkit")
        for distribution in found.values():
            for top in {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}:
                if not top.endswith(".dist-info") and top != "__pycache__" and not (site / top).exists():
                    (site / top).symlink_to(Path(distribution.locate_file(top)))
        import setupkit

        source = Path(setupkit.__file__).resolve().parents[1]
        env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{source}", NO_COLOR="1", COLUMNS="200")
        return [sys.executable, "-S", "-m", "setupkit"], env

    return make


def measured_run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 60,
                 memory_limit: int = 1 << 30) -> types.SimpleNamespace:
    """Run a child under an address-space limit (RLIMIT_AS); its exit code, output, seconds and peak RSS in
    MiB (from wait4: this child's own, not the session's largest)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    started = time.monotonic()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=limit)
    streams: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda name=name: streams.__setitem__(name, getattr(child, name).read()))
               for name in ("stdout", "stderr")]
    for reader in readers:
        reader.start()
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > timeout:
            child.kill()
        time.sleep(0.02)
    child.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(timeout=5)
    return types.SimpleNamespace(returncode=child.returncode, stdout=streams.get("stdout", b"").decode(),
                                 stderr=streams.get("stderr", b"").decode(), seconds=time.monotonic() - started,
                                 peak_mib=usage.ru_maxrss / 1024)


@pytest.fixture(scope="session")
def measured():
    return measured_run


@pytest.fixture
def python_folder(tmp_path) -> Path:
    return write_python_folder(tmp_path / "cifar-10-batches-py")


@pytest.fixture
def binary_folder(tmp_path) -> Path:
    return write_binary_folder(tmp_path / "cifar-10-batches-bin")


@pytest.fixture(scope="session")
def smoke_cli():
    """``setupkit smoke-test ARGS`` in a subprocess, like the shared run_setupkit fixture, but usable from
    module-scoped fixtures (so that one training run serves several tests)."""

    def run(*args: str, env: dict[str, str | None] | None = None,
            timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """``env``: variables to set, or to remove where the value is None."""
        full_env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
        for name, value in (env or {}).items():
            full_env.pop(name, None) if value is None else full_env.__setitem__(name, value)
        return subprocess.run([sys.executable, "-m", "setupkit", "smoke-test", *args], capture_output=True,
                              text=True, timeout=timeout, env=full_env)

    return run
