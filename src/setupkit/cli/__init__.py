"""The command line: thin typer commands, one module a verb; the work happens in the domain packages.

Expected failures arrive here as ``SetupkitError`` and leave as one line on stderr with their exit code
(exitcodes.py); nothing expected ends in a traceback.
"""

from __future__ import annotations

import sys

import typer

from setupkit import exitcodes
from setupkit.cli import build_tf, doctor, install, smoke_test, snapshot
from setupkit.cli.common import err_console
from setupkit.errors import SetupkitError

app = typer.Typer(
    name="setupkit",
    help="Take a Linux machine to a verified ML stack, and say exactly what is wrong on the way.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for verb in (doctor, snapshot, install, build_tf, smoke_test):
    verb.register(app)


# Typer may vendor its own click; find click's base exception through a class typer exports either way.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``setupkit`` console script and ``python -m setupkit``."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="setupkit", standalone_mode=False)
    except _ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("setupkit: interrupted")
        sys.exit(exitcodes.INTERRUPTED)
    except SetupkitError as error:
        err_console.print(f"setupkit: {error.message}", markup=False, highlight=False)
        sys.exit(error.exit_code)
    sys.exit(code if isinstance(code, int) else exitcodes.OK)
