"""Reading the catalog's YAML: the safe loader only (no tags that build Python objects), the C one when present."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from setupkit.errors import PreconditionError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(PreconditionError):
    """A check or table file is malformed: exit 3, one line naming the file and the problem."""


def load_yaml(path: Path) -> Any:
    """The data in ``path``; a syntax error or a Python tag (!!python/...) is refused as a CatalogError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path}: cannot read: {error}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - the safe loader, never the full one
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise CatalogError(f"{path}{where}: not valid catalog YAML: {problem}") from None


def catalog_dir() -> Path:
    """The catalog shipped inside the package (src/setupkit/catalog links to checks/ in a checkout)."""
    import setupkit

    return Path(setupkit.__file__).parent / "catalog"
