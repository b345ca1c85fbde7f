"""Every scenario snapshot gives exactly the facts written beside it, and the real H100 capture its own."""

from __future__ import annotations

import json

import pytest

from setupkit.facts import FACTS

SCENARIO_NAMES = (
    "ubuntu1404-upstart-lightdm",
    "ubuntu1604-gtx-nouveau",
    "ubuntu2204-two-gpus-cuda118",
    "ubuntu2204-driver-mismatch",
    "wsl2-ubuntu2204",
    "centos7-no-avx",
    "laptop-hybrid-secureboot",
)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_scenario_gives_its_expected_facts(name, scenario, facts_of):
    folder = scenario(name)
    expected = json.loads((folder / "expected_facts.json").read_text())
    assert set(expected) == set(FACTS), "expected_facts.json must name every registered fact"
    found = facts_of(folder)
    wrong = {key: (found[key], expected[key]) for key in FACTS if found[key] != expected[key]}
    assert not wrong, f"(found, expected) for {name}: {wrong}"
