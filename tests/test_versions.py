"""setupkit.versions, the one version vocabulary: lenient parsing and comparing, one name a meaning, and the
typed CUDA release."""

from __future__ import annotations

import math

import pytest

from setupkit import versions
from setupkit.versions import CudaVersion


def test_versions_are_lenient():
    assert versions.compare("580.159.04", "580.65.06") == 1
    assert versions.compare("13.0", "13") == 0
    assert versions.compare("535.54.03-server", "535.54.03") == 0
    assert versions.compare("2.21.0rc1", "2.21.0") == -1
    assert versions.compare("n/a", "1") is None
    assert versions.major_minor("12.5.82") == "12.5"


def test_one_name_a_meaning():
    assert versions.major_minor("12.2.140") == "12.2" and versions.major_minor("13") == "13.0"
    assert versions.major_minor_pair("12.2.140") == (12, 2) and versions.major_minor_pair("13") == (13, 0)
    assert versions.major("535.183.01") == 535
    for nothing in (None, "", "n/a", ["12.2"], math.nan, True, "²", "١٢.٣", "9" * 5000):
        assert versions.major_minor(nothing) is None and versions.major_minor_pair(nothing) is None
        assert versions.major(nothing) is None


def test_at_least_and_same_release():
    assert versions.at_least("24.0", "19.3") and not versions.at_least("9.0.3", "19.3")
    assert not versions.at_least(None, "19.3")
    assert versions.same_release("2.21", "2.21.0") and not versions.same_release(None, None)


@pytest.mark.parametrize(("text", "branch"), [("535.183.01", 535), ("580.65.06", 580), ("99.1", None),
                                              ("1000.1", None), (None, None), ("x", None)])
def test_driver_branch(text, branch):
    assert versions.driver_branch(text) == branch


def test_cuda_versions_order_as_releases_and_print_as_x_y():
    assert CudaVersion.parse("12.5.82") == CudaVersion(12, 5) and str(CudaVersion(12, 5)) == "12.5"
    assert CudaVersion.parse("13") == CudaVersion(13, 0) and CudaVersion.parse("n/a") is None
    assert CudaVersion(12, 10) > CudaVersion(12, 9) > CudaVersion(11, 8)
    assert min(CudaVersion(12, 5), CudaVersion(12, 4)) == CudaVersion(12, 4)
    assert versions.dashed("12.5") == "12-5" and versions.dashed(None) == "0-0"
