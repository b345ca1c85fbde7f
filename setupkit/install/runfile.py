"""NVIDIA's CUDA .run installers, toolkit only: never the driver they bundle.

From CUDA 10.1 on, the runfile takes flags: ``sh FILE --silent --toolkit --toolkitpath=DIR`` (install.md
section 2); ``--silent`` implies the EULA and nothing asks. CUDA 10.0 and older run the perl installer, which
asks its questions one by one (install.md section 1): we answer them through the dialog module, from a table of
the prompts it may ask, and abort on anything else, never guessing. Prompt texts are verbatim from install.md.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from setupkit import dialog, versions
from setupkit.errors import ActionFailed, UsageError

# cuda_11.8.0_520.61.05_linux.run, cuda_9.0.176_384.81_linux-run, cuda_10.0.130_410.48_linux, cuda_7.5.18_linux.run
_NAME = re.compile(r"^cuda_(\d+)\.(\d+)(?:\.\d+)*(?:_\d+(?:\.\d+)*)?_linux(?:_\w+)?(?:\.run|-run)?$")
LAST_LEGACY = (10, 0)  # the perl installer; 10.1 brought the ncurses UI and its flags

# Output that means the modern installer failed even when it exits 0 (install.md section 2: "check the summary
# and logs as well as $?").
MODERN_FAILURES = ("Installation failed", "Failed to verify gcc version", "[ERROR]")


def runfile_cuda_version(path: str) -> str:
    """"X.Y" from a runfile's name; exit 2 when the name does not carry it."""
    match = _NAME.match(Path(path).name)
    if not match:
        raise UsageError(f"cannot tell the CUDA version from the runfile name {Path(path).name!r}: expected "
                         f"NVIDIA's name, cuda_X.Y.Z_DRIVER_linux.run")
    return f"{match.group(1)}.{match.group(2)}"


def is_legacy(cuda: str) -> bool:
    return (versions.major_minor_pair(cuda) or (0, 0)) <= LAST_LEGACY


def default_toolkit_path(cuda: str) -> str:
    return f"/usr/local/cuda-{cuda}"


def modern_argv(runfile: str, toolkit_path: str, override: bool) -> list[str]:
    """The toolkit-only command line of a CUDA 10.1+ runfile: no --driver, ever."""
    argv = ["sh", runfile, "--silent", "--toolkit", f"--toolkitpath={toolkit_path}"]
    return argv + ["--override"] if override else argv


def legacy_argv(runfile: str, override: bool) -> list[str]:
    return ["sh", runfile, "--override"] if override else ["sh", runfile]


def legacy_answers(toolkit_path: str) -> dict[str, str]:
    """What the dialog answers, for the plan to show: no driver, the toolkit where asked, the link, no samples."""
    return {"eula": "accept", "driver": "n", "toolkit": "y", "location": toolkit_path, "symlink": "y", "samples": "n"}


# The prompts of the legacy installer, as regular expressions over its output. Two-line prompts may come with
# \r\n between their lines; \s covers both. "other" catches any question we did not expect.
_PROMPTS = (
    ("pager", r"--More--"),
    ("eula", r"accept/decline/quit\)?:"),
    ("unsupported", r"unsupported configuration\.\s*Do you wish to continue\?\s*"
                    r"\(\(y\)es/\(n\)o\) \[ default is no \]:"),
    ("bad_compiler", r"Installation Failed\. Using unsupported Compiler\."),
    ("driver", r"Install NVIDIA Accelerated Graphics Driver for Linux-x86_64 [\d.]+\?\s*"
               r"\(?\(y\)es/\(n\)o/\(q\)uit\)?:"),
    ("toolkit", r"Install the CUDA [\d.]+ Toolkit\?\s*\(?\(y\)es/\(n\)o/\(q\)uit\)?:"),
    ("location", r"Enter Toolkit Location\s*\[ default is [^\]]*\]:"),
    ("symlink", r"Do you want to install a symbolic link at /usr/local/cuda\?\s*\(?\(y\)es/\(n\)o/\(q\)uit\)?:"),
    ("samples", r"Install the CUDA [\d.]+ Samples\?\s*\(?\(y\)es/\(n\)o/\(q\)uit\)?:"),
    ("sudo", r"Do you wish to run the installation with 'sudo'\?"),
    ("bad_location", r"Toolkit location must be an absolute path\."),
    ("summary", r"=+\s*=\s*Summary\s*=\s*=+"),
    ("other", r"[^\r\n]*(?:\(y\)es/\(n\)o[^\r\n]*|\[ default is [^\]\r\n]*\]):"),
)

LEGACY_DEADLINE = 3600.0
"""The whole dialog: the EULA, the questions and the installation itself (install_timeout) together."""
LEGACY_IDLE = 10.0
"""Silence on a question-like line before it is taken for a question we do not know: the installer works
quietly for a while between its lines."""


@dataclass
class LegacyInstall:
    """What a legacy installer said it did: its summary's Driver and Toolkit lines, and the answers it got."""

    driver: str
    toolkit: str
    answered: list[tuple[str, str]]


def legacy_prompts(toolkit_path: str, override: bool, install_timeout: float) -> tuple[dialog.Prompt, ...]:
    """The prompt table: no driver, the toolkit where asked, the link, no samples; the installation runs after
    the samples question and ends in the summary, so both wait ``install_timeout``."""
    replies = {"pager": " ", **legacy_answers(toolkit_path)}
    if override:
        replies["unsupported"] = "y"
    prompts = []
    for name, pattern in _PROMPTS:
        if name in replies:
            prompts.append(dialog.Prompt(name, pattern, replies[name], keys=name == "pager",
                                         then_within=install_timeout if name == "samples" else None))
        elif name == "summary":
            prompts.append(dialog.Prompt(name, pattern, last=True, then_within=install_timeout))
        else:
            prompts.append(dialog.Prompt(name, pattern, refuse=True))
    return tuple(prompts)


def _refusal(name: str, toolkit_path: str, shown: str) -> str:
    if name == "unsupported":
        return ("the installer says this is an unsupported configuration (compiler or distribution check) and "
                "was refused; if you know the toolkit works here, re-run with --override")
    if name == "bad_compiler":
        return ("the installer refuses this compiler ('Installation Failed. Using unsupported Compiler.'); "
                "re-run with --override to skip its compiler check")
    if name in ("sudo", "bad_location"):
        return f"the toolkit location {toolkit_path} was refused: {shown}"
    return f"unexpected prompt: {shown!r}"


def _failed(why: str, log_path: str) -> ActionFailed:
    return ActionFailed(f"CUDA runfile: {why}; nothing was guessed. Log: {log_path}")


def _installed_in(summary: str, toolkit_path: str) -> bool:
    """'Installed in /usr/local/cuda-9.0' (10.1 and later add a trailing '/')."""
    prefix = "Installed in "
    return summary.startswith(prefix) and summary[len(prefix):].strip().rstrip("/") == toolkit_path.rstrip("/")


def run_legacy(runfile: str, toolkit_path: str, *, override: bool, log_path: str, prompt_timeout: float = 120,
               install_timeout: float = 1800, env: dict[str, str] | None = None,
               deadline: float = LEGACY_DEADLINE) -> LegacyInstall:
    """Drive a CUDA <= 10.0 runfile through its prompts; ActionFailed (exit 4) on an unexpected prompt, a refused
    one, a timeout, an early exit or a summary that is not "Driver: Not Selected" and our toolkit location."""
    argv = legacy_argv(runfile, override)
    _note(log_path, f"$ {shlex.join(argv)}  (driven by setupkit: driver n, toolkit y)\n")
    try:
        done = dialog.converse(argv, legacy_prompts(toolkit_path, override, install_timeout), transcript=log_path,
                               deadline=deadline, step_timeout=prompt_timeout, idle=LEGACY_IDLE,
                               env=dict(os.environ, **(env or {})))
    except dialog.Refused as error:
        raise _failed(_refusal(error.prompt.name, toolkit_path, error.shown), log_path) from None
    except dialog.TimedOut as error:
        if error.overall:
            raise _failed(f"still running after {error.seconds:g} s; last output: {error.shown!r}", log_path) \
                from None
        if error.after == "summary":
            raise _failed(f"no end after the summary within {error.seconds:g} s: {error.shown!r}", log_path) \
                from None
        raise _failed(f"no answer within {error.seconds:g} s; last output: {error.shown!r}", log_path) from None
    except dialog.UnknownPrompt as error:
        raise _failed(f"unexpected prompt: {error.shown!r}", log_path) from None
    except dialog.DialogFailed as error:
        raise _failed(error.reason, log_path) from None
    return _read_summary(done, toolkit_path, log_path)


def _note(log_path: str, text: str) -> None:
    try:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(text)
    except OSError as error:
        raise ActionFailed(f"CUDA runfile: cannot write the log {log_path} ({error.strerror or error})") from None


def _read_summary(done: dialog.Result, toolkit_path: str, log_path: str) -> LegacyInstall:
    if not done.finished:
        status = done.exit_status if done.exit_status is not None else f"signal {done.signal_name}"
        raise _failed(f"the installer exited before its summary (status {status}): {done.shown!r}", log_path)
    if done.status != 0:
        raise ActionFailed(f"CUDA runfile exited {done.status} after its summary. Log: {log_path}")
    driver = re.search(r"Driver:\s+([^\r\n]+)", done.tail)
    toolkit = re.search(r"Toolkit:\s+([^\r\n]+)", done.tail)
    if not driver or driver.group(1).strip() != "Not Selected":
        raise ActionFailed(f"CUDA runfile summary does not say 'Driver:   Not Selected'. Log: {log_path}")
    if not toolkit or not _installed_in(toolkit.group(1), toolkit_path):
        raise ActionFailed(f"CUDA runfile summary does not say 'Toolkit:  Installed in {toolkit_path}'. "
                           f"Log: {log_path}")
    return LegacyInstall(driver.group(1).strip(), toolkit.group(1).strip(), list(done.answers))
