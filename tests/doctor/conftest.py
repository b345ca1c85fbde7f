"""Fixtures of the doctor tests; the plain helpers are in tests/helpers/doctor.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.scenarios import make_variant


@pytest.fixture
def variant(tmp_path):
    """variant(base, json_file, change) -> the path of a derived snapshot."""
    counter = iter(range(100))

    def make(base: str, json_file: str, change: Callable[[Any], Any]) -> Path:
        return make_variant(base, tmp_path / f"variant{next(counter)}", json_file, change)

    return make
