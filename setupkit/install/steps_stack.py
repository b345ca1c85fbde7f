"""Steps that bring the CUDA stack and TensorFlow: NVIDIA's repository, the toolkit (never a driver with it),
cuDNN where TensorFlow needs a system one, TensorFlow itself, and doctor's verdict."""

from __future__ import annotations

import re
import sys

from setupkit import versions
from setupkit.install import rhel, runfile, tensorflow_pick
from setupkit.install.context import Context
from setupkit.install.model import DONE, SKIP, TODO, FileWrite, Step
from setupkit.knowledge import cuda, cudnn_packages, distributions
from setupkit.knowledge.cudnn_packages import CudnnPackage
from setupkit.knowledge.tensorflow import TensorFlowBuild
from setupkit.versions import CudaVersion

REPOS = "https://developer.download.nvidia.com/compute/cuda/repos"
LEGACY_KEY = "7fa2af80.pub"  # the signing key of the repositories that never got the 2022 cuda-keyring
CONTRIB_LIST = "/etc/apt/sources.list.d/debian-contrib.list"
ML_LIST = "/etc/apt/sources.list.d/nvidia-ml.list"
# os-release's VERSION_CODENAME goes into a sources line: a plain word or nothing.
_CODENAME = re.compile(r"[a-z]{2,20}")


def repo_url(ctx: Context) -> str:
    return f"{REPOS}/{ctx.distro.repo_slug(ctx.wsl)}/x86_64"


def keyring_name(ctx: Context) -> str:
    """The cuda-keyring package of this release's repository (ubuntu1604 has only 1.0-1; wsl-ubuntu the usual)."""
    distro = ctx.distro
    return distributions.default_keyring() if ctx.wsl else distributions.cuda_keyring(distro.id, distro.version)


def repo_step(ctx: Context, users: list[Step]) -> Step:
    """NVIDIA's package repository, added only when a later step installs from it; with the machine-learning
    repository beside it when the cuDNN to install comes from there."""
    machine_learning = _machine_learning_needed(ctx, users)
    step = Step("cuda-repo", "Add NVIDIA's CUDA package repository", commands=_repo_commands(ctx, machine_learning),
                files=_repo_files(ctx, machine_learning))
    needed_by = [s.id for s in users if s.status == TODO]
    if not needed_by:
        return step.mark(SKIP, "nothing left to install from NVIDIA's repository")
    return step.mark(TODO, f"needed by {', '.join(needed_by)}")


def _machine_learning_needed(ctx: Context, users: list[Step]) -> bool:
    if ctx.distro.family != "debian" or not any(s.id == "cudnn" and s.status == TODO for s in users):
        return False
    package = cudnn_package(ctx)
    return package is not None and package.repository == cudnn_packages.MACHINE_LEARNING


def _repo_files(ctx: Context, machine_learning: bool) -> list[FileWrite]:
    distro = ctx.distro
    files: list[FileWrite] = []
    if distro.family == "rhel":
        return files
    if distro.legacy_apt_key:
        files.append(FileWrite("/etc/apt/sources.list.d/cuda.list", f"deb {repo_url(ctx)} /\n"))
    codename = _codename(ctx)
    if not distro.is_ubuntu and codename:
        files.append(FileWrite(CONTRIB_LIST, _contrib_line(codename) + "\n"))
    if machine_learning:
        folder, _ = cudnn_packages.machine_learning_repo(distro.repo_slug())
        files.append(FileWrite(ML_LIST, f"deb {folder} /\n"))
    return files


def _repo_commands(ctx: Context, machine_learning: bool) -> list[list[str]]:
    distro, url = ctx.distro, repo_url(ctx)
    if distro.family == "rhel":
        return rhel.repo_commands(distro, url)
    eol = distro.end_of_life
    # wget fetches the keyring over https, which needs ca-certificates: both are missing from slim container
    # images (debian:12-slim, ubuntu:22.04), whose package lists are empty until apt-get update.
    fetchers = ["ca-certificates", "wget"]
    if eol is not None and eol.apt_https_transport:  # apt before 1.5 (14.04, 16.04) cannot read https without it
        fetchers.append("apt-transport-https")
    commands: list[list[str]] = [["apt-get", "update"], distro.install(*fetchers)]
    if distro.legacy_apt_key:
        commands += _apt_key_commands("cuda", f"{url}/{LEGACY_KEY}")
    else:
        keyring = f"/tmp/{keyring_name(ctx)}"
        commands += [["wget", "-q", "-O", keyring, f"{url}/{keyring_name(ctx)}"], ["dpkg", "-i", keyring]]
    if not distro.is_ubuntu and not _codename(ctx):
        commands.append(_contrib_from_os_release())
    if machine_learning:
        commands += _apt_key_commands("nvidia-ml", cudnn_packages.machine_learning_repo(distro.repo_slug())[1])
    return commands + [["apt-get", "update"]]


def _apt_key_commands(name: str, key_url: str) -> list[list[str]]:
    """Trust a repository's pre-2022 signing key. wget fetches it: apt-key's own --fetch-keys needs gnupg-curl for
    https on 14.04 and 16.04 (gpg 1.4), which those systems lack."""
    path = f"/tmp/{name}-{LEGACY_KEY}"
    return [["wget", "-q", "-O", path, key_url], ["apt-key", "add", path]]


def _codename(ctx: Context) -> str | None:
    codename = ctx.fact("os.codename")
    return codename if isinstance(codename, str) and _CODENAME.fullmatch(codename) else None


def _contrib_line(codename: str) -> str:
    """Debian's contrib component, which NVIDIA's Debian repository needs (install.md section 3). Written as a list
    file of its own: add-apt-repository comes with software-properties-common, which slim images lack and
    Debian 13 no longer has at all."""
    return f"deb http://deb.debian.org/debian {codename} contrib"


def _contrib_from_os_release() -> list[str]:
    """The contrib list file for a release whose codename was not read: os-release says it at run time."""
    line = _contrib_line("$VERSION_CODENAME")
    return ["sh", "-c", f'. /etc/os-release && echo "{line}" > {CONTRIB_LIST}']


PIP_CUDA_REASON = ("TensorFlow brings its own CUDA libraries as pip wheels (tensorflow[and-cuda]); add --with-toolkit "
                   "to install nvcc and the system toolkit")


def toolkit_step(ctx: Context, tensorflow: Step) -> Step:
    """The system CUDA toolkit (3 GB): where the TensorFlow of the plan (``tensorflow``, its step) loads it
    (before 2.14, no tensorflow[and-cuda]), or when asked for (--cuda-version, --cuda-runfile, --with-toolkit:
    nvcc for code of one's own)."""
    target = str(ctx.choices.toolkit) if ctx.choices.toolkit else None
    step = Step("cuda-toolkit", f"Install the CUDA {target or ''} toolkit, without a driver".replace("  ", " "))
    if not ctx.gpu:
        return step.mark(SKIP, "CPU path: no CUDA toolkit")
    build = ctx.choices.tensorflow
    if not ctx.toolkit_asked and (build is None or tensorflow.status == SKIP):
        return step.mark(SKIP, "TensorFlow is left out of this plan (see its step), so no system CUDA is needed "
                               "for it; add --with-toolkit to install nvcc and the system toolkit")
    if not ctx.toolkit_asked and build is not None and build.pip_brings_cuda:
        return step.mark(SKIP, PIP_CUDA_REASON)
    if target is None:
        return step.mark(SKIP, "no CUDA version fits this host and Python")
    _toolkit_commands(ctx, step, target)
    installed = ctx.fact("cuda.toolkit_version")
    if toolkit_satisfied(installed, target, exact=bool(ctx.options.cuda_version or ctx.options.cuda_runfile)):
        return step.mark(DONE, f"CUDA {installed} is installed ({ctx.fact('cuda.toolkit_path') or 'path unknown'})"
                               f" and the driver serves it")
    have = f"CUDA {installed} is installed" if installed else "no CUDA toolkit is installed"
    return step.mark(TODO, f"{have}; CUDA {target} is the one this plan needs, toolkit only: the cuda, cuda-X-Y, "
                           f"cuda-runtime-X-Y and cuda-drivers packages would pull a driver")


def toolkit_satisfied(installed: str | None, target: str, exact: bool) -> bool:
    have, need = versions.major_minor_pair(installed), versions.major_minor_pair(target)
    if have is None or need is None:
        return False
    return have == need or (not exact and have[0] == need[0] >= 11 and have >= need)


def _toolkit_commands(ctx: Context, step: Step, target: str) -> None:
    options = ctx.options
    if options.cuda_runfile:
        path = options.toolkit_path or runfile.default_toolkit_path(target)
        if runfile.is_legacy(target):
            step.commands = [runfile.legacy_argv(options.cuda_runfile, options.override)]
            step.dialog = {"kind": "cuda-legacy-runfile", "runfile": options.cuda_runfile, "toolkit_path": path,
                           "override": options.override, "answers": runfile.legacy_answers(path)}
        else:
            step.commands = [runfile.modern_argv(options.cuda_runfile, path, options.override)]
            step.fail_on_output = runfile.MODERN_FAILURES
        return
    step.commands = [ctx.distro.install(f"cuda-toolkit-{versions.dashed(target)}")]


def cudnn_step(ctx: Context, tensorflow: Step) -> Step:
    """The system cuDNN, where the TensorFlow of the plan (``tensorflow``, its step) loads it: before 2.14."""
    build = ctx.choices.tensorflow
    step = Step("cudnn", "Install cuDNN for the system CUDA")
    if not ctx.gpu:
        return step.mark(SKIP, "CPU path: no cuDNN")
    if build is None:
        return step.mark(SKIP, "no TensorFlow is planned, so no cuDNN version to match")
    if tensorflow.status == SKIP:
        return step.mark(SKIP, "TensorFlow is left out of this plan (see its step), so no cuDNN is needed for it")
    if build.pip_brings_cuda:
        return step.mark(SKIP, f"tensorflow[and-cuda]=={build.version} brings its own cuDNN {build.cudnn} as a pip "
                               f"wheel (nvidia-cudnn-cuXX)")
    major = build.cudnn.split(".")[0]
    step.title = f"Install cuDNN {build.cudnn} for CUDA {build.cuda}"
    package = cudnn_package(ctx)
    step.commands = _cudnn_commands(ctx, major, package)
    have = ctx.fact("cudnn.version")
    if versions.major(have) == int(major) and versions.at_least(have, build.cudnn):
        return step.mark(DONE, f"cuDNN {have} is installed")
    pinned = (f"; pinned to the build for CUDA {package.cuda} ({package.version}) and held: the newest "
              f"libcudnn{major} is built for CUDA 12" if package else "")
    return step.mark(TODO, f"TensorFlow {build.version} loads the system cuDNN {major} (libcudnn.so.{major}); "
                           f"it was tested with {build.cudnn}{pinned}")


def cudnn_package(ctx: Context) -> CudnnPackage | None:
    """The exact cuDNN build of NVIDIA's apt repositories for the TensorFlow of the plan (cuDNN 7 and 8, which
    NVIDIA builds for several CUDA releases); None for cuDNN 9, the RHEL family or a pair the table lacks."""
    build = ctx.choices.tensorflow
    if build is None or ctx.distro.family != "debian":
        return None
    major = versions.major(build.cudnn)
    return cudnn_packages.package_for(major, build.cuda) if major is not None and major < 9 else None


def _cudnn_commands(ctx: Context, major: str, package: CudnnPackage | None) -> list[list[str]]:
    if package is not None:
        return [ctx.distro.install(*package.pins()), ["apt-mark", "hold", *package.names]]
    return [ctx.distro.install(*_cudnn_packages(ctx, major))]


def _cudnn_packages(ctx: Context, major: str) -> list[str]:
    if int(major) >= 9:
        cuda_major = (ctx.choices.toolkit or CudaVersion(12, 0)).major
        return [f"cudnn9-cuda-{cuda_major}"]
    dev = "devel" if ctx.distro.family == "rhel" else "dev"
    return [f"libcudnn{major}", f"libcudnn{major}-{dev}"]


def tensorflow_step(ctx: Context) -> Step:
    build = ctx.choices.tensorflow
    step = Step("tensorflow", "Install TensorFlow")
    flags = ctx.fact("cpu.flags")
    if flags is not None and "avx" not in flags:
        return step.mark(SKIP, "this CPU has no AVX: official TensorFlow wheels (1.6 and later) are built with AVX "
                               "and die with 'Illegal instruction' here; build one for this CPU with "
                               "`setupkit build-tf`")
    if build is None:
        return step.mark(SKIP, ctx.choices.tensorflow_reason)
    if ctx.managed_python_reason:
        return step.mark(SKIP, ctx.managed_python_reason)
    spec = tensorflow_requirement(build, ctx.gpu)
    step.title = f"Install TensorFlow {build.version} ({spec.split('==')[0]})"
    step.commands = [[ctx.python, "-m", "pip", "install", spec]]
    have, package = ctx.fact("tensorflow.version"), ctx.fact("tensorflow.package")
    gpu_capable = not (ctx.gpu and package in ("tensorflow-cpu", "tensorflow-intel"))
    problem = ctx.tensorflow_problem  # doctor's tensorflow.cuda-compat fails or warns: never done
    if versions.same_release(have, build.version) and gpu_capable and not problem:
        return step.mark(DONE, f"TensorFlow {have} ({package or 'tensorflow'}) is installed{ctx.tensorflow_note}")
    now = f"TensorFlow {have} ({package}) is installed" if have else "TensorFlow is not installed"
    if problem:
        now = f"{now} but {problem}"
    return step.mark(TODO, f"{now}; {_why_this_release(ctx, build)}")


def _why_this_release(ctx: Context, build: TensorFlowBuild) -> str:
    if not ctx.gpu:
        return f"{build.version} is the newest with a wheel for this Python"
    if not build.pip_brings_cuda:
        return f"{build.version} is the newest tested with CUDA {build.cuda} that this Python and driver run"
    floor = cuda.minor_compat_driver(build.cuda)
    return (f"{build.version} is the newest with a wheel for this Python; its CUDA {build.cuda} comes as pip wheels, "
            f"which run on any driver from {floor} on (CUDA {build.cuda.major} minor-version compatibility)")


def tensorflow_requirement(build: TensorFlowBuild, gpu: bool) -> str:
    """The pip requirement: tensorflow[and-cuda] from 2.14, tensorflow (2.1+) or tensorflow-gpu before; CPU
    hosts get tensorflow-cpu (2.1+), the CPU-only wheel."""
    return tensorflow_pick.requirement(build, gpu)


def verify_step(reboot_pending: bool) -> Step:
    step = Step("verify", "Verify with setupkit doctor", commands=[[sys.executable, "-m", "setupkit", "doctor"]],
                changes=False)
    if reboot_pending:
        return step.mark(SKIP, "a reboot comes first: after it, run setupkit doctor (or setupkit install again)")
    return step.mark(TODO, "doctor reads the host again and gives its verdicts")
