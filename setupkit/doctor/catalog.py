"""The checks catalog: checks/*.yaml (and a user's --checks-dir) loaded and validated into ``Check`` objects.

Validation is strict, in the spirit of ansible-lint's schema: an unknown key, a status or operator that does not
exist, a function that is not whitelisted, a fact that is not registered (setupkit.facts) or not declared in the
check's ``facts``, a placeholder that names nothing, a ``fail`` without a fix, a duplicate id: each is a
CatalogError naming the file and the check.

A user's folder is read as a hostile input (yamlio bounds each file): it may hold at most ``MAX_CHECK_FILES`` check
files among ``MAX_FOLDER_ENTRIES`` entries, the catalog at most ``MAX_CHECKS`` checks, and a check's conditions and
operands nest only so deep (``MAX_CONDITION_DEPTH``, ``MAX_OPERAND_DEPTH``, counted through its ``let`` values, of
which it has at most ``MAX_LETS``), so that evaluating a check is never deep recursion. Messages quote a value
briefly (``yamlio.brief``), never a whole structure.
"""

from __future__ import annotations

import importlib.util
import os
import re
import stat
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from setupkit import bounded
from setupkit.doctor import conditions, templates
from setupkit.doctor.functions import FUNCTIONS
from setupkit.facts import FACTS
from setupkit.yamlio import CatalogError, brief, load_yaml

STATUSES = ("pass", "warn", "fail", "info", "unknown", "skip")
SEVERITIES = ("critical", "high", "medium", "low", "info")
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+")
LET_NAME = re.compile(r"[a-z_][a-z0-9_]*")
CHECK_KEYS = {"id", "section", "title", "severity", "facts", "let", "rules", "default", "unknown", "detail", "fix",
              "references", "deep"}
REQUIRED_KEYS = {"id", "section", "title", "severity", "facts", "default"}
OUTCOME_KEYS = {"when", "status", "message", "fix", "if_unknown"}
FIX_KEYS = {"text", "commands", "commands_by_family"}
COMPARISON_KEYS = {*conditions.OPERAND_KEYS, "args", "key", "field", "op", "value", "as", "if_null"}

MAX_FOLDER_ENTRIES = 10_000
"""Entries of a --checks-dir looked at: a folder of check files, not a home directory."""
MAX_CHECK_FILES = 100
MAX_CHECKS = 1_000
"""Checks in the whole catalog; the built-in one has a few dozen."""
MAX_CONDITION_DEPTH = 16
"""Levels of all/any/not in one rule (the built-in checks use 2)."""
MAX_LETS = 32
MAX_OPERAND_DEPTH = 16
"""Nesting of fact, var, call and lookup in one operand, a var counting the depth of its let (the built-in use 3)."""


@dataclass(frozen=True)
class Fix:
    text: str
    commands: tuple[str, ...] = ()
    commands_by_family: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """One rule (``when`` set) or the default / unknown outcome (``when`` None)."""

    status: str
    message: str
    when: dict[str, Any] | None = None
    fix: Fix | None = None
    if_unknown: str = "unknown"  # "unknown": the check cannot tell; "next": try the next rule


@dataclass(frozen=True)
class Rule(Outcome):
    """An outcome tried in order: it holds when its condition does, so a rule always has one."""

    when: dict[str, Any] = field()  # field(): no default, where a bare annotation would inherit Outcome's None


@dataclass(frozen=True)
class Check:
    id: str
    section: str
    title: str
    severity: str
    facts: tuple[str, ...]
    rules: tuple[Rule, ...]
    default: Outcome
    unknown: Outcome | None = None
    lets: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    fix: Fix | None = None
    references: tuple[str, ...] = ()
    deep: bool = False
    source: str = ""

    def outcomes(self) -> Iterable[Outcome]:
        yield from self.rules
        yield self.default
        if self.unknown is not None:
            yield self.unknown


def registered(name: str) -> bool:
    return name in FACTS


class _Validator:
    """Checks one check's mapping and builds it; every problem is raised with the file and the check id."""

    def __init__(self, source: Path, raw: Any):
        self.source = source
        self.raw = raw
        self.check_id = raw.get("id", "?") if isinstance(raw, dict) else "?"
        self.lets: dict[str, Any] = {}
        self.let_depths: dict[str, int] = {}
        self.declared: set[str] = set()

    def fail(self, problem: str) -> CatalogError:
        return CatalogError(f"{self.source}: check {brief(self.check_id)}: {problem}")

    def build(self) -> Check:
        raw = self.raw
        if not isinstance(raw, dict):
            raise CatalogError(f"{self.source}: each entry under 'checks' must be a mapping, not {brief(raw)}")
        self._keys(raw, CHECK_KEYS, "check", required=REQUIRED_KEYS)
        self._scalars(raw)
        self.declared = set(self._fact_list(raw["facts"]))
        self.lets = self._lets(raw.get("let") or {})
        rules = raw.get("rules") or []
        if not isinstance(rules, list):
            raise self.fail("'rules' must be a list")
        check = Check(
            id=raw["id"], section=raw["section"], title=raw["title"], severity=raw["severity"],
            facts=tuple(raw["facts"]), rules=tuple(self._rule(rule) for rule in rules),
            default=self._outcome(raw["default"], "default"),
            unknown=self._outcome(raw["unknown"], "unknown") if raw.get("unknown") is not None else None,
            lets=self.lets, detail=self._template(raw.get("detail") or "", "detail"),
            fix=self._fix(raw.get("fix")), references=tuple(self._references(raw.get("references") or [])),
            deep=bool(raw.get("deep", False)), source=str(self.source))
        self._fails_carry_fix(check)
        return check

    def _keys(self, mapping: Any, allowed: AbstractSet[str], what: str,
              required: AbstractSet[str] = frozenset()) -> None:
        if not isinstance(mapping, dict):
            raise self.fail(f"{what} must be a mapping, not {brief(mapping)}")
        unknown = sorted(set(map(str, mapping)) - allowed)
        if unknown:
            raise self.fail(f"unknown key {brief(unknown[0])} in {what} (allowed: {', '.join(sorted(allowed))})")
        missing = sorted(required - set(mapping))
        if missing:
            raise self.fail(f"{what} lacks the required key {missing[0]!r}")

    def _scalars(self, raw: dict[str, Any]) -> None:
        if not isinstance(raw["id"], str) or not ID_PATTERN.fullmatch(raw["id"]):
            raise self.fail("id must be dotted lower-case words, like 'driver.installed'")
        for key in ("section", "title"):
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise self.fail(f"{key} must be a non-empty string")
        if raw["severity"] not in SEVERITIES:
            raise self.fail(f"severity {brief(raw['severity'])} is not one of {', '.join(SEVERITIES)}")
        if not isinstance(raw.get("deep", False), bool):
            raise self.fail("deep must be true or false")

    def _fact_list(self, names: Any) -> list[str]:
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise self.fail("facts must be a list of fact names")
        for name in names:
            if not registered(name):
                raise self.fail(f"reads the unknown fact {brief(name)} (not registered in setupkit.facts)")
        return names

    def _lets(self, lets: Any) -> dict[str, Any]:
        if not isinstance(lets, dict):
            raise self.fail("let must be a mapping of names to operands")
        if len(lets) > MAX_LETS:
            raise self.fail(f"{len(lets)} let values, more than the {MAX_LETS} allowed")
        known: dict[str, Any] = {}
        for name, node in lets.items():
            if not isinstance(name, str) or not LET_NAME.fullmatch(name) or registered(name):
                raise self.fail(f"let name {brief(name)} must be a lower-case identifier that is not a fact name")
            self.lets = known
            self.let_depths[name] = self._operand(node, f"let {name}")
            known[name] = node
        return known

    def _operand(self, node: Any, where: str) -> int:
        """Validate an operand; return how deep its evaluation nests (a var adds its let's depth)."""
        if isinstance(node, list):
            return max((self._operand(item, where) for item in node), default=0)
        if not isinstance(node, dict):
            if node is not None and not isinstance(node, (str, int, float, bool)):
                raise self.fail(f"{where}: unsupported literal {brief(node)}")
            return 0
        kinds = [key for key in conditions.OPERAND_KEYS if key in node]
        if len(kinds) != 1:
            raise self.fail(f"{where}: an operand needs exactly one of {', '.join(conditions.OPERAND_KEYS)}")
        depth = 1 + getattr(self, f"_operand_{kinds[0]}")(node, where)
        if depth > MAX_OPERAND_DEPTH:
            raise self.fail(f"{where}: operands nest deeper than {MAX_OPERAND_DEPTH} levels (counting calls, "
                            "lookups and the lets they name)")
        return depth

    def _operand_fact(self, node: dict[str, Any], where: str) -> int:
        self._keys(node, {"fact"}, where)
        self._fact_name(node["fact"], where)
        return 0

    def _fact_name(self, name: Any, where: str) -> None:
        if not isinstance(name, str) or not registered(name):
            raise self.fail(f"{where}: unknown fact {brief(name)} (not registered in setupkit.facts)")
        if name not in self.declared:
            raise self.fail(f"{where}: reads {brief(name)}, which is missing from the check's 'facts' list")

    def _operand_var(self, node: dict[str, Any], where: str) -> int:
        self._keys(node, {"var"}, where)
        if not isinstance(node["var"], str) or node["var"] not in self.lets:
            raise self.fail(f"{where}: var {brief(node['var'])} is not defined (earlier) in 'let'")
        return self.let_depths[node["var"]]

    def _operand_call(self, node: dict[str, Any], where: str) -> int:
        self._keys(node, {"call", "args"}, where)
        name, args = node["call"], node.get("args", [])
        if not isinstance(name, str) or name not in FUNCTIONS:
            raise self.fail(f"{where}: function {brief(name)} is not one of the allowed "
                            f"({', '.join(sorted(FUNCTIONS))})")
        low, high = FUNCTIONS[name][1:]
        if not isinstance(args, list) or not low <= len(args) <= high:
            raise self.fail(f"{where}: {name} takes {low} to {high} arguments in 'args'")
        return self._operand(args, f"{where} ({name})")

    def _operand_lookup(self, node: dict[str, Any], where: str) -> int:
        self._keys(node, {"lookup", "key", "field"}, where)
        if not isinstance(node["lookup"], str) or node["lookup"] not in conditions.LOOKUPS:
            raise self.fail(f"{where}: unknown table {brief(node['lookup'])} "
                            f"(known: {', '.join(conditions.LOOKUPS)})")
        if "key" not in node or not isinstance(node.get("field"), str):
            raise self.fail(f"{where}: a lookup needs 'key' and 'field'")
        return self._operand(node["key"], f"{where} (lookup key)")

    def condition(self, node: Any, where: str, depth: int = 1) -> None:
        if depth > MAX_CONDITION_DEPTH:
            raise self.fail(f"{where}: all/any/not nest deeper than {MAX_CONDITION_DEPTH} levels")
        if not isinstance(node, dict):
            raise self.fail(f"{where}: a condition must be a mapping (all/any/not or a comparison), "
                            f"not {brief(node)}")
        for logic in ("all", "any"):
            if logic in node:
                self._keys(node, {logic}, where)
                if not isinstance(node[logic], list) or not node[logic]:
                    raise self.fail(f"{where}: '{logic}' needs a non-empty list of conditions")
                for part in node[logic]:
                    self.condition(part, where, depth + 1)
                return
        if "not" in node:
            self._keys(node, {"not"}, where)
            return self.condition(node["not"], where, depth + 1)
        self._comparison(node, where)

    def _comparison(self, node: dict[str, Any], where: str) -> None:
        self._keys(node, COMPARISON_KEYS, where)
        if node.get("op") not in conditions.OPS:
            raise self.fail(f"{where}: op {brief(node.get('op'))} is not one of {', '.join(conditions.OPS)}")
        if node.get("as") not in (None, "version"):
            raise self.fail(f"{where}: 'as' can only be 'version'")
        if not isinstance(node.get("if_null", False), bool):
            raise self.fail(f"{where}: if_null must be true or false")
        subject = {key: value for key, value in node.items() if key not in ("op", "value", "as", "if_null")}
        self._operand(subject, where)
        if node["op"] in conditions.NULL_OPS:
            if "value" in node:
                raise self.fail(f"{where}: '{node['op']}' takes no value")
        elif "value" not in node:
            raise self.fail(f"{where}: op {node['op']!r} needs a value")
        else:
            self._operand(node["value"], where)

    def _template(self, text: Any, where: str) -> str:
        if not isinstance(text, str):
            raise self.fail(f"{where} must be a string")
        for name in templates.placeholders(text):
            if name in self.lets:
                continue
            if not registered(name):
                raise self.fail(f"{where}: placeholder {{{name}}} names no fact and no let")
            if name not in self.declared:
                raise self.fail(f"{where}: placeholder {{{name}}} reads a fact missing from 'facts'")
        return text

    def _outcome(self, raw: Any, what: str) -> Outcome:
        self._keys(raw, OUTCOME_KEYS, what, required={"status", "message"} | ({"when"} if what == "rule" else set()))
        if raw["status"] not in STATUSES:
            raise self.fail(f"{what}: status {brief(raw['status'])} is not one of {', '.join(STATUSES)}")
        if what != "rule" and ("when" in raw or "if_unknown" in raw):
            raise self.fail(f"{what} takes no 'when' or 'if_unknown'")
        if raw.get("if_unknown", "unknown") not in ("unknown", "next"):
            raise self.fail(f"{what}: if_unknown must be 'unknown' or 'next'")
        if what == "rule":
            self.condition(raw["when"], f"rule {brief(raw['message'], 40)}")
        return Outcome(status=raw["status"], message=self._template(raw["message"], f"{what} message"),
                       when=raw.get("when"), fix=self._fix(raw.get("fix")),
                       if_unknown=raw.get("if_unknown", "unknown"))

    def _rule(self, raw: Any) -> Rule:
        outcome = self._outcome(raw, "rule")  # checked there: a rule's 'when' is required and a condition
        return Rule(status=outcome.status, message=outcome.message, when=raw["when"], fix=outcome.fix,
                    if_unknown=outcome.if_unknown)

    def _fix(self, raw: Any) -> Fix | None:
        if raw is None:
            return None
        self._keys(raw, FIX_KEYS, "fix", required={"text"})
        commands = self._commands(raw.get("commands") or [], "fix commands")
        by_family = raw.get("commands_by_family") or {}
        if not isinstance(by_family, dict):
            raise self.fail("fix commands_by_family must map an os.family to a list of commands")
        return Fix(text=self._template(raw["text"], "fix text"), commands=commands,
                   commands_by_family={str(k): self._commands(v, f"fix commands for {brief(k)}")
                                       for k, v in by_family.items()})

    def _commands(self, commands: Any, where: str) -> tuple[str, ...]:
        if not isinstance(commands, list) or not all(isinstance(command, str) for command in commands):
            raise self.fail(f"{where} must be a list of strings")
        return tuple(self._template(command, where) for command in commands)

    def _references(self, urls: Any) -> list[str]:
        if not isinstance(urls, list) or not all(isinstance(u, str) and u.startswith("https://") for u in urls):
            raise self.fail("references must be a list of https:// URLs")
        return urls

    def _fails_carry_fix(self, check: Check) -> None:
        for outcome in check.outcomes():
            if outcome.status == "fail" and outcome.fix is None and check.fix is None:
                raise self.fail(f"a 'fail' outcome has no fix ('{outcome.message:.40}'): every fail carries one")


def load_file(path: Path, room: int = MAX_CHECKS, *, shipped: bool = False) -> list[Check]:
    """Every check of one YAML file (a mapping with a 'checks' list); more than ``room`` checks is refused.
    ``shipped``: a file of the built-in catalog (see yamlio.load_yaml)."""
    data = load_yaml(path, shipped=shipped)
    if not isinstance(data, dict) or set(data) != {"checks"} or not isinstance(data["checks"], list):
        raise CatalogError(f"{path}: a checks file is a mapping with one key, 'checks', holding a list")
    if len(data["checks"]) > room:
        raise CatalogError(f"{path}: the catalog would hold more than the {MAX_CHECKS:,} checks allowed")
    return [_Validator(path, raw).build() for raw in data["checks"]]


def check_files(folder: Path) -> list[Path]:
    """The *.yaml and *.yml files of ``folder``, in name order; a folder that is not one, or holds more than the
    limits allow, is refused."""
    folder = Path(folder)
    _require_folder(folder)
    try:
        names = _yaml_names(folder)
    except OSError as error:
        raise CatalogError(f"{folder}: cannot read this checks folder: {_reason(error)}") from None
    if len(names) > MAX_CHECK_FILES:
        raise CatalogError(f"{folder}: {len(names):,} check files, more than the {MAX_CHECK_FILES} allowed")
    return [folder / name for name in sorted(names)]


def _require_folder(folder: Path) -> None:
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        raise CatalogError(f"{folder}: no such checks folder") from None
    except OSError as error:
        raise CatalogError(f"{folder}: cannot read this checks folder: {_reason(error)}") from None
    if not stat.S_ISDIR(mode):
        kind = "a regular file" if stat.S_ISREG(mode) else bounded.describe_mode(mode)
        raise CatalogError(f"{folder}: is {kind}, not a checks folder")


def _yaml_names(folder: Path) -> list[str]:
    """The check file names, looking at no more than MAX_FOLDER_ENTRIES entries (not a listing of millions)."""
    names = []
    with os.scandir(folder) as entries:
        for count, entry in enumerate(entries, 1):
            if count > MAX_FOLDER_ENTRIES:
                raise CatalogError(f"{folder}: more than {MAX_FOLDER_ENTRIES:,} entries",
                                   hint="give a folder that holds check files only")
            if entry.name.endswith((".yaml", ".yml")):
                names.append(entry.name)
    return names


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def catalog_dir() -> Path:
    """The built-in catalog: ``setupkit/catalog`` in an installed wheel (the build backend carries checks/ there),
    the checkout's own ``checks/`` when setupkit runs from a checkout (an editable install or a plain clone)."""
    import setupkit

    spec = importlib.util.find_spec("setupkit.catalog")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(setupkit.__file__).resolve().parent.parent / "checks"


def load_catalog(extra_dirs: Iterable[str | Path] = (), builtin: bool = True) -> list[Check]:
    """The built-in checks, then each extra folder's, in file order; a duplicate id is an error."""
    folders = ([(catalog_dir(), True)] if builtin else []) + [(Path(folder), False) for folder in extra_dirs]
    checks: list[Check] = []
    seen: dict[str, str] = {}
    for folder, shipped in folders:
        for path in check_files(folder):
            for check in load_file(path, room=MAX_CHECKS - len(checks), shipped=shipped):
                if check.id in seen:
                    raise CatalogError(f"{path}: duplicate check id {brief(check.id)} (also in {seen[check.id]})")
                seen[check.id] = str(path)
                checks.append(check)
    return checks
