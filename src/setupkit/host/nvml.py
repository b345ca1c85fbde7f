"""The one module that touches pynvml (nvidia-ml-py). NVML starts lazily, never at import.

Every per-field call goes through ``_query``, which turns "not supported" (and any other per-field NVML error)
into a default, as nvitop's ``nvmlQuery`` and gpustat do: a degraded GPU is reported, not a crash. The result
has the form of a snapshot's nvml.json (SNAPSHOT.md).
"""

from __future__ import annotations

from typing import Any, Callable


def query_nvml() -> dict[str, Any]:
    """Everything NVML says about the driver and each GPU; ``{"error", "message"}`` when it cannot start.

    The shell equivalent is ``nvidia-smi -q``.
    """
    try:
        import pynvml
    except ImportError as error:  # nvidia-ml-py missing from this environment
        return {"error": "NVMLError_LibraryNotFound", "message": f"pynvml is not importable: {error}"}
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        return {"error": type(error).__name__, "message": _text(error)}
    except OSError as error:
        return {"error": "NVMLError_LibraryNotFound", "message": str(error)}
    try:
        return _read_all(pynvml)
    finally:
        _query(pynvml.nvmlShutdown)


def _read_all(pynvml: Any) -> dict[str, Any]:
    count = _query(pynvml.nvmlDeviceGetCount, default=0)
    return {
        "driver_version": _str(_query(pynvml.nvmlSystemGetDriverVersion)),
        "cuda_driver_version": _query(pynvml.nvmlSystemGetCudaDriverVersion),
        "nvml_version": _str(_query(pynvml.nvmlSystemGetNVMLVersion)),
        "devices": [_read_device(pynvml, index) for index in range(count)],
    }


def _read_device(pynvml: Any, index: int) -> dict[str, Any]:
    handle = _query(pynvml.nvmlDeviceGetHandleByIndex, index)
    if handle is None:
        return {"index": index, "error": "could not open this GPU"}

    def ask(func: Callable, *args: Any, default: Any = None) -> Any:
        return _query(func, handle, *args, default=default)

    memory = ask(pynvml.nvmlDeviceGetMemoryInfo)
    pci = ask(pynvml.nvmlDeviceGetPciInfo)
    power = ask(pynvml.nvmlDeviceGetPowerUsage)
    limit = ask(pynvml.nvmlDeviceGetEnforcedPowerLimit)
    mig = ask(pynvml.nvmlDeviceGetMigMode)
    return {
        "index": index,
        "name": _str(ask(pynvml.nvmlDeviceGetName)),
        "uuid": _str(ask(pynvml.nvmlDeviceGetUUID)),
        "pci_bus_id": _str(getattr(pci, "busId", None)),
        "memory_total": getattr(memory, "total", None),
        "memory_used": getattr(memory, "used", None),
        "compute_capability": _list(ask(pynvml.nvmlDeviceGetCudaComputeCapability)),
        "persistence_mode": _flag(ask(pynvml.nvmlDeviceGetPersistenceMode)),
        "mig_mode": _flag(mig[0] if isinstance(mig, (list, tuple)) else mig),
        "display_active": _flag(ask(pynvml.nvmlDeviceGetDisplayActive)),
        "temperature_c": ask(pynvml.nvmlDeviceGetTemperature, pynvml.NVML_TEMPERATURE_GPU),
        "power_w": power / 1000.0 if power is not None else None,
        "power_limit_w": limit / 1000.0 if limit is not None else None,
        "pcie_gen": [ask(pynvml.nvmlDeviceGetCurrPcieLinkGeneration), ask(pynvml.nvmlDeviceGetMaxPcieLinkGeneration)],
        "pcie_width": [ask(pynvml.nvmlDeviceGetCurrPcieLinkWidth), ask(pynvml.nvmlDeviceGetMaxPcieLinkWidth)],
        "processes": _processes(pynvml, handle),
    }


def _processes(pynvml: Any, handle: Any) -> list[dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for func_name in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        func = getattr(pynvml, func_name, None)
        for proc in (_query(func, handle, default=[]) if func else []) or []:
            used = getattr(proc, "usedGpuMemory", None)
            found[proc.pid] = {"pid": proc.pid, "used_memory": used, "name": _process_name(proc.pid)}
    return list(found.values())


def _process_name(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _query(func: Callable, *args: Any, default: Any = None) -> Any:
    """Call one NVML function; any NVML error (NotSupported, NoPermission, GpuIsLost ...) gives ``default``."""
    import pynvml

    try:
        return func(*args)
    except (pynvml.NVMLError, OSError, AttributeError, TypeError):
        return default


def _text(error: Exception) -> str:
    try:
        return str(error)
    except Exception:  # pynvml's __str__ itself calls NVML, which may be gone
        return type(error).__name__


def _str(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _list(value: Any) -> list[Any] | None:
    return list(value) if value is not None else None


def _flag(value: Any) -> bool | None:
    return bool(value) if value is not None else None
