"""`setupkit install` as a user runs it: a subprocess (or main() in-process where the host must be faked)."""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path

import pytest

from setupkit import exitcodes
from tests.helpers.scenarios import snapshot_path

UNSUPPORTED = Path(__file__).resolve().parents[1] / "snapshots" / "install-arch-unsupported"


@pytest.fixture
def install_env(tmp_path):
    return {"SETUPKIT_INSTALL_LOCK": str(tmp_path / "install.lock"), "SETUPKIT_INSTALL_LOG_DIR": str(tmp_path / "log"),
            "SETUPKIT_INSTALL_STATE": str(tmp_path / "state.json")}


def test_dry_run_on_this_machine_is_a_truthful_plan(run_setupkit):
    report = json.loads(run_setupkit("doctor", "--json", timeout=120).stdout)
    doctor = report["facts"]
    verdicts = {finding["id"]: finding["status"] for finding in report["findings"]}
    result = run_setupkit("install", "--gpu", "--dry-run", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["schema"] == "setupkit-install/1"
    assert plan["distro"]["id"] == doctor["os.id"]
    if not doctor["gpu.count"]:  # --gpu all the same: the user-space GPU stack, never a driver
        assert plan["path"] == "gpu"
        assert {s["id"]: s["status"] for s in plan["steps"]}["driver"] == "skip"
        assert any("no NVIDIA GPU is visible" in warning for warning in plan["warnings"])
    if doctor["host.container"] not in (None, "none"):
        assert {s["id"]: s["status"] for s in plan["steps"]}["kernel-headers"] == "skip"
    tensorflow = next(s for s in plan["steps"] if s["id"] == "tensorflow")
    if doctor["tensorflow.version"] and doctor["tensorflow.version"] == plan["choices"]["tensorflow"]:
        # a GPU plan never counts a CPU-only TensorFlow as done, nor one whose CUDA libraries doctor finds
        # missing or older than its build (the tensorflow wheel without its nvidia-* wheels, say): they agree
        cpu_only = doctor["tensorflow.package"] in ("tensorflow-cpu", "tensorflow-intel")
        broken = verdicts.get("tensorflow.cuda-compat") in ("fail", "warn")
        # Without a GPU doctor does not judge CUDA (it skips the check), but --gpu asks for the GPU stack all
        # the same: a TensorFlow whose pip CUDA wheels are absent is not that stack yet.
        no_cuda_wheels = not doctor["gpu.count"] and not doctor["cuda.pip_runtime_version"]
        expected = "todo" if cpu_only or broken or no_cuda_wheels else "done"
        assert tensorflow["status"] == expected, tensorflow["reason"]
    verify = next(s for s in plan["steps"] if s["id"] == "verify")
    assert verify["commands"][0][1:] == ["-m", "setupkit", "doctor"]


def test_dry_run_runs_nothing(run_setupkit, tmp_path):
    """Every program the 16.04 plan names is a recorder first on PATH: a dry run calls none of them."""
    bin_dir, record = tmp_path / "bin", tmp_path / "called"
    bin_dir.mkdir()
    for name in ("apt-get", "apt-key", "dpkg", "wget", "systemctl", "update-initramfs", "add-apt-repository",
                 "mokutil", "dracut", "stop", "start", "service", "python3", "sh", "reboot"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{record}"\n')
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = run_setupkit("install", "--gpu", "--dry-run", "--snapshot", str(snapshot_path("ubuntu1604-gtx-nouveau")),
                          env=env)
    assert result.returncode == 0, result.stderr
    assert "apt-get install -y nvidia-460" in result.stdout  # the plan was shown ...
    assert not record.exists()  # ... and nothing ran


def test_snapshot_plan_in_json(run_setupkit, h100_snapshot):
    result = run_setupkit("install", "--gpu", "--dry-run", "--json", "--snapshot", str(h100_snapshot))
    plan = json.loads(result.stdout)
    assert result.returncode == 0 and plan["reboot_required"] is False
    steps = {s["id"]: s for s in plan["steps"]}
    assert steps["driver"]["status"] == "done" and steps["cuda-toolkit"]["status"] == "skip"
    assert steps["tensorflow"]["commands"] == [["/opt/torch/.venv/bin/python3", "-m", "pip", "install",
                                                "tensorflow[and-cuda]==2.21.0"]]


def test_snapshot_without_dry_run_is_a_usage_error(run_setupkit, h100_snapshot):
    result = run_setupkit("install", "--gpu", "--snapshot", str(h100_snapshot))
    assert result.returncode == exitcodes.USAGE
    assert "--snapshot plans for another host: it only goes with --dry-run" in result.stderr


def test_unsupported_distribution_exits_3_with_the_problem_and_its_fix(run_setupkit):
    result = run_setupkit("install", "--gpu", "--dry-run", "--snapshot", str(UNSUPPORTED))
    assert result.returncode == exitcodes.PRECONDITION
    assert "Traceback" not in result.stderr
    message, fix = result.stderr.splitlines()
    assert message.startswith("setupkit: setupkit install supports Ubuntu/Debian") and "Arch Linux" in message
    assert fix == "fix: install the driver with your distribution's own tools"


def test_unknown_step_is_a_usage_error(run_setupkit, h100_snapshot):
    result = run_setupkit("install", "--dry-run", "--only", "drivers", "--snapshot", str(h100_snapshot))
    assert result.returncode == exitcodes.USAGE and "unknown step drivers" in result.stderr


def test_not_root_exits_3_with_the_way_out(monkeypatch, capsys, tmp_path):
    """sudo resets PATH: the hint names this very setupkit (a venv's), with the flags the person typed."""
    from setupkit.cli import main

    script = tmp_path / ".venv" / "bin" / "setupkit"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr("sys.argv", [str(script), "install", "--gpu", "--only", "driver"])
    with pytest.raises(SystemExit) as caught:
        main(["install", "--gpu", "--only", "driver"])
    assert caught.value.code == exitcodes.PRECONDITION
    message, hint = capsys.readouterr().err.splitlines()
    assert message == "setupkit: setupkit install changes the system and must run as root"
    assert hint.startswith(f"fix: sudo {script} install --gpu --only driver (or look first")


def test_not_root_for_real_names_the_console_script(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("runs setupkit as another user: needs root to switch")
    import subprocess
    import sys

    script = Path(sys.executable).parent / "setupkit"
    if not script.is_file():
        pytest.skip(f"no console script beside {sys.executable}")
    for needed in (script, Path(sys.executable).resolve()):  # the script, and the interpreter it starts
        if not _reachable_by_nobody(needed):
            pytest.skip(f"{needed} lies in a folder that user nobody cannot enter")
    env = dict(os.environ, NO_COLOR="1", HOME=str(tmp_path))
    result = subprocess.run([str(script), "install", "--gpu"], capture_output=True, text=True, timeout=60,
                            env=env, user=65534, group=65534, cwd="/")
    assert result.returncode == exitcodes.PRECONDITION, result.stderr
    assert f"fix: sudo {script} install --gpu (or look first" in result.stderr
    assert "Traceback" not in result.stderr


def _reachable_by_nobody(path: Path) -> bool:
    """Every folder above ``path`` lets others in (a checkout under /root, 0700, does not)."""
    return all(folder.stat().st_mode & 0o001 for folder in path.resolve().parents)


def test_a_held_lock_exits_3(run_setupkit, install_env):
    if os.geteuid() != 0:
        pytest.skip("the lock is taken after the root check; this test runs the CLI as root")
    with open(install_env["SETUPKIT_INSTALL_LOCK"], "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_setupkit("install", "--yes", "--only", "verify", env=install_env)
    assert result.returncode == exitcodes.PRECONDITION
    assert "another setupkit install is running" in result.stderr


def test_without_a_terminal_a_plan_that_changes_the_host_asks_for_yes(monkeypatch):
    import io

    from setupkit.cli.install import _confirm
    from setupkit.errors import PreconditionError
    from setupkit.install.model import Plan, Step
    from setupkit.install.run import needs_confirmation

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    plan = Plan(steps=[Step("pip", "Upgrade pip", commands=[["python3", "-m", "pip", "install", "-U", "pip"]])],
                path="cpu", distro={})
    assert needs_confirmation(plan)
    with pytest.raises(PreconditionError, match="^no terminal to ask for confirmation$") as caught:
        _confirm(yes=False)
    assert caught.value.hint == "pass --yes to run this plan"
    _confirm(yes=True)  # --yes: no question


def test_only_a_plan_that_changes_the_host_is_worth_a_question():
    from setupkit.install.model import Plan, Step
    from setupkit.install.run import needs_confirmation

    verify = Step("verify", "Verify", commands=[["python3", "-m", "setupkit", "doctor"]], changes=False)
    pip = Step("pip", "Upgrade pip", commands=[["python3", "-m", "pip", "install", "-U", "pip"]])
    assert not needs_confirmation(Plan(steps=[verify], path="cpu", distro={}))
    assert not needs_confirmation(Plan(steps=[pip, verify], path="cpu", distro={}, blocked="reboot first"))
    assert needs_confirmation(Plan(steps=[pip, verify], path="cpu", distro={}))


def test_a_plan_that_only_verifies_runs_without_asking(run_setupkit, install_env):
    if os.geteuid() != 0:
        pytest.skip("needs root to get past the root check")
    result = run_setupkit("install", "--only", "verify", env=install_env, input="", timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Ran 1 step(s): verify" in result.stdout


def test_apply_runs_the_selected_step_and_logs_it(run_setupkit, install_env):
    if os.geteuid() != 0:
        pytest.skip("needs root to get past the root check")
    result = run_setupkit("install", "--yes", "--only", "verify", "--json", env=install_env, timeout=180)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ran"] == ["verify"] and Path(doc["log"]).parent == Path(install_env["SETUPKIT_INSTALL_LOG_DIR"])
    log = Path(doc["log"]).read_text()
    assert "-m setupkit doctor" in log and "[exit 0]" in log
    assert not Path(install_env["SETUPKIT_INSTALL_STATE"]).exists()


def test_a_failing_step_exits_4_naming_the_step_and_the_log(monkeypatch, capsys, install_env):
    from setupkit.cli import main
    from setupkit.install.runner import StepOutcome, SubprocessStepRunner

    for name, value in install_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(SubprocessStepRunner, "run",
                        lambda self, argv, log, interactive=False: StepOutcome(2, "boom\n"))
    with pytest.raises(SystemExit) as caught:
        main(["install", "--yes", "--only", "verify"])
    err = capsys.readouterr().err
    assert caught.value.code == exitcodes.ACTION_FAILED
    assert "step verify" in err and install_env["SETUPKIT_INSTALL_LOG_DIR"] in err and "exited 2" in err


def test_a_plan_made_from_a_snapshot_is_never_applied(h100_snapshot):
    """The work itself refuses it, whoever calls it: that plan is for another host."""
    from setupkit.errors import UsageError
    from setupkit.install import run

    with pytest.raises(UsageError, match="^--snapshot plans for another host: it only goes with --dry-run$"):
        run.apply(run.InstallOptions(snapshot=str(h100_snapshot)), run.ApplyCallbacks(), ["setupkit", "install"])


def test_install_options_refuse_a_step_no_plan_has():
    from setupkit.errors import UsageError
    from setupkit.install import run

    with pytest.raises(UsageError, match=r"^unknown step drivers \(in --skip\): the steps are reboot, pip, "):
        run.InstallOptions(only=("driver",), skip=("drivers",))
    assert run.InstallOptions(only=["driver"]).only == ("driver",)
