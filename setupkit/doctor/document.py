"""doctor's JSON document (``setupkit-doctor/1``): the facts and the findings as data.

Apart from the rich report so that `doctor --json`, which scripts and fleets run, never imports rich.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from setupkit.doctor.engine import Finding, overall_status

SCHEMA = "setupkit-doctor/1"


def json_document(findings: list[Finding], facts: Mapping[str, Any]) -> dict[str, Any]:
    return {"schema": SCHEMA, "status": overall_status(findings), "facts": dict(facts),
            "findings": [finding.as_json() for finding in findings]}
