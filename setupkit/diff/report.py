"""What `setupkit diff` prints: the key facts side by side (changed or not), then every other fact that changed;
or the ``setupkit-diff/1`` document.

Every name and value comes from a host or a file that may be hostile: shown through ``one_line`` (control
characters as their codes, cut past a bound), never as markup.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from setupkit.bounded import one_line
from setupkit.diff.run import KEY_FACTS, Comparison, Side

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA = "setupkit-diff/1"
MAX_VALUE_SHOWN = 100
"""Characters of a value in the text report (the JSON keeps it whole)."""
NAME_WIDTH = 26


def json_document(comparison: Comparison) -> dict[str, Any]:
    return {"schema": SCHEMA, "a": comparison.a.describe(), "b": comparison.b.describe(),
            "changed": [{"fact": change.fact, "a": change.a, "b": change.b} for change in comparison.changed],
            "only_a": [{"fact": name, "a": comparison.a.facts[name]} for name in comparison.only_a],
            "only_b": [{"fact": name, "b": comparison.b.facts[name]} for name in comparison.only_b],
            "not_compared": comparison.not_compared}


def text_lines(comparison: Comparison) -> list[str]:
    a, b = comparison.a, comparison.b
    changed = {change.fact for change in comparison.changed}
    lines = [f"A: {_side(a)}", f"B: {_side(b)}", "", "Key facts (A -> B):"]
    for name in KEY_FACTS:
        if name in a.facts or name in b.facts:
            lines.append(_key_line(name, a, b, name in changed))
    others = [change for change in comparison.changed if change.fact not in KEY_FACTS]
    if others:
        lines += ["", f"Other facts that changed ({len(others)}):"]
        lines += [f"  {_name(change.fact)} {_value(change.a)} -> {_value(change.b)}" for change in others]
    for title, names, side in (("Only in A", comparison.only_a, a), ("Only in B", comparison.only_b, b)):
        if names:
            lines += ["", f"{title} ({len(names)}: facts the other side does not name):"]
            lines += [f"  {_name(name)} {_value(side.facts[name])}" for name in names]
    if comparison.not_compared:
        families = ", ".join(f"{family}.*" for family in comparison.not_compared)
        lines += ["", f"Not compared: {families} (one side was read without its deep probe, doctor --deep)"]
    lines += ["", _summary(comparison)]
    return lines


def render(console: Console, comparison: Comparison) -> None:
    for line in text_lines(comparison):
        console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)


def _side(side: Side) -> str:
    what = "snapshot" if side.kind == "snapshot" else "doctor report"
    details = [part for part in (side.host and f"host {side.host}", side.time) if part]
    return one_line(f"{what} {side.path}" + (f" ({', '.join(details)})" if details else ""), 300)


def _key_line(name: str, a: Side, b: Side, changed: bool) -> str:
    if not changed:
        return f"  {_name(name)} {_value(a.facts.get(name))}  (same)"
    return f"  {_name(name)} {_value(a.facts.get(name))} -> {_value(b.facts.get(name))}  (changed)"


def _name(name: str) -> str:
    return one_line(name, 80).ljust(NAME_WIDTH)


def _value(value: Any) -> str:
    if value is None:
        return "unknown"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return one_line(text, MAX_VALUE_SHOWN)


def _summary(comparison: Comparison) -> str:
    if comparison.same:
        return "Same: no fact differs."
    counts = [f"{len(comparison.changed)} changed"]
    counts += [f"{len(names)} only in {side}" for names, side in ((comparison.only_a, "A"), (comparison.only_b, "B"))
               if names]
    key = sum(change.fact in KEY_FACTS for change in comparison.changed)
    return f"Different: {', '.join(counts)} ({key} of them key facts)."
