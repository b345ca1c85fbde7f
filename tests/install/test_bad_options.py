"""Every option of `setupkit install` refuses its bad values through the real CLI: a malformed value exits 2, a
runfile that is not a regular file exits 3, each with one line saying what is wrong and, where there is one, a
`fix:` line saying what to give, never a traceback, and before anything is read, locked or run (no root needed
to be told)."""

from __future__ import annotations

import os

import pytest

from setupkit import exitcodes
from setupkit.errors import UsageError
from setupkit.install.options import PlanOptions, parse_cuda_version, parse_driver_branch
from setupkit.install.planner import STEP_IDS, build_plan
from setupkit.knowledge import cuda
from tests.helpers.install import plan_for, ubuntu_gpu_facts
from tests.helpers.scenarios import H100

SNAPSHOT = ("--dry-run", "--snapshot", str(H100))


def refused(done, code: int, *words: str, fix: str | None = None) -> str:
    """The refusal's one line (returned) holds ``words``; ``fix``, where given, is its whole fix line."""
    assert done.returncode == code, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) <= 2 and lines[0].startswith("setupkit: "), done.stderr
    assert len(lines) == 1 or lines[1].startswith("fix: ")
    for word in words:
        assert word in lines[0], lines[0]
    if fix is not None:
        assert lines[1:] == [f"fix: {fix}"], done.stderr
    assert not done.stdout  # refused before any plan was shown
    return lines[0]


@pytest.mark.parametrize("value", ["-5", "0", "00", "5000", "99999999999999999999999", "9" * 5000, "5.80", "580a",
                                   "", " 580", "٥٨٠", "５８０", "²", "0x244", "1e3", "nan"])
def test_driver_branch_must_be_a_three_digit_branch(run_setupkit, value):
    line = refused(run_setupkit("install", "--gpu", "--driver-branch", value, *SNAPSHOT), exitcodes.USAGE,
                   "--driver-branch", "is not an NVIDIA driver branch", fix="give its three-digit number, e.g. 580")
    assert len(line) < 200  # a 5000-digit value is not echoed whole


def test_a_branch_older_than_every_known_cuda_is_refused(run_setupkit):
    refused(run_setupkit("install", "--gpu", "--driver-branch", "340", *SNAPSHOT), exitcodes.USAGE, "branch 340",
            "serves no CUDA release setupkit knows", fix="give a newer branch, e.g. 580")


@pytest.mark.parametrize("value", ["12", "12.5.1", "latest", "12.", ".5", "12,5", "v12.5", "١٢.٣", "12.²", "9" * 5000,
                                   "1" * 3 + ".0", "12.5\n", "", "nan", "-12.5", "12.5 "])
def test_cuda_version_must_be_major_minor(run_setupkit, value):
    line = refused(run_setupkit("install", "--gpu", "--cuda-version", value, *SNAPSHOT), exitcodes.USAGE,
                   "--cuda-version", "is not a CUDA version", fix="give MAJOR.MINOR, e.g. 12.8")
    assert len(line) < 200


@pytest.mark.parametrize("value", ["12.7", "99.9", "1.0", "6.5"])
def test_cuda_version_must_be_a_release(run_setupkit, value):
    newest = cuda.known_cuda_releases()[-1]
    refused(run_setupkit("install", "--gpu", "--cuda-version", value, *SNAPSHOT), exitcodes.USAGE,
            f"CUDA {value} is not a release setupkit knows the driver of",
            fix=f"give one NVIDIA released, 7.0 to {newest}")


@pytest.mark.parametrize("option", ["--only", "--skip"])
@pytest.mark.parametrize("value", ["drivers", "", "DRIVER", "\x1b[2Jdriver", "x" * 5000, "driver,cudnn"])
def test_step_names_must_be_steps(run_setupkit, option, value):
    line = refused(run_setupkit("install", "--gpu", option, value, *SNAPSHOT), exitcodes.USAGE, "unknown step",
                   option, "the steps are")
    assert len(line) < 400


@pytest.mark.parametrize("args, code", [(["--only", "drivers"], exitcodes.USAGE),
                                        (["--driver-branch", "-5"], exitcodes.USAGE),
                                        (["--cuda-runfile", "/dev/null"], exitcodes.PRECONDITION)])
def test_values_are_checked_before_root(monkeypatch, capsys, args, code):
    """A bad value is told as such to anyone, not 'must run as root' to a user."""
    from setupkit.cli import main

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit) as caught:
        main(["install", "--gpu", *args])
    assert caught.value.code == code
    assert "root" not in capsys.readouterr().err


@pytest.mark.parametrize("value", ["rel/cuda", "cuda-12.8", "/opt/cuda\n", "/opt/\x00cuda", "/opt/\x1b[2Jcuda", "",
                                   "/" + "a" * 5000])
def test_toolkit_path_must_be_an_absolute_plain_path(run_setupkit, value):
    if "\x00" in value:
        with pytest.raises(ValueError):  # no program can receive a NUL in its arguments: the planner's own check
            run_setupkit("install", "--toolkit-path", value)
        return  # the planner's own check of it: test_no_caller_can_plan_with_a_bad_value
    fix = ("give an absolute folder, e.g. /usr/local/cuda-12.8" if value and not value.startswith("/")
           else "give a file name without control characters, at most 4095 characters")
    refused(run_setupkit("install", "--gpu", "--toolkit-path", value, *SNAPSHOT), exitcodes.USAGE, "--toolkit-path",
            fix=fix)


@pytest.mark.parametrize("value", ["", "/tmp/cuda\n_12.5.1_555.42.06_linux.run", "cuda_12.5.1_\x1b[2J_linux.run"])
def test_cuda_runfile_must_be_a_plain_path(run_setupkit, value):
    refused(run_setupkit("install", "--gpu", "--cuda-runfile", value, *SNAPSHOT), exitcodes.USAGE, "--cuda-runfile",
            "is not a usable path", fix="give a file name without control characters, at most 4095 characters")


@pytest.fixture
def odd_runfiles(tmp_path):
    """What --cuda-runfile may wrongly name, with a runfile's name so that only its kind is wrong."""
    made = {}
    made["fifo"] = tmp_path / "fifo" / "cuda_12.5.1_555.42.06_linux.run"
    made["fifo"].parent.mkdir()
    os.mkfifo(made["fifo"])
    made["folder"] = tmp_path / "folder" / "cuda_12.5.1_555.42.06_linux.run"
    made["folder"].mkdir(parents=True)
    made["missing"] = tmp_path / "missing" / "cuda_12.5.1_555.42.06_linux.run"
    made["empty"] = tmp_path / "empty" / "cuda_12.5.1_555.42.06_linux.run"
    made["empty"].parent.mkdir()
    made["empty"].write_bytes(b"")
    made["device"] = "/dev/null"
    made["dangling link"] = tmp_path / "link" / "cuda_12.5.1_555.42.06_linux.run"
    made["dangling link"].parent.mkdir()
    made["dangling link"].symlink_to(tmp_path / "nowhere")
    return made


NOT_A_RUNFILE = "give the path of NVIDIA's .run file"
NO_RUNFILE = "download NVIDIA's cuda_X.Y.Z_DRIVER_linux.run and give its path"


@pytest.mark.parametrize("kind, words, fix", [("fifo", "a FIFO", NOT_A_RUNFILE), ("folder", "a folder", NOT_A_RUNFILE),
                                              ("missing", "no such file", NO_RUNFILE),
                                              ("empty", "empty", "download it again"),
                                              ("device", "a device", NOT_A_RUNFILE),
                                              ("dangling link", "no such file", NO_RUNFILE)])
def test_a_runfile_that_is_not_a_regular_file_exits_3_before_anything_runs(run_setupkit, odd_runfiles, tmp_path,
                                                                            kind, words, fix):
    """Checked by stat before root, the lock or the plan: a FIFO is never opened (the open would block)."""
    done = run_setupkit("install", "--gpu", "--cuda-runfile", str(odd_runfiles[kind]), timeout=30,
                        env={"SETUPKIT_INSTALL_LOCK": str(tmp_path / "lock"), "SETUPKIT_INSTALL_LOG_DIR": str(tmp_path),
                             "SETUPKIT_INSTALL_STATE": str(tmp_path / "state.json")})
    refused(done, exitcodes.PRECONDITION, "the CUDA runfile", words, fix=fix)


def test_a_dry_run_plans_a_runfile_it_does_not_open(run_setupkit, odd_runfiles):
    done = run_setupkit("install", "--gpu", "--cuda-runfile", str(odd_runfiles["fifo"]), *SNAPSHOT, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "--toolkitpath=/usr/local/cuda-12.5" in done.stdout


@pytest.mark.parametrize("values", [{"driver_branch": -5}, {"driver_branch": 0}, {"driver_branch": 5000},
                                    {"driver_branch": True}, {"driver_branch": "٥٨٠"}, {"cuda_version": "12.5.1"},
                                    {"cuda_version": "١٢.٣"}, {"cuda_version": "9" * 5000}, {"cuda_version": 12.5},
                                    {"toolkit_path": "/opt/\x00cuda"}, {"cuda_runfile": "a\nb"}])
def test_no_caller_can_plan_with_a_bad_value(values):
    with pytest.raises(UsageError):
        build_plan(ubuntu_gpu_facts(), PlanOptions(gpu=True, **values))


def test_good_values_still_plan():
    assert parse_driver_branch("580") == 580 and parse_driver_branch(390) == 390
    assert parse_cuda_version("12.8") == "12.8" and parse_cuda_version("12.08") == "12.8"
    plan = plan_for("h100", driver_branch=580, cuda_version="13.0")
    assert plan.choices["driver_branch"] == 580 and plan.choices["cuda_toolkit"] == "13.0"
    assert {step.id for step in plan.steps} <= set(STEP_IDS)
    blocked = plan_for("ubuntu2204-driver-mismatch")
    assert [step.id for step in blocked.steps] == [s for s in STEP_IDS if s in {x.id for x in blocked.steps}]
