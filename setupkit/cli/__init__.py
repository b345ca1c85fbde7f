"""The command line: thin typer commands, one module a verb; the work happens in the domain packages.

Expected failures arrive here as ``SetupkitError`` and leave as one line on stderr with their exit code
(exitcodes.py); nothing expected ends in a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from setupkit import exitcodes, process
from setupkit.bounded import printable
from setupkit.cli import build_tf, diff, doctor, install, smoke_test, snapshot
from setupkit.cli.common import err_console
from setupkit.errors import SetupkitError

app = typer.Typer(
    name="setupkit",
    help="Take a Linux machine to a verified ML stack, and say exactly what is wrong on the way.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for verb in (doctor, snapshot, install, build_tf, smoke_test, diff):
    verb.register(app)


# Typer may vendor its own click; find click's base exception through a class typer exports either way.
# (Any: its class is only known at run time.)
_ClickException: Any = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``setupkit`` console script and ``python -m setupkit``."""
    command = typer.main.get_command(app)
    try:
        with process.termination_signals():
            code = command.main(args=argv, prog_name="setupkit", standalone_mode=False)
    except _ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt) as error:
        _say_interrupted(error)
        sys.exit(exitcodes.INTERRUPTED)
    except SetupkitError as error:
        _say_error(error)
        sys.exit(error.exit_code)
    except BrokenPipeError:
        sys.exit(exitcodes.OK)  # `setupkit doctor | head`: the reader had what it wanted
    if code == exitcodes.INTERRUPTED and process.last_interruption():
        # typer turns KeyboardInterrupt into a silent exit 130: say what happened.
        _say_interrupted(process.Interrupted(process.last_interruption() or "SIGINT"))
    sys.exit(code if isinstance(code, int) else exitcodes.OK)


def _say_error(error: SetupkitError) -> None:
    err_console.print(f"setupkit: {printable(error.message, keep_newlines=False)}", markup=False, highlight=False)
    if error.hint:
        err_console.print(f"fix: {printable(error.hint, keep_newlines=False)}", markup=False, highlight=False)


def _say_interrupted(error: BaseException) -> None:
    # click turns Ctrl-C into Abort and keeps the KeyboardInterrupt as its cause; an Abort without one is a
    # "no" at a confirmation prompt.
    cause = error if isinstance(error, KeyboardInterrupt) else error.__cause__ or error.__context__
    if not isinstance(cause, KeyboardInterrupt):
        err_console.print("setupkit: aborted; nothing more was done", markup=False, highlight=False)
        return
    name = cause.signal_name if isinstance(cause, process.Interrupted) else "SIGINT"
    shown = "Ctrl-C" if name == "SIGINT" else name
    err_console.print(f"setupkit: interrupted ({shown})", markup=False, highlight=False)
