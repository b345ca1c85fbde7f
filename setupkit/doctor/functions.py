"""The named, pure functions a check's condition may call (``call: NAME``), and the knowledge tables it may read
(``lookup: TABLE``). These two whitelists are the whole set.

Each takes fact values (any of which may be None) and returns a value, or None when it cannot tell. None of
them touches the host, the clock or the network: a check's verdict depends on its facts alone. The table
questions are setupkit.knowledge's, their answers given as the plain values (text) a check compares.

The knowledge modules behind them are imported when a check first calls one (``_lazy``): on a host without a
GPU most checks decide before they need a GPU table, and `setupkit doctor` pays for none it does not read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from setupkit import bounded, versions

HIDE_ALL = {"", "-1", "none", "void", "nodevfiles"}
"""CUDA_VISIBLE_DEVICES values that hide every GPU (the empty string, -1 and the NVIDIA container words)."""
MAX_GPUS = 1024
"""More GPUs than any host has: a count past it (a hostile snapshot's 10**12) is no count to list devices from."""


def _gpu_count(count: Any) -> int | None:
    """``count`` as a number of GPUs, or None where it is not a whole number from 0 to MAX_GPUS."""
    number = bounded.finite_number(count)
    if number is None or not number.is_integer() or not 0 <= number <= MAX_GPUS:
        return None
    return int(number)


def _entries(env: str) -> list[str]:
    return [entry.strip() for entry in env.split(",")]


def _names_a_gpu(entry: str, count: int, uuids: list[str] | None) -> bool | None:
    """Whether one CUDA_VISIBLE_DEVICES entry names an existing GPU (None: no UUIDs known to compare with)."""
    index = bounded.ascii_int(entry)  # '²'.isdigit() is true, and CUDA reads no such index
    if index is not None:
        return index < count
    if entry.startswith(("GPU-", "MIG-")):
        if uuids is None:
            return None
        return any(uuid.startswith(entry) or entry.startswith(f"MIG-{uuid}") for uuid in uuids)
    return False


def visible_devices(env: Any, count: Any, uuids: Any = None) -> list[str] | None:
    """The GPUs CUDA would show for CUDA_VISIBLE_DEVICES=``env``, as the entries that name them.

    CUDA stops at the first entry that names no device: "If one of the indices is invalid, only the devices whose
    index precedes the invalid index are visible" (CUDA C Programming Guide), so "0,2,-1,1" shows 0 and 2.
    Unset (None) shows every GPU.
    """
    count = _gpu_count(count)
    if count is None:
        return None
    if env is None:
        return [str(index) for index in range(count)]
    if str(env).strip().lower() in HIDE_ALL:
        return []
    visible = []
    for entry in _entries(str(env)):
        named = _names_a_gpu(entry, count, uuids)
        if named is None:
            return None
        if not named:
            break
        visible.append(entry)
    return visible


def invalid_devices(env: Any, count: Any, uuids: Any = None) -> list[str] | None:
    """The CUDA_VISIBLE_DEVICES entries that name no GPU of this host ([] when all are fine or it is unset)."""
    if env is None:
        return []
    count = _gpu_count(count)
    if count is None:
        return None
    if str(env).strip().lower() in HIDE_ALL:
        return []
    invalid = []
    for entry in _entries(str(env)):
        named = _names_a_gpu(entry, count, uuids)
        if named is None:
            return None
        if not named:
            invalid.append(entry)
    return invalid


def present_flags(flags: Any, wanted: Any) -> list[str] | None:
    """Which of ``wanted`` (CPU flags, lower case) ``flags`` holds, in the order of ``wanted``."""
    if flags is None:
        return None
    have = {str(flag).lower() for flag in flags}
    return [flag for flag in wanted if flag in have]


def length(items: Any) -> int | None:
    return None if items is None else len(items)


def max_fraction(used: Any, total: Any) -> float | None:
    """The highest used/total ratio over the GPUs (0.0 with no GPU); None if a figure is not a finite number."""
    if used is None or total is None:
        return None
    pairs = [(bounded.finite_number(u), bounded.finite_number(t)) for u, t in zip(used, total, strict=False)]
    known = [(u, t) for u, t in pairs if u is not None and t is not None]
    if len(known) != len(pairs):
        return None
    return max((u / t for u, t in known if t), default=0.0)


def memory_holders(processes: Any, ignored_names: Any) -> list[dict[str, Any]] | None:
    """NVML's processes on the GPUs, without the display servers named in ``ignored_names``."""
    if processes is None:
        return None
    ignored = set(ignored_names or ())
    return [process for process in processes if process.get("name") not in ignored]


def describe_processes(processes: Any) -> str | None:
    """'python3 (pid 1234, 1024 MiB on GPU 0); ...' for NVML's process list."""
    if processes is None:
        return None
    parts = [f"{p.get('name') or '?'} (pid {p.get('pid')}, {p.get('used_mib', '?')} MiB on GPU {p.get('gpu', '?')})"
             for p in processes]
    return "; ".join(parts) or "none"


def coalesce(*values: Any) -> Any:
    """The first value that is known."""
    return next((value for value in values if value is not None), None)


def supported_cuda_for_driver(driver_version: Any) -> str | None:
    """The highest CUDA X.Y ("12.2") whose toolkit driver ``driver_version`` meets."""
    from setupkit.knowledge import cuda

    found = cuda.supported_cuda_for_driver(driver_version)
    return None if found is None else str(found)


def tensorflow_build_row(tf_version: Any) -> Mapping[str, Any] | None:
    """TensorFlow ``tf_version``'s tested configuration, its fields as the table writes them."""
    from setupkit.knowledge import tensorflow

    build = tensorflow.tested_build(tf_version)
    return None if build is None else build.columns()


def tensorflow_gpu_gaps(tf_version: Any, package: Any, names: Any, compute_capabilities: Any,
                        architectures: Any) -> list[str] | None:
    """The GPUs the installed TensorFlow's official wheels carry no code of their architecture for, one text a
    GPU; [] when they serve all (or the distribution is CPU-only); None when that cannot be told."""
    from setupkit.knowledge import gpus, tensorflow
    from setupkit.knowledge.libraries import CPU_ONLY_PACKAGES, gpu_code_gaps

    if package in CPU_ONLY_PACKAGES:
        return []
    build = tensorflow.tested_build(tf_version)
    found = gpus.gpus_of(names, compute_capabilities, architectures)
    return None if build is None or found is None else gpu_code_gaps(build, found)


def cuda_driver_row(cuda_version: Any) -> Mapping[str, Any]:
    from setupkit.knowledge import cuda

    return {"driver": cuda.min_driver_for_cuda(cuda_version)}


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """``module``'s function ``name``, imported on its first call."""
    function: list[Callable[..., Any]] = []

    def call(*args: Any) -> Any:
        if not function:
            function.append(getattr(importlib.import_module(module), name))
        return function[0](*args)

    call.__name__ = call.__qualname__ = name
    return call


FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    # name: (function, fewest arguments, most arguments)
    "visible_devices": (visible_devices, 2, 3),
    "invalid_devices": (invalid_devices, 2, 3),
    "present_flags": (present_flags, 2, 2),
    "length": (length, 1, 1),
    "max_fraction": (max_fraction, 2, 2),
    "memory_holders": (memory_holders, 2, 2),
    "describe_processes": (describe_processes, 1, 1),
    "provided_by": (_lazy("setupkit.knowledge.libraries", "provided_by"), 2, 5),  # shared with the planner
    "coalesce": (coalesce, 1, 5),
    "major_minor": (versions.major_minor, 1, 1),
    "major": (versions.major, 1, 1),
    "latest_tensorflow": (_lazy("setupkit.knowledge.tensorflow", "latest_tensorflow"), 0, 0),
    "python_supported": (_lazy("setupkit.knowledge.tensorflow", "python_supported"), 2, 2),
    "min_driver_for_cuda": (_lazy("setupkit.knowledge.cuda", "min_driver_for_cuda"), 1, 1),
    "supported_cuda_for_driver": (supported_cuda_for_driver, 1, 1),
    "minor_compat_driver": (_lazy("setupkit.knowledge.cuda", "minor_compat_driver"), 1, 1),
    "newest_tensorflow_for": (_lazy("setupkit.knowledge.tensorflow_wheels", "newest_tensorflow_for"), 1, 2),
    "wheel_glibc_floor": (_lazy("setupkit.knowledge.tensorflow_wheels", "wheel_glibc_floor"), 2, 2),
    "wheel_pip_floor": (_lazy("setupkit.knowledge.tensorflow_wheels", "wheel_pip_floor"), 2, 2),
    "wheel_tags": (_lazy("setupkit.knowledge.tensorflow_wheels", "wheel_tags"), 2, 2),
    "end_of_life_reason": (_lazy("setupkit.knowledge.distributions", "end_of_life_reason"), 2, 2),
    "driver_branch_ended": (_lazy("setupkit.knowledge.driver_branches", "branch_ended"), 1, 1),
    "driver_branch_end_of_life": (_lazy("setupkit.knowledge.driver_branches", "branch_end_of_life"), 1, 1),
    "newest_long_term_branch": (_lazy("setupkit.knowledge.driver_branches", "newest_long_term_branch"), 0, 0),
    "driver_gpu_gaps": (_lazy("setupkit.knowledge.gpus", "driver_gpu_gaps"), 6, 6),
    "toolkit_gpu_gaps": (_lazy("setupkit.knowledge.gpus", "toolkit_gpu_gaps"), 4, 4),
    "toolkit_dropped_gpus": (_lazy("setupkit.knowledge.gpus", "toolkit_dropped_gpus"), 4, 4),
    "cuda_for_gpus": (_lazy("setupkit.knowledge.gpus", "cuda_for_gpus"), 3, 4),
    "cuda_wheel_majors": (_lazy("setupkit.knowledge.framework_wheels", "cuda_wheel_majors"), 1, 1),
    "cudnn_wheel_majors": (_lazy("setupkit.knowledge.framework_wheels", "cudnn_wheel_majors"), 1, 1),
    "clashing_cuda_wheels": (_lazy("setupkit.knowledge.framework_wheels", "clashing_cuda_wheels"), 1, 1),
    "torch_gpu_gaps": (_lazy("setupkit.knowledge.framework_wheels", "torch_gpu_gaps"), 4, 5),
    "torch_ptx_gpus": (_lazy("setupkit.knowledge.framework_wheels", "torch_ptx_gpus"), 4, 5),
    "torch_arch_list": (_lazy("setupkit.knowledge.framework_wheels", "torch_arch_list"), 2, 2),
    "torch_variant_for": (_lazy("setupkit.knowledge.framework_wheels", "torch_variant_for"), 2, 7),
    "tensorflow_gpu_gaps": (tensorflow_gpu_gaps, 5, 5),
    "torch_deep_gpu_gaps": (_lazy("setupkit.doctor.torch_arch", "arch_list_gaps"), 3, 4),
    "torch_deep_ptx_gpus": (_lazy("setupkit.doctor.torch_arch", "arch_list_ptx_gpus"), 3, 4),
    "torch_deep_arch_list": (_lazy("setupkit.doctor.torch_arch", "arch_list_text"), 1, 1),
    "gpus_below": (_lazy("setupkit.doctor.health_functions", "gpus_below"), 4, 4),
    "power_capped": (_lazy("setupkit.doctor.health_functions", "power_capped"), 3, 3),
    "gpus_where": (_lazy("setupkit.doctor.health_functions", "gpus_where"), 3, 3),
    "gpus_counting": (_lazy("setupkit.doctor.health_functions", "gpus_counting"), 2, 2),
    "gpus_with_reasons": (_lazy("setupkit.doctor.health_functions", "gpus_with_reasons"), 3, 3),
    "unsupported_on_all": (_lazy("setupkit.doctor.health_functions", "unsupported_on_all"), 2, 2),
    "xid_events": (_lazy("setupkit.doctor.health_functions", "xid_events"), 2, 2),
    "xid_events_except": (_lazy("setupkit.doctor.health_functions", "xid_events_except"), 2, 2),
}

LOOKUPS: dict[str, Callable[[Any], Mapping[str, Any] | None]] = {
    "tensorflow_builds": tensorflow_build_row,
    "cuda_driver": cuda_driver_row,
}
"""The knowledge tables a ``lookup`` may read, each keyed the way its rows are matched."""
