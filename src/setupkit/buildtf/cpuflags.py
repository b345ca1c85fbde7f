"""CPU flags (as /proc/cpuinfo names them) to the compiler's -m flags, and the optimisation flags for --config=opt.

`grep -o -w 'avx2\\|fma\\|avx512f' /proc/cpuinfo | sort -u` shows by hand what ``auto`` reads from the facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from setupkit import exitcodes
from setupkit.errors import SetupkitError

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
    if value is None:
        return None
    words = value.split() if isinstance(value, str) else [str(item) for item in value]  # type: ignore[union-attr]
    return {word.lower() for word in words}


def parse_cpuinfo_flags(text: str) -> set[str] | None:
    """The flags of the first processor in /proc/cpuinfo text ("flags : fpu vme ... avx2")."""
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else None


def auto_flags(cpu_flags: Iterable[str]) -> list[str]:
    """The explicit -m flags this CPU allows, for a wheel that must run on identical machines."""
    present = set(cpu_flags)
    return [flag for name, flag in CPUINFO_TO_COMPILER.items() if name in present]


def _compiler_flag(item: str) -> str:
    """'avx2' or 'sse4.1' or '-mavx2' -> '-mavx2'; an unknown bare name is a usage error."""
    if item.startswith("-"):
        return item
    name = _ALIASES.get(item.lower(), item.lower())
    if name not in CPUINFO_TO_COMPILER:
        raise SetupkitError(f"unknown CPU flag {item!r} in --cpu-flags: use /proc/cpuinfo names "
                            f"({', '.join(CPUINFO_TO_COMPILER)}) or compiler flags (-mavx2)", exitcodes.USAGE)
    return CPUINFO_TO_COMPILER[name]


def listed_flags(text: str) -> list[str]:
    """A comma or space separated --cpu-flags list as compiler flags, duplicates dropped, order kept."""
    flags = [_compiler_flag(item) for item in re.split(r"[,\s]+", text.strip()) if item]
    return list(dict.fromkeys(flags))


def cc_opt_flags(mode: str, cpu_flags: set[str] | None) -> list[str]:
    """The CC_OPT_FLAGS for ``--cpu-flags`` native | auto | a list; -Wno-sign-compare always kept."""
    if mode == "native":
        flags = [NATIVE]
    elif mode == "auto":
        if cpu_flags is None:
            raise SetupkitError("this CPU's flags are unknown, so --cpu-flags auto cannot choose: use "
                                "--cpu-flags native or list them (--cpu-flags avx2,fma)", exitcodes.PRECONDITION)
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
