"""doctor's os.supported and the install planner judge a release's end of life from one table
(knowledge/distributions.yaml): whatever the planner warns is end-of-life, doctor warns too, and a release the
table does not list passes both."""

from __future__ import annotations

import pytest

from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.knowledge.distributions import distributions
from tests.helpers.doctor import verdict
from tests.helpers.install import cpu_facts

# A release of each end-of-life row, as os-release names it (a RHEL-family row by a rebuild's point release).
RELEASES = {("ubuntu", "14.04"): "ubuntu", ("ubuntu", "16.04"): "ubuntu", ("ubuntu", "18.04"): "ubuntu",
            ("ubuntu", "20.04"): "ubuntu", ("debian", "10"): "debian", ("debian", "11"): "debian",
            ("rhel", "7"): "centos", ("fedora", "42"): "fedora"}
POINT = {"centos": "7", "fedora": "42"}


def release_facts(os_id: str, version: str) -> dict:
    family = "rhel" if os_id in ("centos", "fedora", "rhel", "rocky") else "debian"
    return cpu_facts(**{"os.id": os_id, "os.family": family, "os.version_id": version,
                        "os.pretty_name": f"{os_id} {version}"})


def test_every_end_of_life_row_has_a_release_here():
    assert {(row.id, row.version) for row in distributions().end_of_life} == set(RELEASES)


@pytest.mark.parametrize(("row", "os_id"), RELEASES.items(), ids=[f"{i}-{v}" for i, v in RELEASES])
def test_doctor_warns_where_the_planner_warns(row, os_id):
    version = POINT.get(os_id, row[1])
    facts = release_facts(os_id, version)
    finding = verdict("os.supported", facts)
    assert finding.status == "warn" and "past its end of life" in finding.message
    plan = build_plan(facts, PlanOptions())
    assert any("is end-of-life" in warning for warning in plan.warnings), plan.warnings


@pytest.mark.parametrize(("os_id", "version"), [("ubuntu", "24.04"), ("ubuntu", "22.04"), ("debian", "12"),
                                                ("rocky", "9.4")])
def test_a_supported_release_passes_and_plans_without_warning(os_id, version):
    facts = release_facts(os_id, version)
    assert verdict("os.supported", facts).status == "pass"
    assert not any("end-of-life" in warning for warning in build_plan(facts, PlanOptions()).warnings)
