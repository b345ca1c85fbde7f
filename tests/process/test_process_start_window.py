"""An interruption that lands while a child is being started (after the fork, before setupkit holds it)
still stops the child: nothing is left running, known to no one."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from setupkit import process


def test_ctrl_c_right_after_the_fork_still_stops_the_child(tmp_path, monkeypatch, wait_gone):
    pid_file = tmp_path / "pid"
    real_popen = subprocess.Popen
    started = []

    def popen_then_interrupted(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C came before Popen returned to process.run
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        process.run(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 60"], timeout=30)
    assert started and started[0].poll() is not None, "the child outlived the interruption"
    if pid_file.exists() and pid_file.read_text().strip():
        assert wait_gone(int(pid_file.read_text()))


def test_no_signal_handler_is_left_changed_by_a_run():
    before = {sig: signal.getsignal(sig) for sig in process.TERMINATION_SIGNALS}
    assert process.run(["true"], timeout=10).ok
    assert {sig: signal.getsignal(sig) for sig in process.TERMINATION_SIGNALS} == before
