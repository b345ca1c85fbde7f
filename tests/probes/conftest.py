"""Helpers for the probe tests: reading the facts of a snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from setupkit.facts import Facts
from setupkit.host.snapshot import SnapshotHost
from setupkit.probes import collect_facts

def snapshot_facts(path: Path) -> Facts:
    with SnapshotHost(path) as host:
        return collect_facts(host)


@pytest.fixture
def facts_of():
    """Facts read from a snapshot folder."""
    return snapshot_facts
