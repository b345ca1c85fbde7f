"""The build step that compiles setupkit's own YAML (its catalog of checks, its knowledge tables) into the JSON
that `setupkit doctor` reads from the wheel: the same data, read with setupkit's strict loader here, so that a
malformed file fails the build, never a user's doctor (setupkit.yamlio.load_yaml, ``shipped``).

Named in pyproject.toml as setuptools' build_py. An editable install or a checkout has no compiled form and
reads the YAML itself; a YAML whose data JSON cannot hold as it is keeps no compiled form either."""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools.command.build_py import build_py

COMPILED_PACKAGES = ("setupkit/catalog", "setupkit/knowledge")


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        yamlio = source_yamlio()
        for folder in COMPILED_PACKAGES:
            for source in sorted(Path(self.build_lib, folder).glob("*.yaml")):
                compile_yaml(source, yamlio)


def source_yamlio():
    """setupkit.yamlio of the tree being built (a build may run from another folder, in an environment that
    has no setupkit or another one)."""
    root = Path(__file__).resolve().parent
    sys.path.insert(0, str(root))
    try:
        from setupkit import yamlio
    finally:
        sys.path.remove(str(root))
    if not Path(yamlio.__file__).resolve().is_relative_to(root):
        raise RuntimeError(f"the build imported {yamlio.__file__}, not the setupkit of {root}")
    return yamlio


def compile_yaml(source: Path, yamlio) -> None:
    data = yamlio.loads(source.read_text(encoding="utf-8"), str(source))
    document = yamlio.compiled_document(data, source.read_bytes())
    if document is not None:
        yamlio.compiled_path(source).write_text(document, encoding="utf-8")
