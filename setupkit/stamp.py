"""The stamp every JSON report carries: when it was made, on which host, by which setupkit, in which run.

A report copied off its machine (a fleet's reports folder, an attachment to a ticket) must still say where and
when it came from, and the fleet report must tell this run's reports from last week's: ``run_id`` is the
``SETUPKIT_RUN_ID`` the caller (a playbook) set, ``null`` where none was set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from setupkit import __version__

RUN_ID_VARIABLE = "SETUPKIT_RUN_ID"
KEY = "stamp"


def stamp(now: datetime | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"time", "host", "setupkit", "run_id"}`` for a report made at ``now`` (default: this second)."""
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    run_id = (os.environ if environ is None else environ).get(RUN_ID_VARIABLE) or None
    return {"time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "host": host_name(), "setupkit": __version__,
            "run_id": run_id}


def host_name() -> str:
    """The host's name as socket.gethostname() gives it, without importing socket (a cost plain doctor --json
    does not otherwise pay): both are the kernel's node name."""
    return os.uname().nodename


def stamped(document: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The document with its stamp after ``schema`` (read first by whoever sorts reports); a stamp the document
    already carries is kept."""
    if KEY in document:
        return dict(document)
    head = {"schema": document["schema"]} if "schema" in document else {}
    return head | {KEY: stamp(now)} | {key: value for key, value in document.items() if key != "schema"}


def epoch_seconds(time_text: str) -> int:
    """A stamp's ``time`` as Unix seconds (the timestamp monitoring systems want)."""
    # fromisoformat takes "Z" only from Python 3.11 on.
    return int(datetime.fromisoformat(time_text.removesuffix("Z") + "+00:00").timestamp())
