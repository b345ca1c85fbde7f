"""The Python a build is for: its version, its include folder (Python.h) and ensurepip, as the host tells them.

The host's own interpreter is described by its facts. Another one (``--python``) is asked through the host: the
live host runs it, a snapshot cannot (it recorded no such program), so there everything about it is unknown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.toolchain import has_headers, include_folder

ASK_TIMEOUT = 30.0
"""Seconds for `python -c ...` to answer a question about itself."""
MAX_ANSWER = 64 * 1024
"""Bytes of its answer read: three short fields."""
FALLBACK = "python3"
"""The interpreter configure is told of when the host does not say which one setupkit runs in."""

ASK = ("import importlib.util, json, platform, sysconfig; print(json.dumps({'version': platform.python_version(), "
       "'include': sysconfig.get_paths()['include'], 'ensurepip': importlib.util.find_spec('ensurepip') is not None}))")
"""What `sysconfig.get_paths()['include']` and `python -c 'import ensurepip'` tell by hand, in one run."""

_VERSION = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}(?:\.[0-9]{1,4})?[A-Za-z0-9+.]{0,16}")


@dataclass(frozen=True)
class Interpreter:
    """The Python the build is for; None where the host does not tell."""

    path: str
    version: str | None = None
    include: str | None = None
    headers: bool | None = None
    """Python.h is in ``include``."""
    ensurepip: bool | None = None


def describe_interpreter(host: Host, facts: Facts, asked: str | None) -> Interpreter:
    """``asked`` (--python), or the interpreter setupkit runs in on that host when none was asked."""
    own = _text(facts.get("python.executable"))
    if asked is None or asked == own:
        return Interpreter(path=own or asked or FALLBACK, version=_version(facts.get("python.version")),
                           include=include_folder(facts.get("python.include")),
                           headers=_flag(facts.get("python.headers")), ensurepip=_flag(facts.get("python.ensurepip")))
    return ask_interpreter(host, asked)


def ask_interpreter(host: Host, python: str) -> Interpreter:
    """Run ``python`` through the host to ask; all unknown when it cannot run, fails or answers garbage."""
    done = host.run([python, "-c", ASK], timeout=ASK_TIMEOUT)
    answer = parse_answer(done.stdout) if done.ok else None
    if answer is None:
        return Interpreter(path=python)
    include = include_folder(answer.get("include"))
    return Interpreter(path=python, version=_version(answer.get("version")), include=include,
                       headers=has_headers(host, include), ensurepip=_flag(answer.get("ensurepip")))


def parse_answer(stdout: str) -> dict[str, Any] | None:
    """The JSON object of the last line ASK printed, or None."""
    lines = stdout[-MAX_ANSWER:].strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _version(value: Any) -> str | None:
    return value if isinstance(value, str) and _VERSION.fullmatch(value) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
