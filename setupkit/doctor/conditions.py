"""The condition language of checks/*.yaml: data in, a three-valued answer out (True, False, None = cannot tell).

A condition is a mapping, one of:

- ``{all: [c, ...]}``, ``{any: [c, ...]}``, ``{not: c}`` (Kleene logic: ``any`` is True as soon as one part is
  True, even if another cannot tell; ``all`` is False as soon as one is False)
- a comparison: a subject, ``op`` and, except for the null tests, ``value``; ``as: version`` compares versions;
  ``if_null: true|false`` is its answer when the subject or the value is null (without it: cannot tell)

An operand (a subject, a value, a call argument) is a literal, or a mapping with exactly one of
``fact: NAME``, ``var: NAME`` (a ``let`` of the check), ``call: FUNCTION`` with ``args``, or
``lookup: TABLE`` with ``key`` and ``field``. Nothing is ever evaluated as code, and there is no regular-expression
operator: a pattern from a check file could backtrack for hours on a fact's text, and no check needs one.

A value that is no measurement a check can compare is unknown (None) wherever an operand yields it: NaN and
infinity, an integer past 18 digits, a text past ``MAX_COMPARED_TEXT`` characters (a hostile snapshot's fact).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from setupkit import versions
from setupkit.doctor.functions import FUNCTIONS, LOOKUPS

Tri = bool | None

ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
MEMBER_OPS = ("in", "not in", "contains", "not contains")
NULL_OPS = ("is null", "is not null")
OPS = (*ORDER_OPS, *MEMBER_OPS, *NULL_OPS)
OPERAND_KEYS = ("fact", "var", "call", "lookup")
MAX_COMPARED_TEXT = 65_536
"""Characters of a text a comparison reads; the longest fact a check compares (a version, a name) has dozens."""
MAX_COMPARED_INT = 10**18
"""Past this an integer is no count, size or version part (and its text alone costs quadratic time)."""


class Scope:
    """What an operand can name: the facts, and the check's ``let`` values (computed once, on first use)."""

    def __init__(self, facts: Mapping[str, Any], lets: Mapping[str, Any] | None = None):
        self.facts = facts
        self._lets = dict(lets or {})
        self._values: dict[str, Any] = {}

    def var(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = operand(self._lets[name], self)
        return self._values[name]

    def names(self) -> Mapping[str, Any]:
        """Every fact and every let, for message templates: a let is computed when a template names it, so a
        check that decides early never pays for the knowledge its other messages would need."""
        return _Names(self)


class _Names(Mapping[str, Any]):
    """A scope's facts and lets as one read-only mapping, the lets computed on first use (a let shadows a fact
    of its name)."""

    def __init__(self, scope: Scope):
        self._scope = scope

    def __getitem__(self, name: str) -> Any:
        if name in self._scope._lets:
            return self._scope.var(name)
        return self._scope.facts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._scope.facts, *self._scope._lets]))

    def __len__(self) -> int:
        return len(set(self._scope.facts) | set(self._scope._lets))


def fact_names(node: Any, lets: Mapping[str, Any]) -> list[str]:
    """The facts a condition or operand reads, through the ``let`` values it names, each once."""
    return _fact_names(node, lets, {})


def _fact_names(node: Any, lets: Mapping[str, Any], of_let: dict[str, list[str]]) -> list[str]:
    # Each let's facts are gathered once and deduplicated: lets that each name the one before twice would
    # otherwise be walked 2**n times.
    if isinstance(node, list):
        return list(dict.fromkeys(name for item in node for name in _fact_names(item, lets, of_let)))
    if not isinstance(node, dict):
        return []
    names = [node["fact"]] if isinstance(node.get("fact"), str) else []
    var = node.get("var")
    if isinstance(var, str) and var in lets:
        if var not in of_let:
            of_let[var] = _fact_names(lets[var], lets, of_let)
        names += of_let[var]
    names += [name for key, value in node.items() if key not in ("fact", "var")
              for name in _fact_names(value, lets, of_let)]
    return list(dict.fromkeys(names))


def is_operand_ref(node: Any) -> bool:
    return isinstance(node, dict) and any(key in node for key in OPERAND_KEYS)


def operand(node: Any, scope: Scope) -> Any:
    """The value an operand stands for (None: unknown)."""
    return comparable(_value(node, scope))


def comparable(value: Any) -> Any:
    """``value``, or None where it is no measurement a check can compare (see the module's docstring)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_COMPARED_INT:
        return None
    if isinstance(value, str) and len(value) > MAX_COMPARED_TEXT:
        return None
    return value


def _value(node: Any, scope: Scope) -> Any:
    if not is_operand_ref(node):
        return node
    if "fact" in node:
        return scope.facts.get(node["fact"])
    if "var" in node:
        return scope.var(node["var"])
    if "call" in node:
        function = FUNCTIONS[node["call"]][0]
        return function(*(operand(arg, scope) for arg in node.get("args", [])))
    row = LOOKUPS[node["lookup"]](operand(node["key"], scope))
    return None if row is None else row.get(node["field"])


def evaluate(node: Mapping[str, Any], scope: Scope) -> Tri:
    """True, False, or None when a value the condition needs is unknown."""
    if "all" in node:
        return _all(evaluate(part, scope) for part in node["all"])
    if "any" in node:
        return _any(evaluate(part, scope) for part in node["any"])
    if "not" in node:
        inner = evaluate(node["not"], scope)
        return None if inner is None else not inner
    return _compare(node, scope)


def _all(answers) -> Tri:
    answers = list(answers)
    if False in answers:
        return False
    return None if None in answers else True


def _any(answers) -> Tri:
    answers = list(answers)
    if True in answers:
        return True
    return None if None in answers else False


def _compare(node: Mapping[str, Any], scope: Scope) -> Tri:
    op = node["op"]
    subject = operand({key: node[key] for key in (*OPERAND_KEYS, "args", "key", "field") if key in node}, scope)
    if op in NULL_OPS:
        return (subject is None) == (op == "is null")
    value = operand(node.get("value"), scope)
    if subject is None or value is None:
        return node.get("if_null")
    as_version = node.get("as") == "version"
    try:
        if op in ORDER_OPS:
            return _ordered(op, subject, value, as_version)
        return _member(op, subject, value, as_version)
    except TypeError:
        return None


def _ordered(op: str, left: Any, right: Any, as_version: bool) -> Tri:
    if as_version:
        order = versions.compare(left, right)
        return None if order is None else ORDER_OPS[op](order, 0)
    return ORDER_OPS[op](left, right)


def _member(op: str, subject: Any, value: Any, as_version: bool) -> Tri:
    container, item = (value, subject) if op in ("in", "not in") else (subject, value)
    if isinstance(container, str) and not as_version:
        found = str(item) in container
    elif as_version:
        found = any(versions.compare(item, member) == 0 for member in container)
    else:
        found = item in container
    return found if not op.startswith("not") else not found
