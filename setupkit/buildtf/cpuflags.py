"""CPU flags (as /proc/cpuinfo names them) to the compiler's -m flags, and the optimisation flags for --config=opt.

`grep -o -w 'avx2\\|fma\\|avx512f' /proc/cpuinfo | sort -u` shows by hand what ``auto`` reads from the facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from setupkit.errors import PreconditionError, UsageError

ALWAYS = "-Wno-sign-compare"
"""configure's own default since tensorflow/tensorflow#45744; it keeps TensorFlow's code quiet under -Werror."""

NATIVE = "-march=native"

CPUINFO_TO_COMPILER: dict[str, str] = {
    "sse4_1": "-msse4.1",
    "sse4_2": "-msse4.2",
    "avx": "-mavx",
    "avx2": "-mavx2",
    "fma": "-mfma",
    "f16c": "-mf16c",
    "avx512f": "-mavx512f",
    "avx512cd": "-mavx512cd",
    "avx512bw": "-mavx512bw",
    "avx512dq": "-mavx512dq",
    "avx512vl": "-mavx512vl",
    "avx512_vnni": "-mavx512vnni",
    "avx512_bf16": "-mavx512bf16",
    "avx512_fp16": "-mavx512fp16",
    "avx_vnni": "-mavxvnni",
    "amx_tile": "-mamx-tile",
    "amx_int8": "-mamx-int8",
    "amx_bf16": "-mamx-bf16",
}
"""The instruction sets TensorFlow's kernels (Eigen, oneDNN) use, in the order a person would write them."""

_ALIASES = {"sse4.1": "sse4_1", "sse4.2": "sse4_2", "avx512vnni": "avx512_vnni", "avx512bf16": "avx512_bf16",
            "avx512fp16": "avx512_fp16", "avxvnni": "avx_vnni", "amx-tile": "amx_tile", "amx-int8": "amx_int8",
            "amx-bf16": "amx_bf16"}


def normalise_cpu_flags(value: object) -> set[str] | None:
    """cpu.flags as a set, whether the fact holds a list or one space-separated string; None when unknown."""
    if isinstance(value, str):
        words = value.split()
    elif isinstance(value, (list, tuple)):
        words = [item for item in value if isinstance(item, str)]
    else:
        return None  # unknown, or not a list of flags at all (a hostile snapshot)
    return {word.lower() for word in words}


def auto_flags(cpu_flags: Iterable[str]) -> list[str]:
    """The explicit -m flags this CPU allows, for a wheel that must run on identical machines."""
    present = set(cpu_flags)
    return [flag for name, flag in CPUINFO_TO_COMPILER.items() if name in present]


MAX_FLAGS = 48
MAX_FLAG_CHARS = 60
"""CC_OPT_FLAGS is one answer to configure, one terminal line: these keep it well within one."""
_COMPILER_FLAG = re.compile(rf"-[A-Za-z0-9][A-Za-z0-9_.=+-]{{0,{MAX_FLAG_CHARS - 2}}}")
"""-mavx2, -march=native, -mtune=skylake-avx512, -O3: no quotes, no shell, no spaces, nothing that configure's
bazelrc lines would read as more than one flag."""


def _shown(item: str) -> str:
    return repr(item if len(item) <= MAX_FLAG_CHARS else item[:MAX_FLAG_CHARS] + "…")


def _compiler_flag(item: str) -> str:
    """'avx2' or 'sse4.1' or '-mavx2' -> '-mavx2'; an unknown bare name or a malformed flag is a usage error."""
    if item.startswith("-"):
        if not _COMPILER_FLAG.fullmatch(item):
            raise UsageError(f"malformed compiler flag {_shown(item)} in --cpu-flags",
                             hint=f"give flags such as -mavx2 or -march=native (letters, digits, . _ = + -; at most "
                                  f"{MAX_FLAG_CHARS} characters)")
        return item
    name = _ALIASES.get(item.lower(), item.lower())
    if name not in CPUINFO_TO_COMPILER:
        raise UsageError(f"unknown CPU flag {_shown(item)} in --cpu-flags",
                         hint=f"use /proc/cpuinfo names ({', '.join(CPUINFO_TO_COMPILER)}) or compiler flags "
                              "(-mavx2)")
    return CPUINFO_TO_COMPILER[name]


def listed_flags(text: str) -> list[str]:
    """A comma or space separated --cpu-flags list as compiler flags, duplicates dropped, order kept."""
    items = [item for item in re.split(r"[,\s]+", text.strip()) if item]
    if not items:
        raise UsageError("--cpu-flags is empty", hint="give native, auto, or a list such as avx2,fma")
    if len(items) > MAX_FLAGS:
        raise UsageError(f"--cpu-flags lists {len(items):,} flags", hint=f"give at most {MAX_FLAGS}")
    return list(dict.fromkeys(_compiler_flag(item) for item in items))


def check_mode(mode: str) -> None:
    """A usage error (exit 2) for a --cpu-flags value no CPU could make sense of, before anything is read."""
    if mode.strip().lower() not in ("native", "auto"):
        listed_flags(mode)


def cc_opt_flags(mode: str, cpu_flags: set[str] | None) -> list[str]:
    """The CC_OPT_FLAGS for ``--cpu-flags`` native | auto | a list; -Wno-sign-compare always kept."""
    keyword = mode.strip().lower()
    if keyword == "native":
        flags = [NATIVE]
    elif keyword == "auto":
        if cpu_flags is None:
            raise PreconditionError("this CPU's flags are unknown, so --cpu-flags auto cannot choose",
                                    hint="use --cpu-flags native or list them (--cpu-flags avx2,fma)")
        flags = auto_flags(cpu_flags)
    else:
        flags = listed_flags(mode)
    return flags if ALWAYS in flags else [*flags, ALWAYS]


def flags_this_cpu_lacks(flags: Iterable[str], cpu_flags: set[str] | None) -> list[str]:
    """The -m flags whose instruction set this CPU does not report: a wheel built so will not run here."""
    if cpu_flags is None:
        return []
    by_flag = {flag: name for name, flag in CPUINFO_TO_COMPILER.items()}
    return [flag for flag in flags if flag in by_flag and by_flag[flag] not in cpu_flags]
