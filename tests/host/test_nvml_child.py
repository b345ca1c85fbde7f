"""NVML is asked in a child process: a driver library that crashes, hangs, floods or answers garbage is an
nvml.json error document (and a doctor finding), never the end of doctor.

The broken libraries are fake ``pynvml`` modules put first on the path the child imports from, beside an
empty file named libnvidia-ml.so.1 on LD_LIBRARY_PATH (so that the loader could find one, and the child runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from setupkit import process
from setupkit.host import nvml
from setupkit.host.live import LiveHost

PYNVML_HEAD = """\
import os, signal, sys, time


class NVMLError(Exception):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    def __str__(self):
        return "NVML Shared Library Not Found"


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    def __str__(self):
        return "GPU is lost"


NVML_TEMPERATURE_GPU = 0


def nvmlShutdown():
    pass
"""

WORKING_GPU = """
class Memory:
    total, used = 85520809984, 1048576


class Pci:
    busId = b"00000000:01:00.0"


def nvmlInit():
    pass


def nvmlDeviceGetCount():
    return 1


def nvmlSystemGetDriverVersion():
    return "580.159.04"


def nvmlSystemGetCudaDriverVersion():
    return 13000


def nvmlDeviceGetHandleByIndex(index):
    return object()


def nvmlDeviceGetMemoryInfo(handle):
    return Memory()


def nvmlDeviceGetPciInfo(handle):
    return Pci()


def nvmlDeviceGetCudaComputeCapability(handle):
    return (9, 0)


def nvmlDeviceGetTemperature(handle, sensor):
    return 31
"""

FAKES = {
    "segfault": "def nvmlInit():\n    os.kill(os.getpid(), signal.SIGSEGV)\n",
    "abort": "def nvmlInit():\n    os.abort()\n",
    "bus-error": "def nvmlInit():\n    os.kill(os.getpid(), signal.SIGBUS)\n",
    "hang": "def nvmlInit():\n    time.sleep(3600)\n",
    "flood": "def nvmlInit():\n    while True:\n        sys.stdout.write('x' * 65536)\n",
    "exit": "def nvmlInit():\n    os._exit(3)\n",
    "odd-init": "def nvmlInit():\n    raise RuntimeError('the library is half there')\n",
    "not-found": "def nvmlInit():\n    raise NVMLError_LibraryNotFound()\n",
    "import-error": "raise ImportError('libnvidia-ml.so.1: cannot open shared object file')\n",
    "noisy": WORKING_GPU.replace("def nvmlInit():\n    pass",
                                "def nvmlInit():\n    print('NVML: warming up', flush=True)"),
    "working": WORKING_GPU,
    "bad-bytes": WORKING_GPU + """
def nvmlDeviceGetName(handle):
    return b"NVIDIA \\xff\\xfe H100"


def nvmlDeviceGetUUID(handle):
    return "GPU-\\udcff-lone-surrogate"


def nvmlSystemGetDriverVersion():
    b"580.\\xff".decode()  # pynvml decodes strictly: the bytes travel in the UnicodeDecodeError


def nvmlSystemGetNVMLVersion():
    return b"13.\\xc3"
""",
    "odd-fields": WORKING_GPU + """
class Strange:
    @property
    def busId(self):
        raise KeyError("busId")


def nvmlDeviceGetName(handle):
    raise MemoryError()


def nvmlDeviceGetUUID(handle):
    raise RecursionError()


def nvmlDeviceGetPciInfo(handle):
    return Strange()


def nvmlDeviceGetMemoryInfo(handle):
    raise ValueError("garbage")


def nvmlDeviceGetTemperature(handle, sensor):
    return float("nan")


def nvmlDeviceGetPowerUsage(handle):
    return 10 ** 400


def nvmlDeviceGetPersistenceMode(handle):
    return "yes"


def nvmlDeviceGetCudaComputeCapability(handle):
    return "9.0"


def nvmlDeviceGetComputeRunningProcesses(handle):
    return [object(), None, 42]


def nvmlSystemGetCudaDriverVersion():
    raise NVMLError_NotSupported()
""",
    "garbage-count": WORKING_GPU.replace("return 1\n", "return 4294967295\n", 1),
    "lost-gpu": WORKING_GPU + """
def nvmlDeviceGetHandleByIndex(index):
    raise NVMLError_GpuIsLost()
""",
    "no-count": WORKING_GPU + """
def nvmlDeviceGetCount():
    raise NVMLError_NotSupported()
""",
}


@pytest.fixture
def fake_nvml(tmp_path, monkeypatch):
    """fake_nvml(kind) -> the folder holding that pynvml.py, first on sys.path, with a loadable-looking library."""
    library_dir = tmp_path / "lib"
    library_dir.mkdir()
    (library_dir / nvml.LIBRARY).write_bytes(b"")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(library_dir))

    def make(kind: str) -> Path:
        folder = tmp_path / f"pynvml-{kind}"
        folder.mkdir()
        (folder / "pynvml.py").write_text(PYNVML_HEAD + FAKES[kind])
        monkeypatch.syspath_prepend(str(folder))
        return folder

    return make


def timed_read(timeout: float = 10) -> tuple[dict, float]:
    started = time.monotonic()
    document = nvml.read_nvml(timeout)
    return document, time.monotonic() - started


@pytest.mark.parametrize(("kind", "signal_name"), [("segfault", "SIGSEGV"), ("abort", "SIGABRT"),
                                                   ("bus-error", "SIGBUS")])
def test_a_library_that_kills_the_child_is_a_crash_document(fake_nvml, kind, signal_name):
    fake_nvml(kind)
    document, took = timed_read()
    assert document["error"] == nvml.PROBE_CRASHED
    assert f"with {signal_name};" in document["message"] and "libnvidia-ml.so.1" in document["message"]
    assert took < 5


def test_a_library_that_never_answers_is_cut_by_the_timeout(fake_nvml):
    fake_nvml("hang")
    document, took = timed_read(timeout=1)
    assert document["error"] == nvml.PROBE_TIMED_OUT and "within 1 s" in document["message"]
    assert took < 1 + process.KILL_GRACE_S + 2


def test_a_library_that_floods_stdout_is_stopped_at_the_bound(fake_nvml):
    fake_nvml("flood")
    document, took = timed_read()
    assert document["error"] == nvml.PROBE_FAILED and "printed more than" in document["message"]
    assert took < 5


@pytest.mark.parametrize(("kind", "error", "says"), [
    ("exit", nvml.PROBE_FAILED, "exited 3"),
    ("odd-init", nvml.PROBE_FAILED, "nvmlInit raised RuntimeError: the library is half there"),
    ("not-found", "NVMLError_LibraryNotFound", "NVML Shared Library Not Found"),
    ("import-error", "NVMLError_LibraryNotFound", "pynvml is not importable: libnvidia-ml.so.1"),
    ("garbage-count", nvml.PROBE_FAILED, "counted 4294967295 GPUs"),
])
def test_every_other_failure_is_an_error_document(fake_nvml, kind, error, says):
    fake_nvml(kind)
    document, _ = timed_read()
    assert document["error"] == error and says in document["message"], document


def test_a_working_library_gives_the_whole_document(fake_nvml):
    fake_nvml("working")
    document, _ = timed_read()
    assert document["driver_version"] == "580.159.04" and document["cuda_driver_version"] == 13000
    (device,) = document["devices"]
    assert device["pci_bus_id"] == "00000000:01:00.0" and device["memory_total"] == 85520809984
    assert device["compute_capability"] == [9, 0] and device["temperature_c"] == 31
    assert device["name"] is None and device["power_w"] is None  # functions this pynvml lacks: unknown


def test_lines_the_library_prints_before_the_document_are_ignored(fake_nvml):
    fake_nvml("noisy")
    document, _ = timed_read()
    assert "error" not in document and document["driver_version"] == "580.159.04"


def test_bytes_that_are_not_utf8_are_decoded_with_replacement(fake_nvml):
    fake_nvml("bad-bytes")
    document, _ = timed_read()
    (device,) = document["devices"]
    assert device["name"] == "NVIDIA \ufffd\ufffd H100"
    assert device["uuid"] == "GPU-?-lone-surrogate"  # a lone surrogate cannot reach a terminal
    assert document["driver_version"] == "580.\ufffd" and document["nvml_version"] == "13.\ufffd"
    json.dumps(document).encode("utf-8")


def test_odd_exceptions_and_values_cost_only_their_own_field(fake_nvml):
    fake_nvml("odd-fields")
    document, _ = timed_read()
    (device,) = document["devices"]
    assert device["name"] is None and device["uuid"] is None and device["pci_bus_id"] is None
    assert device["memory_total"] is None and device["temperature_c"] is None and device["power_w"] is None
    assert device["persistence_mode"] is None and device["compute_capability"] is None
    assert device["processes"] == [] and document["cuda_driver_version"] is None
    assert device["pcie_gen"] == [None, None]


def missing(function: str) -> str:
    return f"AttributeError: module 'pynvml' has no attribute '{function}'"


def test_each_field_that_could_not_be_read_says_why_and_a_field_read_is_not_named(fake_nvml):
    fake_nvml("working")
    document, _ = timed_read()
    (device,) = document["devices"]
    assert device["errors"]["name"] == missing("nvmlDeviceGetName")
    assert device["errors"]["power_w"] == missing("nvmlDeviceGetPowerUsage")
    assert device["errors"]["pcie_gen"] == missing("nvmlDeviceGetCurrPcieLinkGeneration")  # the first that failed
    assert device["errors"]["processes"] == missing("nvmlDeviceGetComputeRunningProcesses")
    assert not {"index", "pci_bus_id", "memory_total", "memory_used", "compute_capability",
                "temperature_c"} & set(device["errors"])
    assert set(device["errors"]) <= set(device) - {"errors"}  # every name is a field of the device
    assert document["errors"] == {"nvml_version": missing("nvmlSystemGetNVMLVersion")}  # the driver's fields


def test_odd_exceptions_are_named_with_their_type_under_the_fields_they_cost(fake_nvml):
    fake_nvml("odd-fields")
    document, _ = timed_read()
    (device,) = document["devices"]
    errors = device["errors"]
    assert errors["name"] == "MemoryError" and errors["uuid"] == "RecursionError"
    assert errors["pci_bus_id"] == "KeyError: 'busId'"  # raised by the structure NVML filled, not the call
    assert errors["memory_total"] == errors["memory_used"] == "ValueError: garbage"
    assert "temperature_c" not in errors and "power_w" not in errors  # answers out of form are no errors: unknown
    assert document["errors"]["cuda_driver_version"] == "NVMLError_NotSupported"
    json.dumps(document, allow_nan=False)


def test_bytes_decoded_with_replacement_are_read_not_errors(fake_nvml):
    fake_nvml("bad-bytes")
    document, _ = timed_read()
    assert "errors" not in document  # every driver-level field was read
    assert not {"name", "uuid"} & set(document["devices"][0]["errors"])


def test_a_gpu_that_cannot_be_opened_says_why(fake_nvml):
    fake_nvml("lost-gpu")
    document, _ = timed_read()
    assert document["devices"] == [{"index": 0, "error": "could not open this GPU",
                                    "errors": {"handle": "NVMLError_GpuIsLost: GPU is lost"}}]


def test_a_count_that_fails_is_no_gpu_with_the_reason(fake_nvml):
    fake_nvml("no-count")
    document, _ = timed_read()
    assert document["devices"] == [] and document["errors"]["devices"] == "NVMLError_NotSupported"


def test_the_facts_of_fields_that_failed_stay_unknown(fake_nvml, tmp_path):
    from setupkit.host.bundle import write_recording
    from setupkit.host.recording import Recording
    from setupkit.probes import read_facts

    fake_nvml("odd-fields")
    document, _ = timed_read()
    snapshot = write_recording(Recording(nvml=document), str(tmp_path / "snapshot"))
    assert json.loads((snapshot / "nvml.json").read_text())["devices"][0]["errors"] == document["devices"][0]["errors"]
    facts = read_facts(str(snapshot))
    assert facts["gpu.count"] == 1 and facts["driver.nvml_error"] is None
    assert facts["gpu.names"] == [None] and facts["gpu.uuids"] == [None] and facts["gpu.errors"] == [None]
    assert facts["gpu.memory_total_mib"] == [None] and facts["gpu.memory_used_mib"] == [None]
    assert facts["gpu.compute_capabilities"] == [None] and facts["driver.cuda_max"] is None


def test_the_child_imports_from_the_parents_path_not_the_current_folder(fake_nvml, tmp_path, monkeypatch):
    fake_nvml("working")
    trap = tmp_path / "cwd"
    trap.mkdir()
    (trap / "pynvml.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.chdir(trap)
    document, _ = timed_read()
    assert document.get("driver_version") == "580.159.04", document


# -- no child where NVML cannot start anyway ----------------------------------------------------------------


@pytest.fixture
def no_child(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a child was started where NVML cannot start")

    monkeypatch.setattr(process, "run", refuse)


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """A loader that finds no library: empty LD_LIBRARY_PATH folder, an empty cache, default folders without it."""
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.setattr(nvml, "_library_dirs", lambda: [str(tmp_path / "empty")])
    cache = tmp_path / "ld.so.cache"
    cache.write_bytes(b"glibc-ld.so.cache1.1\x00libc.so.6\x00/lib/x86_64-linux-gnu/libc.so.6\x00")
    monkeypatch.setattr(nvml, "_LOADER_CACHE", str(cache))
    return cache


def test_without_pynvml_no_child_is_started(monkeypatch, tmp_path, no_child):
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert nvml.read_nvml() == {"error": "NVMLError_LibraryNotFound",
                                "message": "pynvml is not importable: No module named 'pynvml'"}


def test_without_a_library_the_loader_can_find_no_child_is_started(fake_nvml, nowhere, no_child):
    fake_nvml("segfault")  # would crash, were it asked
    assert nvml.read_nvml() == {"error": "NVMLError_LibraryNotFound", "message": "NVML Shared Library Not Found"}


def test_a_library_named_in_the_loader_cache_may_load(nowhere):
    assert not nvml.library_may_load()
    nowhere.write_bytes(b"glibc-ld.so.cache1.1\x00libnvidia-ml.so.1\x00/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1")
    assert nvml.library_may_load()


def test_a_preloaded_library_may_load(nowhere, monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/opt/driver/libnvidia-ml.so.1")
    assert nvml.library_may_load()


def test_ld_library_path_folders_are_searched_an_empty_entry_is_the_current_folder(tmp_path, monkeypatch):
    listed = tmp_path / "listed"
    listed.mkdir()
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nonexistent::{listed}")
    assert nvml._library_dirs()[:3] == ["/nonexistent", ".", str(listed)]
    assert "/usr/lib" in nvml._library_dirs()
    (listed / nvml.LIBRARY).write_bytes(b"")
    assert nvml.library_may_load()


def test_this_machine_answers_as_pynvml_itself_would():
    """Where the shortcut applies it must say what the real child says (here: no driver library)."""
    if nvml.library_may_load():
        pytest.skip("this machine has a libnvidia-ml.so.1 the loader may find")
    done = process.run([sys.executable, "-I", "-S", nvml.__file__, json.dumps(sys.path)], timeout=30)
    assert nvml.document_from(done, 30) == nvml.known_absent() == LiveHost().nvml()


# -- the document from what the child did (pure) ------------------------------------------------------------


def completed(returncode, stdout="", stderr="", truncated=False):
    return process.Completed(("python",), returncode, stdout, stderr, truncated)


@pytest.mark.parametrize(("done", "error", "says"), [
    (completed(None), nvml.PROBE_TIMED_OUT, "no answer within 10 s"),
    (completed(-11), nvml.PROBE_CRASHED, "SIGSEGV"),
    (completed(-6, '{"devices": []}'), nvml.PROBE_CRASHED, "SIGABRT"),
    (completed(-15, "x" * 100, truncated=True), nvml.PROBE_FAILED, "printed more than"),
    (completed(1, "", "Traceback\nSyntaxError: invalid syntax\n"), nvml.PROBE_FAILED,
     "exited 1: SyntaxError: invalid syntax"),
    (completed(0, ""), nvml.PROBE_FAILED, "no nvml.json document: no output"),
    (completed(0, "[1, 2]"), nvml.PROBE_FAILED, "no nvml.json document"),
    (completed(0, '{"devices": [1]}'), nvml.PROBE_FAILED, "no nvml.json document"),
    (completed(0, '{"error": 5}'), nvml.PROBE_FAILED, "no nvml.json document"),
    (completed(0, '{"devices": [], "x": NaN}'), nvml.PROBE_FAILED, "no nvml.json document"),
    (completed(0, "[" * 100_000 + "]" * 100_000), nvml.PROBE_FAILED, "no nvml.json document"),
    (completed(0, '{"devices": [], "x": "\x1b[31m"}\n\x1b]0;owned\x07'), nvml.PROBE_FAILED, "\\x1b]0;owned\\x07"),
])
def test_what_the_child_did_becomes_one_document(done, error, says):
    document = nvml.document_from(done, 10)
    assert document["error"] == error and says in document["message"], document


def test_a_document_on_the_last_line_is_taken_as_it_is():
    done = completed(0, 'noise\n{"error": "NVMLError_DriverNotLoaded", "message": "Driver Not Loaded"}\n')
    assert nvml.document_from(done, 10) == {"error": "NVMLError_DriverNotLoaded", "message": "Driver Not Loaded"}


# -- doctor, the real command line, on a broken driver library ----------------------------------------------


def doctor_json(folder: Path, library_dir: Path, code: str | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """`setupkit doctor --json` (or ``code`` that runs the CLI's main) with the fake pynvml on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=str(folder), LD_LIBRARY_PATH=str(library_dir), NO_COLOR="1")
    argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "setupkit", "doctor", "--json"]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    return done, time.monotonic() - started


def finding(document: dict, check_id: str) -> dict:
    return next(found for found in document["findings"] if found["id"] == check_id)


def test_doctor_reports_a_crashing_driver_library_as_a_failing_finding(fake_nvml, tmp_path):
    done, took = doctor_json(fake_nvml("segfault"), tmp_path / "lib")
    assert done.returncode == 1, done.stderr
    assert took < 20
    document = json.loads(done.stdout)
    assert document["facts"]["driver.nvml_error"] == "NVMLError_ProbeCrashed"
    installed = finding(document, "driver.installed")
    assert installed["status"] == "fail" and "crashed" in installed["message"]
    assert "nvidia-smi" in installed["fix"]["commands"] and "sudo reboot" in installed["fix"]["commands"]


def test_doctor_reports_a_wedged_driver_library_within_its_timeout(fake_nvml, tmp_path):
    code = ("import sys; from setupkit.host import nvml; nvml.CHILD_TIMEOUT_S = 1.0; "
            "from setupkit.cli import main; sys.argv = ['setupkit']; main(['doctor', '--json'])")
    done, took = doctor_json(fake_nvml("hang"), tmp_path / "lib", code)
    assert done.returncode == 1, done.stderr
    assert took < 1 + process.KILL_GRACE_S + 15
    document = json.loads(done.stdout)
    assert document["facts"]["driver.nvml_error"] == "NVMLError_ProbeTimedOut"
    assert finding(document, "driver.installed")["status"] == "fail"


def test_doctor_shows_a_gpu_name_with_bad_bytes(fake_nvml, tmp_path):
    done, _ = doctor_json(fake_nvml("bad-bytes"), tmp_path / "lib")
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    facts = json.loads(done.stdout)["facts"]
    assert facts["gpu.names"] == ["NVIDIA \ufffd\ufffd H100"] and facts["driver.nvml_error"] is None


def test_doctor_human_report_survives_the_crash(fake_nvml, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(fake_nvml("segfault")), LD_LIBRARY_PATH=str(tmp_path / "lib"),
               NO_COLOR="1", COLUMNS="200")
    done = subprocess.run([sys.executable, "-m", "setupkit", "doctor", "--only", "driver.installed"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1 and done.stderr == ""
    assert "NVML crashed or answered garbage" in done.stdout and "$ nvidia-smi" in done.stdout


def test_the_child_script_imports_nothing_from_setupkit():
    """It runs as a script with -I -S: setupkit's editable finder, installed by site, is not there."""
    source = Path(nvml.__file__).read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert "import json" in top_level and not [line for line in top_level if "setupkit" in line]
