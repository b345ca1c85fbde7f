"""The TensorFlow already on the host, judged by the rule doctor's checks use (setupkit.knowledge.libraries): a
GPU plan never calls a TensorFlow done that cannot use the GPU, and never changes the version of one that works
unless asked (--upgrade-tensorflow)."""

from __future__ import annotations

from dataclasses import replace

from setupkit import versions
from setupkit.facts import Facts
from setupkit.install.choices import StackChoice, requested_cuda
from setupkit.install.options import PlanOptions
from setupkit.knowledge.libraries import InstalledLibraries, driver_runs, tensorflow_libraries
from setupkit.knowledge.tensorflow import TensorFlowBuild
from setupkit.versions import CudaVersion


def libraries(facts: Facts) -> InstalledLibraries | None:
    """How the installed TensorFlow's CUDA and cuDNN are provided here, from the facts doctor's
    tensorflow.cuda-compat check reads; None without a GPU TensorFlow the table knows."""
    return tensorflow_libraries(facts.get("tensorflow.version"), facts.get("tensorflow.package"),
                                system_cuda=facts.get("cuda.toolkit_version"),
                                pip_cuda=facts.get("cuda.pip_runtime_version"),
                                system_cudnn=facts.get("cudnn.version"), pip_cudnn=facts.get("cudnn.pip_version"))


def problem(facts: Facts) -> str | None:
    """What is wrong with the installed TensorFlow's CUDA and cuDNN where doctor's tensorflow.cuda-compat fails
    (a library it loads is missing) or warns (older minor releases than it was built with), or None."""
    found = libraries(facts)
    if found is None:
        return None
    if found.broken:
        return f"cannot use the GPU: {found.broken}"
    if not found.complete:
        return (f"finds older minor releases than the CUDA {found.build.cuda} and cuDNN {found.build.cudnn} it was "
                f"built with")
    return None


def working_build(facts: Facts, driver_cuda: CudaVersion | None, wanted: CudaVersion | None) -> TensorFlowBuild | None:
    """The installed TensorFlow as the build a GPU plan keeps, or None: its CUDA and cuDNN are in place in the
    major releases it loads, this Python is in its range, the driver the plan leaves (serving CUDA up to
    ``driver_cuda``; unknown when none is visible) runs its CUDA, and a system CUDA asked for (``wanted``) is one
    it loads."""
    found = libraries(facts)
    version = facts.get("tensorflow.version")
    if found is None or not isinstance(version, str) or not found.complete:
        return None
    if not found.build.runs_on(facts.get("python.version")):
        return None
    if driver_runs(found.build.cuda, driver_cuda) is False:
        return None
    if wanted and not found.build.pip_brings_cuda and not same_soname(found.build.cuda, wanted):
        return None
    return replace(found.build, version=version)


def same_soname(a: CudaVersion, b: CudaVersion) -> bool:
    """CUDA 11 and later keep one library soname per major version; before 11, each X.Y had its own."""
    return a == b or (a.major == b.major and a.major >= 11)


def keep_working_tensorflow(choices: StackChoice, facts: Facts, options: PlanOptions) -> str:
    """Make the installed TensorFlow the plan's where it works here, unless --upgrade-tensorflow: its release, and
    the system CUDA it loads (before tensorflow[and-cuda]). Returns what its step says of it ("" when the plan
    installs the TensorFlow it chose)."""
    if options.upgrade_tensorflow:
        return ""
    wanted = requested_cuda(options)
    kept = working_build(facts, choices.driver_cuda_max, wanted)
    if kept is None:
        return ""
    newest, choices.tensorflow = choices.tensorflow, kept
    if not kept.pip_brings_cuda:
        choices.toolkit = wanted or kept.cuda
    driver = f" on a driver serving CUDA up to {choices.driver_cuda_max}" if choices.driver_cuda_max else ""
    note = f": its CUDA {kept.cuda} and cuDNN {kept.cudnn} are in place{driver}, so it is kept"
    if newest is not None and not versions.same_release(newest.version, kept.version):
        note += f"; --upgrade-tensorflow installs {newest.version}"
    return note
