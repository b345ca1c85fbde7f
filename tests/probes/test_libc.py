"""The libc probe: the C library the interpreter runs on, from what the host records of its Python (python.json's
"libc", os.confstr on the live host), parsed without trust; a snapshot that does not record it gives unknown."""

from __future__ import annotations

import os

import pytest

from setupkit.host.live import current_libc
from setupkit.probes import read_facts
from setupkit.probes.libc import parse_libc
from tests.helpers.scenarios import make_variant, snapshot_facts


@pytest.mark.parametrize(("text", "expected"), [
    ("glibc 2.35", ("glibc", "2.35")),
    ("glibc 2.17", ("glibc", "2.17")),
    ("  glibc 2.39\n", ("glibc", "2.39")),
    ("musl", ("musl", None)),
    ("glibc", (None, None)),
    ("glibc 2.x", (None, None)),
    ("uclibc 1.0", (None, None)),
    ("glibc " + "9" * 500 + ".1", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
    (["glibc 2.35"], (None, None)),
    (2.35, (None, None)),
])
def test_parse_libc(text, expected):
    assert parse_libc(text) == expected


def test_the_live_host_names_its_glibc_without_running_a_program():
    if not hasattr(os, "confstr") or not os.confstr("CS_GNU_LIBC_VERSION"):
        pytest.skip("this interpreter does not run on glibc")
    family, version = parse_libc(current_libc())
    assert family == "glibc" and version == os.confstr("CS_GNU_LIBC_VERSION").split()[1]


def test_scenarios_carry_their_release_glibc():
    assert (snapshot_facts("ubuntu2204-two-gpus-cuda118")["libc.version"],
            snapshot_facts("centos7-no-avx")["libc.version"],
            snapshot_facts("ubuntu1404-upstart-lightdm")["libc.version"]) == ("2.35", "2.17", "2.19")


def test_a_snapshot_without_the_record_is_unknown_and_a_hostile_one_too(tmp_path):
    assert snapshot_facts("h100")["libc.family"] is None  # captured before python.json named the C library
    for index, value in enumerate((None, ["glibc 2.35"], {"family": "glibc"}, "glibc 2.35; rm -rf /")):
        folder = make_variant("laptop-hybrid-secureboot", tmp_path / f"v{index}", "python.json",
                              lambda python, value=value: python.update(libc=value))
        facts = read_facts(str(folder))
        assert (facts["libc.family"], facts["libc.version"]) == (None, None), value
    musl = make_variant("laptop-hybrid-secureboot", tmp_path / "musl", "python.json",
                        lambda python: python.update(libc="musl"))
    assert read_facts(str(musl))["libc.family"] == "musl"
