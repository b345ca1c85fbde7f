"""The install's own files and its interruptions, for real.

Root writes the lock, the state and the log, so a link planted at any of them (or at their folders) must never
make root write through it: the victim stays as it was and the run exits 3 with one line. Broken places and
broken state files end the same way, or, for a state file that does not read, with a warning and the steps run
again. A command that outlives its timeout fails its step (exit 4). SIGTERM, SIGHUP or Ctrl-C in the middle of
a package command: the command is given its grace then stopped, the log says where and how to resume, the
state keeps the steps done, nothing is left running and the lock is free again at once (exit 130).

The CLI runs in a child process. Where a step must run a program, a small driver gives main() a fixed plan
(its step runs fake programs on an isolated PATH) instead of planning for this machine.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from setupkit import exitcodes, process
from setupkit.errors import ActionFailed, PreconditionError
from setupkit.install.executor import Paths, execute
from setupkit.install.model import Plan, Step
from setupkit.install.runner import SubprocessStepRunner
from tests.helpers.install import RecordingRunner, plan_for
from tests.helpers.processes import alive

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="setupkit install runs as root; these tests do too")

DRIVER = '''
import faulthandler, json, os, signal, sys
faulthandler.register(signal.SIGUSR1)  # a test that waited too long asks where it is stuck
if os.environ.get("TEST_FSIZE"):  # files may grow no larger: a full disk, for this process alone
    import resource
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(os.environ["TEST_FSIZE"]),) * 2)
from setupkit.cli import main
from setupkit.install import run
from setupkit.install.model import Plan, Step

def fixed_plan(options):
    steps = [Step(s["id"], "Step " + s["id"], commands=s["commands"]) for s in json.loads(os.environ["TEST_PLAN"])]
    return Plan(steps=steps, path="cpu", distro={"name": "Test Linux", "package_manager": "apt-get"}), {}

run.read_plan = fixed_plan
main(sys.argv[1:])
'''

FAKE_APT = '''#!/bin/sh
echo $$ > "$FAKE_PID"
echo "Reading package lists..."
exec /bin/sleep "$FAKE_SLEEP"
'''

FLOOD = '''#!/bin/sh
i=0
while [ $i -lt 3000 ]; do echo "line $i of an output longer than the disk can take"; i=$((i+1)); done
echo done > "$FAKE_DONE"
'''

PLAN = [{"id": "prepare", "commands": [["prepare"]]},
        {"id": "packages", "commands": [["apt-get", "install", "-y", "foo"]]},
        {"id": "after", "commands": [["prepare"]]}]


@pytest.fixture
def places(tmp_path):
    """The lock, log and state in folders of their own under tmp_path, as the environment overrides them."""
    root = tmp_path / "places"
    root.mkdir()
    return {"SETUPKIT_INSTALL_LOCK": str(root / "run" / "install.lock"),
            "SETUPKIT_INSTALL_LOG_DIR": str(root / "log"),
            "SETUPKIT_INSTALL_STATE": str(root / "lib" / "state.json")}


@pytest.fixture
def victims(tmp_path):
    """A folder of files root must never write to, each named as one of the files setupkit writes, so that a
    folder link followed would land on them."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    for name in ("precious", "install.lock", "state.json"):
        (folder / name).write_text("precious\n")
        os.utime(folder / name, (1_000_000_000, 1_000_000_000))
    return folder


def look(folder: Path) -> dict:
    return {p.name: (p.read_bytes(), p.stat().st_mtime) for p in folder.iterdir()}


def assert_one_line(stderr: str, *needles: str) -> None:
    """Exit 3's shape: `setupkit: <message>` and optionally `fix: <hint>`, no traceback."""
    lines = stderr.splitlines()
    assert "Traceback" not in stderr and 1 <= len(lines) <= 2, stderr
    assert lines[0].startswith("setupkit: ") and all(n in lines[0] for n in needles), stderr
    assert len(lines) == 1 or lines[1].startswith("fix: "), stderr


def run_cli(run_setupkit, places: dict, *extra: str, timeout: float = 60):
    return run_setupkit("install", "--yes", "--only", "verify", *extra, env=places, timeout=timeout)


def plant(places: dict, setting: str, where: str, victims: Path) -> Path:
    """A link at the file itself (to a victim file), or at its folder (to the victims' folder)."""
    file = Path(places[setting])
    if where == "file":
        file.parent.mkdir(mode=0o700)
        file.symlink_to(victims / "precious")
        return file
    folder = file if setting == "SETUPKIT_INSTALL_LOG_DIR" else file.parent
    folder.symlink_to(victims, target_is_directory=True)
    return folder


@pytest.mark.parametrize("setting,where", [
    ("SETUPKIT_INSTALL_LOCK", "file"), ("SETUPKIT_INSTALL_LOCK", "folder"),
    ("SETUPKIT_INSTALL_STATE", "file"), ("SETUPKIT_INSTALL_STATE", "folder"),
    ("SETUPKIT_INSTALL_LOG_DIR", "folder"),
])
def test_a_link_planted_where_root_writes_is_refused_and_the_victim_untouched(run_setupkit, places, victims,
                                                                              setting, where):
    planted = plant(places, setting, where, victims)
    before = look(victims)
    result = run_cli(run_setupkit, places)
    assert result.returncode == exitcodes.PRECONDITION, result.stderr
    assert_one_line(result.stderr, str(planted), "symbolic link")
    assert look(victims) == before


def test_a_hard_link_to_a_victim_at_the_lock_path_is_refused(run_setupkit, places, victims):
    lock = Path(places["SETUPKIT_INSTALL_LOCK"])
    lock.parent.mkdir(mode=0o700)
    os.link(victims / "precious", lock)
    before = look(victims)
    result = run_cli(run_setupkit, places)
    assert result.returncode == exitcodes.PRECONDITION
    assert_one_line(result.stderr, str(lock), "hard link")
    assert look(victims) == before


@pytest.mark.parametrize("kind,said", [("symbolic", "is a symbolic link"), ("hard", "has 2 names")])
def test_a_link_at_the_log_file_is_refused(tmp_path, victims, kind, said):
    (tmp_path / "log").mkdir(mode=0o750)
    link = tmp_path / "log" / "install.log"
    if kind == "symbolic":
        link.symlink_to(victims / "precious")
    else:
        os.link(victims / "precious", link)
    before = look(victims)
    paths = Paths(lock=str(tmp_path / "install.lock"), log=str(link), state=str(tmp_path / "state.json"))
    runner = RecordingRunner()
    with pytest.raises(PreconditionError, match=f"the log .* {said}"):
        execute(plan_for("ubuntu1604-gtx-nouveau"), runner, paths)
    assert runner.commands == [] and runner.files == []
    assert look(victims) == before


def test_the_folders_are_made_root_only_and_the_lock_holds_only_our_pid(run_setupkit, places):
    result = run_cli(run_setupkit, places, timeout=180)
    assert result.returncode == 0, result.stderr
    modes = {name: stat.S_IMODE(Path(places[name]).parent.stat().st_mode) for name in
             ("SETUPKIT_INSTALL_LOCK", "SETUPKIT_INSTALL_STATE")}
    assert modes == {"SETUPKIT_INSTALL_LOCK": 0o700, "SETUPKIT_INSTALL_STATE": 0o700}
    assert stat.S_IMODE(Path(places["SETUPKIT_INSTALL_LOG_DIR"]).stat().st_mode) == 0o750
    lock = Path(places["SETUPKIT_INSTALL_LOCK"])
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600 and lock.read_text().strip().isdigit()


def _make_bad_place(places, tmp_path, case) -> str:
    """Set up one broken place; return the path the message must name."""
    lock, state = Path(places["SETUPKIT_INSTALL_LOCK"]), Path(places["SETUPKIT_INSTALL_STATE"])
    log_dir = Path(places["SETUPKIT_INSTALL_LOG_DIR"])
    if case == "lock is a folder":
        lock.mkdir(parents=True)
        return str(lock)
    if case == "lock folder's parent is a file":
        (tmp_path / "file").write_text("")
        places["SETUPKIT_INSTALL_LOCK"] = str(tmp_path / "file" / "run" / "install.lock")
        return str(tmp_path / "file" / "run")
    if case == "lock folder writable by all":
        lock.parent.mkdir()
        lock.parent.chmod(0o777)
        return str(lock.parent)
    if case == "log folder is a file":
        log_dir.write_text("")
        return str(log_dir)
    if case == "state is a folder":
        state.mkdir(parents=True)
        return str(state)
    if case == "state is a FIFO":
        state.parent.mkdir(mode=0o700)
        os.mkfifo(state)
        return str(state)
    if case == "state in a place that cannot be created":
        places["SETUPKIT_INSTALL_STATE"] = "/proc/setupkit-test-nowhere/state.json"
        return "/proc/setupkit-test-nowhere"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["lock is a folder", "lock folder's parent is a file", "lock folder writable by all",
                                  "log folder is a file", "state is a folder", "state is a FIFO",
                                  "state in a place that cannot be created"])
def test_a_broken_place_exits_3_with_one_line_naming_it(run_setupkit, places, tmp_path, case):
    named = _make_bad_place(places, tmp_path, case)
    started = time.monotonic()
    result = run_cli(run_setupkit, places)
    assert result.returncode == exitcodes.PRECONDITION, result.stderr
    assert_one_line(result.stderr, named)
    assert time.monotonic() - started < 30


# -- a state file that does not read ----------------------------------------------------------------------------

def _sparse(path: Path) -> None:
    with open(path, "wb") as out:
        out.truncate(2 * 1024**3)  # 2 GiB that take no disk: read whole, it would cost 2 GiB of memory


@pytest.mark.parametrize("content", [
    b"not json", b"", b"[]", b'{"done": [1, 2]}', b'{"done": {"pip": 7}}', b'{"done": {"pip": NaN}}',
    b"\xff\xfe\x00", b"[" * 200_000, "sparse",
], ids=["text", "empty", "list", "done-list", "number", "nan", "not-utf8", "deep", "huge"])
def test_a_corrupt_state_file_is_ignored_with_a_warning_and_every_step_runs(paths, content):
    state = Path(paths.state)
    _sparse(state) if content == "sparse" else state.write_bytes(content)
    told: list[str] = []
    runner = RecordingRunner()
    started = time.monotonic()
    ran = execute(plan_for("ubuntu1604-gtx-nouveau"), runner, paths, notify=told.append)
    assert time.monotonic() - started < 10
    assert ran[0] == "pip" and len(ran) == 10  # nothing skipped on the word of a state file that does not read
    assert len(told) == 1 and told[0].startswith(f"warning: the state file {paths.state} ") and "ignored" in told[0]
    assert "ignored" in Path(paths.log).read_text()
    assert not state.exists()  # the completed run cleared it


def test_a_state_file_that_cannot_be_saved_fails_the_step_with_exit_4(paths, monkeypatch):
    import errno

    from setupkit.install import places

    def full(path, data, mode):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(places, "replace_file", full)
    with pytest.raises(ActionFailed) as caught:
        execute(plan_for("ubuntu1604-gtx-nouveau"), RecordingRunner(), paths)
    assert caught.value.exit_code == exitcodes.ACTION_FAILED
    assert "step pip" in caught.value.message and "no space left on device" in caught.value.message
    assert paths.state in caught.value.message and paths.log in caught.value.message


# -- timeouts ----------------------------------------------------------------------------------------------------

def _one_step_plan(argv: list[str], interactive: bool = False) -> Plan:
    return Plan(steps=[Step("packages", "Install packages", commands=[argv], interactive=interactive)], path="cpu",
                distro={})


@pytest.mark.parametrize("interactive", [False, True], ids=["captured", "on-the-terminal"])
def test_a_command_past_its_timeout_is_stopped_and_fails_its_step(paths, tmp_path, interactive):
    pid_file = tmp_path / "pid"
    argv = ["sh", "-c", f'echo $$ > "{pid_file}"; echo working; exec sleep 30']
    runner = SubprocessStepRunner(timeout=1, echo=open(os.devnull, "w"))
    started = time.monotonic()
    with pytest.raises(ActionFailed) as caught:
        execute(_one_step_plan(argv, interactive), runner, paths)
    assert time.monotonic() - started < 8
    message = caught.value.message
    assert caught.value.exit_code == exitcodes.ACTION_FAILED
    assert "step packages" in message and "timed out after 1s" in message and paths.log in message
    assert not alive(int(pid_file.read_text()))
    log = Path(paths.log).read_text()
    assert "[timed out after 1s]" in log
    assert ("(interactive: its output goes to the terminal" in log) == interactive


def test_a_missing_program_fails_its_step_naming_it(paths):
    with pytest.raises(ActionFailed, match="cannot run `no-such-apt-get update`: no-such-apt-get: command not found"):
        execute(_one_step_plan(["no-such-apt-get", "update"]), SubprocessStepRunner(timeout=5), paths)


# -- interruptions -----------------------------------------------------------------------------------------------

def test_an_interruption_during_a_step_is_logged_and_the_state_kept(paths):
    class Interrupted(RecordingRunner):
        def run(self, argv, log, interactive=False):
            if argv[:2] == ["apt-get", "install"] and "nvidia-460" in argv:
                raise process.Interrupted("SIGHUP")
            return super().run(argv, log, interactive)

    told: list[str] = []
    with pytest.raises(process.Interrupted):
        execute(plan_for("ubuntu1604-gtx-nouveau"), Interrupted(), paths, notify=told.append,
                command=["/v/bin/setupkit", "install", "--gpu"])
    done = json.loads(Path(paths.state).read_text())["done"]
    assert set(done) == {"pip", "kernel-headers", "nouveau", "cuda-repo", "display-stop"}
    line = ("interrupted by SIGHUP during step driver (command apt-get install -y nvidia-460, stopped midway); the "
            "steps done so far "
            "(pip, kernel-headers, nouveau, cuda-repo, display-stop) are kept in the state file")
    assert len(told) == 1 and told[0].startswith(line), told
    assert "sudo dpkg --configure -a" in told[0] and told[0].endswith("then /v/bin/setupkit install --gpu to resume")
    assert told[0] in Path(paths.log).read_text()


@pytest.fixture
def driver(tmp_path, places):
    """Start the CLI on the fixed PLAN with fake `prepare` and `apt-get` on a PATH of their own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(FAKE_APT)
    (bin_dir / "prepare").write_text("#!/bin/sh\necho prepared\n")
    (bin_dir / "flood").write_text(FLOOD)
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)

    def start(sleep: float, grace: float, plan: list = PLAN, file_size: int | None = None) -> subprocess.Popen:
        env = dict(os.environ, **places, PATH=str(bin_dir), NO_COLOR="1", TEST_PLAN=json.dumps(plan),
                   FAKE_PID=str(tmp_path / "apt.pid"), FAKE_SLEEP=str(sleep), FAKE_DONE=str(tmp_path / "flood.done"),
                   SETUPKIT_INSTALL_INTERRUPT_GRACE=str(grace), TEST_FSIZE=str(file_size or ""))
        (tmp_path / "apt.pid").unlink(missing_ok=True)
        return subprocess.Popen([sys.executable, str(script), "install", "--yes"], env=env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    return start


def _finish(proc: subprocess.Popen, within: float = 30) -> tuple[str, str]:
    """The driver's output once it ended; if it does not end in time, where it was stuck, as the failure."""
    try:
        return proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        proc.kill()
        raise AssertionError(f"setupkit did not end within {within} s: {proc.communicate()}") from None


def _wait_for(path: Path, proc: subprocess.Popen, text: str = "", limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip() and text in path.read_text():
            time.sleep(0.3)  # past the start of the child: a signal held while it starts would stop it at once
            return
        if proc.poll() is not None:
            raise AssertionError(f"setupkit ended first: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"no {path} with {text!r} within {limit} s")


def _log_text(places) -> str:
    return "".join(p.read_text() for p in Path(places["SETUPKIT_INSTALL_LOG_DIR"]).glob("install-*.log"))


def _lock_is_free(places) -> bool:
    with open(places["SETUPKIT_INSTALL_LOCK"], "r+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
    return True


@pytest.mark.parametrize("sig,said", [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP"),
                                      (signal.SIGINT, "SIGINT (Ctrl-C)")])
def test_a_signal_midway_through_apt_stops_it_after_its_grace_keeps_the_state_and_frees_the_lock(
        driver, places, tmp_path, sig, said):
    proc = driver(sleep=30, grace=1)
    pid_file = tmp_path / "apt.pid"
    _wait_for(pid_file, proc)
    apt_pid = int(pid_file.read_text())
    proc.send_signal(sig)
    started = time.monotonic()
    out, err = _finish(proc)
    assert time.monotonic() - started < 10
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert "Traceback" not in err
    line = (f"interrupted by {said} during step packages (command apt-get install -y foo, stopped midway); the steps "
            f"done so far (prepare) are kept in the state file {places['SETUPKIT_INSTALL_STATE']}: run sudo dpkg "
            f"--configure -a (the package manager was stopped midway), then ")
    assert f"setupkit: {line}" in err, err
    assert err.splitlines()[-1].startswith("setupkit: interrupted (")
    assert line in _log_text(places) and "letting `apt-get install -y foo` finish (up to 1 s)" in _log_text(places)
    assert not alive(apt_pid)
    assert _lock_is_free(places)
    assert set(json.loads(Path(places["SETUPKIT_INSTALL_STATE"]).read_text())["done"]) == {"prepare"}

    again = driver(sleep=0, grace=1)  # the resume: what was done is not done again
    out, err = _finish(again, 60)
    assert again.returncode == 0, err
    assert "Ran 2 step(s): packages, after" in out and "prepare: already done by an earlier run" in err
    assert not Path(places["SETUPKIT_INSTALL_STATE"]).exists()


def test_a_command_that_ends_within_its_grace_is_let_finish(driver, places, tmp_path):
    proc = driver(sleep=1.5, grace=20)
    _wait_for(tmp_path / "apt.pid", proc)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = _finish(proc)
    waited = time.monotonic() - started
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert 0.8 < waited < 10  # it waited for apt-get, and not for the whole grace
    log = _log_text(places)
    assert "during step packages (command apt-get install -y foo, which ran to its end)" in log
    assert "dpkg --configure -a" not in log and "== step after" not in log


def test_a_second_interruption_stops_the_command_at_once(driver, places, tmp_path):
    proc = driver(sleep=60, grace=60)
    pid_file = tmp_path / "apt.pid"
    _wait_for(pid_file, proc)
    proc.send_signal(signal.SIGTERM)
    log_dir = Path(places["SETUPKIT_INSTALL_LOG_DIR"])
    _wait_for(next(log_dir.glob("install-*.log")), proc, text="interrupt again to stop it now")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = _finish(proc)
    assert time.monotonic() - started < 8
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert "stopped midway" in _log_text(places)
    assert not alive(int(pid_file.read_text())) and _lock_is_free(places)


def test_a_log_that_cannot_be_written_fails_the_step_once_its_command_ended(driver, places, tmp_path):
    """A full disk under the log must not cut the command midway (raising while it streams would kill it)."""
    plan = [{"id": "flood", "commands": [["flood"]]}, {"id": "after", "commands": [["prepare"]]}]
    proc = driver(sleep=0, grace=1, plan=plan, file_size=32 * 1024)
    _, err = _finish(proc, 60)
    assert proc.returncode == exitcodes.ACTION_FAILED, err[-2000:]
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("setupkit: step flood (Step flood) stopped: cannot write the log ")
    assert "file too large" in err.splitlines()[-1]
    assert (tmp_path / "flood.done").exists()  # the command ran to its end
    assert "== step after" not in _log_text(places)
