"""The engine: a check and the facts in, a finding out. Rules are tried in order, the first that holds wins;
a rule that cannot tell (a fact it needs is unknown) makes the check ``unknown``, never a silent pass, unless
the rule says ``if_unknown: next`` or the check gives its own ``unknown`` outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from setupkit import exitcodes
from setupkit.doctor import conditions, templates
from setupkit.doctor.catalog import Check, Fix, Outcome, Rule
from setupkit.yamlio import clip

FIX_STATUSES = ("fail", "warn")
"""The statuses whose finding carries the fix."""


@dataclass(frozen=True)
class Finding:
    id: str
    section: str
    title: str
    status: str
    message: str
    detail: str
    fix: dict[str, Any] | None
    severity: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "status": self.status, "title": self.title,
                "message": self.message, "detail": self.detail, "fix": self.fix, "severity": self.severity}


def evaluate_check(check: Check, facts: Mapping[str, Any]) -> Finding:
    scope = conditions.Scope(facts, check.lets)
    try:
        # The lets a message names are computed as it is rendered: rendering is part of deciding.
        return _finding(check, _decide(check, scope), scope.names())
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError) as error:
        # A probe bug or a hand-edited snapshot must not crash doctor: the check cannot tell.
        outcome = Outcome(status="unknown",
                          message=f"Cannot tell: a fact has an unexpected form ({clip(str(error))}).")
        return _finding(check, outcome, dict(facts))


def _finding(check: Check, outcome: Outcome, names: Mapping[str, Any]) -> Finding:
    return Finding(id=check.id, section=check.section, title=check.title, status=outcome.status,
                   message=templates.render(outcome.message, names), detail=templates.render(check.detail, names),
                   fix=_fix(outcome, check, names), severity=check.severity)


def _decide(check: Check, scope: conditions.Scope) -> Outcome:
    for rule in check.rules:
        answer = conditions.evaluate(rule.when, scope)
        if answer:
            return rule
        if answer is None and rule.if_unknown != "next":
            return check.unknown or _cannot_tell(check, rule, scope.facts)
    return check.default


def _cannot_tell(check: Check, rule: Rule, facts: Mapping[str, Any]) -> Outcome:
    """The unknown outcome, naming the facts the undecided rule needed and did not get."""
    needed = dict.fromkeys(conditions.fact_names(rule.when, check.lets))
    missing = [name for name in needed if facts.get(name) is None]
    return Outcome(status="unknown", message=f"Cannot tell: {', '.join(missing) or 'a needed value'} unknown.")


def _fix(outcome: Outcome, check: Check, names: Mapping[str, Any]) -> dict[str, Any] | None:
    fix: Fix | None = outcome.fix or check.fix
    if fix is None or outcome.status not in FIX_STATUSES:
        return None
    family = names.get("os.family")
    commands = fix.commands_by_family.get(family, fix.commands) if isinstance(family, str) else fix.commands
    return {"text": templates.render(fix.text, names),
            "commands": [templates.render(command, names) for command in commands]}


def select(checks: Iterable[Check], only: Iterable[str] = (), skip: Iterable[str] = (),
           deep: bool = False) -> list[Check]:
    """The checks to run: deep ones only with --deep; --only keeps just those ids, --skip drops those."""
    only, skip = set(only), set(skip)
    return [check for check in checks
            if (deep or not check.deep) and (not only or check.id in only) and check.id not in skip]


def run_checks(checks: Iterable[Check], facts: Mapping[str, Any]) -> list[Finding]:
    return [evaluate_check(check, facts) for check in checks]


def overall_status(findings: Iterable[Finding]) -> str:
    statuses = {finding.status for finding in findings}
    if "fail" in statuses:
        return "fail"
    return "warn" if "warn" in statuses else "pass"


def exit_code(findings: Iterable[Finding]) -> int:
    return exitcodes.CHECK_FAILED if overall_status(findings) == "fail" else exitcodes.OK
