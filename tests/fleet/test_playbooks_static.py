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


def test_smoke_table_aligns_columns(filters):
    smokes = {"gpu01": {"schema": "setupkit-smoke-test/1", "status": "pass", "backend": "tensorflow",
                        "devices": ["GPU:0"], "images_per_sec": 41234.5}}
    table = filters.setupkit_smoke_table(smokes)
    assert table[0].split()[:3] == ["host", "status", "backend"] and table[2].startswith("gpu01 ")
    assert "4.123e+04" in table[2]


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


def test_ansible_cfg_is_read_in_the_playbooks_folder(tmp_path, fleet):
    env = {k: v for k, v in fleet.env(tmp_path).items() if k not in ("ANSIBLE_RETRY_FILES_ENABLED",
                                                                      "ANSIBLE_STDOUT_CALLBACK")}
    result = subprocess.run(["ansible-config", "dump", "--only-changed", "-t", "all"], capture_output=True, text=True,
                            timeout=120, cwd=fleet.PLAYBOOKS, env=env)
    assert result.returncode == 0, result.stderr
    dump = result.stdout
    config = str(fleet.PLAYBOOKS / "ansible.cfg")
    for setting in ("DEFAULT_FORKS", "CACHE_PLUGIN", "RETRY_FILES_ENABLED"):
        assert f"{setting}({config})" in dump, dump
    assert f"_uri({config}) = {fleet.PLAYBOOKS / '.facts'}" in dump  # the fact cache stays under playbooks/
    assert f"result_format({config}) = yaml" in dump
    assert f"pipelining({config}) = True" in dump
    assert "ControlPersist=" in dump


def test_argument_specs_cover_every_entry_point_the_playbooks_use(fleet):
    import re

    import yaml

    specs = yaml.safe_load((fleet.ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    used = {"main"}
    for playbook in PLAYBOOK_NAMES:
        text = (fleet.PLAYBOOKS / playbook).read_text()
        used |= {m for block in re.findall(r"name: setupkit\n(\s+tasks_from: \w+)?", text) for m in
                 re.findall(r"tasks_from: (\w+)", block)}
    assert used <= set(specs), used - set(specs)
    defaults = yaml.safe_load((fleet.ROLE / "defaults" / "main.yml").read_text())
    for point, spec in specs.items():
        for name in spec["options"]:
            assert name in defaults or name in ("setupkit_reboot_command", "setupkit_boot_time_command"), (point, name)
