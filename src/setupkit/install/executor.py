"""The executor: runs a plan's todo steps in order under a lock, logs every command and its output, records
finished steps in a state file (a re-run resumes after them), and stops at the first failure naming the step
and the log (exit 4)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator

from setupkit.errors import ActionFailed, PreconditionError
from setupkit.install import runfile
from setupkit.install.model import DONE, TODO, Plan, Step
from setupkit.install.runner import Runner

DEFAULT_LOCK = "/var/lock/setupkit-install.lock"
DEFAULT_LOG_DIR = "/var/log/setupkit"
DEFAULT_STATE = "/var/lib/setupkit/install-state.json"


@dataclass(frozen=True)
class Paths:
    lock: str
    log: str
    state: str

    @classmethod
    def from_env(cls) -> "Paths":
        """Defaults under /var; SETUPKIT_INSTALL_LOCK, _LOG_DIR and _STATE move them (tests, unusual hosts)."""
        log_dir = os.environ.get("SETUPKIT_INSTALL_LOG_DIR", DEFAULT_LOG_DIR)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        return cls(lock=os.environ.get("SETUPKIT_INSTALL_LOCK", DEFAULT_LOCK),
                   log=str(Path(log_dir) / f"install-{stamp}.log"),
                   state=os.environ.get("SETUPKIT_INSTALL_STATE", DEFAULT_STATE))


def require_root(euid: int | None = None) -> None:
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        raise PreconditionError("setupkit install changes the system and must run as root: sudo setupkit install "
                                "--gpu (or look first: setupkit install --gpu --dry-run)")


@contextmanager
def install_lock(path: str) -> Iterator[None]:
    """One install at a time: a second one exits 3 instead of racing apt and the driver."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PreconditionError(f"another setupkit install is running (lock {path} is held): wait for it to "
                                    f"finish") from None
        handle.seek(0), handle.truncate(), handle.write(f"{os.getpid()}\n"), handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refuse_display_stop_inside_session(plan: Plan, graphical_session: bool | None) -> None:
    """Stopping the display manager from inside its own session would kill this installer with it."""
    stop = next((s for s in plan.steps if s.id == "display-stop"), None)
    if graphical_session and stop is not None and stop.status == TODO:
        raise PreconditionError("this plan stops the display manager, and setupkit runs inside the graphical session "
                                "it serves: that would kill the install midway. Run it from a text console "
                                "(Ctrl+Alt+F3), over ssh, or detached: setsid sudo setupkit install --gpu --yes")


def step_fingerprint(step: Step) -> str:
    """What a step would do, so that a state entry only counts for the same commands and files."""
    doc = json.dumps(step.to_json() | {"status": None, "reason": None}, sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


class State:
    """The steps finished by an install that has not completed yet; cleared when a run completes."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.done: dict[str, str] = self._read()

    def _read(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.path.read_text()).get("done", {}))
        except (OSError, ValueError, AttributeError):
            return {}

    def is_done(self, step: Step) -> bool:
        return self.done.get(step.id) == step_fingerprint(step)

    def mark_done(self, step: Step) -> None:
        self.done[step.id] = step_fingerprint(step)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"done": self.done}, indent=1))

    def clear(self) -> None:
        self.done = {}
        self.path.unlink(missing_ok=True)


Announce = Callable[[Step, str], None]
DialogRunner = Callable[..., object]


def execute(plan: Plan, runner: Runner, paths: Paths, announce: Announce = lambda step, what: None,
            dialog_runner: DialogRunner = runfile.run_legacy) -> list[str]:
    """Run the todo steps of ``plan`` in order; returns the ids it ran. Steps finished by an interrupted earlier
    run of the same plan are not run again. ActionFailed (exit 4) at the first failure."""
    if plan.blocked:
        raise PreconditionError(f"{plan.blocked}; then run setupkit install again")
    state = State(paths.state)
    Path(paths.log).parent.mkdir(parents=True, exist_ok=True)
    ran: list[str] = []
    with open(paths.log, "a", encoding="utf-8") as log:
        log.write(f"# setupkit install, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, pid {os.getpid()}\n")
        for step in plan.steps:
            if step.status != TODO:
                continue
            if state.is_done(step):
                step.mark(DONE, "finished by an earlier run of this plan (state file)")
                announce(step, "already done by an earlier run")
                continue
            announce(step, "running")
            _run_step(step, runner, log, paths.log, dialog_runner)
            state.mark_done(step)
            step.mark(DONE, "done by this run")
            step.ran = True
            ran.append(step.id)
    state.clear()
    return ran


def _failed(step: Step, why: str, log_path: str) -> ActionFailed:
    return ActionFailed(f"step {step.id} ({step.title}) failed: {why}; see the log {log_path}")


def _run_step(step: Step, runner: Runner, log: IO[str], log_path: str, dialog_runner: DialogRunner) -> None:
    log.write(f"\n== step {step.id}: {step.title}\n")
    for item in step.files:
        log.write(f"write {item.path}:\n{item.content}")
        try:
            runner.write_file(item.path, item.content)
        except OSError as error:
            raise _failed(step, f"cannot write {item.path} ({error.strerror})", log_path) from None
    log.flush()
    if step.dialog:
        _run_dialog(step, log_path, dialog_runner)
        return
    for argv in step.commands:
        _run_command(step, argv, runner, log, log_path)


def _run_dialog(step: Step, log_path: str, dialog_runner: DialogRunner) -> None:
    dialog = step.dialog or {}
    try:
        dialog_runner(dialog["runfile"], dialog["toolkit_path"], override=bool(dialog.get("override")),
                      log_path=log_path)
    except ActionFailed as error:
        raise ActionFailed(f"step {step.id} ({step.title}) failed: {error.message}") from None


def _run_command(step: Step, argv: list[str], runner: Runner, log: IO[str], log_path: str) -> None:
    import shlex
    import subprocess

    shown = shlex.join(argv)
    log.write(f"$ {shown}\n")
    log.flush()
    try:
        result = runner.run(argv, log, interactive=step.interactive)
    except FileNotFoundError:
        raise _failed(step, f"{argv[0]} is not installed (running `{shown}`)", log_path) from None
    except subprocess.TimeoutExpired:
        raise _failed(step, f"`{shown}` did not finish in time", log_path) from None
    log.write(f"[exit {result.returncode}]\n")
    log.flush()
    if result.returncode != 0:
        raise _failed(step, f"`{shown}` exited {result.returncode}", log_path)
    bad = next((text for text in step.fail_on_output if text in result.output), None)
    if bad:
        raise _failed(step, f"`{shown}` printed {bad!r}", log_path)
