"""The domain exceptions. The CLI turns each into one line on stderr, its hint on a ``fix:`` line, and its exit
code (exitcodes.py)."""

from setupkit import exitcodes


class SetupkitError(Exception):
    """An expected failure: it carries the exit code, a one-line message and, where there is one, the fix."""

    exit_code = exitcodes.PRECONDITION

    def __init__(self, message: str, exit_code: int | None = None, hint: str | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        self.hint = hint

    @property
    def message(self) -> str:
        return str(self)


class UsageError(SetupkitError):
    """A flag or value the command cannot take: exit 2, as click's own usage errors."""

    exit_code = exitcodes.USAGE


class PreconditionError(SetupkitError):
    """Something the command needs is not there: exit 3."""

    exit_code = exitcodes.PRECONDITION


class SnapshotError(PreconditionError):
    """A snapshot is missing, malformed or hostile: exit 3, naming the file."""


class ActionFailed(SetupkitError):
    """A step failed midway: exit 4, naming the step and its log."""

    exit_code = exitcodes.ACTION_FAILED
