"""Real runs of the playbooks against this machine (ansible-playbook -i localhost, -c local): setupkit installed
into a venv under tmp_path, reports on the control node, a second run that changes nothing; provision's GPU path,
rounds and reboot refusal through a fake setupkit (a real install needs root, a GPU and reboots)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, fleet):
    """One install shared by the module's real runs: (folder, extra vars)."""
    tmp = tmp_path_factory.mktemp("fleet")
    return tmp, fleet.local_install_vars(tmp, fleet.frozen_checkout(tmp))


@pytest.fixture(scope="module")
def first_doctor_run(workspace, fleet):
    tmp, extra = workspace
    return fleet.run_playbook("doctor.yml", tmp, extra)


def test_doctor_run_gathers_the_report_on_the_control_node(first_doctor_run, workspace, fleet):
    tmp, extra = workspace
    output = first_doctor_run.stdout + first_doctor_run.stderr
    assert first_doctor_run.returncode == 0, output
    recap = fleet.parse_recap(first_doctor_run.stdout)["localhost"]
    assert recap["failed"] == 0 and recap["changed"] > 0, fleet.recap_line(first_doctor_run.stdout)
    report = json.loads((tmp / "reports" / "localhost.json").read_text())
    assert report["schema"] == "setupkit-doctor/1"
    assert report["facts"]["python.executable"].startswith(str(tmp / "setupkit-home" / "venv"))
    assert "localhost: doctor " in first_doctor_run.stdout  # the one-line summary
    fleet_table = (tmp / "reports" / "fleet.txt").read_text().splitlines()
    assert fleet_table[0].split()[:3] == ["host", "os", "gpus"] and fleet_table[2].startswith("localhost")


def test_second_doctor_run_changes_nothing(first_doctor_run, workspace, fleet):
    tmp, extra = workspace
    assert first_doctor_run.returncode == 0
    second = fleet.run_playbook("doctor.yml", tmp, extra)
    assert second.returncode == 0, second.stdout + second.stderr
    recap = fleet.parse_recap(second.stdout)["localhost"]
    assert recap["changed"] == 0 and recap["failed"] == 0, fleet.recap_line(second.stdout)


def test_smoke_run_gathers_a_passing_report(first_doctor_run, workspace, fleet):
    tmp, extra = workspace
    assert first_doctor_run.returncode == 0
    smoke_args = "--synthetic --steps 10 --batch-size 32"
    result = fleet.run_playbook("smoke.yml", tmp, {**extra, "setupkit_smoke_args": smoke_args}, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert fleet.parse_recap(result.stdout)["localhost"]["failed"] == 0, fleet.recap_line(result.stdout)
    report = json.loads((tmp / "reports" / "localhost-smoke.json").read_text())
    assert report["schema"] == "setupkit-smoke-test/1" and report["status"] == "pass"
    assert report["dataset"]["source"] == "synthetic"
    assert "localhost: smoke test pass" in result.stdout


def installed_setupkit_has(workspace, verb: str) -> bool:
    tmp, _ = workspace
    setupkit = tmp / "setupkit-home" / "venv" / "bin" / "setupkit"
    return subprocess.run([str(setupkit), verb, "--help"], capture_output=True, timeout=120).returncode == 0


def test_provision_dry_run_plans_and_changes_nothing(first_doctor_run, workspace, fleet):
    tmp, extra = workspace
    assert first_doctor_run.returncode == 0
    if not installed_setupkit_has(workspace, "install"):
        pytest.skip("this checkout's setupkit has no `install` verb yet")
    result = fleet.run_playbook("provision.yml", tmp, {**extra, "setupkit_install_dry_run": True})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no NVIDIA GPU: CPU path (setupkit install) (dry run)" in result.stdout
    recap = fleet.parse_recap(result.stdout)["localhost"]
    assert recap["changed"] == 0 and recap["failed"] == 0, fleet.recap_line(result.stdout)


def fake_vars(tmp, setupkit) -> dict:
    return {"setupkit_install_package": False, "setupkit_bin": str(setupkit), "setupkit_become": False,
            "setupkit_reports_dir": str(tmp / "reports")}


def test_provision_gpu_path_installs_verifies_and_then_changes_nothing(fake_setupkit, tmp_path, fleet):
    setupkit, here, env = fake_setupkit(gpus=1)
    first = fleet.run_playbook("provision.yml", tmp_path, fake_vars(tmp_path, setupkit), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert fleet.parse_recap(first.stdout)["localhost"]["changed"] == 1, fleet.recap_line(first.stdout)
    assert "driver 580.95.05 loaded, nvidia-smi answers" in first.stdout
    calls = (here / "calls.log").read_text().splitlines()
    assert calls == ["doctor --json", "install --gpu --dry-run --json", "install --gpu --lock-wait 600 --yes --json",
                     "install --gpu --dry-run --json", "doctor --json"]
    second = fleet.run_playbook("provision.yml", tmp_path, fake_vars(tmp_path, setupkit), env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert fleet.parse_recap(second.stdout)["localhost"]["changed"] == 0, fleet.recap_line(second.stdout)


def test_provision_takes_the_cpu_path_without_a_gpu(fake_setupkit, tmp_path, fleet):
    setupkit, here, env = fake_setupkit(gpus=0)
    result = fleet.run_playbook("provision.yml", tmp_path, fake_vars(tmp_path, setupkit), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    installs = [call for call in (here / "calls.log").read_text().splitlines() if call.startswith("install")]
    assert installs and all("--gpu" not in call for call in installs)
    assert "nvidia-smi answers" not in result.stdout  # the GPU verification is skipped on a CPU host


def test_provision_refuses_to_reboot_over_a_local_connection(fake_setupkit, tmp_path, fleet):
    setupkit, here, env = fake_setupkit(gpus=1, reboot=True)
    result = fleet.run_playbook("provision.yml", tmp_path, fake_vars(tmp_path, setupkit), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "runs with a local connection" in result.stdout
    assert "from a separate control node over ssh" in result.stdout
    assert fleet.parse_recap(result.stdout)["localhost"]["failed"] == 1


def test_provision_reboots_first_when_the_plan_is_blocked_by_a_pending_reboot(fake_setupkit, tmp_path, fleet):
    setupkit, here, env = fake_setupkit(gpus=1, blocked="the driver and its library disagree: reboot first")
    result = fleet.run_playbook("provision.yml", tmp_path, {**fake_vars(tmp_path, setupkit),
                                                            "setupkit_local_reboot_hint": "reboot by hand"}, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "blocked: the driver and its library disagree: reboot first" in result.stdout
    assert "To finish: reboot by hand." in result.stdout
    assert "--yes" not in (here / "calls.log").read_text()  # nothing ran on a blocked plan


def test_doctor_asks_nvidia_smi_on_gpu_hosts_only(fake_setupkit, tmp_path, fleet):
    setupkit, here, env = fake_setupkit(gpus=1)
    result = fleet.run_playbook("doctor.yml", tmp_path, fake_vars(tmp_path, setupkit), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "localhost: nvidia-smi answers: 1 GPU(s)" in result.stdout
    assert "localhost: doctor pass; Fake OS; GPUs 1 x Fake GPU;" in result.stdout
    report = json.loads((tmp_path / "reports" / "localhost.json").read_text())
    assert report["facts"]["gpu.count"] == 1


FAILING_SETUPKIT = '''#!{python}
"""A fake setupkit whose install fails like a real failing step: exit 4, one line on stderr, a log in
SETUPKIT_INSTALL_LOG_DIR. Every call is appended to calls.log with the proxy and run-id environment it saw."""
import json, os, pathlib, sys
HERE = pathlib.Path({here!r})
seen = {{k: os.environ.get(k) for k in ("https_proxy", "SETUPKIT_INSTALL_LOG_DIR")}}
(HERE / "calls.log").open("a").write(" ".join(sys.argv[1:]) + " " + json.dumps(seen) + "\\n")
if sys.argv[1] == "doctor":
    print(json.dumps({{"schema": "setupkit-doctor/1", "status": "pass", "facts": {{"gpu.count": 0}}, "findings": []}}))
elif "--dry-run" in sys.argv:
    print(json.dumps({{"schema": "setupkit-install/1", "reboot_required": False, "blocked": None,
                      "steps": [{{"id": "tensorflow", "title": "Install TensorFlow", "status": "todo", "changes": True,
                                 "reason": "", "commands": [], "files": [], "reboot": False}}]}}))
else:
    log = pathlib.Path(os.environ["SETUPKIT_INSTALL_LOG_DIR"]) / "install-20261201T120000.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("$ pip install tensorflow\\nERROR: No matching distribution found for tensorflow\\n")
    print("setupkit: step tensorflow failed (exit 1); log: " + str(log), file=sys.stderr)
    sys.exit(4)
'''


def failing_setupkit(tmp_path):
    here = tmp_path / "failing"
    here.mkdir()
    setupkit = here / "setupkit"
    setupkit.write_text(FAILING_SETUPKIT.format(python=sys.executable, here=str(here)))
    setupkit.chmod(0o755)
    return setupkit, here


def test_provision_failure_keeps_the_plan_and_log_and_passes_mirrors_lock_wait_and_proxies(tmp_path, fleet):
    setupkit, here = failing_setupkit(tmp_path)
    extra = {**fake_vars(tmp_path, setupkit), "setupkit_install_log_dir": str(tmp_path / "host-logs"),
             "setupkit_proxy_env": {"https_proxy": "http://proxy.example:3128"}, "setupkit_lock_wait": 30,
             "setupkit_cuda_repo_mirror": "https://mirror.example/cuda", "setupkit_pip_index_url": "https://pypi.example/simple"}
    result = fleet.run_playbook("provision.yml", tmp_path, extra)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "setupkit install exited 4 (setupkit: step tensorflow failed (exit 1)" in output
    assert fleet.parse_recap(result.stdout)["localhost"]["failed"] == 1, fleet.recap_line(result.stdout)
    calls = (here / "calls.log").read_text().splitlines()
    mirrors = "--cuda-repo-mirror https://mirror.example/cuda --pip-index-url https://pypi.example/simple"
    assert calls[1].startswith(f"install {mirrors} --dry-run --json ")
    assert calls[2].startswith(f"install {mirrors} --lock-wait 30 --yes --json ")
    seen = json.loads(calls[2][calls[2].index("{"):])
    assert seen == {"https_proxy": "http://proxy.example:3128", "SETUPKIT_INSTALL_LOG_DIR": str(tmp_path / "host-logs")}
    host = tmp_path / "reports" / "localhost"
    assert json.loads((host / "install-plan.json").read_text())["steps"][0]["id"] == "tensorflow"
    assert "No matching distribution" in (host / "install-20261201T120000.log").read_text()
    assert not (host / "install.json").exists()  # a failed install prints no document


def test_provision_check_mode_plans_shows_what_would_run_and_changes_nothing(fake_setupkit, tmp_path, fleet):
    setupkit, here, env = fake_setupkit(gpus=1)
    result = fleet.run_playbook("provision.yml", tmp_path, fake_vars(tmp_path, setupkit), env=env, options=("--check",))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "localhost: check mode: setupkit install would run driver" in output
    calls = (here / "calls.log").read_text().splitlines()
    assert calls == ["doctor --json", "install --gpu --dry-run --json", "doctor --json"]  # reads only
    assert not (here / "installed").exists()
    plan = json.loads((tmp_path / "reports" / "localhost" / "install-plan.json").read_text())
    assert plan["steps"][0]["id"] == "driver"


def test_provision_check_mode_on_a_host_without_setupkit_says_so(tmp_path, fleet):
    missing = tmp_path / "nowhere" / "setupkit"
    result = fleet.run_playbook("provision.yml", tmp_path, fake_vars(tmp_path, missing), options=("--check",))
    assert result.returncode == 0, result.stdout + result.stderr
    (row,) = json.loads((tmp_path / "reports" / "fleet.json").read_text())["hosts"]
    assert row["result"] == "ok" and row["status"] == "unknown", row
    assert f"check mode: setupkit is not installed at {missing} yet" in row["error"]


def test_a_variable_of_the_wrong_type_fails_with_the_argument_spec_message(fake_setupkit, tmp_path, fleet):
    setupkit, here, env = fake_setupkit(gpus=0)
    result = fleet.run_playbook("provision.yml", tmp_path, {**fake_vars(tmp_path, setupkit),
                                                            "setupkit_install_max_rounds": "many"}, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "argument 'setupkit_install_max_rounds' is of type str" in output
    assert not [call for call in (here / "calls.log").read_text().splitlines() if call.startswith("install")]
