"""Which TensorFlow a plan installs, and the pip requirement that names it.

The newest tested release (tensorflow_builds.yaml) that this host can run, pinned to the newest patch release of
its minor that really has a wheel for this Python and glibc, and whose ``and-cuda`` extra resolves where the plan
asks for it (tensorflow_wheels.yaml, written from the package index). What "can run" means depends on where CUDA
comes from:

- ``tensorflow[and-cuda]`` (2.14 and later) brings CUDA as pip wheels; they run on any driver at or above their
  CUDA major release's minor-version compatibility floor (CUDA 12: 525.60.13; tensorflow/docs pip.md asks the same
  for the CUDA 12 wheels), so the driver's own CUDA version does not cap it, and NVIDIA's repositories for this
  distribution do not matter.
- Before 2.14 TensorFlow loads a system CUDA: its tested CUDA must be one the driver serves and NVIDIA published for
  this distribution, one that knows this GPU, and the one asked for (``--cuda-version``) where there is one.

Pure: facts and choices in, a build out.
"""

from __future__ import annotations

import dataclasses

from setupkit import versions
from setupkit.facts import Facts
from setupkit.knowledge import gpus, tensorflow_wheels
from setupkit.knowledge.framework_wheels import wheels_cuda_runs as pip_cuda_runs
from setupkit.knowledge.tensorflow import TensorFlowBuild, tensorflow_builds
from setupkit.knowledge.tensorflow_wheels import AND_CUDA, WheelRelease
from setupkit.versions import CudaVersion

UP_TO_DATE = ".999.999"
"""Appended to a planned branch: the branch as the package manager installs it, its newest point release."""


def driver_left(facts: Facts, keep_driver: bool, branch: int | None, wsl: bool) -> str | None:
    """The Linux driver version a plan leaves in place: the loaded one it keeps, or the branch it installs (up to
    date); None in WSL, whose driver is the Windows one (numbered differently), or where none is known."""
    if wsl:
        return None
    if keep_driver:
        return facts.get("driver.version")
    return None if branch is None else f"{branch}{UP_TO_DATE}"


def pick_tensorflow(facts: Facts, *, gpu: bool, driver: str | None = None, driver_cuda: CudaVersion | None = None,
                    ceiling: CudaVersion | None = None, cc: float | None = None,
                    system_cuda: CudaVersion | None = None) -> TensorFlowBuild | None:
    """The TensorFlow to install: a tested build whose ``version`` is the pinned release (2.15.1, not 2.15.0).

    ``driver``: the Linux driver version the plan leaves (``driver_left``); ``driver_cuda``: the CUDA it serves;
    ``ceiling``: the newest system CUDA this host may have (driver and distribution); ``system_cuda``: a CUDA
    release the user asked for. A CPU plan (``gpu`` false) needs none of them."""
    if python_2(facts.get("python.version")):
        return None
    for build in tensorflow_builds():
        if not build.runs_on(facts.get("python.version")):
            continue
        if gpu and not _cuda_fits(build, driver, driver_cuda, ceiling, cc, system_cuda):
            continue
        wheel = pinned_release(build, gpu, facts)
        if wheel is not None:
            return dataclasses.replace(build, version=wheel.version)
    return None


def python_2(python_version: object) -> bool:
    """Python 2, for which no plan installs TensorFlow: TensorFlow 2.1 was its last release (source.md lists 2.7
    for 2.1.0 and older, cp27 wheels stop at 2.1.x), their CUDA 10.x has no packages for today's distributions,
    and pip 21 and later no longer run on it."""
    pair = versions.major_minor_pair(python_version)
    return pair is not None and pair[0] < 3


def _cuda_fits(build: TensorFlowBuild, driver: str | None, driver_cuda: CudaVersion | None,
               ceiling: CudaVersion | None, cc: float | None, system_cuda: CudaVersion | None) -> bool:
    if build.pip_brings_cuda:
        return pip_cuda_runs(build.cuda, driver, driver_cuda)
    if ceiling and build.cuda > ceiling:
        return False
    first = gpus.first_cuda_for(cc)
    if first and build.cuda < first:
        return False
    return system_cuda is None or _same_soname(build.cuda, system_cuda)


def _same_soname(a: CudaVersion, b: CudaVersion) -> bool:
    """CUDA 11 and later keep one library soname per major version; before 11, each X.Y had its own."""
    return a == b or (a.major == b.major and a.major >= 11)


def wheel_project(build: TensorFlowBuild, gpu: bool) -> tuple[str, str | None]:
    """(the PyPI project, the extra) a plan installs this build from: tensorflow[and-cuda] from 2.14 on a GPU,
    tensorflow (2.1+) or tensorflow-gpu before; a CPU host gets tensorflow-cpu (2.1+), the CPU-only wheel."""
    if not gpu:
        return ("tensorflow-cpu" if build.gpu_in_main_package else "tensorflow"), None
    if build.pip_brings_cuda:
        return "tensorflow", AND_CUDA
    return ("tensorflow" if build.gpu_in_main_package else "tensorflow-gpu"), None


def requirement(build: TensorFlowBuild, gpu: bool) -> str:
    """The pip requirement: ``tensorflow[and-cuda]==2.21.0``, ``tensorflow-gpu==1.14.0`` ..."""
    project, extra = wheel_project(build, gpu)
    return f"{project}[{extra}]=={build.version}" if extra else f"{project}=={build.version}"


def pinned_release(build: TensorFlowBuild, gpu: bool, facts: Facts) -> WheelRelease | None:
    """The newest release of the build's minor that has a wheel for this Python and glibc (and an and-cuda extra
    that resolves, where the plan asks for it); None when none has, or this Python runs on musl (TensorFlow
    publishes manylinux wheels only)."""
    if facts.get("libc.family") == "musl":
        return None
    project, extra = wheel_project(build, gpu)
    return tensorflow_wheels.newest_release(project, build.version, facts.get("python.version"),
                                            facts.get("libc.version"), extra)


def wheel_of(build: TensorFlowBuild, gpu: bool) -> WheelRelease | None:
    """The wheel row of a picked build (its ``version`` is the pinned release)."""
    project, _ = wheel_project(build, gpu)
    return tensorflow_wheels.release(project, build.version)


def why_no_tensorflow(facts: Facts, *, gpu: bool, ceiling: CudaVersion | None = None) -> str:
    """Why ``pick_tensorflow`` found nothing, in one sentence for the plan."""
    python = facts.get("python.version")
    if not python:
        return "the Python version is unknown, so no TensorFlow release can be chosen"
    if python_2(python):
        return (f"Python {python} is Python 2, past its end of life: TensorFlow 2.1 was its last release and setupkit "
                f"plans none for it; install Python 3.10 to 3.13 and run setupkit install from it")
    builds = [build for build in tensorflow_builds() if build.runs_on(python)]
    if not builds:
        return (f"no TensorFlow release supports Python {python} (tested range: 3.3 to 3.13): install a supported "
                f"Python (3.10 to 3.13 for TensorFlow 2.21) and run setupkit install from it")
    if facts.get("libc.family") == "musl":
        return ("this Python runs on musl libc: TensorFlow publishes manylinux (glibc) wheels only, so pip finds "
                "none for it; use a glibc-based distribution or image (Debian, Ubuntu, the python:3.12-slim image)")
    glibc = facts.get("libc.version")
    if not any(_has_wheel(build, gpu, python) for build in builds):
        return f"no TensorFlow release tested with Python {python} has a Linux x86_64 wheel for it on PyPI"
    if glibc and not any(pinned_release(build, gpu, facts) for build in builds):
        return (f"every TensorFlow wheel for Python {python} needs a newer glibc than this host's {glibc}: upgrade "
                f"the distribution, or run TensorFlow in a container with a newer one")
    if ceiling is None:
        return f"no TensorFlow for Python {python} runs on this host's driver"
    return f"no TensorFlow for Python {python} was tested with CUDA {ceiling} or older (the most this host can run)"


def _has_wheel(build: TensorFlowBuild, gpu: bool, python: str) -> bool:
    project, _ = wheel_project(build, gpu)
    return any(row.has_wheel_for(python) for row in tensorflow_wheels.releases(project)
               if row.minor == versions.major_minor(build.version))
