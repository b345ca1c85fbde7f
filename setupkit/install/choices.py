"""The decisions a GPU plan rests on: which driver branch (or keep the one that works), open or proprietary
kernel modules, which CUDA toolkit, which TensorFlow. Pure functions of the facts and the options."""

from __future__ import annotations

from dataclasses import dataclass, field

from setupkit import versions
from setupkit.errors import PreconditionError, UsageError
from setupkit.facts import Facts
from setupkit.install.distro import Distro
from setupkit.install.gpus import oldest_compute_capability
from setupkit.install.options import PlanOptions, parse_cuda_version
from setupkit.install.runfile import runfile_cuda_version
from setupkit.knowledge import cuda, gpus
from setupkit.knowledge.tensorflow import TensorFlowBuild, tensorflow_builds
from setupkit.versions import CudaVersion

BLACKWELL_MIN_BRANCH = 570
"""The first driver branch that drives a Blackwell GPU (open kernel modules only)."""


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


def pick_tensorflow(python: str | None, ceiling: CudaVersion | None, cc: float | None,
                    system_cuda: CudaVersion | None = None) -> TensorFlowBuild | None:
    """The newest TensorFlow that runs on ``python`` and whose tested CUDA is within ``ceiling``. A build that
    needs a system CUDA must also know this GPU generation, and match ``system_cuda`` when one is imposed."""
    for build in tensorflow_builds():
        if not build.runs_on(python):
            continue
        if ceiling and build.cuda > ceiling:
            continue
        if not build.pip_brings_cuda and not _system_cuda_fits(build, cc, system_cuda):
            continue
        return build
    return None


def _system_cuda_fits(build: TensorFlowBuild, cc: float | None, system_cuda: CudaVersion | None) -> bool:
    first = gpus.first_cuda_for(cc)
    if first and build.cuda < first:
        return False
    return system_cuda is None or _same_soname(build.cuda, system_cuda)


def _same_soname(a: CudaVersion, b: CudaVersion) -> bool:
    """CUDA 11 and later keep one library soname per major version; before 11, each X.Y had its own."""
    return a == b or (a.major == b.major and a.major >= 11)


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
    python = facts.get("python.version")
    wanted = requested_cuda(options)
    _check_release_cap(distro, wanted)
    if wsl:
        choices.keep_driver = True
        choices.driver_cuda_max = current_cuda_max(facts)
    else:
        _choose_driver(choices, facts, distro, options, cc, wanted)
    ceiling = _lower(choices.driver_cuda_max, distro.cuda_max)
    _check_within(wanted, ceiling, choices)
    choices.tensorflow = pick_tensorflow(python, ceiling, cc, wanted)
    if choices.tensorflow is None:
        choices.tensorflow_reason = _why_no_tensorflow(python, ceiling)
    choices.toolkit = wanted or _default_toolkit(facts, choices, ceiling, cc)
    return choices


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


def _choose_driver(choices: StackChoice, facts: Facts, distro: Distro, options: PlanOptions, cc: float | None,
                   wanted: CudaVersion | None) -> None:
    current = versions.driver_branch(facts.get("driver.version")) if driver_works(facts) else None
    last = gpus.last_branch_for(cc)
    if options.driver_branch is not None:
        branch = _requested_branch(options.driver_branch)
        if last and branch > last:
            raise PreconditionError(f"driver branch {branch} no longer supports this GPU (compute capability {cc}); "
                                    f"its last branch is {last}", hint=f"pass --driver-branch {last}")
    elif current and _worth_keeping(facts, distro, cc, wanted):
        branch = current
    else:
        branch = min(distro.newest_branch, last or distro.newest_branch)
    choices.branch = branch
    choices.keep_driver = current == branch
    if choices.keep_driver:
        choices.driver_cuda_max = current_cuda_max(facts)
        choices.open_modules = bool(facts.get("driver.open_kernel_module"))
    else:
        choices.driver_cuda_max = cuda.cuda_max_for_branch(branch)
        choices.open_modules = _open_modules(branch, cc, choices.warnings)


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
    return pick_tensorflow(python, ceiling, cc) is not None


def _open_modules(branch: int, cc: float | None, warnings: list[str]) -> bool:
    modules = gpus.open_kernel_modules()
    if cc is None:
        if branch >= modules.default_from_branch:
            warnings.append("the GPU generation is unknown (no NVML yet, name not recognised): planning the "
                            "proprietary kernel modules, which serve Maxwell to Hopper; a Blackwell GPU needs the "
                            "open ones (nvidia-driver-<branch>-open)")
        return False
    if cc >= modules.required_from_compute_capability:
        if branch < BLACKWELL_MIN_BRANCH:
            raise PreconditionError(f"this Blackwell GPU needs driver branch {BLACKWELL_MIN_BRANCH} or newer with "
                                    f"open kernel modules; branch {branch} cannot drive it",
                                    hint="pass --driver-branch 580")
        return True
    return cc >= modules.min_compute_capability and branch >= modules.default_from_branch


def _why_no_tensorflow(python: str | None, ceiling: CudaVersion | None) -> str:
    if not python:
        return "the Python version is unknown, so no TensorFlow release can be chosen"
    if not any(build.runs_on(python) for build in tensorflow_builds()):
        return (f"no TensorFlow release supports Python {python} (tested range: 3.3 to 3.13): install a supported "
                f"Python (3.10 to 3.13 for TensorFlow 2.21) and run setupkit install from it")
    return f"no TensorFlow for Python {python} was tested with CUDA {ceiling} or older (the most this host can run)"


def _default_toolkit(facts: Facts, choices: StackChoice, ceiling: CudaVersion | None,
                     cc: float | None) -> CudaVersion | None:
    """TensorFlow's own CUDA when it needs a system one; else keep an installed toolkit the driver serves; else
    TensorFlow's tested CUDA (at least the oldest that knows this GPU), within the ceiling."""
    build = choices.tensorflow
    if build and not build.pip_brings_cuda:
        return build.cuda
    installed = CudaVersion.parse(facts.get("cuda.toolkit_version"))
    if installed and (ceiling is None or installed <= ceiling):
        return installed
    target = build.cuda if build else ceiling
    first = gpus.first_cuda_for(cc)
    if target and first and target < first:
        target = _lower(first, ceiling)
    return target
