"""The one door for interactive programs: drive a program that asks its questions on a terminal from a table
of prompts (regular expression -> answer), and refuse every question the table does not know.

What every caller gets for free:
- one deadline for the whole dialog, however much the program prints (a timeout per read would start again
  with every line), and optionally a bound on the wait from one answer to the next prompt;
- matching in linear time: only the output since the last answer is searched, each new character once plus
  an overlap of ``PROMPT_SPAN`` characters with what came before (a prompt may arrive in pieces), never the
  whole output again; ``Result.searched`` counts it;
- bounded memory: at most ``KEEP`` characters of output are held, the rest is streamed to the transcript
  file, itself capped at ``max_transcript`` characters;
- a question with no table entry (the program falls silent on a last line ending in '?', ':', ']' or
  '(y/n)') stops the dialog with ``UnknownPrompt``: nothing is guessed;
- answers are typed without blocking, so a program that reads none of them cannot hold the dialog either;
- the program runs on a pseudo-terminal in a session of its own; on a timeout, a refusal, an error or an
  interruption (Ctrl-C, or SIGTERM/SIGHUP as ``process.Interrupted``) its whole process group is killed
  before the exception goes on, and what it left in its group goes when it ends;
- pexpect is imported here only, and only when a dialog starts.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from setupkit.bounded import describe_mode
from setupkit.errors import ActionFailed
from setupkit.process import KILL_GRACE_S, ORPHAN_PIPE_GRACE_S

KEEP = 64 * 1024
"""Characters of output held in memory: the text since the last answer, cut to its tail."""
PROMPT_SPAN = 4096
"""The longest prompt, in characters: a prompt that arrives in pieces is found across at most this much
already-searched text. (TensorFlow's longest, the compute-capabilities question, is ~650.)"""
MAXREAD = 8192
"""Bytes read from the terminal at a time."""
MAX_TRANSCRIPT = 64 * 1024 * 1024
"""Characters written to the transcript; a program that floods is cut there (the dialog goes on)."""
MAX_ANSWERS = 10_000
"""A bound, not a budget: a legal text paged through `more` takes a few dozen answers."""
MAX_ANSWER = 4000
"""A terminal's line discipline holds 4095 characters of one input line; a longer answer would be cut."""
IDLE_S = 3.0
"""Silence on a question-like last line before the program is taken to wait on a prompt we do not know."""
POLL_S = 0.25
"""How often the clock and the child's liveness are looked at while nothing arrives."""
SHOWN_CHARS = 240
"""The most of a question or of the last lines that a message repeats."""

_QUESTION_END = re.compile(r"(?:[?:\]]|\(\S*/\S*\))$")


@dataclass(frozen=True)
class Prompt:
    """One question the program may ask: its name, its text as a regular expression, and what to do."""

    name: str
    pattern: str
    answer: str = ""
    keys: bool = False
    """The answer is key presses, sent without Enter (a pager's space)."""
    refuse: bool = False
    """A question we will not answer: the dialog stops with ``Refused`` naming it."""
    last: bool = False
    """The program's last word (its summary): nothing more is answered, the dialog reads on to its end."""
    repeats: int | None = None
    """How often this prompt may be answered: a program that keeps asking has rejected the answer."""
    then_within: float | None = None
    """Seconds the next prompt (or the end) may take after this one, instead of the dialog's step timeout."""


@dataclass(frozen=True)
class Result:
    """How a dialog ended: the program's exit, the answers given, where the transcript is, what it said last."""

    argv: tuple[str, ...]
    exit_status: int | None
    signal: int | None
    answers: tuple[tuple[str, str], ...]
    transcript: Path
    tail: str
    """The output after the last prompt (after a ``last`` prompt: its summary), at most KEEP characters."""
    finished: bool
    """A ``last`` prompt was seen."""
    searched: int
    """Characters searched for prompts: linear in the output."""

    @property
    def status(self) -> int:
        """The exit status, or 128 + the signal as a shell reports it."""
        if self.exit_status is not None:
            return self.exit_status
        return 128 + (self.signal or 0)

    @property
    def signal_name(self) -> str | None:
        if not self.signal:
            return None
        try:
            return signal.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"

    @property
    def shown(self) -> str:
        return last_lines(self.tail)


class DialogFailed(ActionFailed):
    """The dialog stopped before the program's end (exit 4); the program's group has been killed."""

    def __init__(self, reason: str, *, argv: Sequence[str], transcript: Path, answers: Sequence[tuple[str, str]],
                 shown: str = ""):
        super().__init__(f"{Path(argv[0]).name if argv else 'the program'}: {reason}; transcript: {transcript}")
        self.reason, self.argv, self.transcript = reason, tuple(argv), transcript
        self.answers, self.shown = tuple(answers), shown


class CannotStart(DialogFailed):
    """The program, the transcript or an answer did not allow the dialog to begin."""


class UnknownPrompt(DialogFailed):
    """The program waits on a question the table does not know; ``question`` is its last line."""

    def __init__(self, question: str, **context):
        super().__init__(f"asked a question with no answer in the table: {question!r}", **context)
        self.question = question


class Refused(DialogFailed):
    """The program asked a question the table refuses to answer (``Prompt.refuse``)."""

    def __init__(self, prompt: Prompt, **context):
        super().__init__(f"asked {prompt.name!r}, which is refused", **context)
        self.prompt = prompt


class RepeatedPrompt(DialogFailed):
    """The program asked the same question more often than ``Prompt.repeats``: it rejects the answer."""

    def __init__(self, prompt: Prompt, **context):
        super().__init__(f"asked {prompt.name!r} again after {prompt.repeats} answers: it rejects {prompt.answer!r}",
                         **context)
        self.prompt = prompt


class TimedOut(DialogFailed):
    """The whole dialog passed its deadline (``overall``), or no prompt came within the step timeout."""

    def __init__(self, seconds: float, overall: bool, after: str | None, **context):
        what = f"was still running after {seconds:g} s" if overall else \
            f"gave no prompt within {seconds:g} s after {repr(after) if after else 'its start'}"
        super().__init__(what, **context)
        self.seconds, self.overall, self.after = seconds, overall, after


class Matcher:
    """A table's prompts as one regular expression: one pass finds the earliest prompt (ties: table order),
    as pexpect's expect() does with a list."""

    def __init__(self, prompts: Sequence[Prompt]):
        for prompt in prompts:
            if re.compile(prompt.pattern).groupindex:
                raise ValueError(f"prompt {prompt.name!r}: named groups are reserved for the matcher")
        self.prompts = tuple(prompts)
        alternatives = "|".join(f"(?P<p{index}>{prompt.pattern})" for index, prompt in enumerate(self.prompts))
        self.regex = re.compile(alternatives) if self.prompts else None

    def search(self, text: str, start: int = 0) -> tuple[Prompt, re.Match[str]] | None:
        match = self.regex.search(text, start) if self.regex is not None else None
        if match is None:
            return None
        # The named groups wrap each prompt's whole pattern, so the outermost one, closed last, is lastgroup.
        return self.prompts[int(str(match.lastgroup)[1:])], match


def waiting_question(text: str) -> str | None:
    """The last line of ``text`` when it reads like a question left waiting, else None."""
    last = text.replace("\r", "\n").rstrip().rpartition("\n")[2].strip()
    return last if last and _QUESTION_END.search(last) else None


def last_lines(text: str, count: int = 3) -> str:
    """The last ``count`` non-empty lines of ``text``, joined by ' / ', at most SHOWN_CHARS long."""
    lines = [line.strip() for line in text[-8 * SHOWN_CHARS:].replace("\r", "\n").split("\n") if line.strip()]
    return clip(" / ".join(lines[-count:])) or "(no output)"


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """The end of ``text``, where a prompt is, within ``limit`` characters."""
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


class _Child(Protocol):
    """What the dialog uses of a ``pexpect.spawn``: typed here, so that pexpect is imported only when a dialog
    starts."""

    pid: int
    child_fd: int
    exitstatus: int | None
    signalstatus: int | None

    def read_nonblocking(self, size: int = ..., timeout: float | None = ...) -> str: ...

    def isalive(self) -> bool: ...

    def close(self, force: bool = ...) -> None: ...


def converse(argv: Sequence[str], prompts: Sequence[Prompt], *, transcript: str | os.PathLike[str],
             deadline: float, step_timeout: float | None = None, idle: float = IDLE_S, cwd: str | None = None,
             env: Mapping[str, str] | None = None, dimensions: tuple[int, int] = (50, 200),
             max_transcript: int = MAX_TRANSCRIPT, max_answers: int = MAX_ANSWERS) -> Result:
    """Run ``argv`` on a pseudo-terminal and answer its prompts from ``prompts`` until it exits.

    Returns a Result when the program ended by itself, whatever its status (the EOF arm: the caller judges
    an early end). Raises a DialogFailed (exit 4) when the dialog stops first: TimedOut (``deadline`` seconds
    for the whole dialog, ``step_timeout`` from one answer to the next prompt), UnknownPrompt, Refused,
    RepeatedPrompt, CannotStart. Everything the program prints, and every answer, is appended to
    ``transcript``.
    """
    argv = tuple(argv)
    path = Path(transcript)
    context = {"argv": argv, "transcript": path, "answers": ()}
    _check_answers(prompts, context)
    program = _resolve(argv[0] if argv else "", cwd, env, context)
    matcher = Matcher(prompts)
    written = _Transcript(_open_transcript(path, context), max_transcript, path)
    try:
        child = _spawn(program, argv, cwd, env, dimensions, context)
        try:
            talk = _Conversation(child, argv, matcher, written, deadline, step_timeout, idle, max_answers)
            talk.run()
        except BaseException:
            _stop(child)
            raise
        _stop(child, wait_exit=ORPHAN_PIPE_GRACE_S)
    finally:
        written.close()
    return Result(argv, child.exitstatus, child.signalstatus, tuple(talk.answers), path, talk.tail, talk.finished,
                  talk.searched)


def _check_answers(prompts: Sequence[Prompt], context: dict) -> None:
    """An answer is one line of at most MAX_ANSWER characters: a newline in it would answer the next question."""
    for prompt in prompts:
        if len(prompt.answer) > MAX_ANSWER:
            raise CannotStart(f"the answer to {prompt.name!r} is {len(prompt.answer):,} characters; a terminal "
                              f"line holds at most {MAX_ANSWER:,}", **context)
        if "\n" in prompt.answer or "\r" in prompt.answer:
            raise CannotStart(f"the answer to {prompt.name!r} holds a line break: {clip(repr(prompt.answer), 80)}",
                              **context)


def _resolve(program: str, cwd: str | None, env: Mapping[str, str] | None, context: dict) -> str:
    """The absolute path of ``program`` (pexpect would look a relative one up from its own folder)."""
    if "/" in program:
        path = os.path.abspath(os.path.join(cwd or os.getcwd(), program))
    else:
        search = (env if env is not None else os.environ).get("PATH", os.defpath)
        path = shutil.which(program, path=search) or ""
    try:
        info = os.stat(path) if path else None
    except OSError as error:
        raise CannotStart(f"cannot run {program} ({error.strerror or error})", **context) from None
    if info is None:
        raise CannotStart(f"{program or 'no program given'}: command not found", **context)
    if not stat.S_ISREG(info.st_mode):
        raise CannotStart(f"{path} is {describe_mode(info.st_mode)}, not a program", **context)
    if not os.access(path, os.X_OK):
        raise CannotStart(f"{path} is not executable (chmod +x it)", **context)
    return path


def _open_transcript(path: Path, context: dict) -> IO[str]:
    """Appended to; a regular file only, never through a link (an installer's log may be root's), never a FIFO
    (O_NONBLOCK: the open fails instead of waiting for a reader)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as error:
        raise CannotStart(f"the transcript {path} {_unwritable(path, error)}", **context) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise CannotStart(f"the transcript {path} is {describe_mode(mode)}, not a file", **context)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "a", encoding="utf-8", errors="replace")


def _unwritable(path: Path, error: OSError) -> str:
    """Why an open for appending failed, as the person would put it: what is there, else the system's word."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = stat.S_IFREG
    if not stat.S_ISREG(mode):
        return f"is {describe_mode(mode)}, not a file"
    return f"cannot be written ({error.strerror or error})"


def _spawn(program: str, argv: tuple[str, ...], cwd: str | None, env: Mapping[str, str] | None,
           dimensions: tuple[int, int], context: dict) -> _Child:
    import pexpect

    try:
        # pty.fork makes the child a session leader: its pid is its process group, killed as one.
        return pexpect.spawn(program, list(argv[1:]), cwd=cwd, env=dict(env) if env is not None else None,
                             encoding="utf-8", codec_errors="replace", echo=False, dimensions=dimensions,
                             maxread=MAXREAD, timeout=None)
    except (OSError, pexpect.ExceptionPexpect) as error:
        raise CannotStart(f"cannot start {program} ({error})", **context) from None


class _Transcript:
    """The transcript file: everything the program printed and every answer, up to a bound."""

    def __init__(self, handle: IO[str], limit: int, path: Path):
        self.handle, self.limit, self.path, self.written = handle, limit, path, 0

    def write(self, text: str, context: Callable[[], dict]) -> None:
        room = self.limit - self.written
        if room <= 0:
            return
        kept = text[:room]
        self.written += len(kept)
        try:
            self.handle.write(kept)
            if len(kept) < len(text):
                self.handle.write(f"\n[setupkit] transcript cut at {self.limit:,} characters\n")
            self.handle.flush()
        except OSError as error:
            raise DialogFailed(f"cannot write the transcript {self.path} ({error.strerror or error})",
                               **context()) from None

    def close(self) -> None:
        try:
            self.handle.close()
        except OSError:
            pass  # what could not be written was said when the write failed


@dataclass
class _Conversation:
    """One dialog under way: the child, what it said since the last answer, the answers, the clocks."""

    child: _Child
    argv: tuple[str, ...]
    matcher: Matcher
    transcript: _Transcript
    deadline: float
    step_timeout: float | None
    idle: float
    max_answers: int
    answers: list[tuple[str, str]] = field(default_factory=list)
    tail: str = ""
    unsearched: int = 0
    """Where the text not yet searched with its full context begins in ``tail``."""
    searched: int = 0
    finished: bool = False
    last_name: str | None = None

    def __post_init__(self) -> None:
        import pexpect

        self.eof, self.timeout = pexpect.EOF, pexpect.TIMEOUT
        os.set_blocking(self.child.child_fd, False)
        now = time.monotonic()
        self.deadline_at = now + self.deadline
        self.step_limit = self.step_timeout
        self.step_at = now + self.step_timeout if self.step_timeout is not None else float("inf")
        self.heard_at = now
        self.exited_at: float | None = None

    def context(self, shown: str | None = None) -> dict:
        return {"argv": self.argv, "transcript": self.transcript.path, "answers": self.answers,
                "shown": last_lines(self.tail) if shown is None else shown}

    def run(self) -> None:
        """Read and answer until the program ends (EOF, or it exited and only an orphan holds the terminal)."""
        while (chunk := self._read()) is not None:
            self._hear(chunk)
            while not self.finished and (found := self._next_prompt()) is not None:
                self._respond(*found)

    def _read(self) -> str | None:
        while True:
            now = time.monotonic()
            self._check_clocks(now)
            if self._exited_long_ago(now):
                return None
            try:
                return self.child.read_nonblocking(MAXREAD, timeout=self._wait(now))
            except self.eof:
                return None
            except self.timeout:
                self._check_silence(time.monotonic())
            except BlockingIOError:
                continue  # the terminal is non-blocking (for _write); select said ready, another read will do

    def _wait(self, now: float) -> float:
        """Until the next clock falls due (the silence that makes a question, once), at most POLL_S."""
        due = min(self.deadline_at, self.step_at)
        if self.heard_at + self.idle > now:
            due = min(due, self.heard_at + self.idle)
        return min(max(due - now, 0.0), POLL_S)

    def _check_clocks(self, now: float) -> None:
        if now >= self.deadline_at:
            raise TimedOut(self.deadline, True, self.last_name, **self.context())
        if now >= self.step_at:
            raise TimedOut(self.step_limit or 0.0, False, self.last_name, **self.context())

    def _exited_long_ago(self, now: float) -> bool:
        """The child is gone and something it started still holds the terminal (and may print for ever)."""
        if self.child.isalive():
            return False
        self.exited_at = self.exited_at or now
        return now - self.exited_at > ORPHAN_PIPE_GRACE_S

    def _check_silence(self, now: float) -> None:
        if now - self.heard_at < self.idle:
            return
        question = waiting_question(self.tail)
        if question is not None:
            raise UnknownPrompt(clip(question), **self.context())

    def _hear(self, chunk: str) -> None:
        self.heard_at = time.monotonic()
        self.transcript.write(chunk, self.context)
        self.unsearched = len(self.tail)
        self.tail += chunk
        if self.finished:
            self._forget_old_output()

    def _next_prompt(self) -> tuple[Prompt, re.Match[str]] | None:
        start = max(0, self.unsearched - PROMPT_SPAN)
        self.searched += len(self.tail) - start
        found = self.matcher.search(self.tail, start)
        if found is None:
            self.unsearched = len(self.tail)
            self._forget_old_output()
        return found

    def _forget_old_output(self) -> None:
        cut = len(self.tail) - KEEP
        if cut > 0:
            self.tail = self.tail[cut:]
            self.unsearched = max(self.unsearched - cut, 0)

    def _respond(self, prompt: Prompt, match: re.Match[str]) -> None:
        shown = last_lines(self.tail[: match.end()])
        self.tail, self.unsearched = self.tail[match.end():], 0
        if prompt.refuse:
            raise Refused(prompt, **self.context(shown))
        if prompt.repeats is not None and sum(name == prompt.name for name, _ in self.answers) >= prompt.repeats:
            raise RepeatedPrompt(prompt, **self.context(shown))
        if len(self.answers) >= self.max_answers:
            raise DialogFailed(f"kept asking past {self.max_answers:,} answers", **self.context(shown))
        if prompt.last:
            self.finished = True
        else:
            self._send(prompt)
        self.last_name = prompt.name
        self.step_limit = prompt.then_within if prompt.then_within is not None else self.step_timeout
        self.step_at = time.monotonic() + self.step_limit if self.step_limit is not None else float("inf")

    def _send(self, prompt: Prompt) -> None:
        typed = prompt.answer if prompt.keys else prompt.answer + "\n"
        self._write(typed.encode("utf-8"))
        self.answers.append((prompt.name, prompt.answer))
        self.transcript.write(typed, self.context)

    def _write(self, data: bytes) -> None:
        """Type ``data`` without ever blocking: a program that reads none of its input fills the terminal's
        buffer, and a blocking write would outlast every deadline."""
        fd = self.child.child_fd
        while data:
            self._check_clocks(time.monotonic())
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                select.select([], [fd], [], POLL_S)
            except OSError:
                return  # the program is gone: the next read is its end


def _stop(child: _Child, wait_exit: float = 0.0) -> None:
    """End the child's process group: give the child ``wait_exit`` seconds to exit by itself, then SIGTERM,
    SIGKILL after KILL_GRACE_S (what it left in its group goes too), then reap it. A second interruption
    while waiting still ends in SIGKILL."""
    try:
        if not _exits_within(child, wait_exit):
            _signal_group(child.pid, signal.SIGTERM)
            _exits_within(child, KILL_GRACE_S)
    finally:
        _signal_group(child.pid, signal.SIGKILL)
        try:
            child.close(force=True)
        except Exception:  # noqa: BLE001 - a child stuck in the kernel cannot be reaped; it was sent SIGKILL
            pass


def _exits_within(child: _Child, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while child.isalive():
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
