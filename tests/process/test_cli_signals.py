"""Every verb ends the same way on Ctrl-C, SIGTERM and SIGHUP: one line, exit 130, no child left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest


@pytest.mark.parametrize("sig,shown", [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM"),
                                       (signal.SIGHUP, "SIGHUP")])
def test_doctor_interrupted_during_its_deep_probe(tmp_path, sig, shown, wait_gone, wait_for_file):
    pid_file = tmp_path / "pid"
    slow_python = tmp_path / "python"  # stands in for the interpreter --deep imports TensorFlow with
    slow_python.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    slow_python.chmod(0o755)
    setupkit = subprocess.Popen(
        [sys.executable, "-m", "setupkit", "doctor", "--deep", "--deep-python", str(slow_python)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, NO_COLOR="1"))
    try:
        wait_for_file(pid_file)
        setupkit.send_signal(sig)
        _, err = setupkit.communicate(timeout=30)
    finally:
        setupkit.kill()
    assert setupkit.returncode == 130
    assert err.strip().splitlines() == [f"setupkit: interrupted ({shown})"]
    assert wait_gone(int(pid_file.read_text()))


def test_a_no_at_the_confirmation_is_not_called_an_interruption():
    import typer

    from setupkit.cli import _say_interrupted
    from setupkit.cli.common import err_console

    with err_console.capture() as captured:
        _say_interrupted(typer.Abort())
    assert captured.get().strip() == "setupkit: aborted; nothing more was done"
