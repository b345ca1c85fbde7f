"""Message templates: ``{driver.version}`` or ``{tf_cuda}`` replaced by a fact's or a let's value, as text;
``{cuda.pip_runtime_version|none}`` gives the text after ``|`` where the value is null ("unknown" without it).

A deliberately tiny substitution (no attribute access, no indexing, no format specs, nothing evaluated): a
placeholder is a name, ``{{`` and ``}}`` are literal braces. A value is shown in at most ``MAX_VALUE_TEXT``
characters: a fact from a hostile snapshot may be a list of a million entries or a number of thousands of digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_VALUE_TEXT = 500
"""Characters one placeholder's value may take in a message; a real one (eight GPU names, a log line) is under 200."""
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z0-9_.-]+)(?:\|([^{}|]*))?\}")


def placeholders(template: str) -> list[str]:
    """The names a template refers to."""
    return [match.group(1) for match in PLACEHOLDER.finditer(template) if match.group(1)]


def as_text(value: Any, if_null: str = "unknown") -> str:
    """A value as a person reads it (unknown, yes/no, a comma-separated list), cut at MAX_VALUE_TEXT characters."""
    text = _text(value, if_null)
    return text if len(text) <= MAX_VALUE_TEXT else f"{text[:MAX_VALUE_TEXT]}... ({len(text):,} characters)"


def _text(value: Any, if_null: str) -> str:
    if value is None:
        return if_null
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(item) for item in value) if value else "none"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):
        return ", ".join(f"{key}={as_text(item)}" for key, item in value.items())
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"  # str() of one past 4,300 digits raises, and costs quadratic time
    return str(value)


def render(template: str | None, names: Mapping[str, Any]) -> str:
    if not template:
        return ""

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        fallback = match.group(2)
        return as_text(names.get(match.group(1)), "unknown" if fallback is None else fallback)

    return PLACEHOLDER.sub(substitute, template).strip()
