"""Fixtures of the doctor tests; the plain helpers live in doctor_helpers.py, importable from the test modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import pytest

# pytest runs with --import-mode=importlib, which puts no test folder on sys.path: add this one for the helpers.
sys.path.insert(0, str(Path(__file__).parent))

from doctor_helpers import make_variant  # noqa: E402


@pytest.fixture
def variant(tmp_path):
    """variant(base, json_file, change) -> the path of a derived snapshot."""
    counter = iter(range(100))

    def make(base: str, json_file: str, change: Callable[[Any], Any]) -> Path:
        return make_variant(base, tmp_path / f"variant{next(counter)}", json_file, change)

    return make
