"""Answer TensorFlow's ./configure: one table of prompts, each with its environment variable and its answer.

Interactive mode drives ./configure through the dialog module and answers each prompt it recognises; a prompt it
does not recognise stops the run with that prompt's text (exit 4) instead of guessing. ``--non-interactive`` sets the
same answers as configure's environment variables and gives it no terminal (`yes "" | ./configure` by hand).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from setupkit import dialog, process
from setupkit.bounded import BoundError, read_regular_file
from setupkit.buildtf.log import BuildLog
from setupkit.errors import ActionFailed

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
           r"Please specify a list of comma-separated CUDA compute capabilities you want to build with\.(?s:.*?)"
           + DEFAULT),
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
class ConfigureChoices:
    """What the build wants, from which every answer follows."""

    python: str
    cuda: bool
    capabilities: str | None
    clang: str | None
    gcc: str | None
    cc_opt_flags: str
    hermetic_cuda: bool = True
    """TF 2.18 and later ask for hermetic CUDA versions; older ones look for a local toolkit."""


def answers_for(choices: ConfigureChoices) -> dict[str, str]:
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


def expected_answers(choices: ConfigureChoices) -> dict[str, str]:
    """The answers this build will give, for the plan: the CPU prompts, plus the CUDA ones with --cuda."""
    wanted = set(_CPU_ONLY)
    if choices.cuda:
        wanted |= _CUDA_ONLY | (_HERMETIC_CUDA if choices.hermetic_cuda else _LOCAL_CUDA)
        wanted -= {"need_clang", "clang_compiler_path"}  # with CUDA, configure asks about clang for CUDA instead
        wanted -= {"gcc_host_compiler_path"} if choices.clang else {"clang_cuda_compiler_path"}
    elif choices.clang is None:
        wanted -= {"clang_compiler_path"}
    return {key: value for key, value in answers_for(choices).items() if key in wanted}


def configure_env(choices: ConfigureChoices) -> dict[str, str]:
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


# -- running configure ------------------------------------------------------------------------------------------


def prompt_table(answers: dict[str, str]) -> tuple[dialog.Prompt, ...]:
    """Every configure prompt with its answer ('' takes configure's default). configure asks again when it
    rejects an answer (a path that does not exist); past MAX_REPEATS the same answer will not do."""
    return tuple(dialog.Prompt(prompt.key, prompt.pattern, answers.get(prompt.key, ""), repeats=MAX_REPEATS)
                 for prompt in PROMPTS)


def _fail(message: str, log: BuildLog, hint: str | None = None) -> ActionFailed:
    return ActionFailed(f"{message}; log: {log.path}", hint=hint)


def run_interactive(source: Path, answers: dict[str, str], log: BuildLog, *, idle: float = IDLE_SECONDS,
                    deadline: float = CONFIGURE_TIMEOUT) -> list[tuple[str, str]]:
    """Run ./configure on a terminal and answer it; returns (prompt key, answer) in the order asked."""
    by_key = {prompt.key: prompt for prompt in PROMPTS}
    try:
        done = dialog.converse([str(source / "configure")], prompt_table(answers), transcript=log.path,
                               deadline=deadline, idle=idle, cwd=str(source), env=dict(os.environ))
    except dialog.UnknownPrompt as error:
        raise _fail(f"./configure asked a question setupkit does not know: {error.question!r}", log,
                    f"answer it by hand (cd {source} && ./configure) or use --non-interactive") from None
    except dialog.RepeatedPrompt as error:
        env = by_key[error.prompt.name].env
        raise _fail(f"./configure rejected the answer {error.prompt.answer!r} to its {env} question "
                    f"{MAX_REPEATS} times (see its reason in the log)", log,
                    f"give it by hand with {env}=... --non-interactive") from None
    except dialog.TimedOut:
        raise _fail(f"./configure was still running after {deadline:g} s", log) from None
    except dialog.DialogFailed as error:
        raise _fail(f"./configure: {error.reason}", log) from None
    if done.status != 0:
        raise _fail(f"./configure {_ended(done.exit_status, done.signal_name)}", log)
    return list(done.answers)


def run_non_interactive(source: Path, env: dict[str, str], log: BuildLog, *,
                        timeout: float = CONFIGURE_TIMEOUT) -> None:
    """./configure with the answers in its environment and stdin from /dev/null."""
    done = process.run([str(source / "configure")], cwd=str(source), env={**os.environ, **env},
                       timeout=timeout, merge_stderr=True, on_output=log.write)
    if done.timed_out:
        raise _fail(f"./configure was still running after {timeout:g} s", log)
    if not done.ok:
        log.write(done.stderr)
        raise _fail(f"./configure {_ended(done.returncode, done.signal_name)}", log)


def _ended(status: int | None, signal_name: str | None) -> str:
    return f"was killed by {signal_name}" if signal_name else f"failed with exit {status}"


BAZELRC_LIMIT = 1024 * 1024
"""configure writes a few dozen lines."""


def read_bazelrc(source: Path) -> str:
    """The .tf_configure.bazelrc configure wrote; missing means configure did not finish."""
    path = source / ".tf_configure.bazelrc"
    try:
        return read_regular_file(path, BAZELRC_LIMIT).decode("utf-8", errors="replace")
    except BoundError as error:
        raise ActionFailed(f"./configure finished but left no readable {path} ({error})") from None
