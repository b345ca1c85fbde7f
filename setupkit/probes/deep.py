"""What a verb asks of the deep probes (``--deep``, ``--deep-timeout``, ``--deep-python``), and the checks of those
options, shared by `setupkit doctor --deep` and `setupkit snapshot --deep`.

The deep probes import a framework for real in a child process through the host (``Host.run_probe``): live, that
runs on this machine; from a snapshot, it answers with the run the captured machine made.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass
from typing import Any

from setupkit.bounded import describe_mode, finite_number
from setupkit.errors import PreconditionError, UsageError

DEFAULT_TIMEOUT = 120.0
DEEP_TIMEOUT_RANGE = (1.0, 3600.0)
"""Seconds the deep probe may take: a TensorFlow import and an op on each GPU take well under a minute; an
hour is past any wait worth having, and a timeout must be a number a clock can count (not NaN, not 1e308)."""
_SECONDS = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,3})?")
PYTHON_HINT = "give the path of a Python interpreter"


@dataclass(frozen=True)
class DeepRequest:
    """Run the deep probes: in ``python`` (None: the interpreter running setupkit), for at most ``timeout`` s.

    The verbs check both with ``check_deep_timeout`` and ``check_deep_python``; the probe still bounds the
    timeout whatever it is given."""

    python: str | None = None
    timeout: float = DEFAULT_TIMEOUT


def parse_deep_timeout(text: str) -> float:
    """--deep-timeout "120" -> 120.0; anything but plain decimal seconds in DEEP_TIMEOUT_RANGE: exit 2."""
    seconds = float(text) if isinstance(text, str) and _SECONDS.fullmatch(text) else None
    return check_deep_timeout(seconds, text)


def check_deep_timeout(seconds: Any, given: Any = None) -> float:
    low, high = DEEP_TIMEOUT_RANGE
    number = finite_number(seconds)
    if number is None or not low <= number <= high:
        shown = str(seconds if given is None else given)[:40] or "''"
        raise UsageError(f"--deep-timeout {shown} is not a number of seconds from {low:g} to {high:g}",
                         hint="give one, e.g. 120")
    return number


def check_deep_python(path: str) -> None:
    """--deep-python names a program this machine can run (a path, or a name on PATH): exit 3 otherwise, before
    the probe starts, instead of a probe that 'crashed' for want of an interpreter."""
    found = path if "/" in path else shutil.which(path)
    if found is None:
        raise PreconditionError(f"--deep-python {path}: no such program on PATH", hint="give the interpreter's path")
    try:
        mode = os.stat(found).st_mode
    except OSError as error:
        reason = error.strerror.lower() if error.strerror else str(error)
        raise PreconditionError(f"--deep-python {path}: {reason}", hint=PYTHON_HINT) from None
    if not stat.S_ISREG(mode):
        raise PreconditionError(f"--deep-python {path} is {describe_mode(mode)}, not a program", hint=PYTHON_HINT)
    if not os.access(found, os.X_OK):
        raise PreconditionError(f"--deep-python {path} is not executable", hint=PYTHON_HINT)


def deep_request(deep: bool, timeout_text: str, python: str | None) -> DeepRequest | None:
    """The request of a verb's ``--deep --deep-timeout --deep-python``, checked (exit 2 or 3); None without
    --deep. The timeout is checked even then: a bad value is a mistake whether or not it is used."""
    timeout = parse_deep_timeout(timeout_text)
    if not deep:
        return None
    if python is not None:
        check_deep_python(python)
    return DeepRequest(python, timeout)
