"""The package list in pyproject.toml is written by hand (the catalog is a mapped folder that discovery cannot
see): hold it against the package folders, and the built wheel against the checkout."""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]


def _setuptools_table() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed_and_nothing_else():
    folders = {".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "setupkit").rglob("__init__.py")}
    listed = set(_setuptools_table()["packages"])
    assert listed - {"setupkit.catalog"} == folders


def test_the_catalog_is_the_checks_folder_which_holds_no_code():
    table = _setuptools_table()
    assert table["package-dir"] == {"setupkit.catalog": "checks"}
    assert not list((REPO / "checks").rglob("*.py")), "checks/ holds checks only"
    assert not (REPO / "setupkit" / "catalog").exists(), (
        "the catalog is carried by the build backend, not a copy or link")


@pytest.mark.slow
def test_the_wheel_carries_the_catalog_the_knowledge_tables_and_every_module(tmp_path):
    from setupkit import process

    # Built from a clean copy: setuptools reuses a checkout's build/ folder, which would carry files since removed.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                ".pytest_cache", "snapshots", "fixtures"))
    done = process.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(source)], timeout=300, cwd=str(tmp_path))
    assert done.ok, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("setupkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    checks = {f"setupkit/catalog/{path.relative_to(REPO / 'checks').as_posix()}"
              for path in (REPO / "checks").rglob("*.yaml")}
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "setupkit").rglob("*.py")}
    tables = {path.relative_to(REPO).as_posix() for path in (REPO / "setupkit" / "knowledge").glob("*.yaml")}
    assert checks and checks <= names
    assert modules <= names
    assert tables and tables <= names, "the knowledge tables travel with their package"
    packaged = {name for name in names if name.startswith("setupkit/") and name.endswith((".py", ".yaml"))}
    assert packaged == checks | modules | tables, "the wheel holds exactly the checkout's package files"
