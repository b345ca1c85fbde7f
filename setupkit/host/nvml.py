"""The one module that touches pynvml (nvidia-ml-py), and never in setupkit's own process.

doctor is the tool people run on broken drivers, and a broken or wedged libnvidia-ml.so.1 kills the process
that calls it (SIGSEGV, SIGABRT) or never returns. So ``read_nvml`` runs this very file as a child,
``python -I -S nvml.py SYS_PATH_JSON``, under a timeout (setupkit.process), and turns its crash, hang or
garbage into an nvml.json-shaped error document (``NVMLError_Probe*``) that the driver probe reports.
The child imports pynvml from the parent's own ``sys.path``, so it finds the pynvml setupkit itself would
(the venv, PYTHONPATH), not one in the folder it happens to run in; it prints the document on stdout and
imports nothing from setupkit.

In the child every per-field call goes through ``_call``, which turns any failure (NotSupported, a missing
function in an old pynvml, bytes that are not UTF-8 ...) into a default, as nvitop's ``nvmlQuery`` and
gpustat do: a degraded GPU is reported, not a crash. Which field failed, and with what, is kept in an
``"errors"`` object beside the fields (per GPU, and at the top for the driver's), so that an unknown in the
report can be traced to NVML's own answer. The result has the form of a snapshot's nvml.json (SNAPSHOT.md).
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from setupkit.process import Completed

LIBRARY = "libnvidia-ml.so.1"
"""What pynvml asks the dynamic loader for on Linux (``CDLL("libnvidia-ml.so.1")``)."""
LIBRARY_NOT_FOUND = "NVMLError_LibraryNotFound"
PROBE_CRASHED = "NVMLError_ProbeCrashed"
PROBE_TIMED_OUT = "NVMLError_ProbeTimedOut"
PROBE_FAILED = "NVMLError_ProbeFailed"
"""setupkit's own error classes, beside pynvml's: what became of the child that asked NVML."""

CHILD_TIMEOUT_S = 10.0
"""nvmlInit takes well under a second even without persistence mode; a wedged driver never answers."""
CHILD_MAX_OUTPUT = 1 << 20
"""An nvml.json of 64 GPUs and their processes is a few tens of KiB."""
MAX_DEVICES = 64
"""More than any machine holds: a larger count is a library answering garbage."""
MAX_ERROR_TEXT = 300
"""Characters kept of one field's error: NVML's own messages are a few words."""

# Where glibc's loader looks without LD_LIBRARY_PATH or its cache (the trusted folders of each distribution
# family), plus WSL's driver folder.
_LOADER_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib", "/usr/lib/wsl/lib")
_LOADER_CACHE = "/etc/ld.so.cache"


# -- the parent: setupkit's side ------------------------------------------------------------------------------


def read_nvml(timeout: float | None = None) -> dict[str, Any]:
    """Everything NVML says about the driver and each GPU, asked in a child process that may take ``timeout``
    seconds (default CHILD_TIMEOUT_S); ``{"error", "message"}`` when NVML cannot start or the child crashed,
    hung or printed garbage. The shell equivalent is ``nvidia-smi -q``."""
    timeout = CHILD_TIMEOUT_S if timeout is None else timeout
    absent = known_absent()
    if absent is not None:
        return absent
    from setupkit import process

    done = process.run([sys.executable, "-I", "-S", os.path.abspath(__file__), json.dumps(sys.path)],
                       timeout=timeout, max_output=CHILD_MAX_OUTPUT, stop_when_full=True)
    return document_from(done, timeout)


def known_absent() -> dict[str, Any] | None:
    """NVML's own answer where it cannot start anyway, without paying ~35 ms for a child: no pynvml on the
    path the child would import from, or no libnvidia-ml.so.1 anywhere the dynamic loader looks."""
    from importlib.machinery import PathFinder

    if PathFinder.find_spec("pynvml", sys.path) is None:
        return {"error": LIBRARY_NOT_FOUND, "message": "pynvml is not importable: No module named 'pynvml'"}
    if not library_may_load():
        return {"error": LIBRARY_NOT_FOUND, "message": "NVML Shared Library Not Found"}  # pynvml's own words
    return None


def library_may_load() -> bool:
    """Whether dlopen("libnvidia-ml.so.1") could find a file: preloaded, in LD_LIBRARY_PATH, in the loader's
    cache (/etc/ld.so.cache, written by ldconfig), in its default folders, or beside the interpreter (a conda
    Python's RPATH is its own lib folder). Says True when unsure: the child then answers."""
    if "libnvidia-ml" in os.environ.get("LD_PRELOAD", ""):
        return True
    if any(os.path.exists(os.path.join(folder, LIBRARY)) for folder in _library_dirs()):
        return True
    return LIBRARY.encode() in _loader_cache()


def _library_dirs() -> list[str]:
    listed = os.environ.get("LD_LIBRARY_PATH")
    # An empty entry in LD_LIBRARY_PATH is the current folder, for glibc as for a shell's PATH.
    folders = [entry or "." for entry in listed.replace(";", ":").split(":")] if listed is not None else []
    arch = getattr(sys.implementation, "_multiarch", "") or f"{os.uname().machine}-linux-gnu"
    folders += [*_LOADER_DIRS, f"/lib/{arch}", f"/usr/lib/{arch}"]
    folders += [os.path.join(sys.base_prefix, "lib"), os.path.join(sys.prefix, "lib")]
    return folders


def _loader_cache() -> bytes:
    from setupkit.bounded import BoundError, read_regular_file

    try:
        return read_regular_file(_LOADER_CACHE, limit=64 << 20)
    except BoundError:
        return b""  # no cache (musl, a minimal container): the loader has none to look in either


def document_from(done: Completed, timeout: float) -> dict[str, Any]:
    """The nvml.json document from what the child did (pure: the tests feed it results)."""
    if done.timed_out:
        return {"error": PROBE_TIMED_OUT, "message": f"NVML gave no answer within {timeout:g} s; the driver is "
                "wedged (a GPU fallen off the bus, a kernel module stuck): see `nvidia-smi` and `sudo dmesg`"}
    if done.truncated:
        return {"error": PROBE_FAILED, "message": f"the NVML probe printed more than {CHILD_MAX_OUTPUT:,} bytes "
                "and was stopped; the driver's user-space library answers garbage"}
    if done.signal_name:
        return {"error": PROBE_CRASHED, "message": f"NVML crashed the probe with {done.signal_name}; the "
                f"driver's user-space library ({LIBRARY}) is broken or does not match the kernel module"}
    if done.returncode != 0:
        return {"error": PROBE_FAILED, "message": f"the NVML probe exited {done.returncode}: {_last_line(done.stderr)}"}
    document = _parse(done.stdout)
    if document is None:
        return {"error": PROBE_FAILED, "message": "the NVML probe printed no nvml.json document: "
                f"{_last_line(done.stdout)}"}
    return document


def _parse(stdout: str) -> dict[str, Any] | None:
    """The document: the last line (the driver library may print its own lines first), an object that is
    either an error or a device list."""
    from setupkit.bounded import BoundError, loads_json

    lines = stdout.strip().splitlines()
    try:
        document = loads_json(lines[-1]) if lines else None
    except BoundError:
        return None
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("error"), str):
        return document
    devices = document.get("devices")
    if isinstance(devices, list) and all(isinstance(device, dict) for device in devices):
        return document
    return None


def _last_line(text: str) -> str:
    from setupkit.bounded import printable

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return printable(lines[-1][:300], keep_newlines=False) if lines else "no output"


# -- the child: the only code that calls NVML -----------------------------------------------------------------


def query_nvml() -> dict[str, Any]:
    """What NVML says, asked in this process (the child's work); ``{"error", "message"}`` when it cannot start."""
    try:
        import pynvml
    except ImportError as error:  # nvidia-ml-py missing from this environment
        return {"error": LIBRARY_NOT_FOUND, "message": f"pynvml is not importable: {_text(error)}"}
    try:
        pynvml.nvmlInit()
    except Exception as error:  # noqa: BLE001 - whatever nvmlInit raises is the answer
        return _init_error(pynvml, error)
    try:
        return _read_all(pynvml)
    finally:
        _call(pynvml, "nvmlShutdown")


def _init_error(pynvml: Any, error: Exception) -> dict[str, Any]:
    nvml_error = getattr(pynvml, "NVMLError", None)
    if isinstance(nvml_error, type) and isinstance(error, nvml_error):
        return {"error": type(error).__name__, "message": _text(error)}
    if isinstance(error, OSError):
        return {"error": LIBRARY_NOT_FOUND, "message": _text(error)}
    return {"error": PROBE_FAILED, "message": f"nvmlInit raised {type(error).__name__}: {_text(error)}"}


def _read_all(pynvml: Any) -> dict[str, Any]:
    errors: dict[str, str] = {}
    count = _call(pynvml, "nvmlDeviceGetCount", default=0, errors=errors, fields="devices")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_DEVICES:
        return {"error": PROBE_FAILED, "message": f"NVML counted {_text(count)[:40]} GPUs; the driver's user-space "
                "library answers garbage"}

    def ask(field: str, name: str) -> Any:
        return _call(pynvml, name, errors=errors, fields=field)

    document = {
        "driver_version": _str(ask("driver_version", "nvmlSystemGetDriverVersion")),
        "cuda_driver_version": _number(ask("cuda_driver_version", "nvmlSystemGetCudaDriverVersion")),
        "nvml_version": _str(ask("nvml_version", "nvmlSystemGetNVMLVersion")),
        "devices": [_read_device(pynvml, index) for index in range(count)],
    }
    return _with_errors(document, errors)


def _read_device(pynvml: Any, index: int) -> dict[str, Any]:
    errors: dict[str, str] = {}
    handle = _call(pynvml, "nvmlDeviceGetHandleByIndex", index, errors=errors, fields="handle")
    if handle is None:
        return _with_errors({"index": index, "error": "could not open this GPU"}, errors)

    def ask(fields: str | tuple[str, ...], name: str, *args: Any) -> Any:
        return _call(pynvml, name, handle, *args, errors=errors, fields=fields)

    memory = ask(("memory_total", "memory_used"), "nvmlDeviceGetMemoryInfo")
    mig = ask("mig_mode", "nvmlDeviceGetMigMode")
    device = {
        "index": index,
        "name": _str(ask("name", "nvmlDeviceGetName")),
        "uuid": _str(ask("uuid", "nvmlDeviceGetUUID")),
        "pci_bus_id": _str(_field(ask("pci_bus_id", "nvmlDeviceGetPciInfo"), "busId", errors, "pci_bus_id")),
        "memory_total": _number(_field(memory, "total", errors, "memory_total")),
        "memory_used": _number(_field(memory, "used", errors, "memory_used")),
        "compute_capability": _numbers(ask("compute_capability", "nvmlDeviceGetCudaComputeCapability")),
        "persistence_mode": _flag(ask("persistence_mode", "nvmlDeviceGetPersistenceMode")),
        "mig_mode": _flag(mig[0] if isinstance(mig, (list, tuple)) and mig else mig),
        "display_active": _flag(ask("display_active", "nvmlDeviceGetDisplayActive")),
        "temperature_c": _number(ask("temperature_c", "nvmlDeviceGetTemperature",
                                     getattr(pynvml, "NVML_TEMPERATURE_GPU", 0))),
        "power_w": _watts(ask("power_w", "nvmlDeviceGetPowerUsage")),
        "power_limit_w": _watts(ask("power_limit_w", "nvmlDeviceGetEnforcedPowerLimit")),
        "pcie_gen": [_number(ask("pcie_gen", "nvmlDeviceGetCurrPcieLinkGeneration")),
                     _number(ask("pcie_gen", "nvmlDeviceGetMaxPcieLinkGeneration"))],
        "pcie_width": [_number(ask("pcie_width", "nvmlDeviceGetCurrPcieLinkWidth")),
                       _number(ask("pcie_width", "nvmlDeviceGetMaxPcieLinkWidth"))],
        **_health(pynvml, handle, errors),
        "processes": _processes(pynvml, handle, errors),
    }
    return _with_errors(device, errors)


# NVML's constants (nvml.h; pynvml.py names them the same), written out: an old pynvml may lack a name, and the
# numbers are NVML's ABI, not pynvml's.
_UNCORRECTED = 1  # NVML_MEMORY_ERROR_TYPE_UNCORRECTED
_VOLATILE = 0  # NVML_VOLATILE_ECC: since the driver was last loaded
_AGGREGATE = 1  # NVML_AGGREGATE_ECC: the card's lifetime, kept in its InfoROM


def _health(pynvml: Any, handle: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The level-1 health fields: what NVML says of the link, the memory, the clocks and the power limit.

    Each is its own call, and a card that lacks the feature answers NotSupported (ECC and row remapping on a
    GeForce card, retired pages on Ampere and later): that field is null and ``errors`` says so."""

    def ask(fields: str | tuple[str, ...], name: str, *args: Any) -> Any:
        return _call(pynvml, name, handle, *args, errors=errors, fields=fields)

    ecc = ask("ecc_mode", "nvmlDeviceGetEccMode")  # [current, pending]
    rows_fields = ("remapped_rows_correctable", "remapped_rows_uncorrectable", "remapped_rows_pending",
                   "remapped_rows_failed")
    rows = ask(rows_fields, "nvmlDeviceGetRemappedRows")  # (correctable, uncorrectable, pending, failed)
    rows = list(rows) if isinstance(rows, (list, tuple)) and len(rows) == 4 else [None] * 4
    return {
        "pcie_gen_gpu_max": _number(ask("pcie_gen_gpu_max", "nvmlDeviceGetGpuMaxPcieLinkGeneration")),
        "ecc_mode": _flag(ecc[0] if isinstance(ecc, (list, tuple)) and ecc else None),
        "ecc_uncorrected_volatile": _number(ask("ecc_uncorrected_volatile", "nvmlDeviceGetTotalEccErrors",
                                                _UNCORRECTED, _VOLATILE)),
        "ecc_uncorrected_aggregate": _number(ask("ecc_uncorrected_aggregate", "nvmlDeviceGetTotalEccErrors",
                                                 _UNCORRECTED, _AGGREGATE)),
        "retired_pages_pending": _flag(ask("retired_pages_pending", "nvmlDeviceGetRetiredPagesPendingStatus")),
        "remapped_rows_correctable": _number(rows[0]),
        "remapped_rows_uncorrectable": _number(rows[1]),
        "remapped_rows_pending": _flag(rows[2]),
        "remapped_rows_failed": _flag(rows[3]),
        "clocks_event_reasons": _number(_clocks_event_reasons(pynvml, handle, errors)),
        "power_management_limit_w": _watts(ask("power_management_limit_w", "nvmlDeviceGetPowerManagementLimit")),
        "power_default_limit_w": _watts(ask("power_default_limit_w", "nvmlDeviceGetPowerManagementDefaultLimit")),
    }


def _clocks_event_reasons(pynvml: Any, handle: Any, errors: dict[str, str]) -> Any:
    """The bit mask of why the clocks are held down. NVML renamed the call (CUDA 12.2's driver):
    nvmlDeviceGetCurrentClocksEventReasons, deprecated nvmlDeviceGetCurrentClocksThrottleReasons; an older
    pynvml or driver has only the old one. Why the field is unknown is the last call's answer."""
    tried: dict[str, str] = {}
    for name in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
        tried.clear()
        value = _call(pynvml, name, handle, errors=tried, fields="clocks_event_reasons")
        if not tried:
            return value
    errors.update({field: why for field, why in tried.items() if field not in errors})
    return None


def _with_errors(document: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The document with ``"errors": {field: why}`` when a call failed; a field that was read is not in it."""
    return {**document, "errors": errors} if errors else document


def _processes(pynvml: Any, handle: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for name in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        listed = _call(pynvml, name, handle, default=[], errors=errors, fields="processes")
        for proc in listed if isinstance(listed, (list, tuple)) else []:
            pid = _number(_field(proc, "pid"))
            if isinstance(pid, int) and pid > 0:
                used = _number(_field(proc, "usedGpuMemory"))
                found[pid] = {"pid": pid, "used_memory": used, "name": _process_name(pid)}
    return list(found.values())


def _process_name(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read(256).strip() or None
    except OSError:
        return None


def _call(pynvml: Any, name: str, *args: Any, default: Any = None, errors: dict[str, str] | None = None,
          fields: str | tuple[str, ...] = ()) -> Any:
    """Call one NVML function by name; any failure (an NVML error such as NotSupported or GpuIsLost, a function
    an old pynvml lacks, an odd exception) gives ``default``, and what it was is noted in ``errors`` under each
    of ``fields`` (the document's fields the call answers). pynvml decodes NVML's strings strictly; when they
    are not UTF-8 the bytes travel in the error and are decoded here with replacement instead."""
    try:
        return getattr(pynvml, name)(*args)
    except UnicodeDecodeError as error:
        if isinstance(error.object, bytes):
            return _str(error.object)
        _note(errors, fields, error)
        return default
    except Exception as error:  # noqa: BLE001 - one field's failure must not cost the others
        _note(errors, fields, error)
        return default


def _field(value: Any, name: str, errors: dict[str, str] | None = None, field: str = "") -> Any:
    try:
        return getattr(value, name, None)
    except Exception as error:  # noqa: BLE001 - a structure NVML filled with garbage
        _note(errors, field, error)
        return None


def _note(errors: dict[str, str] | None, fields: str | tuple[str, ...], error: BaseException) -> None:
    """Keep why a field is unknown; the first failure of a field is the one kept (pcie_gen asks twice)."""
    if errors is None:
        return
    for field in (fields,) if isinstance(fields, str) else fields:
        if field:
            errors.setdefault(field, _describe(error))


def _describe(error: BaseException) -> str:
    """The error as one line: "NVMLError_NotSupported: Not Supported", "AttributeError: module 'pynvml' has no
    attribute 'nvmlDeviceGetName'", or the class alone when it says nothing more."""
    name = type(error).__name__
    text = _text(error)
    return (name if text in ("", name) else f"{name}: {text}")[:MAX_ERROR_TEXT]


def _text(value: Any) -> str:
    try:
        return _str(str(value)) or type(value).__name__
    except Exception:  # noqa: BLE001 - pynvml's __str__ itself calls NVML, which may be gone
        return type(value).__name__


def _str(value: Any) -> str | None:
    """Text as JSON and a terminal can carry: bytes decoded as UTF-8 with replacement, lone surrogates
    replaced, anything else is no text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value.encode("utf-8", errors="replace").decode("utf-8")
    return None


def _number(value: Any) -> int | float | None:
    """A count or measurement NVML can give: a 64-bit integer or a finite float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(1 << 63) <= value < (1 << 64) else None
    return value if isinstance(value, float) and math.isfinite(value) else None


def _numbers(value: Any) -> list[int | float | None] | None:
    return [_number(item) for item in value] if isinstance(value, (list, tuple)) else None


def _watts(milliwatts: Any) -> float | None:
    number = _number(milliwatts)
    return number / 1000.0 if number is not None else None


def _flag(value: Any) -> bool | None:
    return bool(value) if isinstance(value, int) else None


def main(argv: list[str]) -> int:
    """The child: import pynvml from the parent's path, print the document as one line of JSON."""
    if len(argv) > 1:
        sys.path[:] = json.loads(argv[1])
    sys.stdout.write(json.dumps(query_nvml()) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
