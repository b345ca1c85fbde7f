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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal, TypeAlias

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
WaitCallback = Callable[[float], None]


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
    on_wait: WaitCallback | None = None,
    stop_when_full: bool = False,
    interrupt_signal: signal.Signals | None = None,
    keep_output: bool = True,
) -> Completed:
    """Run ``argv`` with stdin closed and return what it did; never raises for the program's own failures.

    Not installed: 127. Found but not runnable: 126. Timed out: returncode None, the process group killed.
    ``merge_stderr`` sends stderr into stdout (one log in the order written). ``on_output`` receives decoded
    text as it arrives, up to ``max_output`` bytes. On an interruption the child is stopped (``"kill"``) or
    given ``interrupt_grace`` seconds to finish (``"wait"``; a second interruption kills it; ``on_wait`` is
    told the grace first, so that the person knows why nothing seems to happen), then the exception goes on
    with ``command_finished`` set on it: True when the child ran to its end by itself within the grace.
    ``stop_when_full`` stops the program (its group killed, a signal as its returncode) once a stream passes
    ``max_output``: for a reader that can use no more, a program that floods costs no more time than memory.
    ``interrupt_signal``, with ``"wait"``, is sent to the child's group before the grace (Bazel cancels its
    actions cleanly on SIGINT). ``keep_output=False`` keeps nothing in memory: the output goes to
    ``on_output`` only, still up to ``max_output`` bytes (a build that prints for hours into its log).
    """
    argv = tuple(argv)
    refused = _refuse(argv, env)
    if refused is not None:
        return refused
    held = _HeldSignals()
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
        held.release()
        return Completed(argv, NOT_EXECUTABLE, "", f"{argv[0]}: {error.strerror or error}")
    except BaseException:
        held.release()
        raise
    _LIVE.add(proc)
    try:
        held.release()  # an interruption held while the child started is raised here, where it is stopped
        return _collect(proc, argv, timeout, max_output, on_output, on_interrupt, interrupt_grace, on_wait,
                        stop_when_full, interrupt_signal, keep_output)
    finally:
        if proc.poll() is None:  # interrupted before _collect could stop it
            kill_group(proc)
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

    def __init__(self, proc: subprocess.Popen, max_output: int, on_output: OutputCallback | None,
                 stop_when_full: bool = False, keep: bool = True):
        self.selector = selectors.DefaultSelector()
        self.kept: dict[int, bytearray] = {}
        self.passed: dict[int, int] = {}
        self.keep = keep
        self.names: dict[int, str] = {}
        self.max_output, self.on_output, self.truncated = max_output, on_output, False
        self.stop_when_full = stop_when_full
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for name in ("stdout", "stderr"):
            pipe = getattr(proc, name)
            if pipe is not None:
                fd = pipe.fileno()
                os.set_blocking(fd, False)
                self.selector.register(fd, selectors.EVENT_READ)
                self.kept[fd], self.names[fd], self.passed[fd] = bytearray(), name, 0

    @property
    def full(self) -> bool:
        """A stream passed its bound and the caller asked to stop the program then."""
        return self.stop_when_full and self.truncated

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
        room = self.max_output - self.passed[fd]
        if room < len(chunk):
            self.truncated = True
        kept = chunk[: max(room, 0)]
        self.passed[fd] += len(kept)
        if self.keep:
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
             on_output: OutputCallback | None, on_interrupt: OnInterrupt, interrupt_grace: float,
             on_wait: WaitCallback | None, stop_when_full: bool = False,
             interrupt_signal: signal.Signals | None = None, keep_output: bool = True) -> Completed:
    streams = _Streams(proc, max_output, on_output, stop_when_full, keep_output)
    deadline = time.monotonic() + max(timeout, 0.0)
    try:
        timed_out = _pump_until_done(proc, streams, deadline)
    except BaseException as error:
        finished = False
        if on_interrupt == "wait":
            finished = _wait_then_kill(proc, streams, interrupt_grace, on_wait, interrupt_signal)
        else:
            kill_group(proc)
        streams.close()
        _close_pipes(proc)
        if isinstance(error, KeyboardInterrupt):
            error.command_finished = finished  # type: ignore[attr-defined]
        raise
    streams.close()
    _close_pipes(proc)
    if timed_out:
        return Completed(argv, None, streams.text("stdout"),
                         (streams.text("stderr") + f"\ntimed out after {timeout:g}s").lstrip("\n"), streams.truncated)
    stderr = streams.text("stderr")
    if streams.full:
        stderr = (stderr + f"\nstopped: printed more than {max_output:,} bytes").lstrip("\n")
    return Completed(argv, proc.returncode, streams.text("stdout"), stderr, streams.truncated)


def _pump_until_done(proc: subprocess.Popen, streams: _Streams, deadline: float) -> bool:
    """Read until the child exited and its pipes closed; True when the deadline came first (group killed)."""
    exited_at: float | None = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            kill_group(proc)
            return True
        if streams.full:
            kill_group(proc)
            return False
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


def _wait_then_kill(proc: subprocess.Popen, streams: _Streams, grace: float, on_wait: WaitCallback | None,
                    first: signal.Signals | None = None) -> bool:
    """Let an interrupted child finish within ``grace`` seconds (told so by ``first`` where given); a second
    interruption, or the end of the grace, kills its group. True when the child ended by itself."""
    try:
        if first is not None and proc.poll() is None:
            _signal_group(proc, first)
        if on_wait is not None and proc.poll() is None:
            on_wait(grace)
        finished = not _pump_until_done(proc, streams, time.monotonic() + grace)
    except BaseException:
        finished = False
    kill_group(proc)
    return finished


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


# -- programs that talk to the person at the terminal -----------------------------------------------------------

def run_attached(argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None) -> Completed:
    """Run an interactive program on setupkit's own terminal (mokutil asks for a password there) and return
    its status; what it prints goes to the terminal, so nothing is captured.

    Unlike ``run``, the child stays in setupkit's process group: a child in another group cannot read the
    terminal (it would be stopped by SIGTTIN). The timeout still bounds it, and an interruption still stops
    it before the exception goes on; only the child itself is signalled, never the group, which is setupkit's.
    """
    argv = tuple(argv)
    refused = _refuse(argv, env)
    if refused is not None:
        return refused
    held = _HeldSignals()
    try:
        proc = subprocess.Popen(argv, env=dict(env) if env is not None else None)
    except OSError as error:
        held.release()
        return Completed(argv, NOT_EXECUTABLE, "", f"{argv[0]}: {error.strerror or error}")
    except BaseException:
        held.release()
        raise
    try:
        held.release()  # an interruption held while the child started is raised here, where it is stopped
        return Completed(argv, proc.wait(timeout=max(timeout, 0.0)))
    except subprocess.TimeoutExpired:
        return Completed(argv, None, "", f"timed out after {timeout:g}s")
    finally:
        _stop_child(proc)


def _stop_child(proc: subprocess.Popen) -> None:
    """SIGTERM to the child alone, SIGKILL after KILL_GRACE_S, then reap it."""
    for stop in (proc.terminate, proc.kill):
        if proc.poll() is not None:
            return
        try:
            stop()
            proc.wait(timeout=KILL_GRACE_S)
        except (OSError, subprocess.TimeoutExpired):
            pass


# -- children started elsewhere (pexpect) and the exit of setupkit ---------------------------------------------

_LIVE: set[subprocess.Popen] = set()


def _kill_live_children() -> None:
    for proc in list(_LIVE):
        kill_group(proc)


atexit.register(_kill_live_children)


# -- signals ---------------------------------------------------------------------------------------------------

TERMINATION_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# What signal.signal() takes and gives back: a Python handler, SIG_DFL or SIG_IGN, or None (one set from C).
_Handler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
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


class _HeldSignals:
    """Ctrl-C, SIGTERM and SIGHUP held back while a child starts, then delivered by ``release``: one that
    landed between the fork and the moment run() holds the child would leave it running, known to no one.
    Main thread only (elsewhere signals are not delivered to Python code anyway)."""

    def __init__(self) -> None:
        self.pending: list[int] = []
        self.previous: dict[int, _Handler] = {}
        for sig in TERMINATION_SIGNALS:
            try:
                current = signal.getsignal(sig)
                if callable(current):  # a Python handler that would raise; an ignored signal stays ignored
                    self.previous[sig] = signal.signal(sig, self._hold)
            except (ValueError, OSError):
                pass

    def _hold(self, signum: int, _frame: object) -> None:
        self.pending.append(signum)

    def release(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
        if self.pending:
            signal.raise_signal(self.pending[0])  # the caller's own handler runs now, and raises


def last_interruption() -> str | None:
    """The name of the last signal that interrupted setupkit (SIGINT, SIGTERM, SIGHUP), or None."""
    return _last_interruption[-1] if _last_interruption else None


def _raise_interrupted(signum: int, _frame: object) -> None:
    name = signal.Signals(signum).name
    _last_interruption.append(name)
    raise Interrupted(name)
