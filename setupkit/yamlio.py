"""Reading setupkit's YAML data files (check files, knowledge tables): plain data only, in bounded time and memory,
whatever the file holds.

A check file may come from anyone (``--checks-dir``), so every file is read as a hostile input:

- through ``bounded.read_regular_file``: a FIFO, a device, a link to /dev/zero or a file past ``MAX_FILE_BYTES``
  is refused before a byte is parsed;
- its YAML events are checked before any node is built: at most ``MAX_NODES`` nodes counted as the validator will
  walk them, each alias (``*name``) as the whole node it repeats (a few hundred bytes of aliases of aliases expand
  to billions of nodes: the "billion laughs"), no alias inside the node it names (a cycle), at most ``MAX_DEPTH``
  levels of nesting (the composer and the validator recurse), ``MAX_TEXT`` characters a scalar, and only the tags
  of plain data;
- the values are built by the safe constructor, stricter still: no NaN or infinity, no integer past
  ``MAX_INT_DIGITS`` digits, no duplicate key, and a date-like scalar stays text (a check compares versions and
  names, never dates); a value the constructor cannot build (``!!int "x"``) is refused with its line.

Every refusal is a ``CatalogError`` (the catalog: the checks and the knowledge tables): exit 3, one line naming
the file and, where the parser knows it, the line. The parsing itself is ``setupkit.yamlparse``'s, imported only
where YAML is read: setupkit's own files are read from their compiled form where the wheel carries it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from setupkit import bounded
from setupkit.errors import PreconditionError

MAX_FILE_BYTES = 1 << 20
"""1 MiB a file: the whole built-in catalog is under 50 KiB."""
MAX_DEPTH = 32
"""Levels of nested lists and mappings; the built-in files nest at most 11."""
MAX_NODES = 50_000
"""Scalars, lists and mappings a file; the largest built-in file has under 1,000."""
MAX_TEXT = 10_000
"""Characters a scalar; the longest built-in message is under 300."""
MAX_INT_DIGITS = 18
"""An integer past this is no count, version part or size a check compares (and its text costs quadratic time)."""
_MAX_INT_TEXT = 100
"""Characters of an integer's text: 64 binary digits with their 0b and sign fit, no decimal one past the limit does."""
MAX_PROBLEM_TEXT = 200
"""Characters of a parser's own complaint quoted in a message (it may quote the offending text)."""

_YAML = "tag:yaml.org,2002:"
PLAIN_TAGS = frozenset(f"{_YAML}{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map"))
"""The tags a check file may carry: JSON's types. '!' (a quoted or non-specific scalar) means str."""


class CatalogError(PreconditionError):
    """A check or table file is malformed: exit 3, one line naming the file and the problem."""


def brief(value: Any, width: int = 60) -> str:
    """A value for a message, at most about ``width`` characters: a list or mapping is named by its kind and size,
    never printed (a hostile one may be large), a long string is cut before it is quoted."""
    if isinstance(value, dict):
        return f"a mapping of {len(value)} keys"
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"a list of {len(value)} items"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"
    text = repr(value[:width] if isinstance(value, (str, bytes)) else value)
    return text if len(text) <= width else f"{text[:width - 3]}..."


def clip(text: str, width: int = MAX_PROBLEM_TEXT) -> str:
    return text if len(text) <= width else f"{text[:width - 3]}..."


def load_yaml(path: Path, *, shipped: bool = False) -> Any:
    """The data in ``path``, read within the bounds above; anything else is refused as a CatalogError.

    ``shipped``: a file setupkit itself carries (its catalog, its knowledge tables), as much its code as its
    modules are: the event pass that bounds what a hostile file may cost is skipped, since it reads every file
    twice on every `setupkit doctor` (benchmarks/doctor_speed.py); the strict constructor still reads it. And
    where the wheel carries the file's compiled form beside it (``compiled_path``, written when the wheel is
    built), that is read instead: JSON parses some thirty times faster than YAML is constructed, and it holds
    the SHA-256 of the YAML it was made from, so a YAML edited since is read as YAML."""
    try:
        data = bounded.read_regular_file(path, MAX_FILE_BYTES)
    except bounded.BoundError as error:
        raise CatalogError(f"{path}: cannot read: {error}") from None
    if shipped:
        compiled = _compiled(path, data)
        if compiled is not _NOT_COMPILED:
            return compiled
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CatalogError(f"{path} (line {line}): not UTF-8 text (byte {error.start})") from None
    return loads(text, str(path), shipped=shipped)


_NOT_COMPILED = object()
COMPILED_SUFFIX = ".json"


def compiled_path(path: Path) -> Path:
    """Where the compiled form of a shipped YAML file lies: checks/10-system.yaml -> checks/10-system.json."""
    return path.with_suffix(COMPILED_SUFFIX)


def compiled_document(data: Any, source: bytes) -> str | None:
    """The compiled form of YAML ``source`` whose data is ``data``: {"sha256": of the YAML, "data": data} as
    JSON; None where JSON cannot hold the data as it is (a key that is no string, a tuple), so that the YAML
    stays the only form."""
    document = json.dumps({"sha256": hashlib.sha256(source).hexdigest(), "data": data}, ensure_ascii=False,
                          separators=(",", ":"), allow_nan=False)
    return document if json.loads(document)["data"] == data else None


def _compiled(path: Path, source: bytes) -> Any:
    """The data of the compiled form beside ``path``, or _NOT_COMPILED where there is none, it cannot be read,
    or it was made from other YAML."""
    try:
        text = bounded.read_regular_file(compiled_path(path), MAX_FILE_BYTES * 4)
        document = bounded.loads_json(text)
    except (OSError, bounded.BoundError, ValueError):
        return _NOT_COMPILED
    if not isinstance(document, dict) or document.get("sha256") != hashlib.sha256(source).hexdigest():
        return _NOT_COMPILED
    return document.get("data")


def loads(text: str, name: str, loader: type | None = None, *, shipped: bool = False) -> Any:
    """The data in the YAML ``text`` (``name`` says where it came from in messages); ``loader``: one of
    ``loader_class``'s (libyaml's parser where PyYAML has it, by default)."""
    from setupkit import yamlparse

    return yamlparse.loads(text, name, loader or yamlparse.DEFAULT_LOADER, shipped=shipped)


def loader_class(libyaml: bool) -> type:
    """The strict loader over libyaml's parser (``libyaml``) or PyYAML's own (yamlparse.loader_class)."""
    from setupkit import yamlparse

    return yamlparse.loader_class(libyaml)
