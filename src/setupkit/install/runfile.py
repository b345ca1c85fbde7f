"""NVIDIA's CUDA .run installers, toolkit only: never the driver they bundle.

From CUDA 10.1 on, the runfile takes flags: ``sh FILE --silent --toolkit --toolkitpath=DIR`` (install.md
section 2); ``--silent`` implies the EULA and nothing asks. CUDA 10.0 and older run the perl installer, which
asks its questions one by one (install.md section 1): we answer them through pexpect, one expected prompt at a
time, and abort on anything else, never guessing. Prompt texts are verbatim from install.md.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from setupkit.errors import ActionFailed, PreconditionError
from setupkit.install import versions

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
        raise PreconditionError(f"cannot tell the CUDA version from the runfile name {Path(path).name!r}: expected "
                                f"NVIDIA's name, cuda_X.Y.Z_DRIVER_linux.run", exit_code=2)
    return f"{match.group(1)}.{match.group(2)}"


def is_legacy(cuda: str) -> bool:
    return (versions.major_minor(cuda) or (0, 0)) <= LAST_LEGACY


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
    ("unsupported", r"unsupported configuration\.\s*Do you wish to continue\?\s*\(\(y\)es/\(n\)o\) \[ default is no \]:"),
    ("bad_compiler", r"Installation Failed\. Using unsupported Compiler\."),
    ("driver", r"Install NVIDIA Accelerated Graphics Driver for Linux-x86_64 [\d.]+\?\s*\(?\(y\)es/\(n\)o/\(q\)uit\)?:"),
    ("toolkit", r"Install the CUDA [\d.]+ Toolkit\?\s*\(?\(y\)es/\(n\)o/\(q\)uit\)?:"),
    ("location", r"Enter Toolkit Location\s*\[ default is [^\]]*\]:"),
    ("symlink", r"Do you want to install a symbolic link at /usr/local/cuda\?\s*\(?\(y\)es/\(n\)o/\(q\)uit\)?:"),
    ("samples", r"Install the CUDA [\d.]+ Samples\?\s*\(?\(y\)es/\(n\)o/\(q\)uit\)?:"),
    ("sudo", r"Do you wish to run the installation with 'sudo'\?"),
    ("bad_location", r"Toolkit location must be an absolute path\."),
    ("summary", r"=+\s*=\s*Summary\s*=\s*=+"),
    ("other", r"[^\r\n]*(?:\(y\)es/\(n\)o[^\r\n]*|\[ default is [^\]\r\n]*\]):"),
)


@dataclass
class DialogResult:
    driver: str
    toolkit: str
    answered: list[tuple[str, str]]


class _Dialog:
    """One run of a legacy installer: the spawned child, the answers given, the log."""

    def __init__(self, child, toolkit_path: str, override: bool, log_path: str):
        self.child, self.toolkit_path, self.override, self.log_path = child, toolkit_path, override, log_path
        self.answered: list[tuple[str, str]] = []

    def fail(self, why: str) -> ActionFailed:
        self.child.close(force=True)
        return ActionFailed(f"CUDA runfile: {why}; nothing was guessed. Log: {self.log_path}")

    def shown(self) -> str:
        text = (self.child.before or "") + (self.child.after if isinstance(self.child.after, str) else "")
        lines = [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]
        return " / ".join(lines[-3:]) or "(no output)"

    def answer(self, name: str, reply: str) -> None:
        self.answered.append((name, reply))
        if reply == " ":
            self.child.send(" ")
        else:
            self.child.sendline(reply)

    def reply_for(self, name: str) -> str:
        """The answer to a known prompt, or an ActionFailed for the ones we refuse to answer."""
        replies = {"pager": " ", "eula": "accept", "driver": "n", "toolkit": "y", "location": self.toolkit_path,
                   "symlink": "y", "samples": "n"}
        if name in replies:
            return replies[name]
        if name == "unsupported":
            if self.override:
                return "y"
            raise self.fail("the installer says this is an unsupported configuration (compiler or distribution "
                            "check) and was refused; if you know the toolkit works here, re-run with --override")
        if name == "bad_compiler":
            raise self.fail("the installer refuses this compiler ('Installation Failed. Using unsupported "
                            "Compiler.'); re-run with --override to skip its compiler check")
        if name in ("sudo", "bad_location"):
            raise self.fail(f"the toolkit location {self.toolkit_path} was refused: {self.shown()}")
        raise self.fail(f"unexpected prompt: {self.shown()!r}")

    def read_summary(self, install_timeout: float) -> DialogResult:
        import pexpect

        index = self.child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=install_timeout)
        if index == 1:
            raise self.fail(f"no end after the summary within {install_timeout:g} s: {self.shown()!r}")
        text = self.child.before or ""
        self.child.close()
        driver = re.search(r"Driver:\s+([^\r\n]+)", text)
        toolkit = re.search(r"Toolkit:\s+([^\r\n]+)", text)
        if self.child.exitstatus not in (0, None):
            raise ActionFailed(f"CUDA runfile exited {self.child.exitstatus} after its summary. Log: {self.log_path}")
        if not driver or driver.group(1).strip() != "Not Selected":
            raise ActionFailed(f"CUDA runfile summary does not say 'Driver:   Not Selected'. Log: {self.log_path}")
        if not toolkit or not _installed_in(toolkit.group(1), self.toolkit_path):
            raise ActionFailed(f"CUDA runfile summary does not say 'Toolkit:  Installed in {self.toolkit_path}'. "
                               f"Log: {self.log_path}")
        return DialogResult(driver.group(1).strip(), toolkit.group(1).strip(), self.answered)


def _installed_in(summary: str, toolkit_path: str) -> bool:
    """'Installed in /usr/local/cuda-9.0' (10.1 and later add a trailing '/')."""
    prefix = "Installed in "
    return summary.startswith(prefix) and summary[len(prefix):].strip().rstrip("/") == toolkit_path.rstrip("/")


def run_legacy(runfile: str, toolkit_path: str, *, override: bool, log_path: str, prompt_timeout: float = 120,
               install_timeout: float = 1800, env: dict[str, str] | None = None) -> DialogResult:
    """Drive a CUDA <= 10.0 runfile through its prompts; ActionFailed (exit 4) on an unexpected prompt, a refused
    one, a timeout, an early exit or a summary that is not "Driver: Not Selected" and our toolkit location."""
    import pexpect

    argv = legacy_argv(runfile, override)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(argv)}  (driven by setupkit: driver n, toolkit y)\n")
        log.flush()
        child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace", timeout=prompt_timeout,
                              env=dict(os.environ, **(env or {})), dimensions=(50, 200))
        child.logfile_read = log
        dialog = _Dialog(child, toolkit_path, override, log_path)
        return _converse(dialog, prompt_timeout, install_timeout)


def _converse(dialog: _Dialog, prompt_timeout: float, install_timeout: float) -> DialogResult:
    import pexpect

    patterns = [re.compile(p) for _, p in _PROMPTS]
    names = [n for n, _ in _PROMPTS]
    timeout = prompt_timeout
    for _ in range(10_000):  # a bound, not a budget: the EULA is a few dozen pages
        index = dialog.child.expect(patterns + [pexpect.EOF, pexpect.TIMEOUT], timeout=timeout)
        if index == len(patterns):
            raise dialog.fail(f"the installer exited before its summary (status "
                              f"{_exit_status(dialog.child)}): {dialog.shown()!r}")
        if index == len(patterns) + 1:
            raise dialog.fail(f"no answer within {timeout:g} s; last output: {dialog.shown()!r}")
        name = names[index]
        if name == "summary":
            return dialog.read_summary(install_timeout)
        dialog.answer(name, dialog.reply_for(name))
        timeout = install_timeout if name == "samples" else prompt_timeout
    raise dialog.fail("the installer kept asking without end")


def _exit_status(child) -> str:
    child.close(force=True)
    return str(child.exitstatus if child.exitstatus is not None else f"signal {child.signalstatus}")
