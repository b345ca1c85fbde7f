"""cuda.toolkit_release: the toolkit's release in full (13.0.2 is 13.0 Update 2), as its version.json or
version.txt states it; nvcc --version tells only X.Y."""

from __future__ import annotations

import json

import pytest

from setupkit.probes import cuda
from tests.helpers.scenarios import snapshot_facts


def version_json(version: object) -> str:
    return json.dumps({"cuda": {"name": "CUDA SDK", "version": version},
                       "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "13.0.96"}}, indent=3) + "\n"


@pytest.mark.parametrize(("text", "release"), [
    (version_json("13.0.2"), "13.0.2"),
    (version_json("12.2"), "12.2"),
    ('{\r\n   "cuda" : {\r\n      "version" : "11.8.0"\r\n   }\r\n}\r\n', "11.8.0"),
    (version_json("13"), None),  # X.Y reads it as 13.0; it states no release
    (version_json("12.2.2-1"), None),
    (version_json("12.2.2.7"), None),
    (version_json(" 12.2.2"), None),
    (version_json("١٢.٢.٢"), None),  # Arabic-Indic digits are no version
    (version_json(13.0), None),
    (version_json(None), None),
    ('{"cuda": "13.0.2"}', None),
    ("[1]", None), ("", None), (None, None), ("{not json", None),
])
def test_release_from_version_json(text, release):
    assert cuda.parse_release_json(text) == release


@pytest.mark.parametrize(("text", "release"), [
    ("CUDA Version 10.1.243\n", "10.1.243"),
    ("CUDA Version 7.5.18\r\n", "7.5.18"),
    ("CUDA Version 9.0.176\nPatch 1\n", "9.0.176"),
    ("CUDA Version 10.0\n", "10.0"),
    ("CUDA Version 10.1.2431234\n", None),  # no release cut short
    ("CUDA Version 10.1.243.1\n", None),
    ("CUDA Version\n", None), ("", None), (None, None),
])
def test_release_from_version_txt(text, release):
    assert cuda.parse_release_txt(text) == release


def test_an_update_release_beside_its_major_minor(make_host):
    host = make_host(files={"/usr/local/cuda-13.0/version.json": version_json("13.0.2")},
                     links={"/usr/local/cuda": "/usr/local/cuda-13.0"})
    found = cuda.probe(host, {})
    assert found["cuda.toolkit_version"] == "13.0" and found["cuda.toolkit_release"] == "13.0.2"


def test_version_txt_before_cuda_11_1(make_host):
    host = make_host(files={"/usr/local/cuda-10.1/version.txt": "CUDA Version 10.1.243\n"})
    found = cuda.probe(host, {})
    assert found["cuda.toolkit_path"] == "/usr/local/cuda-10.1"
    assert found["cuda.toolkit_version"] == "10.1" and found["cuda.toolkit_release"] == "10.1.243"


def test_the_release_comes_from_the_file_that_gave_the_version(make_host):
    # version.json holds no version; version.txt does: both facts are version.txt's
    host = make_host(files={"/usr/local/cuda-12.4/version.json": '{"cuda": {}}',
                            "/usr/local/cuda-12.4/version.txt": "CUDA Version 12.4.1\n"})
    found = cuda.probe(host, {})
    assert found["cuda.toolkit_version"] == "12.4" and found["cuda.toolkit_release"] == "12.4.1"
    # version.json gives X.Y but no release of the plain form: version.txt is not read for one
    host = make_host(files={"/usr/local/cuda-12.4/version.json": version_json("12.4.1-beta"),
                            "/usr/local/cuda-12.4/version.txt": "CUDA Version 12.4.0\n"})
    found = cuda.probe(host, {})
    assert found["cuda.toolkit_version"] == "12.4" and found["cuda.toolkit_release"] is None


def test_only_nvcc_leaves_the_release_unknown(make_host):
    nvcc = "Cuda compilation tools, release 13.0, V13.0.88\nBuild cuda_13.0.r13.0/compiler.36424714_0\n"
    host = make_host(commands=[{"argv": ["nvcc", "--version"], "returncode": 0, "stdout": nvcc}],
                     dirs=["/usr/local/cuda-13.0/bin"])
    found = cuda.probe(host, {})
    assert found["cuda.toolkit_version"] == "13.0" and found["cuda.toolkit_release"] is None
    assert cuda.probe(make_host(), {})["cuda.toolkit_release"] is None


def test_the_scenarios_releases():
    assert snapshot_facts("ubuntu2204-gtx1080ti-cuda13")["cuda.toolkit_release"] == "13.0.2"
    assert snapshot_facts("ubuntu1404-upstart-lightdm")["cuda.toolkit_release"] == "7.5.18"
    assert snapshot_facts("ubuntu2204-two-gpus-cuda118")["cuda.toolkit_release"] == "11.8.0"
    assert snapshot_facts("h100")["cuda.toolkit_release"] is None  # nvcc only
