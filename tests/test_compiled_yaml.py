"""setupkit's own YAML files are read from the compiled form the wheel carries beside them (yamlio.load_yaml,
``shipped``), and only where that form was made from the very bytes of the YAML: an edited YAML, a broken or
foreign JSON, or a file that is not setupkit's own is read as YAML."""

from __future__ import annotations

import hashlib
import json

import build_tables
from setupkit import yamlio

YAML = "rules:\n  - {when: {fact: gpu.count, op: '==', value: 0}, status: skip}\nname: real\n"
DATA = {"rules": [{"when": {"fact": "gpu.count", "op": "==", "value": 0}, "status": "skip"}], "name": "real"}


def compiled_beside(tmp_path, data, source: bytes) -> None:
    digest = hashlib.sha256(source).hexdigest()
    (tmp_path / "checks.json").write_text(json.dumps({"sha256": digest, "data": data}))


def yaml_file(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(YAML)
    return path


def test_the_compiled_form_of_these_very_bytes_is_read(tmp_path):
    path = yaml_file(tmp_path)
    # A marker the YAML does not hold proves which form was read.
    compiled_beside(tmp_path, {"name": "from the compiled form"}, path.read_bytes())
    assert yamlio.load_yaml(path, shipped=True) == {"name": "from the compiled form"}


def test_a_yaml_edited_since_is_read_as_yaml(tmp_path):
    path = yaml_file(tmp_path)
    compiled_beside(tmp_path, {"name": "stale"}, b"the YAML as it was before")
    assert yamlio.load_yaml(path, shipped=True) == DATA


def test_a_file_that_is_not_setupkits_own_never_uses_one(tmp_path):
    """A --checks-dir file is read as YAML whatever lies beside it."""
    path = yaml_file(tmp_path)
    compiled_beside(tmp_path, {"name": "planted"}, path.read_bytes())
    assert yamlio.load_yaml(path) == DATA


def test_a_broken_or_foreign_compiled_form_is_ignored(tmp_path):
    path = yaml_file(tmp_path)
    for text in ("{not json", "[1, 2]", '{"data": {"name": "no hash"}}', "NaN", '{"sha256": 7}', "\x00" * 64):
        (tmp_path / "checks.json").write_text(text)
        assert yamlio.load_yaml(path, shipped=True) == DATA, text
    (tmp_path / "checks.json").unlink()
    (tmp_path / "checks.json").mkdir()  # a folder where the file would be
    assert yamlio.load_yaml(path, shipped=True) == DATA


def test_the_build_step_writes_what_the_strict_loader_reads(tmp_path):
    path = yaml_file(tmp_path)
    build_tables.compile_yaml(path, yamlio)
    compiled = json.loads((tmp_path / "checks.json").read_text())
    assert compiled == {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "data": DATA}
    assert yamlio.load_yaml(path, shipped=True) == DATA


def test_data_json_cannot_hold_as_it_is_keeps_no_compiled_form(tmp_path):
    path = tmp_path / "table.yaml"
    path.write_text("minor_compat:\n  13: '580'\n")  # an integer key: JSON would make it the text "13"
    build_tables.compile_yaml(path, yamlio)
    assert not (tmp_path / "table.json").exists()
    assert yamlio.load_yaml(path, shipped=True) == {"minor_compat": {13: "580"}}
