"""The decisions a GPU plan rests on: which driver branch (or keep the one that works), open or proprietary
kernel modules, which CUDA toolkit, which TensorFlow. Pure functions of the facts and the options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from setupkit import versions
from setupkit.errors import PreconditionError, UsageError
from setupkit.facts import Facts
from setupkit.install.distro import Distro
from setupkit.install.driver_life import end_of_life_warnings
from setupkit.install.gpus import GpuNeeds, gpu_needs, oldest_compute_capability
from setupkit.install.options import PlanOptions, parse_cuda_version
from setupkit.install.runfile import runfile_cuda_version
from setupkit.install.tensorflow_pick import driver_left, pick_tensorflow, why_no_tensorflow
from setupkit.knowledge import cuda, distributions, gpus
from setupkit.knowledge.libraries import gpu_code_gaps
from setupkit.knowledge.tensorflow import TensorFlowBuild, tensorflow_builds
from setupkit.versions import CudaVersion

_RUNFILE_RELEASE = re.compile(r"cuda_(\d{1,3}\.\d{1,3}\.\d{1,4})_", re.ASCII)


@dataclass
class StackChoice:
    """What a plan installs of the NVIDIA and TensorFlow stack, and why: the driver branch (or keeping the one
    that works), its kernel modules, the CUDA it serves, the CUDA toolkit and the TensorFlow release."""

    keep_driver: bool = False
    branch: int | None = None
    open_modules: bool = False
    driver_cuda_max: CudaVersion | None = None
    toolkit: CudaVersion | None = None
    tensorflow: TensorFlowBuild | None = None
    tensorflow_reason: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"keep_driver": self.keep_driver, "driver_branch": self.branch, "open_kernel_modules": self.open_modules,
                "driver_cuda_max": _text(self.driver_cuda_max), "cuda_toolkit": _text(self.toolkit),
                "tensorflow": self.tensorflow.version if self.tensorflow else None}


def _text(cuda_version: CudaVersion | None) -> str | None:
    return None if cuda_version is None else str(cuda_version)


def _lower(a: CudaVersion | None, b: CudaVersion | None) -> CudaVersion | None:
    return min((v for v in (a, b) if v is not None), default=None)


def driver_works(facts: Facts) -> bool:
    """The nvidia module is loaded and NVML talks to it (in WSL: NVML answers through the Windows driver)."""
    if facts.get("driver.nvml_error") or not facts.get("driver.version"):
        return False
    return bool(facts.get("driver.loaded") or facts.get("kernel.wsl"))


def current_cuda_max(facts: Facts) -> CudaVersion | None:
    """The newest CUDA the installed driver serves: as it says (NVML, nvidia-smi), else from its version."""
    said = CudaVersion.parse(facts.get("driver.cuda_max"))
    return said or cuda.supported_cuda_for_driver(facts.get("driver.version"))


def requested_cuda(options: PlanOptions) -> CudaVersion | None:
    """--cuda-version, or the version in the --cuda-runfile name; both given must agree, and name a CUDA release
    setupkit knows the driver of (else exit 2)."""
    given = options.cuda_version  # checked MAJOR.MINOR (PlanOptions)
    from_runfile = runfile_cuda_version(options.cuda_runfile) if options.cuda_runfile else None
    if from_runfile is not None:
        from_runfile = parse_cuda_version(from_runfile, option="the runfile's CUDA version")
    if from_runfile and given and given != from_runfile:
        raise UsageError(f"--cuda-version {given} disagrees with the runfile's CUDA {from_runfile}",
                         hint="give one of them")
    chosen = CudaVersion.parse(from_runfile or given)
    if chosen and cuda.min_driver_for_cuda(chosen) is None:
        known = cuda.known_cuda_releases()
        raise UsageError(f"CUDA {chosen} is not a release setupkit knows the driver of",
                         hint=f"give one NVIDIA released, {known[0]} to {known[-1]}")
    return chosen


def choose(facts: Facts, distro: Distro, options: PlanOptions, wsl: bool) -> StackChoice:
    """Every decision of a GPU plan; a PreconditionError (exit 3) when the request cannot be met here."""
    choices = StackChoice()
    cc = oldest_compute_capability(facts)
    needs = gpu_needs(facts)
    wanted = requested_cuda(options)
    _check_release_cap(distro, wanted)
    if wsl:
        choices.keep_driver = True
        choices.driver_cuda_max = current_cuda_max(facts)
    else:
        _choose_driver(choices, facts, distro, options, needs, wanted)
        choices.warnings += end_of_life_warnings(choices.branch, choices.keep_driver)
    ceiling = _lower(choices.driver_cuda_max, distro.cuda_max)
    _check_within(wanted, ceiling, choices)
    _check_builds(wanted, needs, ceiling, choices.warnings)
    choices.tensorflow = pick_tensorflow(facts, gpu=True, driver=driver_left(facts, choices.keep_driver,
                                         choices.branch, wsl), driver_cuda=choices.driver_cuda_max,
                                         ceiling=ceiling, cc=cc, system_cuda=wanted)
    if choices.tensorflow is None:
        choices.tensorflow_reason = why_no_tensorflow(facts, gpu=True, ceiling=ceiling)
    else:
        choices.warnings += gpu_code_warnings(choices.tensorflow, needs)
    choices.toolkit = wanted or _default_toolkit(facts, choices, ceiling, needs)
    choices.warnings += _update_driver_warnings(facts, options, choices, wsl)
    return choices


def gpu_code_warnings(build: TensorFlowBuild, needs: GpuNeeds) -> list[str]:
    """What a plan says when the TensorFlow it installs carries no code of a GPU's architecture (the RTX 5090 and
    the B200 under TensorFlow 2.18 to 2.21, built with CUDA 12.5 up to compute_90 PTX): it is the newest there is,
    so it is planned, but not as if it ran there."""
    gaps = gpu_code_gaps(build, needs.gpus)
    if not gaps:
        return []
    return [f"TensorFlow {build.version}'s wheels are built with CUDA {build.cuda} for {', '.join(build.gpu_code)} "
            f"and carry no code for this GPU's architecture ({'; '.join(gaps)}): the first start compiles the PTX "
            f"for many minutes, and on Blackwell users report CUDA_ERROR_INVALID_PTX and XLA's \"PTX version 8.5 "
            f"does not support target 'sm_120'\" (tensorflow/tensorflow#89272, #111958); no TensorFlow on PyPI "
            f"ships Blackwell code yet: build TensorFlow for this GPU (setupkit build-tf --cuda, CUDA 12.8 or newer) "
            f"or use NVIDIA's NGC TensorFlow container"]


def _update_driver_warnings(facts: Facts, options: PlanOptions, choices: StackChoice, wsl: bool) -> list[str]:
    """A CUDA runfile of an update whose minimum driver is above its release's (cuda_13.0.2: 580.95.05, where
    13.0 GA needs 580.65.06) on a driver the plan keeps below it: Table 3's row of the update, not of the GA."""
    if not options.cuda_runfile or not choices.keep_driver or wsl:
        return []
    update = _runfile_update(options.cuda_runfile)
    driver = facts.get("driver.version")
    need = cuda.min_driver_for_cuda(update) if update else None
    if need is None or driver is None or versions.at_least(driver, need):
        return []
    return [f"CUDA {update} (the runfile) names driver {need} or newer; the driver kept here is {driver}: its "
            f"programs run through minor-version compatibility only; update the driver within branch "
            f"{choices.branch} to {need} or newer"]


def _runfile_update(path: str) -> str | None:
    """ "13.0.2" from NVIDIA's runfile name cuda_13.0.2_580.95.05_linux.run; None when it names no X.Y.Z."""
    match = _RUNFILE_RELEASE.match(Path(path).name)
    return match.group(1) if match else None


def _check_release_cap(distro: Distro, wanted: CudaVersion | None) -> None:
    cap = distro.cuda_max
    if wanted and cap and wanted > cap:
        raise PreconditionError(f"NVIDIA published CUDA up to {cap} for {distro.pretty_name}; CUDA {wanted} does "
                                f"not exist for it", hint=f"pass --cuda-version {cap} (or older), or upgrade the OS")


def _check_within(wanted: CudaVersion | None, ceiling: CudaVersion | None, choices: StackChoice) -> None:
    if wanted and ceiling and wanted > ceiling:
        need = cuda.min_driver_for_cuda(wanted) or "a newer driver"
        raise PreconditionError(f"CUDA {wanted} needs driver {need} or newer; the planned driver (branch "
                                f"{choices.branch}) serves CUDA up to {ceiling}",
                                hint="pass --driver-branch with a newer branch or a lower --cuda-version")


def _check_builds(wanted: CudaVersion | None, needs: GpuNeeds, ceiling: CudaVersion | None,
                  warnings: list[str]) -> None:
    """A CUDA asked for (--cuda-version, a runfile) that dropped a GPU is refused: nothing it builds runs there.
    One that predates a GPU is warned of: it cannot compile for it, but PTX for an older architecture still runs."""
    if wanted is None:
        return
    dropped = needs.toolkit_gaps(wanted, dropped_only=True)
    if dropped:
        fitting = needs.newest_cuda(ceiling)
        first, last = needs.cuda_window
        hint = (f"pass --cuda-version {fitting}" if fitting else
                f"no CUDA release builds for these GPUs together (CUDA {first} or newer, before {last})")
        raise PreconditionError(f"CUDA {wanted} cannot build code for {'; '.join(dropped)}", hint=hint)
    early = needs.toolkit_gaps(wanted)
    if early:
        warnings.append(f"CUDA {wanted} predates a GPU ({'; '.join(early)}): nvcc cannot compile for its "
                        f"architecture, only PTX for an older one runs there")


def _choose_driver(choices: StackChoice, facts: Facts, distro: Distro, options: PlanOptions, needs: GpuNeeds,
                   wanted: CudaVersion | None) -> None:
    current = versions.driver_branch(facts.get("driver.version")) if driver_works(facts) else None
    last = needs.last_branch
    if options.driver_branch is not None:
        branch = _requested_branch(options.driver_branch)
        _refuse_unpublished_branch(branch, distro)
        if last and branch > last:
            limiting = needs.limiting(last)
            cc = gpus.compute_capability_text(limiting.compute_capability) \
                if limiting and limiting.compute_capability is not None else "unknown"
            raise PreconditionError(f"driver branch {branch} no longer supports this GPU (compute capability {cc}); "
                                    f"its last branch is {last}", hint=f"pass --driver-branch {last}")
    elif current and needs.served_by(current, facts.get("driver.open_kernel_module")) and \
            _worth_keeping(facts, distro, oldest_compute_capability(facts), wanted):
        branch = current
    else:
        branch = min(distro.newest_branch, last or distro.newest_branch)
    choices.branch = branch
    # The same branch in the wrong flavour (the proprietary module on a Blackwell GPU) is reinstalled, not kept.
    choices.keep_driver = current == branch and needs.served_by(branch, facts.get("driver.open_kernel_module"))
    if choices.keep_driver:
        choices.driver_cuda_max = current_cuda_max(facts)
        choices.open_modules = bool(facts.get("driver.open_kernel_module"))
    else:
        choices.driver_cuda_max = cuda.cuda_max_for_branch(branch)
        choices.open_modules = _open_modules(branch, needs, choices.warnings)


def _refuse_unpublished_branch(branch: int, distro: Distro) -> None:
    """An end-of-life release gets no newer driver packages: a branch past its last one would fail to install
    ("Unable to locate package nvidia-580" on Ubuntu 16.04), so it is refused before anything runs."""
    eol = distro.end_of_life
    if eol is not None and eol.branch is not None and branch > eol.branch:
        raise PreconditionError(f"driver branch {branch} was never published for {distro.pretty_name}: its last "
                                f"branch is {eol.branch} ({eol.source})",
                                hint=f"pass --driver-branch {eol.branch}, or upgrade the distribution")


def _requested_branch(branch: int) -> int:
    """--driver-branch (a three-digit branch, PlanOptions checked) that serves a CUDA release setupkit knows."""
    if cuda.cuda_max_for_branch(branch) is None:
        oldest = cuda.known_cuda_releases()[0]
        raise UsageError(f"driver branch {branch} serves no CUDA release setupkit knows (the oldest, CUDA {oldest}, "
                         f"needs driver {cuda.min_driver_for_cuda(oldest)})", hint="give a newer branch, e.g. 580")
    return branch


def _worth_keeping(facts: Facts, distro: Distro, cc: float | None, wanted: CudaVersion | None) -> bool:
    """A working driver stays unless the CUDA asked for, or every TensorFlow this Python can run, needs more."""
    ceiling = _lower(current_cuda_max(facts), distro.cuda_max)
    if wanted:
        return ceiling is not None and wanted <= ceiling
    python = facts.get("python.version")
    if not any(build.runs_on(python) for build in tensorflow_builds()):
        return True  # no TensorFlow to gain from a change: leave what works alone
    return pick_tensorflow(facts, gpu=True, driver=facts.get("driver.version"), driver_cuda=current_cuda_max(facts),
                           ceiling=ceiling, cc=cc) is not None


def _open_modules(branch: int, needs: GpuNeeds, warnings: list[str]) -> bool:
    """Open (True) or proprietary (False) kernel modules for ``branch``: the flavour the GPUs need, else the
    branch's default; a branch too old for a GPU, or GPUs that no one flavour drives, are refused."""
    modules = gpus.open_kernel_modules()
    open_only, proprietary_only = needs.open_only, needs.proprietary_only
    if open_only and proprietary_only:
        raise PreconditionError(f"no one driver drives these GPUs together: only the open kernel modules drive "
                                f"{open_only[0].label()}, only the proprietary ones {proprietary_only[0].label()}",
                                hint="put them in separate hosts")
    floor = needs.first_branch
    if floor and branch < floor:
        generation = needs.floor_generation
        raise PreconditionError(f"this {generation} GPU needs driver branch {floor} or newer with open kernel "
                                f"modules; branch {branch} cannot drive it",
                                hint=f"pass --driver-branch {max(floor, distributions.default_branch())}")
    if open_only:
        return True
    if not needs.known:
        if branch >= modules.default_from_branch and not proprietary_only:
            warnings.append("the GPU generation is unknown (no NVML yet, neither its PCI id nor its name recognised): "
                            "planning the proprietary kernel modules, which serve Maxwell to Hopper; a Blackwell GPU "
                            "needs the open ones (nvidia-driver-<branch>-open)")
        return False
    return needs.either_modules and branch >= modules.default_from_branch


def _default_toolkit(facts: Facts, choices: StackChoice, ceiling: CudaVersion | None,
                     needs: GpuNeeds) -> CudaVersion | None:
    """TensorFlow's own CUDA when it needs a system one; else keep an installed toolkit the driver serves and that
    builds for every GPU; else TensorFlow's tested CUDA within the ceiling, moved into the releases that build for
    every GPU (12.8 or newer for Blackwell, 12.x at most for Maxwell, Pascal and Volta)."""
    build = choices.tensorflow
    if build and not build.pip_brings_cuda:
        return build.cuda
    installed = CudaVersion.parse(facts.get("cuda.toolkit_version"))
    unfit = installed is not None and not needs.builds_with(installed)
    if installed and (ceiling is None or installed <= ceiling) and not unfit:
        return installed
    target = _lower(build.cuda, ceiling) if build else ceiling  # pip's CUDA may be newer than the driver's
    first, dropped = needs.cuda_window
    if target and first and target < first:
        target = _lower(first, ceiling)
    if target and dropped and target >= dropped:
        target = needs.newest_cuda(target)
    if installed and unfit:
        choices.warnings.append(f"the installed CUDA {installed} cannot build code for "
                                f"{'; '.join(needs.toolkit_gaps(installed))}; the toolkit this plan picks is CUDA "
                                f"{target or 'none'}")
    return target
