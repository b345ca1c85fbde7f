"""Answer TensorFlow's ./configure: one table of prompts, each with its environment variable and its answer.

Interactive mode drives ./configure through pexpect and answers each prompt it recognises; a prompt it does not
recognise stops the run with that prompt's text (exit 4) instead of guessing. ``--non-interactive`` sets the
same answers as configure's environment variables and gives it no terminal (`yes "" | ./configure` by hand).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from setupkit import exitcodes
from setupkit.buildtf.log import BuildLog
from setupkit.errors import ActionFailed, SetupkitError

YN = r"\[[yYnN]/[yYnN]\]: "
DEFAULT = r"\[Default is:? [^\]]*\]: "

IDLE_SECONDS = 3.0
"""Silence after what looks like a question before configure is taken to wait on a prompt we do not know."""

CONFIGURE_TIMEOUT = 900.0
"""configure may run bazel (bazelisk may download it first); past this it is stuck."""

MAX_REPEATS = 3
"""configure asks again when it rejects an answer (a path that does not exist); the same answer will not do."""


@dataclass(frozen=True)
class Prompt:
    """A configure question: a short key, the environment variable that answers it, and its text as a regex."""

    key: str
    env: str
    pattern: str

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.DOTALL)

    @property
    def yes_no(self) -> bool:
        """A [y/N] question: its environment variable takes 1 or 0."""
        return self.pattern.endswith(YN)


PROMPTS: tuple[Prompt, ...] = (
    Prompt("python_bin_path", "PYTHON_BIN_PATH", r"Please specify the location of python\. " + DEFAULT),
    Prompt("python_lib_path", "PYTHON_LIB_PATH",
           r"Please input the desired Python library path to use\.\s+Default is \[[^\]]*\]\r?\n"),
    Prompt("rocm", "TF_NEED_ROCM", r"Do you wish to build TensorFlow with ROCm support\? " + YN),
    Prompt("cuda", "TF_NEED_CUDA", r"Do you wish to build TensorFlow with CUDA support\? " + YN),
    Prompt("tensorrt", "TF_NEED_TENSORRT", r"Do you wish to build TensorFlow with TensorRT support\? " + YN),
    # TF 2.18 and later: hermetic CUDA.
    Prompt("hermetic_cuda_version", "HERMETIC_CUDA_VERSION",
           r"Please specify the hermetic CUDA version you want to use or leave empty to use the default version\. "),
    Prompt("hermetic_cudnn_version", "HERMETIC_CUDNN_VERSION",
           r"Please specify the hermetic cuDNN version you want to use or leave empty to use the default version\. "),
    Prompt("cuda_compute_capabilities", "HERMETIC_CUDA_COMPUTE_CAPABILITIES",
           r"Please specify a list of comma-separated CUDA compute capabilities you want to build with\..*?" + DEFAULT),
    Prompt("local_cuda_path", "LOCAL_CUDA_PATH",
           r"Please specify the local CUDA path you want to use or leave empty to use the default version\. "),
    Prompt("local_cudnn_path", "LOCAL_CUDNN_PATH",
           r"Please specify the local CUDNN path you want to use or leave empty to use the default version\. "),
    Prompt("local_nccl_path", "LOCAL_NCCL_PATH",
           r"Please specify the local NCCL path you want to use or leave empty to use the default version\. "),
    # TF 2.11 to 2.17: a local CUDA toolkit, asked for only when configure does not find it.
    Prompt("cuda_version", "TF_CUDA_VERSION",
           r"Please specify the CUDA SDK version you want to use\. \[Leave empty to default to CUDA [^\]]*\]: "),
    Prompt("cudnn_version", "TF_CUDNN_VERSION",
           r"Please specify the cuDNN version you want to use\. \[Leave empty to default to cuDNN [^\]]*\]: "),
    Prompt("nccl_version", "TF_NCCL_VERSION",
           r"Please specify the locally installed NCCL version you want to use\. \[Leave empty to use [^\]]*\]: "),
    Prompt("cuda_paths", "TF_CUDA_PATHS", r"Please specify the comma-separated list of base paths to look for CUDA "
           r"libraries and headers\. \[Leave empty to use the default\]: "),
    # Compilers.
    Prompt("cuda_clang", "TF_CUDA_CLANG", r"Do you want to use clang as CUDA compiler\? " + YN),
    Prompt("clang_cuda_compiler_path", "CLANG_CUDA_COMPILER_PATH",
           r"Please specify clang path that to be used as host compiler\. " + DEFAULT),
    Prompt("gcc_host_compiler_path", "GCC_HOST_COMPILER_PATH",
           r"Please specify which gcc should be used by nvcc as the host compiler\. " + DEFAULT),
    Prompt("download_clang", "TF_DOWNLOAD_CLANG",
           r"Do you wish to download a fresh release of clang\? \(Experimental\) " + YN),
    Prompt("need_clang", "TF_NEED_CLANG", r"Do you want to use Clang to build TensorFlow\? " + YN),
    Prompt("clang_compiler_path", "CLANG_COMPILER_PATH", r"Please specify the path to clang executable\. " + DEFAULT),
    Prompt("cc_opt_flags", "CC_OPT_FLAGS", r"Please specify optimization flags to use during compilation when "
           r"bazel option \"--config=opt\" is specified " + DEFAULT),
    Prompt("android_workspace", "TF_SET_ANDROID_WORKSPACE",
           r"Would you like to interactively configure \./WORKSPACE for Android builds\? " + YN),
)

OLD_CAPABILITIES_ENV = "TF_CUDA_COMPUTE_CAPABILITIES"
"""Before hermetic CUDA (2.17 and older) the compute capabilities came from this variable."""


@dataclass(frozen=True)
class Choices:
    """What the build wants, from which every answer follows."""

    python: str
    cuda: bool
    capabilities: str | None
    clang: str | None
    gcc: str | None
    cc_opt_flags: str
    hermetic_cuda: bool = True
    """TF 2.18 and later ask for hermetic CUDA versions; older ones look for a local toolkit."""


def answers_for(choices: Choices) -> dict[str, str]:
    """The answer to every prompt key; '' takes configure's default."""
    use_clang = choices.clang is not None
    yes_no = lambda flag: "y" if flag else "n"  # noqa: E731
    return {
        "python_bin_path": choices.python, "python_lib_path": "", "rocm": "n", "cuda": yes_no(choices.cuda),
        "tensorrt": "n", "hermetic_cuda_version": "", "hermetic_cudnn_version": "",
        "cuda_compute_capabilities": choices.capabilities or "", "local_cuda_path": "", "local_cudnn_path": "",
        "local_nccl_path": "", "cuda_version": "", "cudnn_version": "", "nccl_version": "", "cuda_paths": "",
        "cuda_clang": yes_no(use_clang), "clang_cuda_compiler_path": choices.clang or "",
        "gcc_host_compiler_path": choices.gcc or "", "download_clang": "n", "need_clang": yes_no(use_clang),
        "clang_compiler_path": choices.clang or "", "cc_opt_flags": choices.cc_opt_flags, "android_workspace": "n",
    }


_CPU_ONLY = {"python_bin_path", "python_lib_path", "rocm", "cuda", "need_clang", "clang_compiler_path",
             "cc_opt_flags", "android_workspace"}
"""The questions every build is asked. (download_clang, asked by some older configures, is answered 'n' when
asked but is not part of the plan.)"""
_CUDA_ONLY = {"cuda_compute_capabilities", "cuda_clang", "clang_cuda_compiler_path", "gcc_host_compiler_path"}
_HERMETIC_CUDA = {"hermetic_cuda_version", "hermetic_cudnn_version", "local_cuda_path", "local_cudnn_path",
                  "local_nccl_path"}
_LOCAL_CUDA = {"tensorrt", "cuda_version", "cudnn_version", "nccl_version", "cuda_paths"}
"""2.11 to 2.17; the version and path questions come only when configure does not find the toolkit itself."""


def expected_answers(choices: Choices) -> dict[str, str]:
    """The answers this build will give, for the plan: the CPU prompts, plus the CUDA ones with --cuda."""
    wanted = set(_CPU_ONLY)
    if choices.cuda:
        wanted |= _CUDA_ONLY | (_HERMETIC_CUDA if choices.hermetic_cuda else _LOCAL_CUDA)
        wanted -= {"need_clang", "clang_compiler_path"}  # with CUDA, configure asks about clang for CUDA instead
        wanted -= {"gcc_host_compiler_path"} if choices.clang else {"clang_cuda_compiler_path"}
    elif choices.clang is None:
        wanted -= {"clang_compiler_path"}
    return {key: value for key, value in answers_for(choices).items() if key in wanted}


def configure_env(choices: Choices) -> dict[str, str]:
    """The environment variables that answer configure without a terminal (--non-interactive)."""
    by_key = {prompt.key: prompt for prompt in PROMPTS}
    env = {}
    for key, answer in expected_answers(choices).items():
        prompt = by_key[key]
        env[prompt.env] = ("1" if answer == "y" else "0") if prompt.yes_no else answer
    env.pop("PYTHON_LIB_PATH", None)
    env["USE_DEFAULT_PYTHON_LIB_PATH"] = "1"
    if choices.cuda:
        env[OLD_CAPABILITIES_ENV] = env["HERMETIC_CUDA_COMPUTE_CAPABILITIES"]
    return env


# -- reading configure's output ---------------------------------------------------------------------------------


def match_prompt(pending: str, answers: dict[str, str]) -> tuple[Prompt, str, str] | None:
    """The first known prompt in ``pending``: (prompt, answer, the text after it), or None."""
    found = [(match.start(), prompt, match) for prompt in PROMPTS if (match := prompt.regex.search(pending))]
    if not found:
        return None
    _, prompt, match = min(found, key=lambda item: item[0])
    return prompt, answers.get(prompt.key, ""), pending[match.end():]


def waiting_question(pending: str) -> str | None:
    """The last line of ``pending`` when it reads like a question left waiting (': ', ']' or '?'), else None."""
    lines = [line.strip() for line in pending.replace("\r", "").split("\n") if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    return last if last.endswith((":", "]", "?")) else None


class UnknownPrompt(ActionFailed):
    """configure asked something the table does not know; the message carries the prompt."""


def _fail(message: str, log: BuildLog) -> ActionFailed:
    return ActionFailed(f"{message}; log: {log.path}")


def run_interactive(source: Path, answers: dict[str, str], log: BuildLog, *, idle: float = IDLE_SECONDS,
                    deadline: float = CONFIGURE_TIMEOUT) -> list[tuple[str, str]]:
    """Run ./configure on a terminal and answer it; returns (prompt key, answer) in the order asked."""
    import pexpect

    # pexpect looks the program up from its own working folder, so it gets the absolute path.
    child = pexpect.spawn(str(source / "configure"), cwd=str(source), encoding="utf-8", codec_errors="replace",
                          echo=False, env=dict(os.environ), timeout=idle)
    try:
        given = _converse(child, answers, log, idle, time.monotonic() + deadline)
    except KeyboardInterrupt:
        child.terminate(force=True)
        raise
    child.close()
    status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
    if status != 0:
        raise _fail(f"./configure failed with exit {status}", log)
    return given


def _converse(child, answers: dict[str, str], log: BuildLog, idle: float, end: float) -> list[tuple[str, str]]:
    import pexpect

    pending, given = "", []
    while True:
        try:
            chunk = child.read_nonblocking(4096, timeout=idle)
        except pexpect.EOF:
            return given
        except pexpect.TIMEOUT:
            _check_stalled(child, pending, log, end)
            continue
        log.write(chunk)
        pending += chunk
        while (found := match_prompt(pending, answers)) is not None:
            prompt, answer, pending = found
            _refuse_a_loop(child, prompt, answer, given, log)
            child.sendline(answer)
            log.write(f"{answer}\n")
            given.append((prompt.key, answer))


def _refuse_a_loop(child, prompt: Prompt, answer: str, given: list[tuple[str, str]], log: BuildLog) -> None:
    if sum(1 for key, _ in given if key == prompt.key) >= MAX_REPEATS:
        child.terminate(force=True)
        raise _fail(f"./configure rejected the answer {answer!r} to its {prompt.env} question {MAX_REPEATS} times "
                    f"(see its reason in the log); give it by hand with {prompt.env}=... --non-interactive", log)


def _check_stalled(child, pending: str, log: BuildLog, end: float) -> None:
    question = waiting_question(pending)
    if question is not None:
        child.terminate(force=True)
        raise UnknownPrompt(f"./configure asked a question setupkit does not know: {question!r}; answer it by "
                            f"hand (cd {child.cwd} && ./configure) or use --non-interactive; log: {log.path}")
    if time.monotonic() > end:
        child.terminate(force=True)
        raise _fail(f"./configure was still running after {CONFIGURE_TIMEOUT:.0f} s", log)


def run_non_interactive(source: Path, env: dict[str, str], log: BuildLog) -> None:
    """./configure with the answers in its environment and stdin from /dev/null."""
    import subprocess

    try:
        done = subprocess.run(["./configure"], cwd=source, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=CONFIGURE_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise _fail(f"./configure was still running after {CONFIGURE_TIMEOUT:.0f} s", log) from error
    log.write(done.stdout)
    if done.returncode != 0:
        raise _fail(f"./configure failed with exit {done.returncode}", log)


def read_bazelrc(source: Path) -> str:
    """The .tf_configure.bazelrc configure wrote; missing means configure did not finish."""
    path = source / ".tf_configure.bazelrc"
    if not path.is_file():
        raise SetupkitError(f"./configure wrote no {path}", exitcodes.ACTION_FAILED)
    return path.read_text(errors="replace")
