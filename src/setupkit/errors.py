"""The domain exceptions. The CLI turns each into one line on stderr and its exit code."""

from setupkit import exitcodes


class SetupkitError(Exception):
    """An expected failure: it carries the exit code and a one-line message that says what to do."""

    exit_code = exitcodes.PRECONDITION

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class PreconditionError(SetupkitError):
    """Something the command needs is not there: exit 3."""

    exit_code = exitcodes.PRECONDITION


class SnapshotError(PreconditionError):
    """A snapshot is missing, malformed or hostile: exit 3, naming the file."""


class ActionFailed(SetupkitError):
    """A step failed midway: exit 4, naming the step and its log."""

    exit_code = exitcodes.ACTION_FAILED
