"""The one door that runs programs: timeouts that bound the command, bounded output, nothing left running."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from setupkit import process


def test_a_program_that_keeps_printing_is_cut_at_its_timeout():
    started = time.monotonic()
    result = process.run(["sh", "-c", "while :; do echo line; done"], timeout=1, max_output=10_000)
    assert result.timed_out and result.returncode is None
    assert time.monotonic() - started < 6
    assert "timed out after 1s" in result.stderr


def test_a_flood_is_kept_to_its_bound_and_says_it_was_cut():
    result = process.run([sys.executable, "-c", "import sys; sys.stdout.write('x' * 20_000_000)"], timeout=30,
                         max_output=1000)
    assert result.ok and len(result.stdout) == 1000 and result.truncated


def test_a_grandchild_holding_the_pipes_does_not_hold_the_caller(tmp_path, wait_gone):
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    result = process.run(["sh", "-c", f"sleep 60 & echo $! > {pid_file}; echo done"], timeout=30)
    assert result.ok and result.stdout == "done\n"
    assert time.monotonic() - started < 10
    assert wait_gone(int(pid_file.read_text()))


def test_a_timed_out_program_leaves_nothing_of_its_group_running(tmp_path, wait_gone):
    pid_file = tmp_path / "pid"
    result = process.run(["sh", "-c", f"sleep 60 & echo $! > {pid_file}; sleep 60"], timeout=0.5)
    assert result.timed_out
    assert wait_gone(int(pid_file.read_text()))


def test_a_program_ignoring_sigterm_is_killed():
    script = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
              "print('up', flush=True); time.sleep(60)")
    started = time.monotonic()
    result = process.run([sys.executable, "-c", script], timeout=0.5)
    assert result.timed_out and result.stdout == "up\n"
    assert time.monotonic() - started < process.KILL_GRACE_S + 5


def test_a_crash_names_its_signal():
    result = process.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"], timeout=10)
    assert result.returncode == -signal.SIGSEGV and result.signal_name == "SIGSEGV"


def test_missing_and_unrunnable_programs_are_codes_not_exceptions(tmp_path):
    assert process.run(["no-such-program-here"], timeout=1).returncode == process.NOT_INSTALLED
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho hi\n")
    assert process.run([str(script)], timeout=1).returncode == process.NOT_EXECUTABLE
    assert process.run([], timeout=1).returncode == process.NOT_INSTALLED


def test_output_streams_to_the_callback_as_it_comes_and_undecodable_bytes_are_replaced():
    chunks: list[str] = []
    result = process.run(["sh", "-c", r"printf 'a\n'; printf 'b\377\n' >&2; printf 'c\n'"], timeout=10,
                         merge_stderr=True, on_output=chunks.append)
    assert "".join(chunks) == result.stdout == "a\nb\ufffd\nc\n"


def _run_child(code: str, tmp_path: Path) -> subprocess.Popen:
    """A Python child that uses process.run (it hears SIGINT: tests/conftest.py sees to it)."""
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interruption_kills_the_child_group_then_goes_on(tmp_path, sig, wait_gone, wait_for_file):
    pid_file = tmp_path / "pid"
    child = _run_child(f"""
        import sys
        from setupkit import process
        try:
            with process.termination_signals():
                process.run(["sh", "-c", "sleep 60 & echo $! > {pid_file}; wait"], timeout=60)
        except KeyboardInterrupt as error:
            print("interrupted", getattr(error, "signal_name", "SIGINT"))
            sys.exit(130)
    """, tmp_path)
    wait_for_file(pid_file)
    child.send_signal(sig)
    out, _ = child.communicate(timeout=20)
    assert child.returncode == 130
    assert out.split() == ["interrupted", sig.name]
    assert wait_gone(int(pid_file.read_text()))


def test_wait_on_interrupt_lets_the_child_finish_within_its_grace(tmp_path, wait_for_file):
    mark = tmp_path / "started"
    done = tmp_path / "finished"
    child = _run_child(f"""
        import sys
        from setupkit import process
        try:
            with process.termination_signals():
                process.run(["sh", "-c", "echo 1 > {mark}; sleep 1; echo 1 > {done}"], timeout=60,
                            on_interrupt="wait", interrupt_grace=30)
        except KeyboardInterrupt:
            sys.exit(130)
    """, tmp_path)
    wait_for_file(mark)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == 130
    assert done.exists(), "the child was cut instead of being let finish"


def test_wait_on_interrupt_still_kills_after_the_grace(tmp_path, wait_gone, wait_for_file):
    pid_file = tmp_path / "pid"
    child = _run_child(f"""
        import sys
        from setupkit import process
        try:
            with process.termination_signals():
                process.run(["sh", "-c", "echo $$ > {pid_file}; exec sleep 60"], timeout=60, on_interrupt="wait",
                            interrupt_grace=0.5)
        except KeyboardInterrupt:
            sys.exit(130)
    """, tmp_path)
    wait_for_file(pid_file)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=20)
    assert child.returncode == 130
    assert wait_gone(int(pid_file.read_text()))


def test_output_not_kept_still_streams_to_the_callback_up_to_the_bound():
    chunks: list[str] = []
    result = process.run([sys.executable, "-c", "print('y' * 99999)"], timeout=30, max_output=50_000,
                         on_output=chunks.append, keep_output=False)
    assert result.stdout == "" and result.truncated
    assert "".join(chunks) == "y" * 50_000


def test_wait_on_interrupt_sends_the_interrupt_signal_first(tmp_path, wait_for_file):
    ready, cancelled = tmp_path / "ready", tmp_path / "cancelled"
    program = (f"import signal, sys, time\n"
               f"def cancel(*_):\n    open({str(cancelled)!r}, 'w').write('SIGINT'); sys.exit(8)\n"
               f"signal.signal(signal.SIGINT, cancel)\nopen({str(ready)!r}, 'w').write('1')\ntime.sleep(60)\n")
    child = _run_child(f"""
        import signal, sys
        from setupkit import process
        try:
            with process.termination_signals():
                process.run([sys.executable, "-c", {program!r}], timeout=60, on_interrupt="wait",
                            interrupt_grace=30, interrupt_signal=signal.SIGINT)
        except KeyboardInterrupt as error:
            sys.exit(130 if error.command_finished else 1)
    """, tmp_path)
    wait_for_file(ready)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == 130  # it ended by itself on SIGINT, well within the grace
    assert cancelled.read_text() == "SIGINT"
