"""The executor through a recording runner: exact argv, nothing run by a dry run, nothing changed by a second
run, a failure that names its step and log, a resume, the lock, root, the graphical-session refusal."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from setupkit import exitcodes
from setupkit.errors import ActionFailed, PreconditionError
from setupkit.install import executor
from setupkit.install.executor import execute
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.install.runner import StepOutcome
from tests.helpers.install import RecordingRunner, plan_for
from tests.helpers.scenarios import snapshot_facts


def settled_facts_1604() -> dict:
    """What the probes read on the 16.04 host after the plan ran and it rebooted."""
    facts = snapshot_facts("ubuntu1604-gtx-nouveau")
    facts.update({"pip.version": "20.3.4", "kernel.headers_installed": True, "nouveau.loaded": False,
                  "nouveau.blacklisted": True, "driver.loaded": True, "driver.version": "460.106.00",
                  "driver.userspace_version": "460.106.00", "driver.nvml_error": None, "driver.cuda_max": "11.2",
                  "gpu.compute_capabilities": ["6.1"], "cuda.toolkit_version": "10.1", "cudnn.version": "7.6.5",
                  "tensorflow.version": "2.3.0", "tensorflow.package": "tensorflow", "reboot.required": False})
    return facts


def test_the_16_04_plan_runs_its_exact_commands_in_order(paths):
    runner = RecordingRunner()
    plan = plan_for("ubuntu1604-gtx-nouveau")
    ran = execute(plan, runner, paths)
    assert ran == ["pip", "kernel-headers", "nouveau", "cuda-repo", "display-stop", "driver", "cuda-toolkit", "cudnn",
                   "display-start", "tensorflow"]
    assert runner.commands == [
        ["/usr/bin/python3", "-m", "pip", "install", "--upgrade", "pip<=20.3.4"],
        ["apt-get", "update"], ["apt-get", "install", "-y", "linux-headers-4.15.0-142-generic"],
        ["update-initramfs", "-u"],
        ["apt-get", "update"], ["apt-get", "install", "-y", "ca-certificates", "wget", "apt-transport-https"],
        ["wget", "-q", "-O", "/tmp/cuda-keyring_1.0-1_all.deb",
         "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu1604/x86_64/cuda-keyring_1.0-1_all.deb"],
        ["dpkg", "-i", "/tmp/cuda-keyring_1.0-1_all.deb"],
        ["wget", "-q", "-O", "/tmp/nvidia-ml-7fa2af80.pub",
         "https://developer.download.nvidia.com/compute/machine-learning/repos/ubuntu1604/x86_64/7fa2af80.pub"],
        ["apt-key", "add", "/tmp/nvidia-ml-7fa2af80.pub"], ["apt-get", "update"],
        ["systemctl", "stop", "lightdm"],
        ["apt-get", "update"], ["apt-get", "install", "-y", "software-properties-common"],
        ["add-apt-repository", "-y", "ppa:graphics-drivers/ppa"], ["apt-get", "update"],
        ["apt-get", "install", "-y", "nvidia-460"],
        ["apt-get", "install", "-y", "cuda-toolkit-10-1"],
        ["apt-get", "install", "-y", "libcudnn7=7.6.5.32-1+cuda10.1", "libcudnn7-dev=7.6.5.32-1+cuda10.1"],
        ["apt-mark", "hold", "libcudnn7", "libcudnn7-dev"],
        ["systemctl", "start", "lightdm"],
        ["/usr/bin/python3", "-m", "pip", "install", "tensorflow==2.3.1"],
    ]
    blacklist = "blacklist nouveau\noptions nouveau modeset=0\n"
    assert runner.files == [("/etc/modprobe.d/blacklist-nouveau.conf", blacklist),
                            ("/etc/apt/sources.list.d/nvidia-ml.list", "deb https://developer.download.nvidia.com/"
                                                                       "compute/machine-learning/repos/ubuntu1604/"
                                                                       "x86_64 /\n")]
    log = Path(paths.log).read_text()
    assert "$ apt-get install -y nvidia-460" in log and "[exit 0]" in log
    assert not Path(paths.state).exists()  # a completed run leaves no resume state
    # The blacklist and the driver ran and need a reboot: the result says so after the run, not only before.
    doc = plan.to_json()
    assert doc["reboot_required"] is True
    assert [s["id"] for s in doc["steps"] if s["ran"] and s["reboot"]] == ["nouveau", "driver"]


def test_a_second_run_executes_no_changing_command(paths):
    plan = build_plan(settled_facts_1604(), PlanOptions(gpu=True))
    assert [s.id for s in plan.todo()] == ["verify"]
    runner = RecordingRunner()
    execute(plan, runner, paths)
    verify = plan.step("verify")
    assert not verify.changes and runner.commands == verify.commands and runner.files == []


def test_a_failure_stops_at_the_step_naming_it_and_the_log_then_a_rerun_resumes(paths):
    failing = RecordingRunner(fail={("apt-get", "install", "-y", "nvidia-460"): 100})
    with pytest.raises(ActionFailed) as caught:
        execute(plan_for("ubuntu1604-gtx-nouveau"), failing, paths)
    message = caught.value.message
    assert caught.value.exit_code == exitcodes.ACTION_FAILED
    assert "step driver" in message and "exited 100" in message and paths.log in message
    assert failing.commands[-1] == ["apt-get", "install", "-y", "nvidia-460"]
    assert "[exit 100]" in Path(paths.log).read_text()
    done = json.loads(Path(paths.state).read_text())["done"]
    assert set(done) == {"pip", "kernel-headers", "nouveau", "cuda-repo", "display-stop"}

    again = RecordingRunner()
    ran = execute(plan_for("ubuntu1604-gtx-nouveau"), again, paths)
    assert ran == ["driver", "cuda-toolkit", "cudnn", "display-start", "tensorflow"]
    assert again.commands[2] == ["add-apt-repository", "-y", "ppa:graphics-drivers/ppa"]
    assert ["systemctl", "stop", "lightdm"] not in again.commands


def test_a_changed_step_is_not_taken_as_done_from_the_state_file(paths):
    Path(paths.state).write_text(json.dumps({"done": {"tensorflow": "0123456789abcdef"}}))
    runner = RecordingRunner()
    plan = plan_for("ubuntu2204-two-gpus-cuda118", upgrade_tensorflow=True)
    execute(plan, runner, paths)
    assert ["/home/user/venvs/tf/bin/python", "-m", "pip", "install",
            f"tensorflow[and-cuda]=={plan.choices['tensorflow']}"] in runner.commands


def test_a_blocked_plan_runs_nothing(paths):
    runner = RecordingRunner()
    with pytest.raises(PreconditionError, match="reboot first"):
        execute(plan_for("ubuntu2204-driver-mismatch"), runner, paths)
    assert runner.commands == [] and runner.files == []


def test_a_missing_program_fails_the_step(paths):
    class Missing(RecordingRunner):
        def run(self, argv, log, interactive=False):
            return StepOutcome(127, "", f"{argv[0]}: command not found")

    with pytest.raises(ActionFailed, match="step pip .*cannot run `/usr/bin/python3 .*`: /usr/bin/python3: command"):
        execute(plan_for("centos7-no-avx"), Missing(), paths)


def test_the_mok_step_runs_interactively(paths):
    runner = RecordingRunner()
    plan = plan_for("laptop-hybrid-secureboot", driver_branch=580)
    execute(plan, runner, paths)
    assert ["mokutil", "--import", "/var/lib/shim-signed/mok/MOK.der"] in runner.commands
    assert "(recorded interactive)" in Path(paths.log).read_text()


def test_stopping_the_display_manager_from_its_own_session_is_refused(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "me")
    plan = plan_for("ubuntu1604-gtx-nouveau")  # display.graphical_session is true there
    command = ["/home/me/.venv/bin/setupkit", "install", "--gpu"]
    with pytest.raises(PreconditionError) as caught:
        executor.refuse_display_stop_inside_session(plan, True, command)
    assert caught.value.exit_code == exitcodes.PRECONDITION
    assert "graphical session" in caught.value.message
    hint = caught.value.hint
    assert "Ctrl+Alt+F3" in hint and "ssh" in hint
    assert hint.endswith("detached: setsid sudo /home/me/.venv/bin/setupkit install --gpu --yes")
    executor.refuse_display_stop_inside_session(plan, False, command)
    executor.refuse_display_stop_inside_session(plan_for("h100"), True, command)


def test_root_is_required_and_the_hint_is_a_command_that_works_under_sudo():
    command = ["/home/me/.venv/bin/setupkit", "install", "--gpu", "--only", "driver"]
    with pytest.raises(PreconditionError) as caught:
        executor.require_root(command, euid=1000)
    assert caught.value.exit_code == exitcodes.PRECONDITION and "must run as root" in caught.value.message
    assert caught.value.hint.startswith("sudo /home/me/.venv/bin/setupkit install --gpu --only driver ")
    executor.require_root(command, euid=0)


def test_the_command_to_run_again_is_the_running_setupkit(tmp_path):
    script = tmp_path / "venv bin" / "setupkit"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert executor.setupkit_command([str(script), "install", "--gpu"], "/py") == [str(script), "install", "--gpu"]
    # `python -m setupkit`: argv[0] is the package's __main__.py, not something to run
    main_py = tmp_path / "__main__.py"
    main_py.write_text("")
    assert executor.setupkit_command([str(main_py), "install"], "/venv/bin/python") == [
        "/venv/bin/python", "-m", "setupkit", "install"]
    assert executor.setupkit_command(["setupkit", "install"], "/venv/bin/python")[:3] == [
        "/venv/bin/python", "-m", "setupkit"]
    script.chmod(0o644)  # not executable: not a command either
    assert executor.setupkit_command([str(script), "install"], "/py")[:3] == ["/py", "-m", "setupkit"]


def test_a_held_lock_refuses_a_second_install(tmp_path):
    lock = tmp_path / "install.lock"
    with executor.install_lock(str(lock)):
        with pytest.raises(PreconditionError, match="another setupkit install is running"):
            with executor.install_lock(str(lock)):
                pass
    with executor.install_lock(str(lock)):  # released: the next install gets it
        pass


def test_lock_is_an_flock_other_processes_see(tmp_path):
    lock = tmp_path / "install.lock"
    with executor.install_lock(str(lock)), open(lock) as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
