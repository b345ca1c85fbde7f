"""The condition language, the engine's statuses, templates, the whitelisted functions and the knowledge tables,
on fact dictionaries."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from setupkit import exitcodes
from setupkit.doctor import functions, templates
from setupkit.doctor.catalog import Check, Outcome, Rule
from setupkit.doctor.conditions import Scope, evaluate
from setupkit.doctor.engine import Finding, evaluate_check, exit_code, overall_status
from tests.helpers.doctor import builtin_checks, facts_with, verdict


def holds(condition, lets=None, **facts):
    return evaluate(condition, Scope(facts_with(**facts), lets))


@pytest.mark.parametrize(("condition", "expected"), [
    ({"fact": "gpu.count", "op": "==", "value": 2}, True),
    ({"fact": "gpu.count", "op": "!=", "value": 2}, False),
    ({"fact": "gpu.count", "op": "<", "value": 3}, True),
    ({"fact": "gpu.count", "op": "<=", "value": 2}, True),
    ({"fact": "gpu.count", "op": ">", "value": 2}, False),
    ({"fact": "gpu.count", "op": ">=", "value": 2}, True),
    ({"fact": "os.id", "op": "in", "value": ["ubuntu", "debian"]}, True),
    ({"fact": "os.id", "op": "not in", "value": ["ubuntu", "debian"]}, False),
    ({"fact": "cpu.flags", "op": "contains", "value": "avx"}, True),
    ({"fact": "cpu.flags", "op": "not contains", "value": "avx512f"}, True),
    ({"fact": "driver.version", "op": ">=", "value": "550", "as": "version"}, True),
    ({"fact": "driver.version", "op": "<", "value": "580.65.06", "as": "version"}, False),
    ({"fact": "driver.version", "op": ">", "value": "1000", "as": "version"}, False),  # not a string compare
    ({"fact": "driver.cuda_max", "op": "==", "value": "13", "as": "version"}, True),
    ({"fact": "driver.cuda_max", "op": "in", "value": ["12.2", "13.0.0"], "as": "version"}, True),
    ({"fact": "cuda.toolkit_version", "op": "is null"}, True),
    ({"fact": "gpu.count", "op": "is not null"}, True),
])
def test_comparisons(condition, expected):
    assert holds(condition, gpu__count=2, os__id="ubuntu", cpu__flags=["sse4_2", "avx", "avx2"],
                 driver__version="580.159.04", driver__cuda_max="13.0") is expected


def test_a_null_fact_cannot_decide_a_comparison():
    assert holds({"fact": "driver.version", "op": ">=", "value": "550", "as": "version"}) is None
    assert holds({"fact": "driver.version", "op": "==", "value": "x", "if_null": False}) is False


def test_kleene_logic():
    true = {"fact": "gpu.count", "op": "==", "value": 1}
    false = {"fact": "gpu.count", "op": "==", "value": 0}
    unknown = {"fact": "driver.version", "op": "==", "value": "1"}
    facts = {"gpu__count": 1}
    assert holds({"any": [unknown, true]}, **facts) is True
    assert holds({"any": [unknown, false]}, **facts) is None
    assert holds({"all": [unknown, false]}, **facts) is False
    assert holds({"all": [unknown, true]}, **facts) is None
    assert holds({"not": unknown}, **facts) is None
    assert holds({"not": false}, **facts) is True


def test_operands_lets_calls_and_lookups():
    lets = {"tf_cuda": {"lookup": "tensorflow_builds", "key": {"fact": "tensorflow.version"}, "field": "cuda"},
            "floor": {"call": "min_driver_for_cuda", "args": [{"var": "tf_cuda"}]}}
    scope = Scope(facts_with(tensorflow__version="2.15.1"), lets)
    assert scope.var("tf_cuda") == "12.2"
    assert scope.var("floor") == "535.54.03"
    assert evaluate({"var": "floor", "op": "<=", "value": "535.54.03", "as": "version"}, scope) is True
    unknown = Scope(facts_with(), lets)
    assert unknown.var("tf_cuda") is None and unknown.var("floor") is None


def _check(rules, default=("pass", "fine"), unknown=None, facts=("driver.version",)):
    return Check(id="t.check", section="Test", title="t", severity="low", facts=tuple(facts),
                 rules=tuple(Rule(status=s, message=m, when=w, if_unknown=u) for w, s, m, u in rules),
                 default=Outcome(status=default[0], message=default[1]),
                 unknown=None if unknown is None else Outcome(status=unknown[0], message=unknown[1]))


OLD = {"fact": "driver.version", "op": "<", "value": "550", "as": "version"}


def test_first_matching_rule_wins_and_default_otherwise():
    check = _check([(OLD, "fail", "old {driver.version}", "unknown"),
                    ({"fact": "driver.version", "op": "<", "value": "600", "as": "version"}, "warn", "meh", "unknown")])
    assert evaluate_check(check, facts_with(driver__version="535.1")).status == "fail"
    assert evaluate_check(check, facts_with(driver__version="580.1")).status == "warn"
    assert evaluate_check(check, facts_with(driver__version="610.1")).status == "pass"


def test_unknown_is_never_a_silent_pass():
    finding = evaluate_check(_check([(OLD, "fail", "old", "unknown")]), facts_with())
    assert finding.status == "unknown"
    assert finding.message == "Cannot tell: driver.version unknown."


def test_a_check_may_say_how_to_treat_unknown():
    skip = _check([(OLD, "fail", "old", "unknown")], unknown=("skip", "no driver to judge"))
    assert evaluate_check(skip, facts_with()).status == "skip"
    onward = _check([(OLD, "fail", "old", "next")], default=("info", "no verdict"))
    assert evaluate_check(onward, facts_with()).status == "info"


def test_a_fact_of_an_unexpected_form_is_unknown_not_a_crash():
    check = _check([({"fact": "gpu.count", "op": ">", "value": 0}, "pass", "ok", "unknown")], facts=["gpu.count"])
    assert evaluate_check(check, facts_with(gpu__count="two")).status == "unknown"


def _finding(status):
    return Finding(id=status, section="s", title="t", status=status, message="", detail="", fix=None, severity="low")


@pytest.mark.parametrize(("statuses", "overall", "code"), [
    (["pass", "info", "skip", "unknown"], "pass", exitcodes.OK),
    (["pass", "warn", "unknown"], "warn", exitcodes.OK),
    (["pass", "warn", "fail"], "fail", exitcodes.CHECK_FAILED),
    ([], "pass", exitcodes.OK),
])
def test_overall_status_and_exit_code(statuses, overall, code):
    findings = [_finding(s) for s in statuses]
    assert overall_status(findings) == overall
    assert exit_code(findings) == code


# -- templates ---------------------------------------------------------------------------------------------

def test_templates_substitute_names_only():
    names = {"driver.version": "535.54.03", "gpu.names": ["A", "B"], "kernel.wsl": False, "x": None, "f": 0.5}
    assert templates.render("v{driver.version} on {gpu.names}, wsl {kernel.wsl}", names) == "v535.54.03 on A, B, wsl no"
    assert templates.render("{x} / {x|none} / {{literal}} / {f}", names) == "unknown / none / {literal} / 0.5"
    assert templates.render("{driver.version.__class__}", names) == "unknown"
    assert templates.render("{0} {driver.version!r:>9}", names) == "unknown {driver.version!r:>9}"
    assert templates.placeholders("{a.b} and {c|d} {{e}}") == ["a.b", "c"]


# -- functions -----------------------------------------------------------------------------------------------

UUIDS = ["GPU-aaaa-1111", "GPU-bbbb-2222"]


@pytest.mark.parametrize(("env", "visible", "invalid"), [
    (None, ["0", "1"], []),
    ("1", ["1"], []),
    ("0,2,-1,1", ["0"], ["2", "-1"]),
    ("0,1,2", ["0", "1"], ["2"]),
    ("-1", [], []),
    ("", [], []),
    ("NoDevFiles", [], []),
    ("GPU-bbbb", ["GPU-bbbb"], []),
    ("GPU-cccc,0", [], ["GPU-cccc"]),
    ("MIG-GPU-aaaa-1111/1/0", ["MIG-GPU-aaaa-1111/1/0"], []),
])
def test_visible_devices_follow_the_cuda_rule(env, visible, invalid):
    assert functions.visible_devices(env, 2, UUIDS) == visible
    assert functions.invalid_devices(env, 2, UUIDS) == invalid


def test_cuda_rule_on_four_gpus_stops_at_the_first_invalid_index():
    assert functions.visible_devices("0,2,-1,1", 4) == ["0", "2"]


def test_uuid_without_known_uuids_cannot_tell():
    assert functions.visible_devices("GPU-bbbb", 2, None) is None


def test_provided_by():
    provided_by = functions.FUNCTIONS["provided_by"][0]  # the planner's own, imported on first call
    assert provided_by("12.3", "11.8", "12.3.101") == "same-major"
    assert provided_by("12.5", "12.2", None) == "older"
    assert provided_by("12.3", "11.8", None) == "none"
    assert provided_by("8.9", None, None) == "none"
    assert provided_by(None, "12.3") is None


def test_flags_processes_fractions():
    assert functions.present_flags(["avx", "fma", "sse4_2"], ["sse4_1", "sse4_2", "fma"]) == ["sse4_2", "fma"]
    assert functions.max_fraction([10, 900], [1000, 1000]) == 0.9
    held = functions.memory_holders([{"name": "Xorg", "pid": 1}, {"name": "python3", "pid": 2}], ["Xorg"])
    assert [p["pid"] for p in held] == [2]
    assert functions.describe_processes([{"name": "python3", "pid": 7, "used_mib": 10, "gpu": 0}]) == \
        "python3 (pid 7, 10 MiB on GPU 0)"


# -- the knowledge tables, as checks read them --------------------------------------------------------------

def test_table_functions_answer_checks_in_text():
    call = {name: entry[0] for name, entry in functions.FUNCTIONS.items()}
    assert call["min_driver_for_cuda"]("12.8.1") == "570.124.06"
    assert call["supported_cuda_for_driver"]("535.54.03") == "12.2"
    assert call["supported_cuda_for_driver"]("580.159.04") == "13.0"
    assert call["supported_cuda_for_driver"]("300.1") is None
    assert call["supported_cuda_for_driver"](None) is None
    assert call["minor_compat_driver"]("12.4") == "525.60.13"
    assert call["latest_tensorflow"]() == "2.21.0"
    assert call["python_supported"]("2.21.0", "3.9.18") is False
    assert call["major_minor"]("12.5.82") == "12.5"


def test_lookups_give_the_fields_as_the_table_writes_them():
    build = functions.LOOKUPS["tensorflow_builds"]("2.15.1")
    assert (build["python"], build["cuda"], build["cudnn"], build["compiler"], build["bazel"]) == \
        ("3.9-3.11", "12.2", "8.9", "Clang 16.0.0", "6.1.0")
    assert build.get("and_cuda") is None
    assert functions.LOOKUPS["tensorflow_builds"]("2.20.0")["and_cuda"]["nvidia-cudnn-cu12"] == ">=9.3.0.75,<10.0"
    assert functions.LOOKUPS["tensorflow_builds"]("3.0") is None
    assert functions.LOOKUPS["cuda_driver"]("12.2") == {"driver": "535.54.03"}
    assert functions.LOOKUPS["cuda_driver"]("99.0") == {"driver": None}
    assert holds({"lookup": "tensorflow_builds", "key": {"fact": "tensorflow.version"}, "field": "cuda",
                  "op": "==", "value": "12.5"}, tensorflow__version="2.21.0")


# -- deep checks on fact dictionaries --------------------------------------------------------------------------

def test_gpu_visible_fails_when_tensorflow_sees_no_gpu_of_a_working_host():
    facts = facts_with(gpu__count=1, tfprobe__status="ok", tfprobe__built_with_cuda=True, tfprobe__gpu_count=0,
                       tfprobe__gpus=[], tfprobe__gpu_ops=[], tfprobe__gpu_ops_ok=True, tfprobe__cuda_version="12.5.1")
    finding = verdict("tensorflow.gpu-visible", facts)
    assert finding.status == "fail" and finding.fix
    seen = facts | {"tfprobe.gpu_count": 1, "tfprobe.gpus": ["/device:GPU:0"]}
    assert verdict("tensorflow.gpu-visible", seen).status == "pass"
    cpu_build = facts | {"tfprobe.built_with_cuda": False}
    assert "CPU-only build" in verdict("tensorflow.gpu-visible", cpu_build).message
    broken_driver = facts | {"driver.nvml_error": "NVMLError_DriverNotLoaded"}
    assert verdict("tensorflow.gpu-visible", broken_driver).status == "skip"
    assert verdict("tensorflow.gpu-visible", facts | {"gpu.count": 0}).status == "skip"


def test_secure_boot_without_the_module_warns_with_the_mok_fix():
    finding = verdict("secureboot.enabled", facts_with(secureboot__enabled=True, gpu__count=1, driver__loaded=False))
    assert finding.status == "warn"
    assert finding.fix["commands"][0] == "sudo mokutil --import /var/lib/shim-signed/mok/MOK.der"


def test_thirty_two_bit_python_fails():
    finding = verdict("python.supported", facts_with(python__bits=32, python__version="3.11.2"))
    assert finding.status == "fail" and "32-bit" in finding.message


# -- hostile values: a NaN, a list, a huge number or text where a fact belongs is unknown, never a crash ----------

def test_a_value_no_check_can_compare_is_unknown():
    less = {"fact": "gpu.count", "op": "<", "value": 1}
    assert holds(less, gpu__count=float("nan")) is None  # NaN < 1 is False in Python: a silent answer
    assert holds(less, gpu__count=float("-inf")) is None
    assert holds(less, gpu__count=-10**30) is None
    assert holds({"fact": "gpu.count", "op": "is null"}, gpu__count=float("nan")) is True
    assert holds({"fact": "os.id", "op": "==", "value": "ubuntu"}, os__id="ubuntu" * 20_000) is None
    assert holds({"fact": "os.id", "op": "==", "value": "ubuntu", "if_null": False}, os__id=["ubuntu"]) is False
    assert holds({"fact": "gpu.count", "op": "<", "value": [1]}, gpu__count=0) is None  # int < list: TypeError
    assert holds({"fact": "driver.version", "op": ">=", "value": "550", "as": "version"},
                 driver__version=["550"]) is None


HOSTILE_VALUES = {
    "nan": float("nan"), "inf": float("inf"), "huge int": 10**5000, "negative": -1, "bool": True,
    "long text": "9" * 1_000_000, "superscript digit": "²", "list": ["x"], "long list": list(range(20_000)),
    "mapping": {"a": [1]}, "list of nan": [float("nan")], "nested": [[[["x"]]]],
}


@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES)
def test_every_builtin_check_survives_any_fact_having_a_hostile_value(value):
    facts = {name: value for name in facts_with()}
    for check in builtin_checks().values():
        finding = evaluate_check(check, facts)
        assert finding.status in ("pass", "warn", "fail", "info", "unknown", "skip"), check.id
        for text in (finding.message, finding.detail, *((finding.fix or {}).get("commands", []))):
            assert len(text) < 10 * templates.MAX_VALUE_TEXT, (check.id, text[:200])


def test_gpu_counts_no_host_has_are_unknown_not_a_list_of_a_trillion():
    assert functions.visible_devices(None, 10**12) is None
    assert functions.visible_devices(None, -1) is None
    assert functions.visible_devices(None, float("nan")) is None
    assert functions.visible_devices(None, 2.0) == ["0", "1"]
    assert functions.invalid_devices("0", float("inf")) is None
    assert functions.invalid_devices("²,0," + "9" * 5000, 2) == ["²", "9" * 5000]  # no index CUDA would read
    assert functions.max_fraction([1, float("nan")], [2, 2]) is None


def test_values_in_messages_are_cut():
    assert templates.as_text(10**5000) == "a 16610-bit number"
    long = templates.as_text(["flag"] * 100_000)
    assert len(long) < templates.MAX_VALUE_TEXT + 40 and long.endswith("(599,998 characters)")
    assert templates.render("{x}", {"x": "y" * 10_000}).startswith("y" * templates.MAX_VALUE_TEXT + "...")


def test_let_fan_out_is_walked_once_per_let():
    # v_i names v_(i-1) five times: walking every path would take 5**40 steps
    lets = {"v0": {"fact": "driver.version"}}
    lets |= {f"v{i}": {"call": "coalesce", "args": [{"var": f"v{i - 1}"}] * 5} for i in range(1, 41)}
    check = replace(_check([({"var": "v40", "op": "==", "value": "1"}, "warn", "m", "unknown")]), lets=lets)
    finding = evaluate_check(check, facts_with())
    assert finding.message == "Cannot tell: driver.version unknown."


def test_the_condition_language_has_no_regular_expressions():
    # The decision (checks/README.md, Limits): no pattern from a check file is ever compiled, so none can
    # backtrack catastrophically; the only patterns applied to a check's text are the engine's own, linear ones.
    from setupkit.doctor.catalog import ID_PATTERN
    from setupkit.doctor.conditions import OPS

    assert not {"matches", "=~", "regex", "match", "search"} & set(OPS)
    started = time.monotonic()
    templates.placeholders("{" + "a" * 10_000 + "|" + "b" * 10_000)
    templates.render("{a|" * 5_000, {})
    assert ID_PATTERN.fullmatch("a" + "-a" * 5_000 + "!") is None
    assert ID_PATTERN.fullmatch("a." * 5_000) is None
    assert time.monotonic() - started < 1
