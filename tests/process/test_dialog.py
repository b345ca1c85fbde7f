"""The dialog module on small fake programs: one deadline for the whole dialog, linear matching, the unknown
prompt refused, the EOF arm, and nothing of the program left running after a timeout or an interruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from setupkit import dialog, exitcodes

CONTINUE = dialog.Prompt("continue", r"Continue\? \[y/N\]: ", "y")


@pytest.fixture
def pids(wait_for_file):
    """pids(path) -> the pids a fake program wrote there, once it has."""

    def read(path: Path) -> list[int]:
        wait_for_file(path)
        return [int(word) for word in path.read_text().split()]

    return read


def _program(tmp_path: Path, code: str, name: str = "fake.py") -> list[str]:
    script = tmp_path / name
    script.write_text(textwrap.dedent(code))
    return [sys.executable, str(script)]


def test_a_program_that_prints_without_end_is_cut_at_the_overall_deadline(tmp_path, pids, wait_gone):
    pid_file, transcript = tmp_path / "pid", tmp_path / "transcript.log"
    argv = _program(tmp_path, f"""
        import os, sys
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        while True:
            sys.stdout.write("still working, never asking\\n")
            sys.stdout.flush()
    """)
    started = time.monotonic()
    with pytest.raises(dialog.TimedOut) as stopped:
        dialog.converse(argv, [CONTINUE], transcript=transcript, deadline=2, idle=0.5, max_transcript=100_000)
    assert time.monotonic() - started < 15  # loose: the deadline is 2 s, however much the program prints
    assert stopped.value.overall and stopped.value.exit_code == exitcodes.ACTION_FAILED
    assert "was still running after 2 s" in stopped.value.message and str(transcript) in stopped.value.message
    assert wait_gone(pids(pid_file)[0])
    text = transcript.read_text()
    assert len(text) < 100_000 + 200 and text.endswith("[setupkit] transcript cut at 100,000 characters\n")


def test_a_megabyte_before_the_prompt_is_searched_once_not_again_per_read(tmp_path):
    size = 1_000_000
    answer_file = tmp_path / "answer"
    argv = _program(tmp_path, f"""
        import sys
        for _ in range({size} // 100):
            sys.stdout.write("x" * 99 + "\\n")
        open({str(answer_file)!r}, "w").write(input("Continue? [y/N]: "))
    """)
    started = time.monotonic()
    done = dialog.converse(argv, [CONTINUE], transcript=tmp_path / "t.log", deadline=60)
    elapsed = time.monotonic() - started
    assert (done.status, done.answers, done.finished) == (0, (("continue", "y"),), False)
    assert answer_file.read_text() == "y"
    # Each character once, plus a bounded overlap per read: rescanning the whole output at every read, as a
    # growing buffer does, would be ~1e8 characters here.
    assert size <= done.searched < 4 * size
    assert elapsed < 20  # loose: a machine shared by many; the bound above is the real one


def test_a_program_that_never_reads_its_answers_cannot_block_the_dialog(tmp_path):
    # In raw mode the terminal holds the keys typed until the program reads them; once its buffer is full, a
    # blocking write of the next answer would wait for ever, past every deadline.
    argv = _program(tmp_path, """
        import sys, time, tty
        tty.setraw(0)
        while True:
            sys.stdout.write("--More--\\r\\n")
            sys.stdout.flush()
            time.sleep(0.001)
    """)
    pager = dialog.Prompt("pager", "--More--", " " * 500, keys=True)
    started = time.monotonic()
    with pytest.raises(dialog.TimedOut) as stopped:
        dialog.converse(argv, [pager], transcript=tmp_path / "t.log", deadline=2)
    assert stopped.value.overall and time.monotonic() - started < 15
    assert len(stopped.value.answers) * 500 > 4096  # more than the terminal could hold: some write had to wait


def test_an_unknown_prompt_is_refused_and_the_program_killed(tmp_path, pids, wait_gone):
    pid_file, got = tmp_path / "pid", tmp_path / "got"
    argv = _program(tmp_path, f"""
        import os
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        print("Checking the system ...")
        open({str(got)!r}, "w").write(input("Enable the experimental frobnicator? [y/N]: "))
    """)
    with pytest.raises(dialog.UnknownPrompt) as refused:
        dialog.converse(argv, [CONTINUE], transcript=tmp_path / "t.log", deadline=30, idle=0.5)
    assert refused.value.question == "Enable the experimental frobnicator? [y/N]:"
    assert refused.value.exit_code == exitcodes.ACTION_FAILED and refused.value.answers == ()
    assert "\n" not in refused.value.message
    assert wait_gone(pids(pid_file)[0])
    assert not got.exists() or got.read_text() == ""  # nothing was answered


@pytest.mark.parametrize("code, status, signal_name", [
    ("print('Installation failed: no space left'); raise SystemExit(3)", 3, None),
    ("import os, signal; print('about to crash', flush=True); os.kill(os.getpid(), signal.SIGSEGV)", 139,
     "SIGSEGV"),
])
def test_a_program_that_ends_before_its_prompts_is_the_eof_arm(tmp_path, code, status, signal_name):
    done = dialog.converse(_program(tmp_path, code), [CONTINUE], transcript=tmp_path / "t.log", deadline=30)
    assert (done.status, done.signal_name, done.answers, done.finished) == (status, signal_name, (), False)
    assert done.shown.split()[0] in ("Installation", "about")
    assert done.transcript == tmp_path / "t.log" and done.shown in done.transcript.read_text().replace("\r", "")


def test_an_orphan_holding_the_terminal_does_not_hold_the_dialog(tmp_path, pids, wait_gone):
    pid_file = tmp_path / "pid"
    argv = ["sh", "-c", f"(while :; do echo flood; done) & echo $! > {pid_file}; exit 0"]
    started = time.monotonic()
    done = dialog.converse(argv, [CONTINUE], transcript=tmp_path / "t.log", deadline=30)
    assert done.status == 0 and time.monotonic() - started < 15
    assert wait_gone(pids(pid_file)[0])


def test_sigterm_to_setupkit_kills_the_program_and_its_group_then_goes_on(tmp_path, pids, wait_gone):
    pid_file = tmp_path / "pids"
    fake = _program(tmp_path, f"""
        import os, subprocess, time
        sleeper = subprocess.Popen(["sleep", "60"])
        open({str(pid_file)!r}, "w").write(f"{{os.getpid()}} {{sleeper.pid}}")
        print("working", flush=True)
        time.sleep(60)
    """)
    runner = _program(tmp_path, f"""
        import sys
        from setupkit import dialog, process
        try:
            with process.termination_signals():
                dialog.converse({fake!r}, [], transcript={str(tmp_path / "t.log")!r}, deadline=60)
        except KeyboardInterrupt as error:
            print("interrupted", error.signal_name)
            sys.exit(130)
    """, name="runner.py")
    child = subprocess.Popen(runner, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = pids(pid_file)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert out.split() == ["interrupted", "SIGTERM"]
    # The program, and the sleep it started in its group.
    assert len(started) == 2 and all(wait_gone(pid) for pid in started)


def _fifo(tmp_path: Path) -> str:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return str(path)


def _plain_file(tmp_path: Path) -> str:
    path = tmp_path / "not-executable"
    path.write_text("#!/bin/sh\necho hi\n")
    return str(path)


@pytest.mark.parametrize("make_argv, prompts, says", [
    (lambda tmp: [str(tmp / "missing")], [], "cannot run"),
    (lambda tmp: ["no-such-program-anywhere"], [], "command not found"),
    (lambda tmp: [str(tmp)], [], "is a folder, not a program"),
    (lambda tmp: [_fifo(tmp)], [], "is a FIFO, not a program"),
    (lambda tmp: [_plain_file(tmp)], [], "is not executable"),
    (lambda tmp: ["true"], [dialog.Prompt("path", "Path: ", "/opt\nyes")], "holds a line break"),
    (lambda tmp: ["true"], [dialog.Prompt("flags", "Flags: ", "x" * 5000)], "a terminal line holds at most"),
])
def test_what_cannot_start_says_why_in_one_line(tmp_path, make_argv, prompts, says):
    with pytest.raises(dialog.CannotStart) as refused:
        dialog.converse(make_argv(tmp_path), prompts, transcript=tmp_path / "t.log", deadline=10)
    assert says in refused.value.message and "\n" not in refused.value.message
    assert refused.value.exit_code == exitcodes.ACTION_FAILED


@pytest.mark.parametrize("make_transcript, says", [
    (lambda tmp: tmp, "is a folder, not a file"),
    (lambda tmp: Path(_fifo(tmp)), "is a FIFO, not a file"),
])
def test_a_transcript_that_is_not_a_file_is_refused_before_the_program_starts(tmp_path, make_transcript, says):
    marker = tmp_path / "ran"
    with pytest.raises(dialog.CannotStart) as refused:
        dialog.converse(["touch", str(marker)], [], transcript=make_transcript(tmp_path), deadline=10)
    assert says in refused.value.message and not marker.exists()


def test_waiting_question_reads_the_last_line():
    assert dialog.waiting_question("You have bazel 7.4.1 installed.\r\n") is None
    assert dialog.waiting_question("x\r\nDo you want the frobnicator? [y/N]: ") == \
        "Do you want the frobnicator? [y/N]:"
    assert dialog.waiting_question("Enter a path [/opt]") == "Enter a path [/opt]"
    assert dialog.waiting_question("Proceed (yes/no)") == "Proceed (yes/no)"
    assert dialog.waiting_question("Compiling (3 of 5)") is None
    assert dialog.waiting_question("50%\r100%\r") is None
    assert dialog.waiting_question("") is None


def test_the_matcher_finds_the_earliest_prompt_and_refuses_named_groups():
    matcher = dialog.Matcher([dialog.Prompt("b", "second"), dialog.Prompt("a", "first")])
    prompt, match = matcher.search("the first, then the second")
    assert (prompt.name, match.group(0)) == ("a", "first")
    assert dialog.Matcher([]).search("anything") is None
    with pytest.raises(ValueError):
        dialog.Matcher([dialog.Prompt("x", "(?P<mine>x)")])


def test_a_transcript_that_can_no_longer_be_written_stops_the_dialog(tmp_path, pids, wait_gone):
    pid_file = tmp_path / "pid"
    fake = _program(tmp_path, f"""
        import os, sys
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        while True:
            sys.stdout.write("line after line\\n")
    """)
    runner = _program(tmp_path, f"""
        import resource, signal, sys
        from setupkit import dialog
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, a write fails (EFBIG) as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        try:
            dialog.converse({fake!r}, [], transcript={str(tmp_path / "t.log")!r}, deadline=30)
        except dialog.DialogFailed as error:
            print(error.message)
    """, name="runner.py")
    done = subprocess.run(runner, capture_output=True, text=True, timeout=60)
    assert "cannot write the transcript" in done.stdout and "File too large" in done.stdout, done.stderr
    assert wait_gone(pids(pid_file)[0])
