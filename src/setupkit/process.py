"""The one door that runs programs: every child of setupkit starts and ends here.

What every caller gets for free:
- the child runs in a session of its own, so a timeout or an interruption ends its whole process group;
- the timeout bounds the command itself, not only a read of its output (a child that keeps printing is cut
  at the deadline all the same);
- output is bounded: past ``max_output`` bytes a stream is drained and dropped, never held in memory;
- output can be streamed to a callback as it comes (the install log), still bounded;
- Ctrl-C, SIGTERM and SIGHUP (see ``termination_signals``) stop the child before the exception goes on, or,
  with ``on_interrupt="wait"``, let it finish within a grace period (a dpkg run killed midway leaves the
  package database half-configured), so that nothing is left running behind setupkit;
- a child still alive when setupkit exits is killed (``atexit``).
"""

from __future__ import annotations

import atexit
import codecs
import os
import selectors
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Literal, Mapping, Sequence

NOT_INSTALLED = 127
"""The shell's code for "command not found"."""
NOT_EXECUTABLE = 126
"""The shell's code for "found but cannot be executed"."""

DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024
"""Bytes kept per stream. No probe reads more than a few KiB; a flooding program is cut here."""
KILL_GRACE_S = 2.0
"""Seconds between SIGTERM and SIGKILL when a child's process group is stopped."""
ORPHAN_PIPE_GRACE_S = 1.0
"""Seconds to keep reading after the child exited while something it started still holds the pipes."""

OnInterrupt = Literal["kill", "wait"]
OutputCallback = Callable[[str], None]


@dataclass(frozen=True)
class Completed:
    """What one program did. ``returncode`` is None when it was cut by its timeout; negative when a signal
    ended it (-11: SIGSEGV), as in ``subprocess``."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def not_installed(self) -> bool:
        return self.returncode == NOT_INSTALLED

    @property
    def signal_name(self) -> str | None:
        """SIGSEGV, SIGILL ... when a signal ended the program, else None."""
        if self.returncode is None or self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP arrived; the command line ends with exit 130 and says which."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    max_output: int = DEFAULT_MAX_OUTPUT,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    merge_stderr: bool = False,
    on_output: OutputCallback | None = None,
    on_interrupt: OnInterrupt = "kill",
    interrupt_grace: float = 0.0,
) -> Completed:
    """Run ``argv`` with stdin closed and return what it did; never raises for the program's own failures.

    Not installed: 127. Found but not runnable: 126. Timed out: returncode None, the process group killed.
    ``merge_stderr`` sends stderr into stdout (one log in the order written). ``on_output`` receives decoded
    text as it arrives, up to ``max_output`` bytes. On an interruption the child is stopped (``"kill"``) or
    given ``interrupt_grace`` seconds to finish (``"wait"``; a second interruption kills it), then the
    exception goes on.
    """
    argv = tuple(argv)
    refused = _refuse(argv, env)
    if refused is not None:
        return refused
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as error:
        return Completed(argv, NOT_EXECUTABLE, "", f"{argv[0]}: {error.strerror or error}")
    _LIVE.add(proc)
    try:
        return _collect(proc, argv, timeout, max_output, on_output, on_interrupt, interrupt_grace)
    finally:
        _LIVE.discard(proc)


def _refuse(argv: tuple[str, ...], env: Mapping[str, str] | None) -> Completed | None:
    if not argv:
        return Completed(argv, NOT_INSTALLED, "", "no program given")
    path = (env or os.environ).get("PATH") if env is not None else None
    if shutil.which(argv[0], path=path) is None:
        if os.path.exists(argv[0]) and "/" in argv[0]:
            return Completed(argv, NOT_EXECUTABLE, "", f"{argv[0]}: permission denied (not executable)")
        return Completed(argv, NOT_INSTALLED, "", f"{argv[0]}: command not found")
    return None


class _Streams:
    """The child's pipes read without blocking, each kept up to a bound, decoded as UTF-8 (errors replaced)."""

    def __init__(self, proc: subprocess.Popen, max_output: int, on_output: OutputCallback | None):
        self.selector = selectors.DefaultSelector()
        self.kept: dict[int, bytearray] = {}
        self.names: dict[int, str] = {}
        self.max_output, self.on_output, self.truncated = max_output, on_output, False
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for name in ("stdout", "stderr"):
            pipe = getattr(proc, name)
            if pipe is not None:
                fd = pipe.fileno()
                os.set_blocking(fd, False)
                self.selector.register(fd, selectors.EVENT_READ)
                self.kept[fd], self.names[fd] = bytearray(), name

    @property
    def open(self) -> bool:
        return bool(self.selector.get_map())

    def pump(self, wait: float) -> None:
        """Read whatever is ready within ``wait`` seconds."""
        for key, _ in self.selector.select(timeout=max(wait, 0.0)):
            self._read(key.fd)

    def _read(self, fd: int) -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.selector.unregister(fd)
            return
        room = self.max_output - len(self.kept[fd])
        if room < len(chunk):
            self.truncated = True
        kept = chunk[: max(room, 0)]
        self.kept[fd] += kept
        if kept and self.on_output is not None and self.names[fd] == "stdout":
            self.on_output(self.decoder.decode(kept))

    def close(self) -> None:
        for fd in list(self.selector.get_map()):
            self.selector.unregister(fd)
        self.selector.close()

    def text(self, name: str) -> str:
        for fd, stream in self.names.items():
            if stream == name:
                return bytes(self.kept[fd]).decode("utf-8", errors="replace")
        return ""


def _collect(proc: subprocess.Popen, argv: tuple[str, ...], timeout: float, max_output: int,
             on_output: OutputCallback | None, on_interrupt: OnInterrupt, interrupt_grace: float) -> Completed:
    streams = _Streams(proc, max_output, on_output)
    deadline = time.monotonic() + max(timeout, 0.0)
    try:
        timed_out = _pump_until_done(proc, streams, deadline)
    except BaseException:
        if on_interrupt == "wait":
            _wait_then_kill(proc, streams, interrupt_grace)
        else:
            kill_group(proc)
        streams.close()
        _close_pipes(proc)
        raise
    streams.close()
    _close_pipes(proc)
    if timed_out:
        return Completed(argv, None, streams.text("stdout"),
                         (streams.text("stderr") + f"\ntimed out after {timeout:g}s").lstrip("\n"), streams.truncated)
    return Completed(argv, proc.returncode, streams.text("stdout"), streams.text("stderr"), streams.truncated)


def _pump_until_done(proc: subprocess.Popen, streams: _Streams, deadline: float) -> bool:
    """Read until the child exited and its pipes closed; True when the deadline came first (group killed)."""
    exited_at: float | None = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            kill_group(proc)
            return True
        if proc.poll() is not None:
            exited_at = exited_at or now
            if not streams.open:
                return False
            if now - exited_at > ORPHAN_PIPE_GRACE_S:
                kill_group(proc)  # a grandchild holds the pipes: the child's answer is complete
                return False
        if streams.open:
            streams.pump(min(deadline - now, 0.1))
        else:
            _sleep_until(proc, min(deadline, now + 0.1))


def _sleep_until(proc: subprocess.Popen, until: float) -> None:
    try:
        proc.wait(timeout=max(until - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        pass


def _wait_then_kill(proc: subprocess.Popen, streams: _Streams, grace: float) -> None:
    """Let an interrupted child finish within ``grace`` seconds; a second interruption, or the end of the
    grace, kills its group."""
    try:
        _pump_until_done(proc, streams, time.monotonic() + grace)
    except BaseException:
        pass
    kill_group(proc)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the child's process group, SIGKILL after KILL_GRACE_S, then reap the child."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(proc, signal.SIGKILL)  # what the child left behind in its group goes too
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        pass


def _signal_group(proc: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    except OSError:
        try:
            proc.send_signal(sig)
        except OSError:
            pass


def _close_pipes(proc: subprocess.Popen) -> None:
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass


# -- children started elsewhere (pexpect) and the exit of setupkit ---------------------------------------------

_LIVE: set[subprocess.Popen] = set()


def _kill_live_children() -> None:
    for proc in list(_LIVE):
        kill_group(proc)


atexit.register(_kill_live_children)


# -- signals ---------------------------------------------------------------------------------------------------

TERMINATION_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_last_interruption: list[str] = []


@contextmanager
def termination_signals() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP raise ``Interrupted`` (a KeyboardInterrupt), so that the same cleanup runs
    for all three (children stopped, locks released, the interruption logged), and ``last_interruption``
    remembers which came. A signal the caller ignores stays ignored (``nohup`` keeps SIGHUP away, a
    background job has no Ctrl-C). Main thread only."""
    previous = {}
    for sig in TERMINATION_SIGNALS:
        try:
            current = signal.getsignal(sig)
            if current in (signal.SIG_DFL, signal.default_int_handler):
                previous[sig] = signal.signal(sig, _raise_interrupted)
        except (ValueError, OSError):  # not the main thread, or a signal this platform lacks
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def last_interruption() -> str | None:
    """The name of the last signal that interrupted setupkit (SIGINT, SIGTERM, SIGHUP), or None."""
    return _last_interruption[-1] if _last_interruption else None


def _raise_interrupted(signum: int, _frame: object) -> None:
    name = signal.Signals(signum).name
    _last_interruption.append(name)
    raise Interrupted(name)
