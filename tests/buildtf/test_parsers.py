"""The pure parts of build-tf: version files, Bazel progress lines, CPU flags, jobs, prompts and commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from setupkit import dialog, exitcodes
from setupkit.buildtf import bazel, configure, cpuflags, prereqs, source
from setupkit.buildtf.interpreter import Interpreter
from setupkit.buildtf.plan import capabilities_for
from setupkit.errors import SetupkitError


def test_tf_version_from_bzl_and_setup_py():
    assert source.parse_tf_version_bzl('load("//x:y.bzl", "z")\nTF_VERSION = "2.20.0"\nMAJOR = 2\n') == "2.20.0"
    assert source.parse_setup_py_version("import os\n_VERSION = '2.12.0'\n") == "2.12.0"
    assert source.parse_tf_version_bzl("# TF_VERSION = nothing\n") is None
    assert source.version_tuple("2.21.0-rc1") == (2, 21)


def test_bazelversion_skips_comments_and_blank_lines():
    assert source.parse_bazelversion("\n# pinned for CI\n7.4.1\n") == "7.4.1"
    assert source.parse_bazelversion("") is None


def test_read_source_refuses_missing_and_non_tensorflow_folders(tmp_path):
    with pytest.raises(SetupkitError) as missing:
        source.read_source(tmp_path / "nowhere")
    assert missing.value.exit_code == exitcodes.PRECONDITION and "git clone" in missing.value.hint
    (tmp_path / "configure").write_text("")
    with pytest.raises(SetupkitError) as other:
        source.read_source(tmp_path)
    assert other.value.exit_code == exitcodes.PRECONDITION and "not a TensorFlow source tree" in other.value.message
    assert other.value.hint == "give --source the root of a TensorFlow checkout"


@pytest.mark.parametrize("line, expected", [
    ("[1 / 10] Compiling a.cc; 1s local", bazel.Progress(1, 10, "Compiling a.cc; 1s local")),
    ("[12,345 / 23,456] Compiling tensorflow/core/x.cc; 38s local, 2 actions running",
     bazel.Progress(12345, 23456, "Compiling tensorflow/core/x.cc; 38s local, 2 actions running")),
    ("  [0 / 3] [Prepa] BazelWorkspaceStatusAction stable-status.txt  ",
     bazel.Progress(0, 3, "[Prepa] BazelWorkspaceStatusAction stable-status.txt")),
    ("[1 / 10] Compiling a.cc\r[2 / 10] Compiling b.cc\r", bazel.Progress(2, 10, "Compiling b.cc")),
    ("INFO: Build completed successfully, 10 total actions", None),
    ("ERROR: [1 / 2] is not a progress line here", None),
])
def test_parse_progress(line, expected):
    assert bazel.parse_progress(line) == expected


CPU = {"fpu", "sse4_1", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl",
       "avx512_vnni"}


def test_cc_opt_flags_native_auto_and_list():
    assert cpuflags.cc_opt_flags("native", None) == ["-march=native", "-Wno-sign-compare"]
    assert cpuflags.cc_opt_flags("auto", CPU) == [
        "-msse4.1", "-msse4.2", "-mavx", "-mavx2", "-mfma", "-mavx512f", "-mavx512cd", "-mavx512bw", "-mavx512dq",
        "-mavx512vl", "-mavx512vnni", "-Wno-sign-compare"]
    assert cpuflags.cc_opt_flags("auto", {"sse4_1", "sse4_2"}) == ["-msse4.1", "-msse4.2", "-Wno-sign-compare"]
    assert cpuflags.cc_opt_flags("avx2, fma sse4.2 -O3 avx2", CPU) == [
        "-mavx2", "-mfma", "-msse4.2", "-O3", "-Wno-sign-compare"]
    assert cpuflags.cc_opt_flags("-mavx2 -Wno-sign-compare", CPU) == ["-mavx2", "-Wno-sign-compare"]


def test_cc_opt_flags_refuses_unknown_names_and_auto_without_flags():
    with pytest.raises(SetupkitError) as unknown:
        cpuflags.cc_opt_flags("avx9000", CPU)
    assert unknown.value.exit_code == exitcodes.USAGE and "avx9000" in unknown.value.message
    assert "use /proc/cpuinfo names" in unknown.value.hint
    with pytest.raises(SetupkitError) as blind:
        cpuflags.cc_opt_flags("auto", None)
    assert blind.value.exit_code == exitcodes.PRECONDITION and "--cpu-flags auto" in blind.value.message
    assert "--cpu-flags native" in blind.value.hint


def test_cpu_flags_from_the_facts_the_cpu_probe_reads_from_cpuinfo():
    from setupkit.probes.cpu import cpu_flags, parse_cpuinfo

    assert cpuflags.normalise_cpu_flags("avx AVX2 fma") == {"avx", "avx2", "fma"}
    assert cpuflags.normalise_cpu_flags(None) is None
    cpuinfo = "processor\t: 0\nflags\t\t: fpu sse4_1 avx2\nbugs\t\t: spectre\nprocessor\t: 1\nflags\t\t: fpu\n"
    assert cpuflags.normalise_cpu_flags(cpu_flags(parse_cpuinfo(cpuinfo))) == {"fpu", "sse4_1", "avx2"}
    assert cpuflags.flags_this_cpu_lacks(["-mavx2", "-mavx512f", "-O3"], {"avx2"}) == ["-mavx512f"]


@pytest.mark.parametrize("cpus, memory_mib, asked, count, says", [
    (16, 16 * 1024, None, 8, "limited by memory"),
    (2, 24105, None, 2, "limited by CPUs"),
    (8, 1024, None, 1, "1 job "),
    (4, None, None, 4, "memory unknown"),
    (4, 64 * 1024, 3, 3, "--jobs 3 as asked"),
])
def test_jobs_from_memory_and_cpus(cpus, memory_mib, asked, count, says):
    jobs = prereqs.choose_jobs(cpus, memory_mib, asked)
    assert jobs.count == count and says in jobs.reason


def test_disk_check_wants_the_threshold_free(tmp_path):
    assert prereqs.check_disk("the source tree", str(tmp_path), 31 * 10**9, 30, snapshot=False).ok
    short = prereqs.check_disk("Bazel's output root", "~/.cache/bazel", 12 * 10**9, 30, snapshot=False)
    assert short.missing and "only 12 GB free" in short.detail and ">= 30 GB" in short.fix


def test_free_disk_that_is_not_known_is_unknown_never_missing():
    snapshot = prereqs.check_disk("the source tree", "/src/tf", None, 30, snapshot=True)
    assert (snapshot.ok, snapshot.detail) == (None, "free disk for the source tree (/src/tf): unknown (snapshot)")
    live = prereqs.check_disk("the source tree", "/src/tf", None, 30, snapshot=False)
    assert live.ok is None and not live.missing


def test_missing_bazel_and_compiler_carry_their_fix():
    bazel_finding = prereqs.check_bazel(None, "7.4.1", snapshot=False)
    assert bazel_finding.missing and bazel_finding.detail == "bazelisk not found"
    assert bazel_finding.fix.startswith("npm install -g @bazel/bazelisk") and "7.4.1" in bazel_finding.fix
    compiler = prereqs.check_compiler(None, None, "Clang 18.1.8", snapshot=False)
    assert compiler.missing and "apt-get install clang" in compiler.fix
    headers = prereqs.check_python_headers(Interpreter("/usr/bin/python3", include="/nowhere/include",
                                                       headers=False), snapshot=False)
    assert headers.missing and "apt-get install python3-dev" in headers.fix


def test_what_a_snapshot_does_not_tell_is_unknown_not_missing():
    python = Interpreter("/opt/venv/bin/python3")
    found = [prereqs.check_bazel(None, "7.4.1", snapshot=True),
             prereqs.check_compiler(None, None, "Clang 18.1.8", snapshot=True),
             prereqs.check_python_headers(python, snapshot=True), prereqs.check_venv_module(python, snapshot=True)]
    assert [item.ok for item in found] == [None] * 4
    assert all(item.detail.endswith(": unknown (snapshot)") and item.fix is None for item in found)
    assert "/opt/venv/bin/python3" in found[2].detail
    # On this machine the same unknown interpreter is one that could not be run: missing, with the fix.
    live = prereqs.check_python_headers(python, snapshot=False)
    assert live.missing and "--python" in live.fix
    assert prereqs.check_bazel("bazelisk", "7.4.1", snapshot=True).ok


def test_jobs_for_a_machine_whose_cpus_are_unknown_are_not_this_machines():
    jobs = prereqs.choose_jobs(None, 64 * 1024)
    assert jobs.count == 1 and "CPUs unknown" in jobs.reason


REAL_2_20_CAPABILITIES = (
    'Please specify a list of comma-separated CUDA compute capabilities you want to build with.\r\nYou can find '
    'the compute capability of your device at: https://developer.nvidia.com/cuda-gpus. Each capability can be '
    'specified as "x.y" or "compute_xy" to include both virtual and binary GPU code, or as "sm_xy" to only include '
    'the binary code.\r\nPlease note that each additional compute capability significantly increases your build '
    'time and binary size, and that TensorFlow only supports compute capabilities >= 3.5 [Default is: 3.5,7.0]: ')


def _first_prompt(text, answers):
    found = dialog.Matcher(configure.prompt_table(answers)).search(text)
    return None if found is None else (found[0].name, found[0].answer, text[found[1].end():])


def test_configure_table_waits_for_the_whole_prompt_and_answers_it():
    answers = {"cuda_compute_capabilities": "8.9,9.0", "python_lib_path": ""}
    assert _first_prompt(REAL_2_20_CAPABILITIES[:200], answers) is None
    assert _first_prompt("\r\n\r\n" + REAL_2_20_CAPABILITIES, answers) == ("cuda_compute_capabilities", "8.9,9.0", "")
    lib = ("Found possible Python library paths:\r\n  /usr/lib/python3/dist-packages\r\nPlease input the desired "
           "Python library path to use.  Default is [/usr/lib/python3/dist-packages]\r\nnext")
    assert _first_prompt(lib, answers) == ("python_lib_path", "", "next")
    # Two prompts in one read: the earlier one first, whatever the table's order.
    both = ("Do you want to use Clang to build TensorFlow? [Y/n]: "
            "Do you wish to build TensorFlow with ROCm support? [y/N]: ")
    assert _first_prompt(both, {"need_clang": "y"})[:2] == ("need_clang", "y")
    assert all(prompt.repeats == configure.MAX_REPEATS for prompt in configure.prompt_table({}))


def test_build_commands_per_version(tmp_path):
    out = Path("/tmp/tensorflow_pkg")
    assert bazel.build_commands("bazel", (2, 20), False, 4, out) == [[
        "bazel", "build", "//tensorflow/tools/pip_package:wheel", "--repo_env=USE_PYWRAP_RULES=1",
        "--repo_env=WHEEL_NAME=tensorflow_cpu", "--config=opt", "--jobs=4"]]
    assert bazel.build_commands("bazelisk", (2, 18), True, 2, out) == [[
        "bazelisk", "build", "//tensorflow/tools/pip_package:wheel", "--repo_env=USE_PYWRAP_RULES=1",
        "--repo_env=WHEEL_NAME=tensorflow", "--config=opt", "--config=cuda", "--config=cuda_wheel", "--jobs=2"]]
    assert bazel.build_commands("bazel", (2, 15), False, 3, out) == [
        ["bazel", "build", "--config=opt", "--jobs=3", "//tensorflow/tools/pip_package:build_pip_package"],
        ["./bazel-bin/tensorflow/tools/pip_package/build_pip_package", "/tmp/tensorflow_pkg"]]


def test_configure_env_for_cpu_and_cuda():
    cpu = configure.ConfigureChoices("/usr/bin/python3", False, None, "/usr/bin/clang", "/usr/bin/gcc",
                                     "-march=native -Wno-sign-compare")
    assert configure.configure_env(cpu) == {
        "PYTHON_BIN_PATH": "/usr/bin/python3", "TF_NEED_ROCM": "0", "TF_NEED_CUDA": "0", "TF_NEED_CLANG": "1",
        "CLANG_COMPILER_PATH": "/usr/bin/clang",
        "CC_OPT_FLAGS": "-march=native -Wno-sign-compare", "TF_SET_ANDROID_WORKSPACE": "0",
        "USE_DEFAULT_PYTHON_LIB_PATH": "1"}
    cuda = configure.configure_env(configure.ConfigureChoices("/usr/bin/python3", True, "8.9", None, "/usr/bin/gcc",
                                                              "-O2"))
    assert cuda["TF_NEED_CUDA"] == "1" and cuda["TF_CUDA_CLANG"] == "0"
    assert cuda["GCC_HOST_COMPILER_PATH"] == "/usr/bin/gcc" and "CLANG_CUDA_COMPILER_PATH" not in cuda
    assert cuda["HERMETIC_CUDA_COMPUTE_CAPABILITIES"] == cuda["TF_CUDA_COMPUTE_CAPABILITIES"] == "8.9"
    assert cuda["HERMETIC_CUDA_VERSION"] == "" and "TF_NEED_CLANG" not in cuda and "TF_NEED_TENSORRT" not in cuda
    old = configure.configure_env(configure.ConfigureChoices("/usr/bin/python3", True, "8.6", None, "/usr/bin/gcc",
                                                             "-O2", hermetic_cuda=False))
    assert old["TF_NEED_TENSORRT"] == "0" and old["TF_CUDA_COMPUTE_CAPABILITIES"] == "8.6"
    assert "HERMETIC_CUDA_VERSION" not in old and "LOCAL_CUDA_PATH" not in old


def test_capabilities_from_the_gpus_or_asked_or_refused():
    facts = {"gpu.compute_capabilities": ["9.0", "8.6", "9.0", "10.0"]}
    assert capabilities_for(True, None, facts) == "8.6,9.0,10.0"
    assert capabilities_for(True, "8.9, 9.0", facts) == "8.9,9.0"
    assert capabilities_for(False, None, facts) is None
    with pytest.raises(SetupkitError) as none:
        capabilities_for(True, None, {"gpu.compute_capabilities": None})
    assert none.value.exit_code == exitcodes.USAGE and "compute capabilities" in none.value.message
    assert none.value.hint.startswith("give --cuda-capabilities 8.9,9.0")


def test_console_ui_off_a_terminal_prints_a_line_per_tenth_and_the_errors():
    import io

    from rich.console import Console

    from setupkit.buildtf.report import ConsoleUi

    stream = io.StringIO()
    ui = ConsoleUi(Console(file=stream, force_terminal=False, width=200))
    ui.build_started(["bazel", "build", "//x:wheel"])
    for done in range(0, 101):
        ui.build_line(f"[{done:,} / 100] Compiling x_{done}.cc")
    ui.build_line("ERROR: /src/BUILD:1:1: compile failed")
    ui.build_line("INFO: 12 processes: 3 internal, 9 local.")
    ui.build_finished()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "$ bazel build //x:wheel"
    assert [line.split("]")[0] for line in lines[1:-1]] == [f"[{n} / 100" for n in range(0, 101, 10)]
    assert lines[-1] == "ERROR: /src/BUILD:1:1: compile failed"


def test_a_build_step_that_cannot_start_is_exit_4(tmp_path):
    from setupkit.buildtf.log import BuildLog

    log = BuildLog(tmp_path / "build.log")
    with pytest.raises(SetupkitError) as failed:
        bazel.stream([str(tmp_path / "no-such-bazel"), "build"], tmp_path, log, lambda line: None)
    assert failed.value.exit_code == exitcodes.ACTION_FAILED
    assert f"log: {tmp_path / 'build.log'}" in failed.value.message


def test_lines_cut_chunks_at_newlines_and_keep_a_redrawn_line_by_its_last_drawing():
    got = []
    lines = bazel.Lines(got.append)
    for chunk in ("[1 / 10] a.cc\r", "[2 / 10] b.cc\r\nINFO: Build", " completed\n", "[3 / 10] c.cc"):
        lines.feed(chunk)
    lines.close()
    assert got == ["[1 / 10] a.cc\r[2 / 10] b.cc", "INFO: Build completed", "[3 / 10] c.cc"]
    assert bazel.parse_progress(got[0]) == bazel.Progress(2, 10, "b.cc")
    endless = []
    redraws = bazel.Lines(endless.append)
    for done in range(20_000):  # a progress line redrawn for ever, never ended by a newline
        redraws.feed(f"\r[{done:,} / 20,000] Compiling x.cc")
    assert len(redraws.partial) <= bazel.MAX_LINE
    redraws.close()
    assert bazel.parse_progress(endless[0]) == bazel.Progress(19_999, 20_000, "Compiling x.cc")


def test_a_progress_line_with_absurd_numbers_is_not_progress():
    assert bazel.parse_progress("[" + "9" * 5000 + " / 1] Compiling x.cc") is None
    assert bazel.parse_progress("[١٢ / ٣٤] Compiling x.cc") is None  # Arabic-Indic digits are not Bazel's


def test_tf_versions_and_pins_that_are_not_versions_are_not_read():
    assert source.parse_tf_version_bzl('TF_VERSION = "2.' + "9" * 5000 + '.0"\n') is None
    assert source.parse_tf_version_bzl('TF_VERSION = "2.20.0\x1b[2J"\n') is None
    assert source.version_tuple("2.9999999999.0") == (0, 0)
    assert source.parse_bazelversion("7.4.1; rm -rf /\n") is None
    assert source.parse_bazelversion("last_green\n") == "last_green"


def test_hostile_gpu_capabilities_in_the_facts_are_skipped_not_a_crash():
    facts = {"gpu.compute_capabilities": ["9.0", "x.y", "8." + "9" * 5000, None, 12, "sm_90a"]}
    assert capabilities_for(True, None, facts) == "9.0,sm_90a"
    assert cpuflags.normalise_cpu_flags(42) is None
    assert cpuflags.normalise_cpu_flags(["avx2", {"x": 1}, "FMA"]) == {"avx2", "fma"}
