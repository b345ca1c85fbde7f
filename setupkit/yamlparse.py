"""The YAML parsing behind setupkit.yamlio: the plain resolver, the strict safe constructor, the loaders and the
bounding pass over a file's events (what each refuses: yamlio's docstring). PyYAML is imported here only, so that
a `setupkit doctor` that reads setupkit's own files from their compiled form never loads it."""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

from setupkit.yamlio import (
    _MAX_INT_TEXT,
    _YAML,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_NODES,
    MAX_TEXT,
    PLAIN_TAGS,
    CatalogError,
    brief,
    clip,
)

_DROPPED_RESOLVERS = frozenset(f"{_YAML}{name}" for name in ("timestamp", "merge", "value"))
"""Implicit YAML 1.1 types a check has no use for: a date-like scalar stays text, '<<' and '=' are plain keys."""


class _PlainResolver(Resolver):
    pass


_PlainResolver.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _DROPPED_RESOLVERS]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}


class _StrictConstructor(SafeConstructor):
    """The safe constructor, refusing what a check cannot mean, each refusal marked with its line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
            # PyYAML lets the builders' own errors out unmarked: `!!int "x"` is int("x"), `!!bool "x"` a KeyError.
            tag = node.tag.replace(_YAML, "!!")
            raise ConstructorError(None, None, f"cannot read this {tag} value ({error})", node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys without a word: a check that says `op` twice means one of them.
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise ConstructorError(None, None, "a list or mapping cannot be a key", key_node.start_mark) from None
            if duplicate:
                raise ConstructorError(None, None, f"duplicate key {brief(key)}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # The text is measured first: int() of thousands of digits costs quadratic time before it is refused.
        value = None if len(node.value) > _MAX_INT_TEXT else super().construct_yaml_int(node)
        if value is None or abs(value) >= 10**MAX_INT_DIGITS:
            raise ConstructorError(None, None, f"a number past {MAX_INT_DIGITS} digits is no value a check compares",
                                   node.start_mark)
        return value

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise ConstructorError(None, None, "NaN and infinity are no value a check compares", node.start_mark)
        return value


_StrictConstructor.add_constructor(f"{_YAML}int", _StrictConstructor.construct_yaml_int)
_StrictConstructor.add_constructor(f"{_YAML}float", _StrictConstructor.construct_yaml_float)


def loader_class(libyaml: bool) -> type:
    """The loader: libyaml's parser where PyYAML has it (fast, and it stops at its own nesting limit), else
    PyYAML's; either way the strict constructor and the resolver above."""
    if libyaml:
        from yaml.cyaml import CParser as Parsing
    else:
        class Parsing(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,  # type: ignore[no-redef]
                      yaml.composer.Composer):
            def __init__(self, stream: str):
                yaml.reader.Reader.__init__(self, stream)
                yaml.scanner.Scanner.__init__(self)
                yaml.parser.Parser.__init__(self)
                yaml.composer.Composer.__init__(self)

    class Loader(Parsing, _StrictConstructor, _PlainResolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str):
            Parsing.__init__(self, stream)
            _StrictConstructor.__init__(self)
            _PlainResolver.__init__(self)

    return Loader


DEFAULT_LOADER = loader_class(bool(getattr(yaml, "__with_libyaml__", False)))


def loads(text: str, name: str, loader: type, *, shipped: bool = False) -> Any:
    """The data in ``text`` (``name`` says where it came from in messages)."""
    unreadable = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if unreadable:
        # The parsers say where in characters or in UTF-8 bytes; the line is what a person can find.
        line = text.count("\n", 0, unreadable.start()) + 1
        raise CatalogError(f"{name} (line {line}): not valid catalog YAML: the character "
                           f"U+{ord(unreadable.group()):04X} is not allowed in YAML")
    try:
        if not shipped:
            _check_events(text, loader)
        return yaml.load(text, Loader=loader)  # noqa: S506 - the strict safe constructor, never the full one
    except yaml.YAMLError as error:
        raise CatalogError(_yaml_problem(name, error)) from None
    except RecursionError:
        # Not reached with MAX_DEPTH far below the recursion limit; kept so that no input can print a traceback.
        raise CatalogError(f"{name}: not valid catalog YAML: it nests too deeply to read") from None


def _check_events(text: str, loader: type) -> None:
    """Refuse what would cost more to build than to read, from the parser's flat stream of events, before the
    recursive composer and the validator see a single node."""
    count = _ExpandedCount()
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_TEXT:
            _refuse(event, f"a value of {len(event.value):,} characters, more than the {MAX_TEXT:,} allowed")
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in PLAIN_TAGS:
            _refuse(event, f"the tag {clip(tag.replace(_YAML, '!!'), 60)} is not allowed "
                           "(check files hold strings, numbers, booleans, null, lists and mappings)")
        count.add(event)


class _ExpandedCount:
    """The size and depth of the document as the validator will walk it: an alias (``*name``) counts as the
    whole node it repeats, so that aliases of aliases (a "billion laughs" of a few hundred bytes) are refused
    at the limit instead of expanded. An alias may repeat a finished node only: one inside the node it names
    would make a cycle."""

    def __init__(self) -> None:
        self.total = 0
        self.open: list[list[Any]] = []  # per open list or mapping: [anchor, expanded size, its children's height]
        self.anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height)

    def add(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.CollectionStartEvent):
            self._grow(event, 1, 1)
            self.open.append([event.anchor, 1, 0])
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size, height = self.open.pop()
            self._finish(anchor, size, height + 1)
        elif isinstance(event, yaml.ScalarEvent):
            self._grow(event, 1, 0)
            self._finish(event.anchor, 1, 0)
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in self.open):
                _refuse(event, f"the alias *{clip(str(event.anchor), 40)} is inside the node it names (a cycle)")
            if event.anchor not in self.anchors:
                _refuse(event, f"the alias *{clip(str(event.anchor), 40)} names no anchor before it")
            size, height = self.anchors[event.anchor]
            self._grow(event, size, height)
            self._finish(None, size, height)

    def _grow(self, event: yaml.Event, size: int, height: int) -> None:
        """Count a node about to be added (expanded ``size``, ``height`` levels) against the limits."""
        self.total += size
        if self.total > MAX_NODES:
            _refuse(event, f"more than {MAX_NODES:,} values in one file (an alias counts as all it repeats)")
        if len(self.open) + height > MAX_DEPTH:
            _refuse(event, f"lists and mappings nest deeper than {MAX_DEPTH} levels")

    def _finish(self, anchor: str | None, size: int, height: int) -> None:
        """A node is complete: remember it under its anchor, and add it to the list or mapping it is in."""
        if anchor is not None:
            self.anchors[anchor] = (size, height)
        if self.open:
            parent = self.open[-1]
            parent[1] += size
            parent[2] = max(parent[2], height)


def _refuse(event: yaml.Event, problem: str) -> None:
    raise yaml.MarkedYAMLError(problem=problem, problem_mark=event.start_mark)


def _yaml_problem(name: str, error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark else ""
    said = [getattr(error, "context", None), getattr(error, "problem", None)]
    problem = " ".join(text for text in said if text) or (str(error).splitlines() or ["malformed"])[0]
    return f"{name}{where}: not valid catalog YAML: {clip(problem)}"

