"""The executor: runs a plan's todo steps in order under a lock, logs every command and its output, records
finished steps in a state file (a re-run resumes after them), stops at the first failure naming the step and
the log (exit 4), and on an interruption lets the running command end, says so in the log and keeps the state.

The lock, the state and the log live in root-only folders and are never written through a link (places.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from setupkit import process
from setupkit.bounded import BoundError, ascii_int, loads_json
from setupkit.errors import ActionFailed, PreconditionError
from setupkit.install import locks, places, runfile
from setupkit.install.guard import command_words
from setupkit.install.model import DONE, TODO, Plan, Step
from setupkit.install.runner import StepOutcome, StepRunner

DEFAULT_LOCK = "/run/setupkit/install.lock"
DEFAULT_LOG_DIR = "/var/log/setupkit"
DEFAULT_STATE = "/var/lib/setupkit/install-state.json"
DEFAULT_PACKAGE_LOCK = "/var/lib/dpkg/lock-frontend"
LOCK_SETTING, LOG_SETTING, STATE_SETTING = "SETUPKIT_INSTALL_LOCK", "SETUPKIT_INSTALL_LOG_DIR", "SETUPKIT_INSTALL_STATE"
PACKAGE_LOCK_SETTING = "SETUPKIT_DPKG_LOCK"
STATE_LIMIT = 1024 * 1024
"""Bytes a state file may hold: a plan's dozen step ids and fingerprints take a few hundred."""

# Programs that leave the package database half-configured when they are cut midway.
PACKAGE_TOOLS = {"apt", "apt-get", "aptitude", "dpkg"}


@dataclass(frozen=True)
class Paths:
    lock: str
    log: str
    state: str
    package_lock: str = DEFAULT_PACKAGE_LOCK  # dpkg's, waited for (--lock-wait), never taken for a step

    @classmethod
    def from_env(cls) -> Paths:
        """Defaults under /run and /var; SETUPKIT_INSTALL_LOCK, _LOG_DIR, _STATE and SETUPKIT_DPKG_LOCK move them
        (tests, unusual hosts)."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        return cls(lock=_setting(LOCK_SETTING, DEFAULT_LOCK),
                   log=str(Path(_setting(LOG_SETTING, DEFAULT_LOG_DIR)) / f"install-{stamp}.log"),
                   state=_setting(STATE_SETTING, DEFAULT_STATE),
                   package_lock=_setting(PACKAGE_LOCK_SETTING, DEFAULT_PACKAGE_LOCK))


def _setting(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return os.path.abspath(value) if value else default


# -- how the person runs setupkit again ------------------------------------------------------------------------

def setupkit_command(argv: Sequence[str], executable: str) -> list[str]:
    """The words that run this setupkit again with the same arguments from anywhere: sudo resets PATH, so a bare
    `setupkit` installed in a virtual environment would be 'command not found'."""
    program = argv[0] if argv else ""
    if program and not program.endswith(".py") and os.path.isfile(program) and os.access(program, os.X_OK):
        return [os.path.abspath(program), *argv[1:]]
    return [executable or "python3", "-m", "setupkit", *argv[1:]]  # `python -m setupkit`: argv[0] is __main__.py


def _as_root(command: Sequence[str]) -> list[str]:
    """``command`` as the person runs it as root again: through sudo when that is how they came."""
    return ["sudo", *command] if os.environ.get("SUDO_USER") else list(command)


def _with_yes(command: Sequence[str]) -> list[str]:
    return list(command) if {"--yes", "-y"} & set(command) else [*command, "--yes"]


def require_root(command: Sequence[str] = ("setupkit", "install", "--gpu"), euid: int | None = None) -> None:
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        raise PreconditionError("setupkit install changes the system and must run as root",
                                hint=f"{shlex.join(['sudo', *command])} (or look first, without root: "
                                     f"{shlex.join([*command, '--dry-run'])})")


def refuse_display_stop_inside_session(plan: Plan, graphical_session: bool | None,
                                       command: Sequence[str] = ("setupkit", "install", "--gpu")) -> None:
    """Stopping the display manager from inside its own session would kill this installer with it."""
    stop = next((s for s in plan.steps if s.id == "display-stop"), None)
    if graphical_session and stop is not None and stop.status == TODO:
        detached = shlex.join(["setsid", *_as_root(_with_yes(command))])
        raise PreconditionError("this plan stops the display manager, and setupkit runs inside the graphical session "
                                "it serves: that would kill the install midway",
                                hint=f"run it from a text console (Ctrl+Alt+F3), over ssh, or detached: {detached}")


# -- the lock ----------------------------------------------------------------------------------------------------

@contextmanager
def install_lock(path: str, wait: int = 0, notify: Callable[[str], None] = lambda text: None) -> Iterator[None]:
    """One install at a time: a second one waits up to ``wait`` seconds for the first (--lock-wait; ``notify``
    says so, once), then exits 3 instead of racing apt and the driver.

    The file is opened without following a link and never truncated by name: only the locked descriptor is
    rewritten, with our pid. Closing it releases the lock, when the with-block is left: after the executor
    has seen the step's child gone."""
    places.ensure_folder(Path(path).parent, 0o700, "the lock folder", LOCK_SETTING)
    fd = places.open_own_file(path, os.O_RDWR, 0o600, "the lock file")
    try:
        if not locks.wait_for(lambda: locks.try_flock(fd), wait, lambda: notify(
                f"another setupkit install holds {path}{_holder(fd, path)}: waiting up to {wait} s for it")):
            waited = f" after waiting {wait} s" if wait else ""
            raise PreconditionError(f"another setupkit install is running (lock {path} is held{_holder(fd, path)}"
                                    f"{waited})", hint="wait for it to finish, then run setupkit install again"
                                                       + ("" if wait else " (or give --lock-wait SECONDS)")) from None
        _write_pid(fd, path)
        yield
    finally:
        os.close(fd)


def _holder(fd: int, path: str) -> str:
    """" by pid 4242 (setupkit)": the kernel's word, else the pid the holder wrote; "" when neither says."""
    pid = ascii_int(os.pread(fd, 32, 0).decode("ascii", errors="replace").strip())
    who = locks.holder(path, fallback_pid=pid)
    return f" by {who}" if who else ""


def wait_for_package_lock(path: str, wait: int, notify: Callable[[str], None], before: str, again: str) -> None:
    """Before a step that runs apt or dpkg: wait up to ``wait`` seconds while another program holds dpkg's lock
    (unattended-upgrades after a boot, another apt), then exit 3 naming it. Nothing to wait for where the host
    has no dpkg."""
    def waiting() -> None:
        notify(f"the dpkg lock {path} is held{_by(path)}: waiting up to {wait} s before {before}")

    if locks.wait_for(lambda: locks.package_lock_free(path) is not False, wait, waiting):
        return
    raise PreconditionError(f"the dpkg lock {path} is still held{_by(path)} after waiting {wait} s before {before}",
                            hint=f"let that program finish (or stop it), then run {again} again: the steps done so "
                                 f"far are kept")


def _by(path: str) -> str:
    who = locks.holder(path)
    return f" by {who}" if who else ""


def _write_pid(fd: int, path: str) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as error:
        raise PreconditionError(f"cannot write the lock file {path}: {(error.strerror or str(error)).lower()}",
                                hint=f"free some space on the file system of {Path(path).parent}") from None


# -- the state ---------------------------------------------------------------------------------------------------

def step_fingerprint(step: Step) -> str:
    """What a step would do, so that a state entry only counts for the same commands and files."""
    doc = json.dumps(step.to_json() | {"status": None, "reason": None}, sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


class State:
    """The steps finished by an install that has not completed yet, so that a re-run resumes after them;
    cleared when a run completes, kept when one fails or is interrupted.

    A state file that does not read as one (not JSON, another shape, NaN, too large) is ignored with a
    warning, never trusted in part: resuming from a wrong state could skip a step, while ignoring it only runs
    again steps that are idempotent. Anything but our own regular file at its name (a link, a folder, a FIFO)
    is refused with exit 3, since the state is written there next."""

    def __init__(self, path: str, done: dict[str, str]):
        self.path, self.done = path, done

    @classmethod
    def load(cls, path: str, warn: Callable[[str], None]) -> State:
        places.ensure_folder(Path(path).parent, 0o700, "the state folder", STATE_SETTING)
        try:
            data = places.read_own_file(path, STATE_LIMIT, "the state file")
            return cls(path, {} if data is None else _finished_steps(data))
        except BoundError as error:
            warn(f"the state file {path} {error}: ignored, so the steps it recorded will run again (each step is "
                 f"idempotent)")
            return cls(path, {})

    def is_done(self, step: Step) -> bool:
        return self.done.get(step.id) == step_fingerprint(step)

    def mark_done(self, step: Step) -> None:
        """OSError when the file cannot be written (the disk is full)."""
        self.done[step.id] = step_fingerprint(step)
        places.replace_file(self.path, json.dumps({"done": self.done}, indent=1).encode(), 0o600)

    def clear(self) -> None:
        self.done = {}
        Path(self.path).unlink(missing_ok=True)  # the name only: a link there goes, never its target


def _finished_steps(data: bytes) -> dict[str, str]:
    doc = loads_json(data)
    done = doc.get("done") if isinstance(doc, dict) else None
    if not isinstance(done, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in done.items()):
        raise BoundError('does not hold {"done": {step: fingerprint}}')
    return done


# -- the log -----------------------------------------------------------------------------------------------------

class Log:
    """The install log, appended and flushed as it goes. A write that fails (the disk is full) is kept in
    ``error`` instead of raised: raising while a command streams its output would stop the command midway;
    the executor fails the step once the command has ended."""

    def __init__(self, path: str):
        self.path = path
        places.ensure_folder(Path(path).parent, 0o750, "the log folder", LOG_SETTING)
        fd = places.open_own_file(path, os.O_WRONLY | os.O_APPEND, 0o640, "the log")
        self.handle = os.fdopen(fd, "a", encoding="utf-8", errors="replace")
        self.error: OSError | None = None

    def write(self, text: str) -> None:
        if self.error is not None:
            return
        try:
            self.handle.write(text)
            self.handle.flush()
        except OSError as error:
            self.error = error

    def flush(self) -> None:
        """Each write is flushed already; here for the callers that expect a file."""

    def close(self) -> None:
        try:
            self.handle.close()
        except OSError as error:
            self.error = self.error or error

    def failure(self) -> str | None:
        """Why the log could not be written, in words, or None."""
        if self.error is None:
            return None
        return f"cannot write the log {self.path}: {(self.error.strerror or str(self.error)).lower()}"


# -- running a plan ----------------------------------------------------------------------------------------------

Announce = Callable[[Step, str], None]
Notify = Callable[[str], None]
DialogRunner = Callable[..., object]


def execute(plan: Plan, runner: StepRunner, paths: Paths, announce: Announce = lambda step, what: None,
            dialog_runner: DialogRunner = runfile.run_legacy, notify: Notify = lambda text: None,
            command: Sequence[str] = ("setupkit", "install", "--gpu"), lock_wait: int = 0) -> list[str]:
    """Run the todo steps of ``plan`` in order; returns the ids it ran. Steps finished by an interrupted earlier
    run of the same plan are not run again. ActionFailed (exit 4) at the first failure; PreconditionError
    (exit 3) when the log or the state cannot be used, or when dpkg's lock is still held ``lock_wait`` seconds
    after a step that runs apt or dpkg began to wait for it (0: no wait, apt says so itself). On an
    interruption the log and ``notify`` say where it came and how to resume, and the exception goes on.
    ``command`` is how the person runs setupkit again."""
    again = shlex.join(_as_root(command))
    if plan.blocked:
        raise PreconditionError(f"{plan.blocked}; then run {again} again")
    log = Log(paths.log)
    try:
        log.write(f"# setupkit install, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, pid {os.getpid()}\n")
        failure = log.failure()
        if failure:
            raise PreconditionError(failure, hint=f"free some space on the file system of {paths.log}")

        def warn(text: str) -> None:
            log.write(f"warning: {text}\n")
            notify(f"warning: {text}")

        state = State.load(paths.state, warn)
        execution = _Execution(runner, log, state, dialog_runner)
        if lock_wait:
            execution.package_lock = _PackageLock(paths.package_lock, lock_wait, notify=notify, again=again)
        try:
            ran = execution.run(plan, announce)
        except KeyboardInterrupt as error:
            message = execution.interruption(error, again)
            log.write(f"\n{message}\n")
            notify(message)
            raise
    finally:
        log.close()
    try:
        state.clear()
    except OSError as error:  # safe to leave: it only records steps that are done
        notify(f"warning: cannot remove the state file {state.path} ({(error.strerror or str(error)).lower()})")
    return ran


class _Execution:
    """One run through a plan: where it is (the step and the command running now), for the interruption's
    message."""

    def __init__(self, runner: StepRunner, log: Log, state: State, dialog_runner: DialogRunner):
        self.runner, self.log, self.state, self.dialog_runner = runner, log, state, dialog_runner
        self.package_lock: _PackageLock | None = None  # waited for before each step that runs apt or dpkg
        self.step: Step | None = None
        self.argv: list[str] | None = None
        self.finished: list[str] = []

    def run(self, plan: Plan, announce: Announce) -> list[str]:
        ran: list[str] = []
        for step in plan.steps:
            if step.status != TODO:
                continue
            if self.state.is_done(step):
                step.mark(DONE, "finished by an earlier run of this plan (state file)")
                announce(step, "already done by an earlier run")
                continue
            announce(step, "running")
            self.step = step
            self._run_step(step)
            self._save(step)
            self.step = None
            step.mark(DONE, "done by this run")
            step.ran = True
            ran.append(step.id)
        return ran

    def _failed(self, step: Step, why: str) -> ActionFailed:
        return ActionFailed(f"step {step.id} ({step.title}) failed: {why}; see the log {self.log.path}")

    def _run_step(self, step: Step) -> None:
        self.log.write(f"\n== step {step.id}: {step.title}\n")
        for item in step.files:
            self.log.write(f"write {item.path}:\n{item.content}")
            try:
                self.runner.write_file(item.path, item.content)
            except OSError as error:
                raise self._failed(step, f"cannot write {item.path} ({error.strerror})") from None
        self._check_log(step)
        if self.package_lock and runs_package_tools(step):
            self.package_lock.wait(step, self.log)
        if step.dialog:
            self._run_dialog(step)
            return
        for argv in step.commands:
            self._run_command(step, argv)

    def _run_dialog(self, step: Step) -> None:
        dialog = step.dialog or {}
        try:
            self.dialog_runner(dialog["runfile"], dialog["toolkit_path"], override=bool(dialog.get("override")),
                               log_path=self.log.path)
        except ActionFailed as error:
            raise ActionFailed(f"step {step.id} ({step.title}) failed: {error.message}", hint=error.hint) from None

    def _run_command(self, step: Step, argv: list[str]) -> None:
        shown = shlex.join(argv)
        self.log.write(f"$ {shown}\n")
        self.argv = argv
        result = self.runner.run(argv, self.log, interactive=step.interactive)
        self.argv = None
        self.log.write(f"[{_status(result)}]\n")
        self._check_log(step)
        why = _failure(result, shown, step)
        if why:
            raise self._failed(step, why)

    def _check_log(self, step: Step) -> None:
        if self.log.failure():
            raise ActionFailed(f"step {step.id} ({step.title}) stopped: {self.log.failure()}")

    def _save(self, step: Step) -> None:
        try:
            self.state.mark_done(step)
        except OSError as error:
            raise ActionFailed(f"step {step.id} ({step.title}) finished, but the state file {self.state.path} "
                               f"could not be written ({(error.strerror or str(error)).lower()}); see the log "
                               f"{self.log.path}") from None
        self.finished.append(step.id)

    def interruption(self, error: KeyboardInterrupt, again: str) -> str:
        """One line for the log and the terminal: where the interruption came, what was kept, what to run."""
        name = error.signal_name if isinstance(error, process.Interrupted) else "SIGINT"
        name = "SIGINT (Ctrl-C)" if name == "SIGINT" else name
        finished = getattr(error, "command_finished", None)
        where, cut_packages = self._where(finished)
        kept = (f"the steps done so far ({', '.join(self.finished)}) are kept" if self.finished
                else "no step had finished")
        fix = f"run {again} again to resume"
        if cut_packages:
            fix = f"run sudo dpkg --configure -a (the package manager was stopped midway), then {again} to resume"
        return f"interrupted by {name} {where}; {kept} in the state file {self.state.path}: {fix}"

    def _where(self, finished: bool | None) -> tuple[str, bool]:
        """Where the interruption came, and whether it cut a package manager. ``finished`` is what
        process.run() said of the command; None where no one said (the runner was stopped otherwise)."""
        if self.step is None:
            return "between steps", False
        if self.argv is None:
            return f"during step {self.step.id}", False
        ended = "which ran to its end" if finished is True else "stopped midway"
        shown = f"command {shlex.join(self.argv)}, {ended}"
        cut_packages = finished is not True and Path(self.argv[0]).name in PACKAGE_TOOLS
        return f"during step {self.step.id} ({shown})", cut_packages


@dataclass(frozen=True)
class _PackageLock:
    """dpkg's lock, waited for with a bound before a step that runs apt or dpkg."""

    path: str
    seconds: int
    notify: Notify  # the one progress line
    again: str  # how to run setupkit again

    def wait(self, step: Step, log: Log) -> None:
        def said(text: str) -> None:
            log.write(f"{text}\n")
            self.notify(text)

        wait_for_package_lock(self.path, self.seconds, said, f"step {step.id}", self.again)


def runs_package_tools(step: Step) -> bool:
    """Whether a command of ``step`` runs apt, apt-get, aptitude or dpkg, itself or in a ``sh -c`` script."""
    for argv in step.commands:
        script = len(argv) >= 3 and argv[0] in ("sh", "bash") and argv[1] == "-c"
        if any(Path(word).name in PACKAGE_TOOLS for word in (command_words(argv) if script else argv[:1])):
            return True
    return False


def _status(result: StepOutcome) -> str:
    if result.returncode is None:
        return result.problem or "timed out"
    name = process.Completed((), result.returncode).signal_name
    return f"killed by {name}" if name else f"exit {result.returncode}"


def _failure(result: StepOutcome, shown: str, step: Step) -> str | None:
    """Why the command failed the step, in words, or None."""
    if result.returncode is None:
        return f"`{shown}` {result.problem or 'timed out'} and was stopped (its processes killed)"
    if result.returncode in (process.NOT_INSTALLED, process.NOT_EXECUTABLE) and result.problem:
        return f"cannot run `{shown}`: {result.problem}"
    name = process.Completed((), result.returncode).signal_name
    if name:
        return f"`{shown}` was killed by {name}"
    if result.returncode != 0:
        return f"`{shown}` exited {result.returncode}"
    bad = next((text for text in step.fail_on_output if text in result.output), None)
    return f"`{shown}` printed {bad!r}" if bad else None
