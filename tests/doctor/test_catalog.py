"""The catalog as a whole: every check loads and validates, ids are unique, facts are registered, and the loader
refuses what the schema does not allow (with one line naming the file), Python tags and code included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from setupkit import yamlio
from setupkit.doctor.catalog import STATUSES, catalog_dir, check_files, load_catalog, load_file, registered
from setupkit.doctor.conditions import OPERAND_KEYS
from setupkit.doctor.engine import evaluate_check
from setupkit.knowledge.loader import TABLES_DIR
from setupkit.yamlio import CatalogError
from tests.helpers.doctor import REQUIRED, builtin_checks, facts_with
from tests.helpers.scenarios import REPO

GOOD = """
checks:
  - id: site.driver-550
    section: Site policy
    title: Driver 550 or newer
    severity: high
    facts: [gpu.count, driver.version]
    rules:
      - when: {fact: driver.version, op: "<", value: "550", as: version}
        status: fail
        message: "Driver {driver.version} is older than 550."
    default: {status: pass, message: "Driver {driver.version} is recent enough."}
    fix: {text: "Upgrade the driver.", commands: ["sudo setupkit install --gpu"]}
"""


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_catalog_is_the_checkouts_checks_folder():
    # A wheel carries checks/ as setupkit/catalog (tests/test_packaging.py builds one); a checkout reads it in place.
    assert catalog_dir().resolve() == (REPO / "checks").resolve()
    assert len(check_files(catalog_dir())) >= 7


def test_every_required_check_exists_with_its_deep_pair():
    ids = set(builtin_checks())
    assert set(REQUIRED) <= ids
    assert {"tensorflow.import", "tensorflow.gpu-visible"} <= ids
    assert {i for i, c in builtin_checks().items() if c.deep} == {"tensorflow.import", "tensorflow.gpu-visible",
                                                                  "torch.imports", "torch.gpu-visible",
                                                                  "jax.imports", "jax.gpu-visible"}


def _fact_names(node):
    """Every fact name a condition or operand tree mentions."""
    if isinstance(node, dict):
        found = [node["fact"]] if isinstance(node.get("fact"), str) else []
        return found + [name for value in node.values() for name in _fact_names(value)]
    if isinstance(node, list):
        return [name for item in node for name in _fact_names(item)]
    return []


def test_every_fact_a_check_reads_is_registered_and_declared():
    for check in builtin_checks().values():
        assert check.facts, check.id
        read = _fact_names([rule.when for rule in check.rules]) + _fact_names(list(check.lets.values()))
        for name in [*check.facts, *read]:
            assert registered(name), f"{check.id} reads unregistered {name}"
        assert set(read) <= set(check.facts), check.id


def test_every_fail_carries_a_fix_and_references_are_urls():
    for check in builtin_checks().values():
        for outcome in check.outcomes():
            assert outcome.status in STATUSES
            if outcome.status == "fail":
                assert (outcome.fix or check.fix) is not None, check.id
        assert all(url.startswith("https://") for url in check.references)


NULL_IS_AN_ANSWER = {
    # facts whose null is a documented answer, not "unknown": an unset variable, a package not installed
    "env.cuda-visible-devices": "pass",  # env.cuda_visible_devices: null when unset
    "tensorflow.installed": "warn",  # tensorflow.version: from package metadata, null when not installed
}


def test_every_check_is_unknown_not_pass_when_nothing_is_known():
    for check in builtin_checks().values():
        finding = evaluate_check(check, facts_with())
        assert finding.status == NULL_IS_AN_ANSWER.get(check.id, "unknown"), (check.id, finding.message)


def test_duplicate_ids_are_refused(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(CatalogError, match=r"b\.yaml: duplicate check id 'site.driver-550'"):
        load_catalog([tmp_path])


def test_a_user_check_may_not_reuse_a_builtin_id(tmp_path):
    write(tmp_path, GOOD.replace("site.driver-550", "cpu.avx"))
    with pytest.raises(CatalogError, match="duplicate check id 'cpu.avx'"):
        load_catalog([tmp_path])


def test_the_good_example_loads(tmp_path):
    (check,) = load_file(write(tmp_path, GOOD))
    assert check.id == "site.driver-550"
    assert evaluate_check(check, facts_with(gpu__count=1, driver__version="535.54.03")).status == "fail"
    assert evaluate_check(check, facts_with(gpu__count=1, driver__version="1000.1")).status == "pass"


BAD = [
    ("unknown fact", ("driver.version]", "driver.versoin]"), "unknown fact 'driver.versoin'"),
    ("undeclared fact", ("facts: [gpu.count, driver.version]", "facts: [gpu.count]"),
     "missing from the check's 'facts'"),
    ("misspelt key", ("severity: high", "severty: high"), "unknown key 'severty'"),
    ("bad status", ("status: fail", "status: broken"), "status 'broken'"),
    ("bad op", ('op: "<"', 'op: "=~"'), "op '=~'"),
    ("bad id", ("id: site.driver-550", "id: Site Driver"), "id must be dotted"),
    ("bad severity", ("severity: high", "severity: urgent"), "severity 'urgent'"),
    ("fail without fix", ('    fix: {text: "Upgrade the driver.", commands: ["sudo setupkit install --gpu"]}\n', ""),
     "every fail carries one"),
    ("unknown placeholder", ("older than 550.", "older than {site_minimum}."), "placeholder {site_minimum}"),
    ("condition as a string", ('when: {fact: driver.version, op: "<", value: "550", as: version}',
                               'when: "driver.version < 550"'), "a condition must be a mapping"),
    ("function not allowed", ('when: {fact: driver.version, op: "<", value: "550", as: version}',
                              'when: {call: system, args: ["id"], op: "==", value: 0}'), "function 'system'"),
    ("eval key", ('when: {fact: driver.version, op: "<", value: "550", as: version}',
                  'when: {eval: "__import__(\'os\').system(\'id\')", op: "==", value: 0}'), "unknown key 'eval'"),
    ("as other than version", ('as: version}', 'as: python}'), "'as' can only be 'version'"),
    ("reference not https", ("    fix:", "    references: [ftp://example.org]\n    fix:"), "https://"),
]


@pytest.mark.parametrize(("change", "problem"), [(c, p) for _, c, p in BAD], ids=[n for n, _, _ in BAD])
def test_schema_errors_name_the_file_and_the_check(tmp_path, change, problem):
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(CatalogError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:"), message
    assert problem in message
    assert "\n" not in message


def test_a_python_tag_is_refused_and_never_built(tmp_path):
    marker = tmp_path / "pwned"
    text = GOOD.replace('value: "550"', f'value: !!python/object/apply:os.system ["touch {marker}"]')
    with pytest.raises(CatalogError, match="not valid catalog YAML"):
        load_file(write(tmp_path, text))
    assert not marker.exists()


def test_code_in_a_value_is_only_ever_a_string(tmp_path):
    marker = tmp_path / "pwned"
    code = f"__import__('os').system('touch {marker}')"
    text = GOOD.replace('value: "550", as: version', f'value: "{code}"').replace("older than 550.", "{driver.version}")
    (check,) = load_file(write(tmp_path, text))
    finding = evaluate_check(check, facts_with(gpu__count=1, driver__version=code))
    assert finding.status == "pass"  # the string equals itself as text; nothing ran
    assert not marker.exists()


def test_malformed_yaml_names_the_line(tmp_path):
    with pytest.raises(CatalogError, match=r"site\.yaml \(line \d+\): not valid catalog YAML"):
        load_file(write(tmp_path, "checks:\n  - id: [unclosed\n"))


def test_a_file_without_a_checks_list_is_refused(tmp_path):
    with pytest.raises(CatalogError, match="one key, 'checks'"):
        load_file(write(tmp_path, "- id: x.y\n"))


def test_readme_examples_behave_as_the_readme_says(tmp_path):
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "checks" / "README.md").read_text(), re.S)
    bad, good = blocks
    with pytest.raises(CatalogError, match="missing from the check's 'facts'"):
        load_file(write(tmp_path, bad, "bad.yaml"))
    (check,) = load_file(write(tmp_path, good, "good.yaml"))
    assert evaluate_check(check, facts_with(gpu__count=1, driver__version="580.159.04")).status == "pass"
    assert evaluate_check(check, facts_with(gpu__count=1, driver__version="535.54.03")).status == "fail"
    assert evaluate_check(check, facts_with(gpu__count=1)).status == "unknown"


def test_operand_keys_are_documented():
    readme = (REPO / "checks" / "README.md").read_text()
    for key in OPERAND_KEYS:
        assert f"`{key}:" in readme


# -- the loader's bounds (the CLI side of each class is in test_hostile_checks.py) -----------------------------

def test_an_alias_that_repeats_a_small_node_is_fine(tmp_path):
    shared = GOOD.replace('    fix: {text: "Upgrade the driver.", commands: ["sudo setupkit install --gpu"]}\n',
                          "").replace('        message: "Driver {driver.version} is older than 550."\n',
                                      '        message: "Driver {driver.version} is older than 550."\n'
                                      '        fix: &upgrade {text: "Upgrade the driver.", commands: [x]}\n'
                                      '      - when: {fact: driver.version, op: "<", value: "560", as: version}\n'
                                      '        status: fail\n        message: "Older than 560."\n'
                                      '        fix: *upgrade\n')
    (check,) = load_file(write(tmp_path, shared))
    assert check.rules[0].fix == check.rules[1].fix
    assert evaluate_check(check, facts_with(gpu__count=1, driver__version="555.1")).fix["text"] == "Upgrade the driver."


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pure-python"])
def test_both_parsers_read_the_catalog_alike_and_refuse_deep_nesting(libyaml):
    import yaml

    if libyaml and not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML was built without libyaml")
    loader = yamlio.loader_class(libyaml)
    for path in sorted([*catalog_dir().glob("**/*.yaml"), *TABLES_DIR.glob("*.yaml")]):
        assert yamlio.loads(path.read_text(), str(path), loader) == yaml.safe_load(path.read_text()), path
    for deep in ("[" * 10_000 + "]" * 10_000, "{a: " * 5_000 + "1" + "}" * 5_000):
        with pytest.raises(CatalogError, match=r"x\.yaml \(line 1\): not valid catalog YAML: .*nest"):
            yamlio.loads(deep, "x.yaml", loader)


def test_a_date_is_text_and_merge_keys_are_plain_keys(tmp_path):
    dated = GOOD.replace('value: "550", as: version', "value: 2001-13-45")
    (check,) = load_file(write(tmp_path, dated))
    assert check.rules[0].when["value"] == "2001-13-45"
    merged = GOOD.replace("    severity: high\n", "    severity: high\n    <<: {detail: x}\n")
    with pytest.raises(CatalogError, match="unknown key '<<'"):
        load_file(write(tmp_path, merged))


def test_an_id_or_let_name_with_a_trailing_newline_is_refused(tmp_path):
    with pytest.raises(CatalogError, match="id must be dotted"):
        load_file(write(tmp_path, GOOD.replace("id: site.driver-550", 'id: "site.driver-550\\n"')))
    let = GOOD.replace("    rules:", '    let: {"tf\\n": {fact: gpu.count}}\n    rules:')
    with pytest.raises(CatalogError, match="let name 'tf\\\\n' must be"):
        load_file(write(tmp_path, let))


@pytest.mark.parametrize(("operand", "problem"), [
    ("{var: [a]}", "var a list of 1 items is not defined"),
    ("{call: {x: 1}}", "function a mapping of 1 keys is not one"),
    ("{lookup: [t], key: 1, field: f}", "unknown table a list of 1 items"),
])
def test_an_operand_of_the_wrong_type_is_a_message_not_a_type_error(tmp_path, operand, problem):
    text = GOOD.replace('{fact: driver.version, op: "<", value: "550", as: version}',
                        '{fact: driver.version, op: "==", value: ' + operand + "}")
    with pytest.raises(CatalogError, match=re.escape(problem)):
        load_file(write(tmp_path, text))


def test_a_let_chain_stops_at_the_depth_limit(tmp_path):
    chain = "".join(f"      v{i}: {{call: coalesce, args: [{{var: v{i - 1}}}]}}\n" for i in range(1, 8))
    text = GOOD.replace("    rules:", "    let:\n      v0: {fact: gpu.count}\n" + chain + "    rules:")
    (check,) = load_file(write(tmp_path, text))  # v7 nests 15 deep: within the 16 allowed
    assert len(check.lets) == 8
    longer = text.replace("    rules:", "      v8: {call: coalesce, args: [{var: v7}]}\n    rules:")
    with pytest.raises(CatalogError, match=r"check 'site.driver-550': let v8: operands nest deeper than 16 levels"):
        load_file(write(tmp_path, longer))
