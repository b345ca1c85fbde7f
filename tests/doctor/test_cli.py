"""`setupkit doctor` as a user runs it (a subprocess): exit codes, the H100 capture's verdicts, site policy checks,
selection flags, the JSON contract, bad input, and no framework imported in-process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from setupkit.doctor.run import MEASURED_IDS
from setupkit.facts import FACTS
from tests.helpers.doctor import REQUIRED
from tests.helpers.scenarios import H100, SCENARIOS

SITE_POLICY = """
checks:
  - id: site.driver-550
    section: Site policy
    title: Driver 550 or newer
    severity: high
    facts: [gpu.count, driver.version]
    rules:
      - when: {fact: gpu.count, op: "==", value: 0}
        status: skip
        message: "No NVIDIA GPU."
      - when: {fact: driver.version, op: "<", value: "550", as: version}
        status: fail
        message: "Driver {driver.version} is older than the site minimum, 550."
    default: {status: pass, message: "Driver {driver.version} meets the site minimum."}
    fix:
      text: "Upgrade the driver to the 550 branch or newer."
      commands: ["sudo setupkit install --gpu"]
"""


def doctor_json(run_setupkit, *args):
    done = run_setupkit("doctor", "--json", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def by_id(document):
    return {finding["id"]: finding for finding in document["findings"]}


def test_h100_capture_exits_0_with_the_four_passes(run_setupkit):
    code, document = doctor_json(run_setupkit, "--snapshot", str(H100))
    assert code == 0
    findings = by_id(document)
    for check_id in ("driver.installed", "nouveau.loaded", "driver.cuda-compat", "cpu.avx"):
        assert findings[check_id]["status"] == "pass", findings[check_id]
    assert findings["tensorflow.installed"]["status"] == "warn"
    assert document["status"] == "warn"
    assert set(REQUIRED) == set(findings)


@pytest.mark.parametrize(("scenario", "code", "failed"), [
    ("ubuntu1404-upstart-lightdm", 1, {"python.supported", "pip.outdated"}),
    ("ubuntu1604-gtx-nouveau", 1, {"nouveau.loaded", "driver.installed", "python.supported", "pip.outdated"}),
    ("ubuntu2204-two-gpus-cuda118", 0, set()),
    ("ubuntu2204-driver-mismatch", 1, {"driver.version-mismatch"}),
    ("wsl2-ubuntu2204", 0, set()),
    ("centos7-no-avx", 1, {"cpu.avx", "python.supported", "pip.outdated"}),
    ("laptop-hybrid-secureboot", 0, set()),
])
def test_each_scenario_gets_its_verdicts_with_a_fix_on_every_fail(run_setupkit, scenario, code, failed):
    exit_status, document = doctor_json(run_setupkit, "--snapshot", str(SCENARIOS / scenario))
    assert exit_status == code
    fails = {f["id"] for f in document["findings"] if f["status"] == "fail"}
    assert fails == failed
    for finding in document["findings"]:
        if finding["status"] == "fail":
            assert finding["fix"]["text"] and isinstance(finding["fix"]["commands"], list)


def test_json_contract(run_setupkit):
    _, document = doctor_json(run_setupkit, "--snapshot", str(SCENARIOS / "ubuntu1604-gtx-nouveau"))
    assert document["schema"] == "setupkit-doctor/1"
    assert document["status"] == "fail"
    assert set(FACTS) <= set(document["facts"])
    deep = [name for name in FACTS if name.startswith("tfprobe.")]
    assert deep and all(document["facts"][name] is None for name in deep), "deep facts only with --deep"
    for finding in document["findings"]:
        assert {"id", "section", "status", "title", "detail", "fix"} <= set(finding)
        assert finding["status"] in ("pass", "warn", "fail", "info", "unknown", "skip")
        assert finding["fix"] is None or (set(finding["fix"]) == {"text", "commands"})
        if finding["status"] not in ("fail", "warn"):
            assert finding["fix"] is None


def test_site_policy_passes_on_h100_and_fails_on_the_535_host(run_setupkit, tmp_path):
    (tmp_path / "policy.yaml").write_text(SITE_POLICY)
    code, document = doctor_json(run_setupkit, "--checks-dir", str(tmp_path), "--snapshot", str(H100))
    assert code == 0 and by_id(document)["site.driver-550"]["status"] == "pass"
    code, document = doctor_json(run_setupkit, "--checks-dir", str(tmp_path), "--only", "site.driver-550",
                                 "--snapshot", str(SCENARIOS / "ubuntu2204-two-gpus-cuda118"))
    assert code == 1
    assert [f["id"] for f in document["findings"]] == ["site.driver-550"]
    assert "535.183.01" in document["findings"][0]["message"]
    assert document["findings"][0]["fix"]["commands"] == ["sudo setupkit install --gpu"]


def test_a_malformed_user_check_is_exit_3_with_one_line(run_setupkit, tmp_path):
    (tmp_path / "broken.yaml").write_text(SITE_POLICY.replace("as: version", "as: semver"))
    done = run_setupkit("doctor", "--checks-dir", str(tmp_path), "--snapshot", str(H100))
    assert done.returncode == 3
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(tmp_path / "broken.yaml") in lines[0] and "'as' can only be 'version'" in lines[0]


def test_a_missing_checks_dir_is_exit_3(run_setupkit, tmp_path):
    done = run_setupkit("doctor", "--checks-dir", str(tmp_path / "nope"), "--snapshot", str(H100))
    assert done.returncode == 3 and "no such checks folder" in done.stderr


def test_only_and_skip(run_setupkit):
    _, document = doctor_json(run_setupkit, "--snapshot", str(H100), "--only", "cpu.avx", "--only", "gpu.present")
    assert [f["id"] for f in document["findings"]] == ["cpu.avx", "gpu.present"]
    _, document = doctor_json(run_setupkit, "--snapshot", str(H100), "--skip", "tensorflow.installed")
    assert "tensorflow.installed" not in by_id(document)
    assert document["status"] == "pass"


@pytest.mark.parametrize("args", [("--only", "cpu.avxx"), ("--skip", "nope.nope"), ("--only", "tensorflow.import"),
                                  ("--deep", "--deep-python", "python3", "--snapshot", str(H100)),
                                  ("--no-such-flag",)])
def test_usage_errors_are_exit_2(run_setupkit, args):
    done = run_setupkit("doctor", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr


def test_list_checks(run_setupkit):
    done = run_setupkit("doctor", "--list-checks")
    assert done.returncode == 0
    listed = [line.split()[0] for line in done.stdout.splitlines()[1:]]
    assert set(REQUIRED) | set(MEASURED_IDS) == set(listed)  # the measured findings, marked [--level 2]
    deep = run_setupkit("doctor", "--list-checks", "--deep").stdout
    assert "tensorflow.import" in deep and "[--deep]" in deep


def test_doctor_imports_no_framework_in_process():
    # The real CLI in a subprocess; a wrapper reports which frameworks ended up in sys.modules.
    wrapper = (
        "import sys, runpy\n"
        "sys.argv = ['setupkit', 'doctor', '--json']\n"
        "try:\n    runpy.run_module('setupkit', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "loaded = sorted(m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules)\n"
        "sys.stderr.write('FRAMEWORKS=' + ','.join(loaded) + '\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=60)
    assert "FRAMEWORKS=\n" in done.stderr, done.stderr[-2000:]
    json.loads(done.stdout)  # the report itself came out whole
