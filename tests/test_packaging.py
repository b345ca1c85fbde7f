"""The package list in pyproject.toml is written by hand (the catalog is a mapped folder that discovery cannot
see): hold it against the package folders, and the built wheel against the checkout."""

from __future__ import annotations

import json
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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    from setupkit import process

    folder = tmp_path_factory.mktemp("wheel")
    # Built from a clean copy: setuptools reuses a checkout's build/ folder, which would carry files since removed.
    source = folder / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                ".pytest_cache", "snapshots", "fixtures"))
    done = process.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(folder), str(source)], timeout=300, cwd=str(folder))
    assert done.ok, done.stderr[-2000:]
    (built,) = folder.glob("setupkit-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_carries_the_catalog_the_knowledge_tables_and_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    checks = {f"setupkit/catalog/{path.relative_to(REPO / 'checks').as_posix()}"
              for path in (REPO / "checks").rglob("*.yaml")}
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "setupkit").rglob("*.py")}
    tables = {path.relative_to(REPO).as_posix() for path in (REPO / "setupkit" / "knowledge").glob("*.yaml")}
    assert checks and checks <= names
    assert modules <= names
    assert tables and tables <= names, "the knowledge tables travel with their package"
    compiled = {name.removesuffix(".yaml") + ".json" for name in checks | tables}
    packaged = {name for name in names if name.startswith("setupkit/") and name.endswith((".py", ".yaml", ".json"))}
    assert packaged == checks | modules | tables | compiled, \
        "the wheel holds exactly the checkout's package files, and each YAML file's compiled form"


@pytest.mark.slow
def test_each_compiled_form_holds_its_yaml_and_its_hash(wheel):
    """doctor reads the JSON beside a shipped YAML file only where its SHA-256 is the YAML's (yamlio.load_yaml):
    the build writes the very data setupkit's strict loader reads from the YAML."""
    import hashlib

    from setupkit import yamlio

    with zipfile.ZipFile(wheel) as archive:
        sources = [name for name in archive.namelist() if name.endswith(".yaml")]
        assert sources
        for name in sources:
            text = archive.read(name)
            compiled = json.loads(archive.read(name.removesuffix(".yaml") + ".json"))
            assert compiled["sha256"] == hashlib.sha256(text).hexdigest(), name
            assert compiled["data"] == yamlio.loads(text.decode(), name), name


@pytest.mark.slow
def test_doctor_from_the_wheel_reports_as_doctor_from_the_checkout(wheel, tmp_path):
    """The compiled catalog and tables give the very report the YAML gives, byte for byte but the stamp's time
    (the two runs may straddle a second)."""
    from setupkit import process

    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    snapshot = str(REPO / "tests" / "snapshots" / "h100-ubuntu2404-vm")
    # Run from a folder of its own: `python -c` puts the working folder first on sys.path.
    where = process.run([sys.executable, "-c", "import setupkit; print(setupkit.__file__)"], timeout=60,
                        env={"PYTHONPATH": str(unpacked)}, cwd=str(tmp_path))
    assert where.stdout.strip() == str(unpacked / "setupkit" / "__init__.py"), "the wheel's setupkit is the one run"
    reports = []
    for root in (unpacked, REPO):
        done = process.run([sys.executable, "-c", "from setupkit.cli import main; main()", "doctor", "--json",
                            "--snapshot", snapshot], timeout=120, env={"PYTHONPATH": str(root)}, cwd=str(tmp_path))
        assert done.returncode in (0, 1), done.stderr[-2000:]
        reports.append(without_stamp_time(done.stdout))
    assert reports[0] == reports[1]


def without_stamp_time(report: str) -> str:
    """The report's text with the stamp's time blanked: the one field that says when, not what."""
    stamp_time = json.loads(report)["stamp"]["time"]
    assert report.count(f'"time": "{stamp_time}"') == 1, "the stamp's time appears once"
    return report.replace(f'"time": "{stamp_time}"', '"time": ""')
