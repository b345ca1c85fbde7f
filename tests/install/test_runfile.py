"""The runfile path on fake runfiles that print NVIDIA's real prompts and record the answers they got."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from setupkit import exitcodes
from setupkit.errors import ActionFailed, UsageError
from setupkit.install import runfile
from setupkit.install.executor import execute
from setupkit.install.runner import SubprocessStepRunner

FAKE = Path(__file__).with_name("fake_runfile.py")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Make a fake runfile named like NVIDIA's, on a PATH that holds nothing but sh."""

    def make(name: str, mode: str, cuda: str = "9.0") -> tuple[Path, Path]:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        if not (bin_dir / "sh").exists():
            (bin_dir / "sh").symlink_to("/bin/sh")
        record = tmp_path / "answers.jsonl"
        file = tmp_path / name
        file.write_text(f'exec "{sys.executable}" "{FAKE}" "$@"\n')
        monkeypatch.setenv("PATH", str(bin_dir))
        monkeypatch.setenv("FAKE_RUNFILE_RECORD", str(record))
        monkeypatch.setenv("FAKE_RUNFILE_MODE", mode)
        monkeypatch.setenv("FAKE_RUNFILE_CUDA", cuda)
        return file, record

    return make


def answers(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()]


def dialog(record: Path) -> list[tuple[str, str]]:
    return [(a["prompt"], a["answer"]) for a in answers(record) if "prompt" in a and a["prompt"] != "pager"]


@pytest.mark.parametrize("name, version", [
    ("cuda_11.8.0_520.61.05_linux.run", "11.8"), ("cuda_9.0.176_384.81_linux-run", "9.0"),
    ("cuda_10.0.130_410.48_linux", "10.0"), ("cuda_7.5.18_linux.run", "7.5"),
    ("/opt/dl/cuda_12.4.1_550.54.15_linux.run", "12.4")])
def test_version_comes_from_the_file_name(name, version):
    assert runfile.runfile_cuda_version(name) == version


def test_a_name_without_a_version_is_a_usage_error():
    with pytest.raises(UsageError) as caught:
        runfile.runfile_cuda_version("/tmp/installer.run")
    assert caught.value.exit_code == exitcodes.USAGE
    assert "cuda_X.Y.Z_DRIVER_linux.run" in caught.value.message


def test_legacy_dialog_says_no_to_the_driver_and_yes_to_the_toolkit(fake, tmp_path):
    file, record = fake("cuda_9.0.176_384.81_linux-run", "legacy")
    log = tmp_path / "install.log"
    result = runfile.run_legacy(str(file), "/opt/cuda-9.0", override=False, log_path=str(log), prompt_timeout=10,
                                install_timeout=10)
    assert dialog(record) == [("eula", "accept"), ("driver", "n"), ("toolkit", "y"), ("location", "/opt/cuda-9.0"),
                              ("symlink", "y"), ("samples", "n")]
    pages = [a for a in answers(record) if a.get("prompt") == "pager"]
    assert [p["answer"] for p in pages] == [" ", " ", " "]
    assert answers(record)[0]["argv"] == []  # no --override unless asked
    assert result.driver == "Not Selected" and result.toolkit == "Installed in /opt/cuda-9.0"
    assert "Install NVIDIA Accelerated Graphics Driver" in log.read_text()


def test_unsupported_configuration_is_refused_without_override(fake, tmp_path):
    file, record = fake("cuda_9.0.176_384.81_linux-run", "unsupported")
    with pytest.raises(ActionFailed) as caught:
        runfile.run_legacy(str(file), "/usr/local/cuda-9.0", override=False, log_path=str(tmp_path / "log"),
                           prompt_timeout=10)
    assert caught.value.exit_code == exitcodes.ACTION_FAILED
    assert "unsupported configuration" in caught.value.message and "--override" in caught.value.message
    assert ("unsupported", "y") not in dialog(record)


def test_unsupported_configuration_is_accepted_with_override(fake, tmp_path):
    file, record = fake("cuda_9.0.176_384.81_linux-run", "unsupported")
    runfile.run_legacy(str(file), "/usr/local/cuda-9.0", override=True, log_path=str(tmp_path / "log"),
                       prompt_timeout=10, install_timeout=10)
    assert answers(record)[0]["argv"] == ["--override"]
    assert dialog(record)[:3] == [("eula", "accept"), ("unsupported", "y"), ("driver", "n")]


def test_an_unexpected_prompt_aborts_and_shows_it(fake, tmp_path):
    file, record = fake("cuda_9.0.176_384.81_linux-run", "unexpected")
    with pytest.raises(ActionFailed) as caught:
        runfile.run_legacy(str(file), "/usr/local/cuda-9.0", override=False, log_path=str(tmp_path / "log"),
                           prompt_timeout=10)
    assert "experimental frobnicator" in caught.value.message
    # nothing was answered: the fake reads at most an empty line (EOF) when it is killed
    assert all(answer == "" for prompt, answer in dialog(record) if prompt == "unexpected")


def test_a_hang_times_out_with_exit_4(fake, tmp_path):
    file, _ = fake("cuda_9.0.176_384.81_linux-run", "hang")
    started = time.monotonic()
    with pytest.raises(ActionFailed) as caught:
        runfile.run_legacy(str(file), "/usr/local/cuda-9.0", override=False, log_path=str(tmp_path / "log"),
                           prompt_timeout=1.5)
    assert time.monotonic() - started < 15
    assert caught.value.exit_code == exitcodes.ACTION_FAILED
    assert "no answer within 1.5 s" in caught.value.message and "Checking the system" in caught.value.message


def test_a_runfile_that_prints_without_end_is_cut_at_the_step_timeout(fake, tmp_path):
    file, _ = fake("cuda_9.0.176_384.81_linux-run", "flood")
    log = tmp_path / "install.log"
    started = time.monotonic()
    with pytest.raises(ActionFailed) as caught:
        runfile.run_legacy(str(file), "/usr/local/cuda-9.0", override=False, log_path=str(log), prompt_timeout=1.5)
    assert time.monotonic() - started < 15  # the output does not restart the clock
    assert "no answer within 1.5 s" in caught.value.message and "Extracting the toolkit" in caught.value.message


def test_a_pager_without_end_is_cut_at_the_deadline_of_the_whole_dialog(fake, tmp_path):
    file, record = fake("cuda_9.0.176_384.81_linux-run", "endless-eula")
    started = time.monotonic()
    with pytest.raises(ActionFailed) as caught:
        runfile.run_legacy(str(file), "/usr/local/cuda-9.0", override=False, log_path=str(tmp_path / "log"),
                           prompt_timeout=10, deadline=3)
    assert time.monotonic() - started < 15  # each page is answered in time, but the whole has its bounds
    # Whichever comes first on this machine: the deadline, or the most answers one dialog may give.
    assert "still running after 3 s" in caught.value.message or "kept asking past 10,000" in caught.value.message
    assert len([a for a in answers(record) if a.get("prompt") == "pager"]) > 3


def test_an_early_exit_fails_naming_the_log(fake, tmp_path):
    file, _ = fake("cuda_9.0.176_384.81_linux-run", "early-exit")
    log = tmp_path / "install.log"
    with pytest.raises(ActionFailed) as caught:
        runfile.run_legacy(str(file), "/usr/local/cuda-9.0", override=False, log_path=str(log), prompt_timeout=10)
    assert "exited before its summary (status 3)" in caught.value.message
    assert str(log) in caught.value.message
    assert "Installation failed" in log.read_text()



def test_modern_runfile_gets_toolkit_only_flags(fake, tmp_path, paths):
    from setupkit.install.options import PlanOptions
    from setupkit.install.planner import build_plan
    from tests.helpers.install import ubuntu_gpu_facts

    file, record = fake("cuda_12.5.1_555.42.06_linux.run", "modern")
    facts = ubuntu_gpu_facts(**{"driver.loaded": True, "driver.version": "580.95.05", "driver.nvml_error": None,
                                "driver.cuda_max": "13.0", "nouveau.loaded": False, "nouveau.blacklisted": True})
    plan = build_plan(facts, PlanOptions(gpu=True, cuda_runfile=str(file), toolkit_path=str(tmp_path / "cuda")))
    toolkit = plan.step("cuda-toolkit")
    assert toolkit.commands == [["sh", str(file), "--silent", "--toolkit", f"--toolkitpath={tmp_path / 'cuda'}"]]
    assert plan.step("cuda-repo").status == "skip"
    for step in plan.steps:
        if step.id != "cuda-toolkit" and step.status == "todo":
            step.mark("skip", "not under test")
    execute(plan, SubprocessStepRunner(timeout=30, echo=open(os.devnull, "w")), paths)
    assert answers(record)[0]["argv"] == ["--silent", "--toolkit", f"--toolkitpath={tmp_path / 'cuda'}"]
    assert "--driver" not in answers(record)[0]["argv"]


def test_modern_runfile_failure_text_fails_the_step_even_with_exit_0(fake, tmp_path, paths):
    from setupkit.install.options import PlanOptions
    from setupkit.install.planner import build_plan
    from tests.helpers.install import ubuntu_gpu_facts

    file, _ = fake("cuda_12.5.1_555.42.06_linux.run", "modern-fails")
    facts = ubuntu_gpu_facts(**{"driver.loaded": True, "driver.version": "580.95.05", "driver.nvml_error": None,
                                "driver.cuda_max": "13.0"})
    plan = build_plan(facts, PlanOptions(gpu=True, cuda_runfile=str(file), override=True))
    assert plan.step("cuda-toolkit").commands[0][-1] == "--override"
    for step in plan.steps:
        if step.id != "cuda-toolkit" and step.status == "todo":
            step.mark("skip", "not under test")
    with pytest.raises(ActionFailed) as caught:
        execute(plan, SubprocessStepRunner(timeout=30, echo=open(os.devnull, "w")), paths)
    assert "step cuda-toolkit" in caught.value.message and "Failed to verify gcc version" in caught.value.message
    assert paths.log in caught.value.message


def test_legacy_runfile_runs_through_the_executor(fake, tmp_path, paths):
    from setupkit.install.options import PlanOptions
    from setupkit.install.planner import build_plan
    from tests.helpers.install import ubuntu_gpu_facts

    file, record = fake("cuda_10.0.130_410.48_linux", "legacy", cuda="10.0")
    facts = ubuntu_gpu_facts(**{"python.version": "3.6.9", "os.version_id": "18.04", "driver.loaded": True,
                                "driver.version": "418.226.00", "driver.nvml_error": None, "driver.cuda_max": "10.1"})
    plan = build_plan(facts, PlanOptions(gpu=True, cuda_runfile=str(file), toolkit_path="/opt/cuda-10.0"))
    toolkit = plan.step("cuda-toolkit")
    assert toolkit.dialog["answers"]["driver"] == "n" and toolkit.commands == [["sh", str(file)]]
    for step in plan.steps:
        if step.id != "cuda-toolkit" and step.status == "todo":
            step.mark("skip", "not under test")

    def quick(*args, **kwargs):
        return runfile.run_legacy(*args, **kwargs, prompt_timeout=10, install_timeout=10)

    assert execute(plan, SubprocessStepRunner(timeout=30), paths, dialog_runner=quick) == ["cuda-toolkit"]
    assert ("location", "/opt/cuda-10.0") in dialog(record)
    assert ("driver", "n") in dialog(record)
