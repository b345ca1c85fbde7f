"""configure and Bazel for real (fake TensorFlow trees, fake bazel alone on PATH), with injected facts."""

from __future__ import annotations

import sys
import time

import pytest

from setupkit import exitcodes
from setupkit.buildtf import configure
from setupkit.buildtf.log import BuildLog
from setupkit.buildtf.plan import BuildOptions, make_plan
from setupkit.buildtf.run import execute
from setupkit.errors import SetupkitError

WHEEL_TARGET = "//tensorflow/tools/pip_package:wheel"


def run(kit, tree, facts=None, **options):
    ui = kit.RecordingUi()
    plan = make_plan(BuildOptions(source=tree, install=False, min_free_gb=0, log=tree.parent / "build.log",
                                  output_dir=tree.parent / "pkg", **options),
                     kit.machine(facts))
    return plan, execute(plan, ui), ui


def test_native_build_answers_configure_and_runs_the_wheel_target(kit, tmp_path, fake_bin):
    tree = kit.make_tree(tmp_path / "tf")
    plan, result, ui = run(kit, tree)
    assert kit.configure_answers(tree) == {
        "PYTHON_BIN_PATH": sys.executable, "PYTHON_LIB_PATH": "", "TF_NEED_ROCM": "n", "TF_NEED_CUDA": "n",
        "TF_NEED_CLANG": "y", "CLANG_COMPILER_PATH": str(fake_bin / "clang"),
        "CC_OPT_FLAGS": "-march=native -Wno-sign-compare", "TF_SET_ANDROID_WORKSPACE": "n"}
    # 16 CPUs but 16 GiB of RAM at 2 GB a job: 8 jobs.
    assert [call["argv"] for call in kit.bazel_calls(fake_bin)] == [[
        "build", WHEEL_TARGET, "--repo_env=USE_PYWRAP_RULES=1", "--repo_env=WHEEL_NAME=tensorflow_cpu",
        "--config=opt", "--jobs=8"]]
    assert kit.bazel_calls(fake_bin)[0]["cwd"] == str(tree)
    assert "build:opt --copt=-march=native" in ui.bazelrc_text
    assert "build:opt --host_copt=-Wno-sign-compare" in ui.bazelrc_text
    assert result.wheel == tree / "bazel-bin/tensorflow/tools/pip_package/wheel_house" / \
        "tensorflow_cpu-2.20.0-cp311-cp311-linux_x86_64.whl"
    assert "[10 / 10] Compiling tensorflow/core/kernels/op_10.cc; 1s local, 2 actions running" in ui.build_lines
    log = (tmp_path / "build.log").read_text()
    assert "Please specify the location of python." in log and "[5 / 10]" in log


def test_auto_flags_follow_the_injected_cpu(kit, tmp_path, fake_bin):
    tree = kit.make_tree(tmp_path / "tf")
    facts = kit.facts(**{"cpu.flags": ["fpu", "sse4_1", "sse4_2", "avx", "avx2", "fma"], "cpu.count": 2,
                         "host.memory_mib": 64 * 1024})
    plan, result, ui = run(kit, tree, facts, cpu_flags="auto")
    flags = "-msse4.1 -msse4.2 -mavx -mavx2 -mfma -Wno-sign-compare"
    assert kit.configure_answers(tree)["CC_OPT_FLAGS"] == flags
    for flag in flags.split():
        assert f"build:opt --copt={flag}" in ui.bazelrc_text and f"build:opt --host_copt={flag}" in ui.bazelrc_text
    assert kit.bazel_calls(fake_bin)[0]["argv"][-1] == "--jobs=2"


def test_cuda_build_2_20_hermetic_prompts_and_cuda_configs(kit, tmp_path, fake_bin):
    tree = kit.make_tree(tmp_path / "tf")
    plan, result, ui = run(kit, tree, kit.facts(**{"gpu.compute_capabilities": ["9.0", "8.9"]}), cuda=True)
    assert kit.configure_answers(tree) == {
        "PYTHON_BIN_PATH": sys.executable, "PYTHON_LIB_PATH": "", "TF_NEED_ROCM": "n", "TF_NEED_CUDA": "y",
        "HERMETIC_CUDA_VERSION": "", "HERMETIC_CUDNN_VERSION": "", "HERMETIC_CUDA_COMPUTE_CAPABILITIES": "8.9,9.0",
        "LOCAL_CUDA_PATH": "", "LOCAL_CUDNN_PATH": "", "LOCAL_NCCL_PATH": "", "TF_CUDA_CLANG": "y",
        "CLANG_CUDA_COMPILER_PATH": str(fake_bin / "clang"), "CC_OPT_FLAGS": "-march=native -Wno-sign-compare",
        "TF_SET_ANDROID_WORKSPACE": "n"}
    assert kit.bazel_calls(fake_bin)[0]["argv"] == [
        "build", WHEEL_TARGET, "--repo_env=USE_PYWRAP_RULES=1", "--repo_env=WHEEL_NAME=tensorflow", "--config=opt",
        "--config=cuda", "--config=cuda_wheel", "--jobs=8"]
    assert result.wheel.name == "tensorflow-2.20.0-cp311-cp311-linux_x86_64.whl"
    assert 'HERMETIC_CUDA_COMPUTE_CAPABILITIES="8.9,9.0"' in ui.bazelrc_text


def test_cuda_build_2_15_local_cuda_prompts_and_build_pip_package(kit, tmp_path, fake_bin):
    tree = kit.make_tree(tmp_path / "tf", era="2.15")
    (fake_bin / "clang").unlink()  # nvcc with gcc as its host compiler
    plan, result, ui = run(kit, tree, cuda=True, cuda_capabilities="8.6")
    assert kit.configure_answers(tree) == {
        "PYTHON_BIN_PATH": sys.executable, "PYTHON_LIB_PATH": "", "TF_NEED_ROCM": "n", "TF_NEED_CUDA": "y",
        "TF_NEED_TENSORRT": "n", "TF_CUDA_COMPUTE_CAPABILITIES": "8.6", "TF_CUDA_CLANG": "n",
        "GCC_HOST_COMPILER_PATH": str(fake_bin / "gcc"), "CC_OPT_FLAGS": "-march=native -Wno-sign-compare",
        "TF_SET_ANDROID_WORKSPACE": "n"}
    assert kit.bazel_calls(fake_bin)[0]["argv"] == [
        "build", "--config=opt", "--config=cuda", "--jobs=8", "//tensorflow/tools/pip_package:build_pip_package"]
    assert result.wheel == tmp_path / "pkg" / "tensorflow-2.15.0-cp311-cp311-linux_x86_64.whl"


def test_cpu_build_2_15_packages_the_wheel_with_its_script(kit, tmp_path, fake_bin):
    tree = kit.make_tree(tmp_path / "tf", era="2.15")
    plan, result, ui = run(kit, tree, cpu_flags="avx2,fma", jobs=3)
    assert kit.configure_answers(tree)["CC_OPT_FLAGS"] == "-mavx2 -mfma -Wno-sign-compare"
    assert kit.bazel_calls(fake_bin)[0]["argv"] == [
        "build", "--config=opt", "--jobs=3", "//tensorflow/tools/pip_package:build_pip_package"]
    assert plan.commands[1] == ["./bazel-bin/tensorflow/tools/pip_package/build_pip_package", str(tmp_path / "pkg")]
    assert result.wheel == tmp_path / "pkg" / "tensorflow-2.15.0-cp311-cp311-linux_x86_64.whl"


def test_non_interactive_sets_the_environment_and_no_terminal(kit, tmp_path, fake_bin):
    tree = kit.make_tree(tmp_path / "tf")
    plan, result, ui = run(kit, tree, non_interactive=True, cpu_flags="-mavx2")
    assert kit.configure_answers(tree) == {
        "PYTHON_BIN_PATH": sys.executable, "USE_DEFAULT_PYTHON_LIB_PATH": "1", "TF_NEED_ROCM": "0",
        "TF_NEED_CUDA": "0", "TF_NEED_CLANG": "1", "CLANG_COMPILER_PATH": str(fake_bin / "clang"),
        "CC_OPT_FLAGS": "-mavx2 -Wno-sign-compare", "TF_SET_ANDROID_WORKSPACE": "0"}
    assert dict(result.configure_given)["USE_DEFAULT_PYTHON_LIB_PATH"] == "1"
    assert "build:opt --copt=-mavx2" in ui.bazelrc_text and result.wheel is not None


def test_unknown_prompt_stops_with_its_text(kit, tmp_path, fake_bin):
    tree = kit.make_tree(tmp_path / "tf", extra_prompt=kit.UNKNOWN_QUESTION)
    with pytest.raises(SetupkitError) as stopped:
        run(kit, tree)
    assert stopped.value.exit_code == exitcodes.ACTION_FAILED
    assert "Do you want to enable the frobnicator? [y/N]:" in stopped.value.message
    assert str(tmp_path / "build.log") in stopped.value.message
    assert kit.bazel_calls(fake_bin) == []


def test_bazel_failure_is_exit_4_with_the_log(kit, tmp_path, fake_bin, monkeypatch):
    monkeypatch.setenv("FAKE_BAZEL_FAIL", "1")
    tree = kit.make_tree(tmp_path / "tf")
    with pytest.raises(SetupkitError) as failed:
        run(kit, tree)
    assert failed.value.exit_code == exitcodes.ACTION_FAILED
    assert "bazel build failed with exit 1" in failed.value.message
    assert f"log: {tmp_path / 'build.log'}" in failed.value.message
    assert "C++ compilation of rule" in (tmp_path / "build.log").read_text()


def test_an_answer_configure_keeps_rejecting_stops_the_run(kit, tmp_path, fake_bin, monkeypatch):
    monkeypatch.setenv("FAKE_CONFIGURE_REJECT_CLANG", "1")
    tree = kit.make_tree(tmp_path / "tf")
    with pytest.raises(SetupkitError) as stopped:
        run(kit, tree)
    assert stopped.value.exit_code == exitcodes.ACTION_FAILED
    assert f"rejected the answer '{fake_bin / 'clang'}' to its CLANG_COMPILER_PATH question 3 times" in \
        stopped.value.message
    assert "Invalid clang path." in (tmp_path / "build.log").read_text()


def _replace_configure(tree, code: str) -> None:
    (tree / "configure").write_text(f"#!{sys.executable}\n" + code)


FLOODING_CONFIGURE = "import sys\nwhile True:\n    sys.stdout.write('Checking for the frobnicator library...\\n')\n"


def test_a_configure_that_keeps_printing_is_stopped_at_its_deadline(kit, tmp_path):
    tree = kit.make_tree(tmp_path / "tf")
    _replace_configure(tree, FLOODING_CONFIGURE)
    log = BuildLog(tmp_path / "build.log")
    started = time.monotonic()
    with pytest.raises(SetupkitError) as stopped:
        configure.run_interactive(tree, {}, log, deadline=2)
    assert time.monotonic() - started < 20  # loose; without an overall deadline this ran for ever
    assert stopped.value.exit_code == exitcodes.ACTION_FAILED
    assert "./configure was still running after 2 s" in stopped.value.message
    assert f"log: {tmp_path / 'build.log'}" in stopped.value.message


def test_a_configure_that_keeps_printing_without_a_terminal_is_stopped_too(kit, tmp_path):
    tree = kit.make_tree(tmp_path / "tf")
    _replace_configure(tree, FLOODING_CONFIGURE)
    with pytest.raises(SetupkitError) as stopped:
        configure.run_non_interactive(tree, {}, BuildLog(tmp_path / "build.log"), timeout=2)
    assert "./configure was still running after 2 s" in stopped.value.message
    assert "Checking for the frobnicator library" in (tmp_path / "build.log").read_text()


@pytest.mark.parametrize("non_interactive", [False, True])
def test_a_configure_killed_by_a_signal_names_it(kit, tmp_path, non_interactive):
    tree = kit.make_tree(tmp_path / "tf")
    _replace_configure(tree, "import os, signal\nprint('You have bazel 7.4.1 installed.', flush=True)\n"
                             "os.kill(os.getpid(), signal.SIGSEGV)\n")
    log = BuildLog(tmp_path / "build.log")
    with pytest.raises(SetupkitError) as failed:
        if non_interactive:
            configure.run_non_interactive(tree, {}, log)
        else:
            configure.run_interactive(tree, {}, log)
    assert "./configure was killed by SIGSEGV" in failed.value.message
    assert failed.value.exit_code == exitcodes.ACTION_FAILED


class FullDiskLog(BuildLog):
    """The log of a disk that fills up while Bazel prints its third progress line."""

    def write(self, text):
        if "[3 / 10]" in text:
            self._handle.close()
            self._handle = open("/dev/full", "w")
        super().write(text)


def test_a_log_that_fills_up_stops_the_build_naming_the_step(kit, tmp_path, fake_bin, monkeypatch):
    from setupkit.buildtf import run as build_run

    monkeypatch.setattr(build_run, "BuildLog", FullDiskLog)
    monkeypatch.setenv("FAKE_BAZEL_SLEEP", "30")  # still building when the log fills, at [3 / 10]
    tree = kit.make_tree(tmp_path / "tf")
    with pytest.raises(SetupkitError) as stopped:
        run(kit, tree)
    assert stopped.value.exit_code == exitcodes.ACTION_FAILED
    assert stopped.value.message.startswith("the build stopped: cannot write the build log")
    assert "no space left on device" in stopped.value.message
    assert (fake_bin / "interrupted").read_text() == "SIGINT\n"  # Bazel was told to stop, not left building
