"""The playbooks parse, pass ansible-lint's production profile, and their helpers (report filters, the source
packer) behave."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile

import pytest

PLAYBOOK_NAMES = ("doctor.yml", "provision.yml", "smoke.yml")


def load_module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("playbook", PLAYBOOK_NAMES)
def test_syntax_check(playbook, tmp_path, fleet):
    result = subprocess.run(["ansible-playbook", "-i", "localhost,", "--syntax-check", str(fleet.PLAYBOOKS / playbook)],
                            capture_output=True, text=True, timeout=120, env=fleet.env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_ansible_lint_production_profile(tmp_path, fleet):
    result = subprocess.run(["ansible-lint", "--nocolor", "--profile", "production", "playbooks/"],
                            capture_output=True, text=True, timeout=300, cwd=fleet.REPO, env=fleet.env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def filters(fleet):
    return load_module(fleet.ROLE / "filter_plugins" / "setupkit_reports.py")


DOCTOR = {"schema": "setupkit-doctor/1", "status": "fail",
          "facts": {"os.pretty_name": "Ubuntu 24.04.3 LTS", "gpu.count": 2, "gpu.names": ["NVIDIA H100 80GB HBM3"] * 2,
                    "driver.version": "580.95.05", "driver.cuda_max": "13.0", "cuda.toolkit_version": None},
          "findings": [{"id": "nouveau.loaded", "status": "fail"}, {"id": "cuda.toolkit", "status": "warn"},
                       {"id": "driver.loaded", "status": "pass"}]}


def test_summary_names_the_failing_checks_only(filters):
    line = filters.setupkit_summary(DOCTOR, "gpu01")
    assert line == ("gpu01: doctor fail; Ubuntu 24.04.3 LTS; GPUs 2 x NVIDIA H100 80GB HBM3; driver 580.95.05; "
                    "CUDA 13.0; failing: nouveau.loaded")


def test_gpu_count_gates_on_an_integer_only(filters):
    assert filters.setupkit_gpu_count(DOCTOR) == 2
    assert filters.setupkit_gpu_count({"facts": {"gpu.count": None}}) == 0
    assert filters.setupkit_gpu_count({}) == 0


def test_json_filter_turns_non_json_into_an_empty_document(filters):
    assert filters.setupkit_json('{"schema": "x"}') == {"schema": "x"}
    assert filters.setupkit_json("Usage: setupkit [OPTIONS]") == {}
    assert filters.setupkit_json("") == {} and filters.setupkit_json(None) == {} and filters.setupkit_json("[1]") == {}


def test_fleet_table_reads_reports_by_schema_and_aligns_columns(filters, tmp_path):
    import json
    (tmp_path / "gpu01.json").write_text(json.dumps(DOCTOR))
    (tmp_path / "cpu01.json").write_text(json.dumps({"schema": "setupkit-doctor/1", "status": "pass",
                                                     "facts": {"gpu.count": 0}, "findings": []}))
    (tmp_path / "gpu01-smoke.json").write_text(json.dumps({"schema": "setupkit-smoke-test/1", "status": "pass",
                                                           "backend": "tensorflow", "devices": ["GPU:0"],
                                                           "images_per_sec": 41234.5}))
    (tmp_path / "broken.json").write_text("not json")
    doctors = filters.setupkit_load_reports(str(tmp_path), "setupkit-doctor/1")
    assert sorted(doctors) == ["cpu01", "gpu01"]
    table = filters.setupkit_fleet_table(doctors)
    assert table[0].split() == ["host", "os", "gpus", "driver", "cuda", "status", "failing", "checks"]
    assert table[2].split()[:2] == ["cpu01", "-"] and table[3].startswith("gpu01")
    assert table[3].rstrip().endswith("nouveau.loaded")
    smokes = filters.setupkit_load_reports(str(tmp_path), "setupkit-smoke-test/1")
    assert list(smokes) == ["gpu01"]
    assert "4.123e+04" in filters.setupkit_smoke_table(smokes)[2]


def test_smoke_summary_counts_identical_devices(filters):
    gpu = {"type": "GPU", "name": "NVIDIA H100 80GB HBM3", "index": 0}
    smoke = {"status": "pass", "backend": "tensorflow", "devices": [gpu, {**gpu, "index": 1}],
             "dataset": {"source": "cifar-10-python"}, "images_per_sec": 42000.0, "loss_first": 2.3,
             "loss_last": 1.2, "test_accuracy": 0.41}
    assert filters.setupkit_smoke_summary(smoke, "gpu01") == (
        "gpu01: smoke test pass on tensorflow 2 x GPU NVIDIA H100 80GB HBM3; cifar-10-python data; "
        "4.2e+04 images/s; loss 2.3>1.2; test accuracy 0.41")


def pack(role, tmp_path, name, source):
    out = tmp_path / name
    result = subprocess.run([sys.executable, str(role / "files" / "pack_source.py"), str(source), str(out),
                             "pyproject.toml", "src", "missing-is-ignored"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return out


def test_pack_source_is_reproducible_and_leaves_caches_out(tmp_path, fleet):
    source = tmp_path / "project"
    (source / "src" / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    (source / "src" / "pkg" / "__init__.py").write_text("")
    (source / "src" / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    (source / "src" / "pkg" / "link").symlink_to("../../pyproject.toml")
    first = pack(fleet.ROLE, tmp_path, "a.tar.gz", source)
    (source / "src" / "pkg" / "__init__.py").touch()  # a new mtime alone must not change the archive
    second = pack(fleet.ROLE, tmp_path, "b.tar.gz", source)
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        names = tar.getnames()
        assert tar.getmember("src/pkg/link").issym()
    assert names == ["pyproject.toml", "src", "src/pkg", "src/pkg/__init__.py", "src/pkg/link"]


def test_pack_source_refuses_a_folder_that_is_no_python_project(tmp_path, fleet):
    result = subprocess.run([sys.executable, str(fleet.ROLE / "files" / "pack_source.py"), str(tmp_path),
                             str(tmp_path / "out.tar.gz"), "src"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "set setupkit_source" in result.stderr
