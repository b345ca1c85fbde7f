"""Every option of `setupkit doctor` refuses its bad values through the real CLI: a malformed value exits 2, a
--deep-python that is no program exits 3, each with one line saying what is wrong and a `fix:` line saying what
to give, never a traceback."""

from __future__ import annotations

import os
import sys

import pytest

from setupkit import exitcodes
from setupkit.doctor.run import DoctorOptions
from setupkit.errors import UsageError
from tests.helpers.scenarios import H100

SNAPSHOT = ("--snapshot", str(H100))


def refused(done, code: int, *words: str, fix: str | None = None) -> str:
    """The refusal's one line (returned) holds ``words``; ``fix``, where given, is its whole fix line."""
    assert done.returncode == code, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) <= 2 and lines[0].startswith("setupkit: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    if fix is not None:
        assert lines[1:] == [f"fix: {fix}"], done.stderr
    assert not done.stdout
    return lines[0]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "infinity", "1e308", "1e3", "-1", "0", "0.5",
                                   "3601", "9" * 5000, "", "abc", "١٢٠", "１２０", "12_0", " 120", "0x78", "120s"])
def test_deep_timeout_must_be_sane_seconds(run_setupkit, value):
    """Checked whether or not --deep is given: a bad value is a mistake either way."""
    line = refused(run_setupkit("doctor", "--deep-timeout", value, *SNAPSHOT), exitcodes.USAGE, "--deep-timeout",
                   "1 to 3600", fix="give one, e.g. 120")
    assert len(line) < 200


@pytest.mark.parametrize("value", ["1", "120", "3600", "2.5"])
def test_deep_timeout_in_range_is_taken(run_setupkit, value):
    done = run_setupkit("doctor", "--deep-timeout", value, "--only", "cpu.avx", *SNAPSHOT)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 1e308, -1.0, 0, True, "120"])
def test_no_caller_can_ask_for_an_unbounded_deep_timeout(seconds):
    with pytest.raises(UsageError):
        DoctorOptions(deep=True, deep_timeout=seconds)
    assert DoctorOptions(deep_timeout=60).deep_timeout == 60.0


@pytest.fixture
def not_programs(tmp_path):
    fifo = tmp_path / "python-fifo"
    os.mkfifo(fifo)
    plain = tmp_path / "python-not-executable"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    return {"a FIFO": str(fifo), "a folder": str(tmp_path), "no such file": str(tmp_path / "missing"),
            "not executable": str(plain), "no such program on PATH": "no-such-python3.99", "a device": "/dev/null"}


@pytest.mark.parametrize("kind", ["a FIFO", "a folder", "no such file", "not executable", "no such program on PATH",
                                  "a device"])
def test_deep_python_must_be_a_program(run_setupkit, not_programs, kind):
    done = run_setupkit("doctor", "--deep", "--deep-python", not_programs[kind], "--deep-timeout", "5", timeout=60)
    fix = ("give the interpreter's path" if kind == "no such program on PATH"
           else "give the path of a Python interpreter")
    refused(done, exitcodes.PRECONDITION, "--deep-python", kind, fix=fix)


def test_deep_python_on_path_or_by_path_is_taken():
    """Only the refusals are asked of this test: the probe itself is test_deep's (it imports TensorFlow)."""
    from setupkit.doctor.run import check_deep_python

    check_deep_python(sys.executable)
    check_deep_python("sh")


@pytest.mark.parametrize("option", ["--only", "--skip"])
@pytest.mark.parametrize("value", ["", "cpu.avxx", "\x1b[2Jcpu.avx", "x" * 5000, "cpu.avx,gpu.present"])
def test_check_ids_must_be_checks(run_setupkit, option, value):
    line = refused(run_setupkit("doctor", option, value, *SNAPSHOT), exitcodes.USAGE, "unknown check id",
                   fix="see `setupkit doctor --list-checks`")
    assert "\\x1b" in line or "\x1b" not in value


def test_deep_with_a_snapshot_is_refused_before_deep_python_is_looked_at(run_setupkit):
    refused(run_setupkit("doctor", "--deep", "--deep-python", "/dev/null", *SNAPSHOT), exitcodes.USAGE, "--deep")
