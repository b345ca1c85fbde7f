"""What the installer asks of setupkit.process beyond the common door: ``run_attached`` for a program that talks
to the person at the terminal (mokutil's password), and, for an interrupted command, ``on_wait`` (told the
grace, so the person knows why nothing seems to happen) and ``command_finished`` (did it run to its end)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from setupkit import process
from tests.helpers.processes import alive


def _wait_for(path: Path, within: float = 20) -> None:
    """Until the child wrote ``path``, and a moment more: a signal that lands while run() is still starting the
    child is held and then stops it at once, which is not what these tests are about."""
    deadline = time.monotonic() + within
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    time.sleep(0.3)


def _child(code: str) -> subprocess.Popen:
    """A Python child running ``code`` under termination_signals, exiting 130 on an interruption and printing
    what the exception carried."""
    script = textwrap.dedent("""
        import sys
        from setupkit import process
        try:
            with process.termination_signals():
        {body}
        except KeyboardInterrupt as error:
            print("interrupted", getattr(error, "command_finished", None), flush=True)
            sys.exit(130)
    """).format(body=textwrap.indent(textwrap.dedent(code), " " * 8))
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)


def test_run_attached_returns_the_status_and_leaves_the_terminal_to_the_program(capfd):
    done = process.run_attached([sys.executable, "-c", "import os; print(os.getpgrp()); raise SystemExit(3)"],
                                timeout=20)
    assert done.returncode == 3 and done.stdout == ""
    # what it printed went straight to our stdout, and it ran in our own process group (it can read the terminal)
    assert capfd.readouterr().out.strip() == str(os.getpgrp())


def test_run_attached_stops_the_program_at_its_timeout(tmp_path):
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    done = process.run_attached(["sh", "-c", f'echo $$ > "{pid_file}"; exec sleep 30'], timeout=0.5)
    assert time.monotonic() - started < 5
    assert done.timed_out and "timed out after 0.5s" in done.stderr
    assert not alive(int(pid_file.read_text()))


def test_run_attached_refuses_what_is_not_installed():
    assert process.run_attached(["no-such-mokutil", "--import"], timeout=5).returncode == process.NOT_INSTALLED


def test_run_attached_stops_the_program_when_interrupted(tmp_path):
    pid_file = tmp_path / "pid"
    child = _child(f"""
        process.run_attached(["sh", "-c", 'echo $$ > "{pid_file}"; exec sleep 30'], timeout=60)
    """)
    _wait_for(pid_file)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=20)
    assert child.returncode == 130, err
    assert not alive(int(pid_file.read_text()))


def test_an_interrupted_command_let_finish_says_so_and_its_wait_is_announced(tmp_path):
    mark = tmp_path / "started"
    child = _child(f"""
        process.run(["sh", "-c", 'echo 1 > "{mark}"; sleep 1'], timeout=60, on_interrupt="wait",
                    interrupt_grace=30, on_wait=lambda grace: print("waiting", grace, flush=True))
    """)
    _wait_for(mark)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert out.split("\n")[:2] == ["waiting 30", "interrupted True"]


def test_an_interrupted_command_cut_at_the_end_of_its_grace_says_so(tmp_path):
    mark = tmp_path / "started"
    child = _child(f"""
        process.run(["sh", "-c", 'echo 1 > "{mark}"; exec sleep 60'], timeout=60, on_interrupt="wait",
                    interrupt_grace=0.3)
    """)
    _wait_for(mark)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert out.strip() == "interrupted False"


# -- the step runner on this door ------------------------------------------------------------------------------

class _Log:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_the_step_runners_timeout_bounds_the_command_itself():
    from setupkit.install.runner import SubprocessStepRunner

    runner = SubprocessStepRunner(timeout=1, echo=open(os.devnull, "w"), interrupt_grace=0)
    started = time.monotonic()
    outcome = runner.run(["sleep", "60"], _Log())
    took = time.monotonic() - started
    assert outcome.returncode is None and outcome.problem == "timed out after 1s"
    # Back at its timeout, not when the command would have ended (a loaded machine may add seconds, not a minute).
    assert 0.9 < took < 30, took


def test_the_step_runner_kills_the_commands_process_group_at_its_timeout(tmp_path, wait_gone):
    """What the command started in the background goes with it: the whole group is killed."""
    from setupkit.install.runner import SubprocessStepRunner

    pids = tmp_path / "pids"
    argv = ["sh", "-c", f'sleep 60 & echo $! > "{pids}"; echo $$ >> "{pids}"; echo started; wait']
    log = _Log()
    started = time.monotonic()
    outcome = SubprocessStepRunner(timeout=1, echo=open(os.devnull, "w"), interrupt_grace=0).run(argv, log)
    assert time.monotonic() - started < 30
    assert outcome.returncode is None and "started" in log.text
    # SIGKILL lands asynchronously: each process of the group is gone within moments, long before its sleep ends.
    assert [pid for pid in map(int, pids.read_text().split()) if not wait_gone(pid, within=10)] == []
