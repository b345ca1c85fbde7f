"""The `and_cuda` cells of tensorflow_builds.yaml against the real index: each release's wheel metadata (its
Requires-Dist for the and-cuda extra), read with pip for a Python 3.12 manylinux host (nothing is installed; pip
reads the wheel's metadata file)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from setupkit.knowledge import tensorflow
from tests.helpers.network import require_index

RELEASES = [build.version for build in tensorflow.tensorflow_builds() if build.and_cuda]


def and_cuda_requirements(release: str, tmp_path) -> dict[str, str]:
    """{distribution: specifier} of ``tensorflow==release``'s and-cuda extra, as the index's wheel writes it."""
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps", "--ignore-installed",
                    "--only-binary=:all:", "--python-version", "3.12", "--platform", "manylinux_2_27_x86_64",
                    "--platform", "manylinux2014_x86_64", "--target", str(tmp_path / "target"), "--report",
                    str(report), "--index-url", "https://pypi.org/simple/", f"tensorflow=={release}"],
                   check=True, capture_output=True, timeout=600)
    metadata = json.loads(report.read_text())["install"][0]["metadata"]
    found = {}
    for text in metadata.get("requires_dist", []):
        requirement = Requirement(text)
        if requirement.marker is not None and requirement.marker.evaluate({"extra": "and-cuda"}) and \
                not requirement.marker.evaluate({"extra": ""}):
            found[requirement.name] = str(requirement.specifier)
    return found


def test_the_table_names_the_requirements_of_the_cuda_12_5_releases():
    assert RELEASES == ["2.21.0", "2.20.0", "2.19.0", "2.18.0"]
    assert tensorflow.tested_build("2.19.0").and_cuda["nvidia-nccl-cu12"] == "==2.23.4"
    assert tensorflow.tested_build("2.20.0").and_cuda["nvidia-nccl-cu12"] == ">=2.25.1,<3.0"
    assert tensorflow.tested_build("2.18.0").and_cuda["nvidia-cuda-nvcc-cu12"] == "==12.5.82"


@pytest.mark.network
@pytest.mark.parametrize("release", RELEASES)
def test_and_cuda_matches_the_wheel_on_the_index(release, tmp_path):
    require_index()
    expected = {name: str(Requirement(f"{name}{spec}").specifier)
                for name, spec in tensorflow.tested_build(release).and_cuda.items()}
    assert and_cuda_requirements(release, tmp_path) == expected


def test_every_and_cuda_specifier_is_one_packaging_reads():
    """The table's loader checks a specifier's shape only (doctor reads the table on every run); pip's own
    parser must read each one as the same specifier."""
    from packaging.specifiers import SpecifierSet

    pins = [(build.version, name, text) for build in tensorflow.tensorflow_builds()
            for name, text in build.and_cuda.items()]
    assert pins
    for version, name, text in pins:
        assert str(SpecifierSet(text)) == str(SpecifierSet(text.replace(" ", ""))), (version, name, text)
