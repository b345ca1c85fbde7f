"""The TensorFlow wheels table (tensorflow_wheels.yaml): the rows say what PyPI lists, the questions give the pins
and floors a plan needs, a malformed table is refused in one line; and, with the network, the table matches the
index today."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from setupkit.knowledge import tensorflow_wheels
from setupkit.knowledge.loader import read_table
from setupkit.yamlio import CatalogError
from tests.helpers.network import index_files, require_index

GENERATOR = Path(__file__).with_name("build_tensorflow_wheels.py")


def test_rows_say_what_pypi_lists():
    newest = tensorflow_wheels.release("tensorflow", "2.21.0")
    assert newest.python == {"cp310", "cp311", "cp312", "cp313"}
    assert newest.platforms == ("manylinux_2_27_x86_64",)
    assert (newest.glibc_floor, newest.pip_floor, newest.platform_kinds) == ("2.27", "20.3", "manylinux_2_27")
    before = tensorflow_wheels.release("tensorflow", "2.20.0")
    assert (before.glibc_floor, before.pip_floor) == ("2.17", "19.3")  # manylinux2014 = manylinux_2_17
    assert (tensorflow_wheels.release("tensorflow", "2.3.1").glibc_floor,
            tensorflow_wheels.release("tensorflow", "2.3.1").pip_floor) == ("2.12", "19.0")
    last_cp34 = tensorflow_wheels.release("tensorflow-gpu", "1.14.0")
    assert "cp34" in last_cp34.python and (last_cp34.glibc_floor, last_cp34.pip_floor) == ("2.5", "8.1.0")
    assert "cp34" not in tensorflow_wheels.release("tensorflow-gpu", "2.0.0").python
    broken = tensorflow_wheels.release("tensorflow", "2.15.0")
    assert broken.and_cuda_fails == {"cp39", "cp310", "cp311"} and "tensorrt==8.6.1.post1" in broken.and_cuda_error
    assert tensorflow_wheels.releases("tensorflow-gpu")[0].version == "2.11.0"  # 2.12 is a refusing sdist


def test_newest_patch_release_per_minor():
    assert tensorflow_wheels.newest_release("tensorflow", "2.15", "3.10.12", extra="and-cuda").version == "2.15.1"
    assert tensorflow_wheels.newest_release("tensorflow", "2.15.0", "3.11").version == "2.15.1"
    assert tensorflow_wheels.newest_release("tensorflow", "2.3", "3.5.2").version == "2.3.1"  # 2.3.2+: no cp35
    assert tensorflow_wheels.newest_release("tensorflow-gpu", "2.0", "3.4.3") is None
    assert tensorflow_wheels.newest_release("tensorflow-gpu", "1.14", "3.4.3").version == "1.14.0"
    assert tensorflow_wheels.newest_release("tensorflow", "2.14", "3.11", extra="and-cuda") is None  # tensorrt
    assert tensorflow_wheels.newest_release("tensorflow", "2.14", "3.10", extra="and-cuda").version == "2.14.1"
    assert tensorflow_wheels.newest_release("tensorflow", "2.21", "3.12", glibc="2.23") is None
    assert tensorflow_wheels.newest_release("tensorflow", "2.21", "3.12", glibc="2.27").version == "2.21.0"
    assert tensorflow_wheels.newest_release("tensorflow", "2.21", None) is None


def test_the_questions_a_check_asks():
    assert tensorflow_wheels.newest_tensorflow_for("3.12.3") == "2.21.0"
    assert tensorflow_wheels.newest_tensorflow_for("3.12.3", "2.17") == "2.20.0"
    assert tensorflow_wheels.newest_tensorflow_for("3.8.10") == "2.13.1"
    assert tensorflow_wheels.newest_tensorflow_for("3.14.0") is None
    assert tensorflow_wheels.wheel_pip_floor("tensorflow", "2.21.0") == "20.3"
    assert tensorflow_wheels.wheel_glibc_floor("tensorflow-cpu", "2.21.0") == "2.27"
    assert tensorflow_wheels.wheel_tags("tensorflow", "2.20.0") == "manylinux2014/manylinux_2_17"
    # a hostile or unknown value is no answer, never an exception
    for project, version in ((["tensorflow"], "2.21.0"), ("tf-nightly", "2.22.0"), ("tensorflow", {"a": 1}),
                             (None, None)):
        assert tensorflow_wheels.wheel_pip_floor(project, version) is None
    assert tensorflow_wheels.newest_tensorflow_for(["3.12"]) is None


HEADER = 'sources: ["a source"]\nchecked: "2026-12-01"\n'
TAGS = 'platform_tags:\n  manylinux2014: {glibc: "2.17", pip: "19.3"}\n  manylinux_x_y: {pip: "20.3"}\n'
NO_FAILS = "and_cuda_fails: {}\n"
BAD_TABLES = {
    "no platform tags": (HEADER + "projects: {}\n" + NO_FAILS, "the table lacks the key 'platform_tags'"),
    "platform tags without PEP 600": (HEADER + 'platform_tags: {manylinux1: {glibc: "2.5", pip: "8.1"}}\n'
                                      "projects: {}\n" + NO_FAILS, "'platform_tags' must map"),
    "releases that are a list": (HEADER + TAGS + NO_FAILS + "projects:\n  tensorflow: [2.1.0]\n",
                                 "its releases must map a release"),
    "a python tag that is none": (HEADER + TAGS + NO_FAILS + 'projects:\n  tensorflow:\n    "2.1.0": "py3; '
                                  'manylinux2014_x86_64"\n', "must list CPython tags"),
    "a platform the table does not know": (HEADER + TAGS + NO_FAILS + 'projects:\n  tensorflow:\n    "2.1.0": '
                                           '"cp38; win_amd64"\n', "platform tags must be manylinux ones"),
    "no platform tags at all": (HEADER + TAGS + NO_FAILS + 'projects:\n  tensorflow:\n    "2.1.0": "cp38"\n',
                                "must be '<CPython tags>; <platform tags>'"),
    "a release that is no version": (HEADER + TAGS + NO_FAILS + 'projects:\n  tensorflow:\n    "new": "cp38; '
                                     'manylinux2014_x86_64"\n', "a release must be a version"),
    "an extra without its reason": (HEADER + TAGS + 'projects: {}\nand_cuda_fails:\n  "2.15.0": {python: [cp310]}\n',
                                    "'error' must be a non-empty string"),
}


@pytest.mark.parametrize(("text", "words"), BAD_TABLES.values(), ids=BAD_TABLES)
def test_a_malformed_table_is_refused_in_one_line(tmp_path, text, words):
    path = tmp_path / "table.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as caught:
        tensorflow_wheels.parse_wheels(read_table(path))
    assert "\n" not in caught.value.message and words in caught.value.message, caught.value.message


@pytest.mark.network
@pytest.mark.parametrize("project", ["tensorflow", "tensorflow-gpu", "tensorflow-cpu"])
def test_the_wheels_table_matches_the_index(project, monkeypatch):
    """The rows against PyPI's file list today, read by the generator's own reader: a release or a wheel added or
    removed since the table was written shows here (run tests/knowledge/build_tensorflow_wheels.py again)."""
    require_index()
    spec = importlib.util.spec_from_file_location("build_tensorflow_wheels", GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, generator)  # its dataclasses look their module up there
    spec.loader.exec_module(generator)
    live = generator.linux_releases(index_files(project))
    table = {row.version: row for row in tensorflow_wheels.releases(project)}
    assert {str(version) for version in live} == set(table)
    for version, release in live.items():
        row = table[str(version)]
        assert (set(row.python), set(row.platforms)) == (release.python, release.platforms), version
