"""`setupkit build-tf` as a user runs it: a subprocess, a fake tree, the fake bazel alone on PATH."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from setupkit import exitcodes

COMMON = ("--no-install", "--min-free-gb", "0", "--jobs", "4")


def test_no_install_json_gives_the_wheel_answers_and_argv(kit, tmp_path, run_setupkit):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    done = run_setupkit("build-tf", "--source", str(tree), *COMMON, "--json", env=kit.cli_env(bin_folder),
                        timeout=60)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "setupkit-build-tf/1"
    assert document["wheel"] == str(tree / "bazel-bin/tensorflow/tools/pip_package/wheel_house/"
                                           "tensorflow_cpu-2.20.0-cp311-cp311-linux_x86_64.whl")
    assert (document["tf_version"], document["bazel_version"]) == ("2.20.0", "7.4.1")
    assert document["cc_opt_flags"] == "-march=native -Wno-sign-compare"
    assert document["commands"] == [["./configure"], [
        "bazel", "build", "//tensorflow/tools/pip_package:wheel", "--repo_env=USE_PYWRAP_RULES=1",
        "--repo_env=WHEEL_NAME=tensorflow_cpu", "--config=opt", "--jobs=4"]]
    assert [call["argv"] for call in kit.bazel_calls(bin_folder)] == [document["commands"][1][1:]]
    assert document["configure_answers"]["cc_opt_flags"] == "-march=native -Wno-sign-compare"
    assert document["configure_answers"]["need_clang"] == "y"
    assert kit.configure_answers(tree)["CC_OPT_FLAGS"] == "-march=native -Wno-sign-compare"
    assert (document["installed"], document["benchmark"]) == (False, None)
    assert document["log"] == str(tree / "setupkit-build-tf.log")
    assert "build:opt --copt=-march=native" in done.stderr  # the bazelrc is shown
    assert "--jobs 4 as asked" in done.stderr


def test_dry_run_runs_nothing_and_prints_the_plan(kit, tmp_path, run_setupkit):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    done = run_setupkit("build-tf", "--source", str(tree), "--dry-run", "--cpu-flags", "sse4_2,avx2",
                        "--min-free-gb", "0", "--venv", str(tmp_path / "venv"), env=kit.cli_env(bin_folder),
                        timeout=60)
    assert done.returncode == 0, done.stderr
    assert "CC_OPT_FLAGS:      -msse4.2 -mavx2 -Wno-sign-compare" in done.stdout
    assert "command:           bazel build //tensorflow/tools/pip_package:wheel" in done.stdout
    assert "configure answer:  android_workspace = 'n'" in done.stdout
    assert "dry run: nothing was run" in done.stdout
    assert not (bin_folder / "bazel_argv.jsonl").exists()
    assert not (tree / ".tf_configure.bazelrc").exists() and not (tree / "configure_answers.json").exists()
    assert not (tmp_path / "venv").exists() and not (tree / "setupkit-build-tf.log").exists()


def test_missing_source_and_non_tensorflow_folder_are_exit_3(kit, tmp_path, run_setupkit):
    bin_folder = kit.make_bin(tmp_path / "bin")
    missing = run_setupkit("build-tf", "--source", str(tmp_path / "nowhere"), "--dry-run",
                           env=kit.cli_env(bin_folder), timeout=60)
    assert missing.returncode == exitcodes.PRECONDITION and "no folder" in missing.stderr
    (tmp_path / "other").mkdir()
    other = run_setupkit("build-tf", "--source", str(tmp_path / "other"), env=kit.cli_env(bin_folder), timeout=60)
    assert other.returncode == exitcodes.PRECONDITION and "not a TensorFlow source tree" in other.stderr
    assert "Traceback" not in missing.stderr + other.stderr


def test_missing_bazel_is_exit_3_with_the_fix(kit, tmp_path, run_setupkit):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin", bazel=False)
    done = run_setupkit("build-tf", "--source", str(tree), *COMMON, env=kit.cli_env(bin_folder), timeout=60)
    assert _one_line(done, exitcodes.PRECONDITION) == "setupkit: bazelisk not found"
    assert done.stderr.strip().splitlines()[1].startswith("fix: npm install -g @bazel/bazelisk")
    assert not (tree / "configure_answers.json").exists()
    # A dry run on this machine shows the plan, then refuses the same way.
    dry = run_setupkit("build-tf", "--source", str(tree), *COMMON, "--dry-run", env=kit.cli_env(bin_folder),
                       timeout=60)
    assert "prerequisite:      MISSING bazelisk not found; fix: npm install -g @bazel/bazelisk" in dry.stdout
    assert _one_line(dry, exitcodes.PRECONDITION) == "setupkit: bazelisk not found"


def test_cuda_without_gpus_or_capabilities_is_a_usage_error(kit, tmp_path, run_setupkit):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    done = run_setupkit("build-tf", "--source", str(tree), "--cuda", "--dry-run", env=kit.cli_env(bin_folder),
                        timeout=60)
    # This machine has no NVIDIA GPU, so its compute capabilities are unknown.
    assert done.returncode == exitcodes.USAGE and "--cuda-capabilities" in done.stderr


def test_bazel_failure_is_exit_4_naming_the_log(kit, tmp_path, run_setupkit):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    log = tmp_path / "logs" / "tf.log"
    done = run_setupkit("build-tf", "--source", str(tree), *COMMON, "--log", str(log),
                        env=kit.cli_env(bin_folder, FAKE_BAZEL_FAIL="1"), timeout=60)
    assert done.returncode == exitcodes.ACTION_FAILED
    assert f"log: {log}" in done.stderr and "ERROR: /src/tensorflow/core/kernels/BUILD:42:1" in done.stdout
    assert "[5 / 10]" in log.read_text()


def test_ctrl_c_stops_bazel_and_exits_130(kit, tmp_path):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    env = dict(os.environ, NO_COLOR="1", **kit.cli_env(bin_folder, FAKE_BAZEL_SLEEP="30"))
    process = subprocess.Popen([sys.executable, "-m", "setupkit", "build-tf", "--source", str(tree), *COMMON],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = tree / "setupkit-build-tf.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (log.exists() and "[3 / 10]" in log.read_text()):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == exitcodes.INTERRUPTED, err
    assert f"interrupted during the build; log: {log}" in err
    assert (bin_folder / "interrupted").read_text() == "SIGINT\n"  # bazel got SIGINT, not a kill


def test_snapshot_plans_a_cuda_build_for_the_captured_h100(kit, tmp_path, run_setupkit, h100_snapshot):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    done = run_setupkit("build-tf", "--source", str(tree), "--cuda", "--dry-run", "--json", "--min-free-gb", "0",
                        "--snapshot", str(h100_snapshot), env=kit.cli_env(bin_folder), timeout=60)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["cuda_capabilities"] == "9.0"  # the H100's, read from the capture's NVML
    assert document["configure_answers"]["cuda_compute_capabilities"] == "9.0"
    assert document["commands"][1][-4:-1] == ["--config=opt", "--config=cuda", "--config=cuda_wheel"]
    assert "-mavx512f" in document["cpu_flags_allowed"]
    building = run_setupkit("build-tf", "--source", str(tree), "--snapshot", str(h100_snapshot),
                            env=kit.cli_env(bin_folder), timeout=60)
    assert building.returncode == exitcodes.USAGE and "use it with --dry-run" in building.stderr


def _bin_with_bazelisk(kit, folder: Path) -> Path:
    """This machine's PATH: bazelisk (the fake bazel under that name), clang and gcc: all found here."""
    bin_folder = kit.make_bin(folder, bazel=False)
    bazelisk = bin_folder / "bazelisk"
    bazelisk.write_text((Path(__file__).parent / "fake_bazel.py").read_text())
    bazelisk.chmod(0o755)
    return bin_folder


def test_a_snapshot_plan_takes_toolchain_headers_and_disk_from_the_snapshot_never_from_here(
        kit, tmp_path, run_setupkit, h100_snapshot):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), _bin_with_bazelisk(kit, tmp_path / "bin")
    here = run_setupkit("build-tf", "--source", str(tree), "--dry-run", "--json", env=kit.cli_env(bin_folder),
                        timeout=60)
    assert {item["name"]: item["detail"] for item in json.loads(here.stdout)["prerequisites"]}["bazel"] == \
        "bazelisk on PATH (the tree pins Bazel 7.4.1; bazelisk fetches it from .bazelversion)"  # the fake is seen

    done = run_setupkit("build-tf", "--source", str(tree), "--dry-run", "--json", "--snapshot", str(h100_snapshot),
                        env=kit.cli_env(bin_folder), timeout=60)
    assert done.returncode == 0, done.stderr  # unknown is not missing: a dry run does not refuse
    document = json.loads(done.stdout)
    found = {item["name"]: item for item in document["prerequisites"]}
    for name in ("bazel", "compiler", "python-headers", "disk:the source tree", "disk:Bazel's output root", "venv",
                 "venv:--venv", "venv:--stock-venv", "log"):
        assert found[name]["ok"] is None and found[name]["detail"].endswith(": unknown (snapshot)"), found[name]
    assert "/opt/torch/.venv/bin/python3" in found["python-headers"]["detail"]  # the captured interpreter's
    assert document["configure_answers"]["python_bin_path"] == "/opt/torch/.venv/bin/python3"
    assert document["configure_answers"]["need_clang"] == "n"  # no clang known there, whatever is found here
    assert document["snapshot"] == str(h100_snapshot)
    assert document["jobs_reason"].startswith("16 CPUs")  # the H100 VM's, from its cpuinfo
    assert str(bin_folder) not in done.stdout + done.stderr and sys.executable not in done.stdout

    human = run_setupkit("build-tf", "--source", str(tree), "--dry-run", "--snapshot", str(h100_snapshot),
                         "--python", sys.executable, env=kit.cli_env(bin_folder), timeout=60)
    assert human.returncode == 0, human.stderr
    assert f"machine:           the snapshot {h100_snapshot}" in human.stdout
    assert "prerequisite:      unknown bazel or bazelisk on PATH (the tree pins Bazel 7.4.1; bazelisk fetches it " \
           "from .bazelversion): unknown (snapshot)" in human.stdout
    # Another --python than the captured one cannot be asked there: its headers are unknown, not this machine's.
    assert f"prerequisite:      unknown Python headers of {sys.executable}: unknown (snapshot)" in human.stdout
    assert "free disk for the source tree" in human.stdout and " GB free" not in human.stdout
    assert str(bin_folder) not in human.stdout + human.stderr and "MISSING" not in human.stdout
    assert "the unknown prerequisites are to be checked on the build machine" in human.stdout


def _one_line(done, code: int) -> str:
    """The run ended with ``code`` and said why on one line (a `fix:` line may follow), no traceback."""
    assert done.returncode == code, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and lines[0].startswith("setupkit: ") and len(lines) <= 2, done.stderr
    assert len(lines) == 1 or lines[1].startswith("fix: ")
    return lines[0]


def _fifo(path):
    os.mkfifo(path)
    return path


def _file(path):
    path.write_text("not a folder\n")
    return path


def _dangling(path):
    path.symlink_to(path.parent / "nowhere")
    return path


@pytest.mark.parametrize("make_log, says", [
    (lambda tmp: tmp, "is a folder, not a file"),
    (lambda tmp: _file(tmp / "plain") / "build.log", "is a regular file, not a folder"),
    (lambda tmp: _fifo(tmp / "fifo"), "is a FIFO, not a file"),
    (lambda tmp: _dangling(tmp / "link.log"), "is a symbolic link, not a file"),
    (lambda tmp: tmp / ("x" * 300), "file name too long"),
])
def test_a_log_that_cannot_be_written_is_exit_3_before_anything_runs(kit, tmp_path, run_setupkit, make_log, says):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    logs = tmp_path / "logs"
    logs.mkdir()
    done = run_setupkit("build-tf", "--source", str(tree), *COMMON, "--log", str(make_log(logs)),
                        env=kit.cli_env(bin_folder), timeout=60)
    assert says in _one_line(done, exitcodes.PRECONDITION)
    assert not (tree / "configure_answers.json").exists() and kit.bazel_calls(bin_folder) == []


def test_a_log_that_cannot_be_written_as_a_user_is_exit_3(kit, tmp_path, run_setupkit):
    if os.geteuid() == 0:
        pytest.skip("root writes through any permission bits")
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    done = run_setupkit("build-tf", "--source", str(tree), *COMMON, "--log", str(locked / "build.log"),
                        env=kit.cli_env(bin_folder), timeout=60)
    assert "is not writable" in _one_line(done, exitcodes.PRECONDITION)


def _not_executable(path):
    path.chmod(0o644)


def _folder(path):
    path.unlink()
    path.mkdir()


def _configure_fifo(path):
    path.unlink()
    os.mkfifo(path)


def _configure_dangling(path):
    path.unlink()
    path.symlink_to(path.parent / "configure.py")


@pytest.mark.parametrize("spoil, says", [
    (_not_executable, "is not executable"),
    (_folder, "is a folder, not a program"),
    (_configure_fifo, "is a FIFO, not a program"),
    (_configure_dangling, "is a dangling link"),
])
@pytest.mark.parametrize("mode", [(), ("--non-interactive",)])
def test_a_configure_that_cannot_run_is_exit_3_before_anything_runs(kit, tmp_path, run_setupkit, spoil, says, mode):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    spoil(tree / "configure")
    done = run_setupkit("build-tf", "--source", str(tree), *COMMON, *mode, env=kit.cli_env(bin_folder), timeout=60)
    assert says in _one_line(done, exitcodes.PRECONDITION)
    assert not (tree / "setupkit-build-tf.log").exists() and kit.bazel_calls(bin_folder) == []


@pytest.mark.parametrize("option, says, fix", [
    (("--jobs", "0"), "--jobs 0 is out of range", "fix: give a number of Bazel jobs from 1 to 5,000"),
    (("--jobs", "-1"), "--jobs -1 is out of range", "fix: give a number of Bazel jobs"),
    (("--jobs", "9" * 40), "is out of range", "from 1 to 5,000"),
    (("--bench-repeats", "0"), "--bench-repeats 0 is out of range", "fix: give a number of runs per wheel"),
    (("--bench-repeats", "1000000"), "--bench-repeats 1000000", "from 1 to 20"),
    (("--bench-steps", "-5"), "--bench-steps -5 is out of range", "fix: give a number of steps"),
    (("--bench-batch-size", "10000000"), "--bench-batch-size", "a batch size from 1 to 65,536"),
    (("--min-free-gb", "nan"), "--min-free-gb nan", "fix: give a number of GB, 0 or more"),
    (("--cpu-flags", "avx9000"), "unknown CPU flag 'avx9000'", "fix: use /proc/cpuinfo names"),
    (("--cpu-flags", "-mavx2;$(reboot)"), "malformed compiler flag", "fix: give flags such as -mavx2"),
    (("--cpu-flags", " , "), "--cpu-flags is empty", "fix: give native, auto, or a list such as avx2,fma"),
    (("--cpu-flags", "avx2 " * 100), "--cpu-flags lists 100 flags", "fix: give at most 48"),
    (("--cpu-flags", "-m" + "x" * 5000), "malformed compiler flag", "at most 60 characters"),
    (("--cuda", "--cuda-capabilities", "nine"), "--cuda-capabilities 'nine'", "fix: give up to 32"),
    (("--python", ""), "--python '' is not a program path", "fix: give the path of a Python interpreter"),
])
def test_hostile_options_are_one_line_exit_2_and_their_fix(kit, tmp_path, run_setupkit, option, says, fix):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    done = run_setupkit("build-tf", "--source", str(tree), "--dry-run", *option, env=kit.cli_env(bin_folder),
                        timeout=60)
    line = _one_line(done, exitcodes.USAGE)
    assert says in line and len(line) < 400
    hint = done.stderr.strip().splitlines()[1]
    assert hint.startswith("fix: ") and fix in hint and len(hint) < 400


@pytest.mark.parametrize("make_source, says", [
    (lambda tmp: _fifo(tmp / "fifo"), "is a FIFO, not a folder"),
    (lambda tmp: _file(tmp / "plain"), "is a regular file, not a folder"),
    (lambda tmp: tmp / "nowhere", "no folder"),
    (lambda tmp: tmp / ("deep/" * 1000), "file name too long"),
    (lambda tmp: _file(tmp / "plain2") / "tf", "no folder"),
])
def test_a_source_that_is_not_a_folder_is_exit_3_in_one_short_line(kit, tmp_path, run_setupkit, make_source, says):
    bin_folder = kit.make_bin(tmp_path / "bin")
    done = run_setupkit("build-tf", "--source", str(make_source(tmp_path)), "--dry-run",
                        env=kit.cli_env(bin_folder), timeout=60)
    line = _one_line(done, exitcodes.PRECONDITION)
    assert says.lower() in line.lower() and len(line) < 600


def test_a_tree_whose_files_are_fifos_or_hostile_is_read_in_bounded_time(kit, tmp_path, run_setupkit):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    (tree / ".bazelversion").unlink()
    os.mkfifo(tree / ".bazelversion")
    fifo = run_setupkit("build-tf", "--source", str(tree), "--dry-run", "--min-free-gb", "0",
                        env=kit.cli_env(bin_folder), timeout=60)
    assert fifo.returncode == 0 and "Bazel:             not pinned" in fifo.stdout
    (tree / "tensorflow" / "tf_version.bzl").write_text('TF_VERSION = "2.' + "9" * 5000 + '.0"\n')
    huge = run_setupkit("build-tf", "--source", str(tree), "--dry-run", env=kit.cli_env(bin_folder), timeout=60)
    assert "not a TensorFlow source tree" in _one_line(huge, exitcodes.PRECONDITION)


@pytest.mark.parametrize("venv_option, make_target, says", [
    ("--venv", lambda tmp: _file(tmp / "plain"), "--venv"),
    ("--stock-venv", lambda tmp: _fifo(tmp / "fifo"), "is a FIFO, not a folder"),
    ("--venv", lambda tmp: _file(tmp / "someone" / "notes.txt").parent, "exists and is not a virtual environment"),
])
def test_a_venv_target_that_holds_other_things_stops_before_the_build(kit, tmp_path, run_setupkit, venv_option,
                                                                       make_target, says):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    (tmp_path / "someone").mkdir()
    done = run_setupkit("build-tf", "--source", str(tree), "--min-free-gb", "0", venv_option,
                        str(make_target(tmp_path)), env=kit.cli_env(bin_folder), timeout=60)
    assert says in _one_line(done, exitcodes.PRECONDITION)
    assert kit.bazel_calls(bin_folder) == [] and not (tree / "configure_answers.json").exists()


def test_sigterm_during_configure_stops_it_and_exits_130(kit, tmp_path, wait_gone):
    tree, bin_folder = kit.make_tree(tmp_path / "tf"), kit.make_bin(tmp_path / "bin")
    pid_file = tmp_path / "configure.pid"
    (tree / "configure").write_text(f"#!{sys.executable}\nimport os, time\n"
                                    f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                    "print('Checking the toolchain ...', flush=True)\ntime.sleep(60)\n")
    env = dict(os.environ, NO_COLOR="1", **kit.cli_env(bin_folder))
    process = subprocess.Popen([sys.executable, "-m", "setupkit", "build-tf", "--source", str(tree), *COMMON],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (pid_file.exists() and pid_file.read_text()):
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == exitcodes.INTERRUPTED, err
    assert "interrupted during configure; log:" in err and "Traceback" not in err
    assert wait_gone(int(pid_file.read_text()))
    assert "[setupkit] interrupted (SIGTERM) during configure" in (tree / "setupkit-build-tf.log").read_text()

