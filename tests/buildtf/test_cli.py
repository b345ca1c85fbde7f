"""`setupkit build-tf` as a user runs it: a subprocess, a fake tree, the fake bazel alone on PATH."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

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
    assert done.returncode == exitcodes.PRECONDITION
    assert "bazelisk not found: npm install -g @bazel/bazelisk" in done.stderr
    assert not (tree / "configure_answers.json").exists()


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
