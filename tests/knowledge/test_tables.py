"""The knowledge tables: every one loads into typed rows, names its sources and the date checked, answers the
questions the verbs ask as the quoted sources say, and a malformed or hostile table is refused in one line."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest

from setupkit.knowledge import (
    cuda,
    cudnn_packages,
    distributions,
    driver_branches,
    framework_wheels,
    gpus,
    loader,
    measure_references,
    pci_ids,
    reference_speeds,
    rpm_releases,
    tensorflow,
    tensorflow_wheels,
    xid_errors,
)
from setupkit.knowledge.loader import TABLES_DIR, load_table, read_table
from setupkit.versions import CudaVersion
from setupkit.yamlio import CatalogError

PARSERS = {
    "tensorflow_builds": tensorflow.parse_builds,
    "cuda_driver": cuda.parse_drivers,
    "gpu_generations": gpus.parse_gpus,
    "nvidia_pci_ids": pci_ids.parse_pci_table,
    "distributions": distributions.parse_distributions,
    "reference_speeds": reference_speeds.parse_speeds,
    "tensorflow_wheels": tensorflow_wheels.parse_wheels,
    "driver_branches": driver_branches.parse_branches,
    "rpm_releases": rpm_releases.parse_rpm_releases,
    "cudnn_packages": cudnn_packages.parse_cudnn_packages,
    "framework_wheels": framework_wheels.parse_framework_wheels,
    "xid_errors": xid_errors.parse_xid_errors,
    "measure_references": measure_references.parse_references,
}
"""Each table and the parser that turns it into rows."""


# -- every table -------------------------------------------------------------------------------------------------

def test_every_table_file_has_its_parser():
    assert {path.stem for path in TABLES_DIR.glob("*.yaml")} == set(PARSERS)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_table_names_its_sources_and_the_date_checked(name):
    table = load_table(name)
    assert table.sources and all(source.strip() for source in table.sources)
    raw = (TABLES_DIR / f"{name}.yaml").read_text()
    assert "\nsources:\n" in raw and "\nchecked:" in raw
    if table.checked is not None:
        datetime.date.fromisoformat(table.checked)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_table_loads_into_frozen_rows(name):
    parsed = PARSERS[name](load_table(name))
    for row in parsed if isinstance(parsed, tuple) else (parsed,):
        assert dataclasses.is_dataclass(row)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(row, dataclasses.fields(row)[0].name, None)


def test_a_table_is_read_once():
    assert load_table("cuda_driver") is load_table("cuda_driver")
    assert tensorflow.tensorflow_builds() is tensorflow.tensorflow_builds()


def test_rows_are_typed():
    build = tensorflow.tested_build("2.20.0")
    assert isinstance(build, tensorflow.TensorFlowBuild) and build.cuda == CudaVersion(12, 5)
    # the 2.20.0 wheel's Requires-Dist: a floor and a cap, not a pin
    assert build.and_cuda["nvidia-cudnn-cu12"] == ">=9.3.0.75,<10.0" and build.pip_brings_cuda
    assert all(isinstance(row.release, CudaVersion) for row in cuda.cuda_drivers().toolkits)
    assert all(isinstance(row.first_cuda, CudaVersion) for row in gpus.gpu_table().generations)
    assert distributions.end_of_life("ubuntu", "16.04").cuda_max == CudaVersion(11, 3)


# -- the questions, answered as before ---------------------------------------------------------------------------

def test_cuda_driver_queries():
    assert cuda.min_driver_for_cuda("12.2") == "535.54.03"
    assert cuda.min_driver_for_cuda("12.8.1") == "570.124.06"
    assert cuda.min_driver_for_cuda("11.2.2") == "460.32.03"
    assert cuda.min_driver_for_cuda(CudaVersion(12, 5)) == "555.42.02"
    assert cuda.min_driver_for_cuda("99.0") is None and cuda.min_driver_for_cuda(None) is None
    assert cuda.supported_cuda_for_driver("535.54.03") == CudaVersion(12, 2)
    assert cuda.supported_cuda_for_driver("535.183.01") == CudaVersion(12, 2)
    assert cuda.supported_cuda_for_driver("580.159.04") == CudaVersion(13, 0)
    assert cuda.supported_cuda_for_driver("300.1") is None and cuda.supported_cuda_for_driver(None) is None
    assert cuda.cuda_max_for_branch(418) == CudaVersion(10, 1)
    assert cuda.minor_compat_driver("12.4") == "525.60.13"
    assert cuda.minor_compat_driver(CudaVersion(13, 0)) == "580" and cuda.minor_compat_driver("x") is None
    known = cuda.known_cuda_releases()
    assert (known[0], known[-1]) == (CudaVersion(7, 0), CudaVersion(13, 3)) and list(known) == sorted(known)


# Table 3 of the CUDA 13.2 release notes (and 13.3's for 13.2 Update 1 and 13.3): a release's GA row by X.Y, the
# updates whose driver differs by their full version, any other update read as its release's GA.
@pytest.mark.parametrize(("toolkit", "driver"), [
    ("13.0", "580.65.06"), ("13.0.0", "580.65.06"), ("13.0.1", "580.82.07"), ("13.0.2", "580.95.05"),
    ("13.1", "590.44.01"), ("13.1.1", "590.48.01"), ("13.2", "595.45.04"), ("13.2.1", "595.58.03"),
    ("13.3", "610.43.02"), ("13.3.1", "610.43.02"), ("12.9.1", "575.57.08"), ("12.8", "570.26"),
    ("12.6.1", "560.35.03"), ("12.6.2", "560.35.03"), ("12.6.3", "560.35.05"), ("12.5.1", "555.42.06"),
    ("12.4.1", "550.54.15"), ("12.4.131", "550.54.14"), ("12.3.1", "545.23.08"), ("12.3.2", "545.23.06"),
    ("12.2.1", "535.86.09"), ("12.2.2", "535.104.05"), ("12.1.1", "530.30.02"), ("12.0.1", "525.85.12"),
    ("11.7.1", "515.48.07"), ("11.6.2", "510.47.03"), ("11.4.4", "470.82.01"), ("11.4.2", "470.57.02"),
    ("11.1.1", "455.32"), ("11.0.3", "450.51.06"), ("11.0.2", "450.51.05"), ("9.2.148", "396.37"),
    ("9.2", "396.26"),
])
def test_cuda_update_rows(toolkit, driver):
    assert cuda.min_driver_for_cuda(toolkit) == driver


def test_update_rows_do_not_move_what_a_driver_serves():
    # 580.65.06 meets 13.0 GA, not Update 2: it still serves CUDA 13.0, and the branch up to date serves 13.0 too
    assert cuda.supported_cuda_for_driver("580.65.06") == CudaVersion(13, 0)
    assert cuda.supported_cuda_for_driver("610.43.02") == CudaVersion(13, 3)
    assert cuda.cuda_max_for_branch(580) == CudaVersion(13, 0) and cuda.cuda_max_for_branch(595) == CudaVersion(13, 2)
    assert cuda.min_driver_for_cuda("13.4") is None  # released, but its driver cell is not in the table
    assert len({row.cuda for row in cuda.cuda_drivers().toolkits}) == len(cuda.cuda_drivers().toolkits)


def test_tensorflow_queries():
    assert tensorflow.latest_tensorflow() == "2.21.0"
    build = tensorflow.tested_build("2.15.1")
    assert (build.python, build.cuda, build.cudnn) == ("3.9-3.11", CudaVersion(12, 2), "8.9")
    assert tensorflow.tested_build("3.0") is None and tensorflow.tested_build(None) is None
    assert tensorflow.python_range("2.21") == ("3.10", "3.13")
    assert tensorflow.python_supported("2.21.0", "3.9.18") is False
    assert tensorflow.python_supported("2.20.0", "3.9.18") is True
    assert tensorflow.python_supported("2.20.0", None) is None and tensorflow.python_supported("9.9", "3.12") is None
    assert tensorflow.pip_minimum() == "19.3"
    old = tensorflow.tested_build("2.1.0")
    assert old.python == "2.7, 3.5-3.7" and tensorflow.python_range("2.1") == ("2.7", "3.7")
    assert old.runs_on("2.7.18") and old.runs_on("3.7.1") and not old.runs_on("3.4.3") and not old.runs_on("3.8")
    assert tensorflow.tested_build("1.12.0").python == "2.7, 3.3-3.6"
    assert not tensorflow.tested_build("2.2.0").runs_on("2.7.18")
    builds = tensorflow.tensorflow_builds()
    assert builds[0].version == "2.21.0" and [b.cuda for b in builds if b.version == "2.14.0"] == [CudaVersion(11, 8)]
    assert not tensorflow.tested_build("2.13").pip_brings_cuda and tensorflow.tested_build("2.14").pip_brings_cuda
    assert not tensorflow.tested_build("2.0").gpu_in_main_package and tensorflow.tested_build("2.1").gpu_in_main_package
    assert not tensorflow.tested_build("1.15").gpu_in_main_package


def test_tables_match_the_reference_rows():
    # rows of tensorflow/docs site/en/install/source.md ("Tested build configurations") and of the CUDA release
    # notes (Table 3), as published
    rows = {"2.21.0": ("3.10-3.13", "9.3", "12.5"), "2.17.0": ("3.9-3.12", "8.9", "12.3"),
            "2.14.0": ("3.9-3.11", "8.7", "11.8"), "2.10.0": ("3.7-3.10", "8.1", "11.2")}
    for tf, (python, cudnn, cuda_version) in rows.items():
        build = tensorflow.tested_build(tf)
        assert (build.python, build.cudnn, str(build.cuda)) == (python, cudnn, cuda_version)
    for cuda_version, driver in {"11.8": "520.61.05", "12.4": "550.54.14", "12.5": "555.42.02",
                                 "13.0": "580.65.06", "13.2": "595.45.04", "10.2": "440.33"}.items():
        assert cuda.min_driver_for_cuda(cuda_version) == driver


# NVIDIA's CUDA Toolkit, Driver, and Architecture Matrix: first toolkit (Fermi 3.0, Kepler 6.0, Maxwell 6.5 ...),
# last toolkit (Fermi 8.0, Kepler 3.0/3.2 10.2, 3.5/3.7 11.x, Maxwell/Pascal/Volta 12.x) and last driver (R390,
# R470, R580); sm_86 came with CUDA 11.1, sm_103 and sm_121 with 12.9 (CUDA Features Archive).
@pytest.mark.parametrize(("cc", "name", "last_branch", "first_cuda", "dropped"), [
    (1.0, "Fermi", 390, "3.0", "9.0"), (2.1, "Fermi", 390, "3.0", "9.0"), (3.0, "Kepler", 470, "6.0", "11.0"),
    (3.5, "Kepler", 470, "6.0", "12.0"), (3.7, "Kepler", 470, "6.0", "12.0"), (5.0, "Maxwell", 580, "6.5", "13.0"),
    (5.2, "Maxwell", 580, "6.5", "13.0"), (6.1, "Pascal", 580, "8.0", "13.0"), (7.0, "Volta", 580, "9.0", "13.0"),
    (7.5, "Turing", None, "10.0", None), (8.0, "Ampere", None, "11.0", None), (8.6, "Ampere", None, "11.1", None),
    (8.9, "Ada", None, "11.8", None), (9.0, "Hopper", None, "11.8", None), (10.0, "Blackwell", None, "12.8", None),
    (10.3, "Blackwell", None, "12.9", None), (12.0, "Blackwell", None, "12.8", None),
    (12.1, "Blackwell", None, "12.9", None),
])
def test_gpu_generations(cc, name, last_branch, first_cuda, dropped):
    generation = gpus.generation_of(cc)
    assert generation.name == name and generation.architecture == name.lower()
    assert gpus.last_branch_for(cc) == last_branch
    assert gpus.first_cuda_for(cc) == CudaVersion.parse(first_cuda)
    assert generation.cuda_dropped == CudaVersion.parse(dropped)
    assert generation.first_branch == (570 if name == "Blackwell" else None)


def test_gpu_names_and_open_modules():
    assert gpus.last_branch_for(None) is None and gpus.first_cuda_for(None) is None
    assert gpus.compute_capability_from_name("NVIDIA GeForce RTX 4090") == 8.9
    assert gpus.compute_capability_from_name("NVIDIA H100 80GB HBM3") == 9.0
    assert gpus.compute_capability_from_name("nvidia b200") == 10.0
    assert gpus.compute_capability_from_name("Tesla K80") == 3.7  # GK210 (NVIDIA's legacy CUDA GPUs page)
    assert gpus.compute_capability_from_name("Matrox G200") is None and gpus.compute_capability_from_name(7) is None
    modules = gpus.open_kernel_modules()
    assert (modules.min_compute_capability, modules.required_from_compute_capability,
            modules.default_from_branch) == (7.5, 10.0, 560)


def test_distributions():
    assert distributions.end_of_life("ubuntu", "14.04") == distributions.EndOfLife(
        "ubuntu", "14.04", CudaVersion(10, 1), 418, "CUDA 10.1 was the last release for Ubuntu 14.04",
        apt_https_transport=True)
    assert distributions.end_of_life("rhel", "7").branch == 550
    assert distributions.end_of_life("debian", "10").cuda_max is None
    assert distributions.end_of_life("ubuntu", "24.04") is None
    assert distributions.rhel_like() == {"rhel", "centos", "rocky", "almalinux", "ol", "fedora"}
    assert distributions.default_branch() == 580


def test_reference_speeds():
    assert reference_speeds.cpu_reference().images_per_sec == 770
    assert reference_speeds.gpu_reference("NVIDIA H100 80GB HBM3").device_class == "h100"
    assert reference_speeds.gpu_reference("NVIDIA GeForce GTX 1080 Ti").images_per_sec == 2200
    assert reference_speeds.gpu_reference("Tesla K40c").device_class == "k40"
    assert reference_speeds.gpu_reference("NVIDIA RTX A6000") is None
    assert reference_speeds.unlisted_gpu_reference().device_class == "gtx-1080-ti"
    assert reference_speeds.gpu_to_cpu_ratio() == 2.9


# -- malformed and hostile tables --------------------------------------------------------------------------------

HEADER = 'sources: ["a source"]\nchecked: null\n'
TOOLKITS = 'minor_compat: {"12": "525.60.13"}\ntoolkits:\n  - {cuda: "12.2", driver: "535.54.03"}\n'
BAD_TABLES = {
    # name: (file text, parser or None for the loader alone, words of the one line)
    "not YAML": ("[1, 2", None, "not valid catalog YAML"),
    "not a mapping": ("- 1\n- 2\n", None, "a knowledge table is a mapping, not a list of 2 items"),
    "no sources": ("checked: null\n" + TOOLKITS, None, "'sources' is missing"),
    "no date checked": ('sources: ["a"]\n' + TOOLKITS, None, "'checked' is missing"),
    "empty sources": ("sources: []\nchecked: null\n" + TOOLKITS, None, "'sources' must be a non-empty list"),
    "a date that is none": ('sources: ["a"]\nchecked: 2024-13-45\n' + TOOLKITS, None, "'checked' must be a date"),
    "a python tag": (HEADER + "toolkits: !!python/object/apply:os.system [touch pwned]\n", None,
                     "the tag !!python/object/apply:os.system is not allowed"),
    "an alias bomb": (HEADER + 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]\n'
                      + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
                                f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
                                f" *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8)), None, "more than 50,000"),
    "a duplicate key": (HEADER + TOOLKITS + 'minor_compat: {}\n', None, "duplicate key 'minor_compat'"),
    "a row without its driver": (HEADER + 'minor_compat: {}\ntoolkits:\n  - {cuda: "12.2"}\n', cuda.parse_drivers,
                                 "toolkit 1: 'driver' must be a non-empty string, not None"),
    "a row that is no mapping": (HEADER + "minor_compat: {}\ntoolkits: [12.2]\n", cuda.parse_drivers,
                                 "'toolkits' must be a list of mappings"),
    "a driver that is no version": (HEADER + 'minor_compat: {}\ntoolkits:\n  - {cuda: "12.2", driver: "new"}\n',
                                    cuda.parse_drivers, "toolkit 1: 'cuda' and 'driver' must be versions"),
    "a missing key": (HEADER + 'toolkits: []\n', cuda.parse_drivers, "the table lacks the key 'minor_compat'"),
    "a python range that is none": (HEADER + 'latest: "2.1"\nand_cuda_since: "2.14"\n'
                                    'gpu_in_main_package_since: "2.1"\nbuilds:\n  - {tensorflow: "2.1.0", '
                                    'python: "new", compiler: "GCC", bazel: "1", cudnn: "7", cuda: "10.1"}\n',
                                    tensorflow.parse_builds, "build 1: 'python' must be a range"),
    "python ranges that descend": (HEADER + 'latest: "2.1"\nand_cuda_since: "2.14"\n'
                                   'gpu_in_main_package_since: "2.1"\nbuilds:\n  - {tensorflow: "2.1.0", '
                                   'python: "3.5-3.7, 2.7", compiler: "GCC", bazel: "1", cudnn: "7", cuda: "10.1"}\n',
                                   tensorflow.parse_builds, "build 1: 'python' ranges must ascend"),
    "an and-cuda pin that is no specifier": (HEADER + 'latest: "2.1"\nand_cuda_since: "2.14"\n'
                                             'gpu_in_main_package_since: "2.1"\nbuilds:\n  - {tensorflow: "2.19.0", '
                                             'python: "3.9-3.12", compiler: "C", bazel: "1", cudnn: "9.3", cuda: '
                                             '"12.5", and_cuda: {nvidia-nccl-cu12: "2.23.4"}}\n',
                                             tensorflow.parse_builds, "must map distribution names to version"),
    "gpu code that is none": (HEADER + 'latest: "2.1"\nand_cuda_since: "2.14"\n'
                              'gpu_in_main_package_since: "2.1"\nbuilds:\n  - {tensorflow: "2.19.0", '
                              'python: "3.9-3.12", compiler: "C", bazel: "1", cudnn: "9.3", cuda: "12.5", '
                              'gpu_code: [sm_xx]}\n', tensorflow.parse_builds, "'gpu_code' must list sm_XY"),
    "a pattern that is none": (HEADER + "generations:\n  - {name: X, compute_capability: 1.0, first_cuda: '6.5'}\n"
                               "names:\n  - {pattern: '(', compute_capability: 1.0}\n"
                               "open_kernel_modules: {min_compute_capability: 7.5, "
                               "required_from_compute_capability: 10.0, default_from_branch: 560}\n",
                               gpus.parse_gpus, "name 1: 'pattern' is no regular expression"),
    "a speed of zero": (HEADER + "cpu: {device_class: cpu, images_per_sec: 0, source: s}\n"
                        "gpus: [{device_class: x, images_per_sec: 1, source: s}]\n"
                        "unlisted_gpu: x\ngpu_to_cpu_ratio: 2\n", reference_speeds.parse_speeds,
                        "cpu: 'images_per_sec' must be above 0"),
}


@pytest.mark.parametrize(("text", "parser", "words"), BAD_TABLES.values(), ids=BAD_TABLES)
def test_a_malformed_or_hostile_table_is_refused_in_one_line(tmp_path, text, parser, words):
    path = tmp_path / "table.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as caught:
        table = read_table(path)
        if parser is not None:
            parser(table)
    message = caught.value.message
    assert "\n" not in message and message.startswith(str(path)), message
    assert words in message, message
    assert caught.value.exit_code == 3
    assert not Path("pwned").exists() and not (tmp_path / "pwned").exists()


def test_a_special_file_is_refused_unread(tmp_path):
    with pytest.raises(CatalogError, match="cannot read"):
        read_table(Path("/dev/zero"))
    assert loader.TABLES_DIR.is_dir()
