"""driver.cuda-compat judges the driver against the toolkit's release in full where the toolkit states it: a CUDA
update may need a newer driver than its GA (the cuda_driver table's X.Y.Z rows)."""

from __future__ import annotations

import pytest

from tests.helpers.doctor import facts_with, verdict
from tests.helpers.scenarios import snapshot_facts

ON_580_82 = {"gpu__count": 1, "driver__version": "580.82.07", "driver__cuda_max": "13.0"}


def test_cuda_13_0_update_2_on_a_driver_older_than_its_own_minimum_warns():
    finding = verdict("driver.cuda-compat", facts_with(**ON_580_82, cuda__toolkit_version="13.0",
                                                       cuda__toolkit_release="13.0.2"))
    assert finding.status == "warn"
    assert finding.message == (
        "CUDA toolkit 13.0.2 needs driver 580.95.05 or newer; driver 580.82.07 is older, so it runs only through "
        "minor-version compatibility, with a limited feature set.")
    assert finding.fix["text"] == "Upgrade the driver to 580.95.05 or newer."


@pytest.mark.parametrize("release", ["13.0", "13.0.0", "13.0.1", None])
def test_cuda_13_0_ga_and_update_1_pass_on_the_same_driver(release):
    # GA needs 580.65.06, Update 1 580.82.07; without a stated release the X.Y is read as the GA
    finding = verdict("driver.cuda-compat", facts_with(**ON_580_82, cuda__toolkit_version="13.0",
                                                       cuda__toolkit_release=release))
    assert finding.status == "pass", finding.message
    assert f"(toolkit: {release or '13.0'};" in finding.message


def test_without_nvidia_smi_the_driver_cuda_comes_from_the_table_and_the_update_still_warns():
    facts = facts_with(**{**ON_580_82, "driver__cuda_max": None}, cuda__toolkit_version="13.0",
                       cuda__toolkit_release="13.0.2")
    assert verdict("driver.cuda-compat", facts).status == "warn"


def test_an_update_the_table_folds_into_its_ga_judges_by_the_ga():
    # 12.4 needs 550.54.14 and 12.4.1 550.54.15; 12.3.2 has no row of its own: 12.3's 545.23.06
    on_550_54_14 = {"gpu__count": 1, "driver__version": "550.54.14", "driver__cuda_max": "12.4"}
    update = verdict("driver.cuda-compat", facts_with(**on_550_54_14, cuda__toolkit_version="12.4",
                                                      cuda__toolkit_release="12.4.1"))
    assert update.status == "warn" and "needs driver 550.54.15" in update.message
    folded = verdict("driver.cuda-compat", facts_with(**on_550_54_14, cuda__toolkit_version="12.3",
                                                      cuda__toolkit_release="12.3.2"))
    assert folded.status == "pass", folded.message


def test_a_newer_major_still_fails_and_its_fix_names_the_release_minimum():
    facts = facts_with(gpu__count=1, driver__version="575.57.08", driver__cuda_max="12.9",
                       cuda__toolkit_version="13.0", cuda__toolkit_release="13.0.2")
    finding = verdict("driver.cuda-compat", facts)
    assert finding.status == "fail"
    assert finding.fix["text"].startswith("Upgrade the driver to 580.95.05 or newer (CUDA 13.0.2's minimum)")


def test_the_pascal_scenario_has_update_2_on_its_driver_and_passes():
    finding = verdict("driver.cuda-compat", snapshot_facts("ubuntu2204-gtx1080ti-cuda13"))
    assert finding.status == "pass"
    assert finding.message.startswith("Driver 580.95.05 supports CUDA up to 13.0 (toolkit: 13.0.2;")
