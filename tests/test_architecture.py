"""The house rules of DESIGN.md, read from the code's own imports: arrows only run down, no verb reads another
verb's modules, and only the two doors start programs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "setupkit"

GROUND = {"process", "dialog", "bounded", "errors", "exitcodes", "versions", "facts", "yamlio", "yamlparse", "stamp"}
VERBS = {"doctor", "snapshot", "install", "buildtf", "smoke", "diff"}
FLOORS = {"ground": 0, "knowledge": 1, "host": 2, "probes": 3, "verb": 4, "cli": 5, "entry": 6}
"""Floor of each part, bottom up: an import may only name a module on its own floor or below."""

DOORS = {"subprocess": "process.py", "pexpect": "dialog.py"}
"""The modules that start programs, and the one file allowed to import each."""
STARTS_PROGRAMS = {"system", "popen", "spawnl", "spawnv", "spawnlp", "spawnvp", "posix_spawn", "posix_spawnp",
                   "execv", "execve", "execvp", "execvpe", "execl", "execlp", "fork", "forkpty"}
"""os functions that start or become another program, which would bypass the process door."""


def part_of(module: str) -> str:
    """'setupkit.install.planner' -> 'install'; 'setupkit.versions' -> 'versions'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor_of(part: str) -> tuple[str, int]:
    if part in GROUND or part == "__init__":
        return "ground", FLOORS["ground"]
    if part in VERBS:
        return "verb", FLOORS["verb"]
    if part == "__main__":
        return "entry", FLOORS["entry"]
    if part in FLOORS:
        return part, FLOORS[part]
    raise AssertionError(f"setupkit.{part} is on no floor of the design: add it to tests/test_architecture.py")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def sources() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(module: str, path: Path, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every module this file imports (at the top or inside a function), as absolute names."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            yield node.lineno, base
            for alias in node.names:  # `from setupkit import probes` names a module too
                yield node.lineno, f"{base}.{alias.name}"


def is_setupkit_module(name: str) -> bool:
    """Whether ``name`` is a module or package of setupkit (not a function or constant imported from one)."""
    if name != "setupkit" and not name.startswith("setupkit."):
        return False
    place = PACKAGE.parent / Path(*name.split("."))
    return place.is_dir() or place.with_suffix(".py").is_file()


def setupkit_imports() -> list[tuple[str, Path, int, str]]:
    return [(module, path, line, name) for module, path, tree in sources()
            for line, name in imported(module, path, tree) if is_setupkit_module(name)]


def test_every_module_is_on_a_floor():
    for module, _path, _tree in sources():
        floor_of(part_of(module))


def test_no_import_runs_up_a_floor():
    upward = []
    for module, path, line, name in setupkit_imports():
        (here, here_floor), (there, there_floor) = floor_of(part_of(module)), floor_of(part_of(name))
        if there_floor > here_floor:
            upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({here}) imports {name} ({there})")
    assert not upward, "imports that run up:\n" + "\n".join(upward)


def test_no_verb_imports_another_verbs_modules():
    sideways = []
    for module, path, line, name in setupkit_imports():
        here, there = part_of(module), part_of(name)
        if here in VERBS and there in VERBS and here != there:
            sideways.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({here}) imports {name}")
    assert not sideways, "a verb reads another verb's modules:\n" + "\n".join(sideways)


@pytest.mark.parametrize("door", sorted(DOORS))
def test_only_the_door_imports_its_module(door):
    elsewhere = []
    for module, path, tree in sources():
        names = [name for _line, name in imported(module, path, tree)]
        if any(name == door or name.startswith(f"{door}.") for name in names) and path.name != DOORS[door]:
            elsewhere.append(str(path.relative_to(PACKAGE.parent)))
    assert not elsewhere, f"{door} is imported outside setupkit/{DOORS[door]}: {elsewhere}"


def test_nothing_else_starts_a_program_through_os():
    calls = []
    for _module, path, tree in sources():
        if path.name in DOORS.values():
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in STARTS_PROGRAMS and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                calls.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} os.{node.attr}")
    assert not calls, "programs started outside the process door:\n" + "\n".join(calls)


def test_the_rules_see_real_imports():
    """The reader itself: it finds the arrows that are there (a reader that found none would pass everything)."""
    names = {(module, name) for module, _path, _line, name in setupkit_imports()}
    assert ("setupkit.cli.doctor", "setupkit.doctor.run") in names or \
        any(module.startswith("setupkit.cli") and name.startswith("setupkit.doctor") for module, name in names)
    assert any(module.startswith("setupkit.probes") and name.startswith("setupkit.host") for module, name in names)
