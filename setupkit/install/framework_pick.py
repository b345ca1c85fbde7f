"""Which PyTorch and which JAX a plan installs, with the CUDA variant the host's driver runs, and the pip
requirement that names it.

Both frameworks bring their CUDA as pip wheels, so only the driver must run that CUDA (never a system toolkit):

- PyTorch: the newest release (framework_wheels.yaml) with a wheel for this Python and glibc, in the CUDA variant
  (cu126, cu130 ...) that has kernels for every GPU and that the driver runs. The driver runs a variant through
  minor-version compatibility from its CUDA major release's floor (CUDA 12: 525.60.13, CUDA 13: 580), and in full
  from the variant's own minimum driver; the newest variant it runs in full wins, else the newest it runs through
  minor-version compatibility (doctor's torch.cuda-compat warns of that, and fails where neither holds). A variant
  that is PyPI's default wheel of that release installs from PyPI; any other from PyTorch's index
  (https://download.pytorch.org/whl/cuXYZ), and the CPU path from https://download.pytorch.org/whl/cpu.
- JAX: the newest release with a wheel for this Python and glibc, with the CUDA extra (``jax[cuda13]``, else
  ``jax[cuda12]``) whose major release the driver runs and that supports every GPU (compute capability 7.5 or newer
  on CUDA 13, 5.2 on CUDA 12); plain ``jax`` on the CPU path.

Pure: facts in, a pick (or the sentence saying why there is none) out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from setupkit import versions
from setupkit.facts import Facts
from setupkit.knowledge import cuda, framework_wheels, gpus
from setupkit.knowledge.framework_wheels import FrameworkRelease, JaxPlugin, TorchVariant
from setupkit.knowledge.gpus import Gpu
from setupkit.versions import CudaVersion

CPU = "cpu"


@dataclass(frozen=True)
class FrameworkPick:
    """What a plan installs of one framework: the pinned release, its variant (cu126, cuda13, cpu), the pip
    requirement, the index it comes from (None: PyPI) and why this one."""

    framework: str
    version: str
    variant: str
    requirement: str
    index_url: str | None
    why: str
    cuda: CudaVersion | None = None
    platform: str | None = None
    """The platform tag of the release's Linux x86_64 wheels (manylinux_2_28_x86_64)."""
    pip_floor: str | None = None
    """The oldest pip that reads that tag (20.3 for PEP 600's manylinux_x_y): the pip step ensures it."""

    def pip_arguments(self) -> list[str]:
        """What follows ``python -m pip install``: the requirement, and PyTorch's index where it comes from there."""
        return [self.requirement] + (["--index-url", self.index_url] if self.index_url else [])

    def to_json(self) -> dict[str, str | None]:
        return {"version": self.version, "variant": self.variant, "requirement": self.requirement,
                "index_url": self.index_url, "cuda": None if self.cuda is None else str(self.cuda)}


@dataclass(frozen=True)
class DriverView:
    """The driver a GPU plan leaves, as far as it is known: its Linux version (None in WSL, or when none is
    visible) and the newest CUDA it serves (None when unknown)."""

    version: str | None
    cuda_max: CudaVersion | None

    def runs(self, release: CudaVersion) -> bool:
        """Runs CUDA ``release`` from pip wheels at all (minor-version compatibility); unknown: it may."""
        return framework_wheels.wheels_cuda_runs(release, self.version, self.cuda_max)

    def runs_in_full(self, release: CudaVersion) -> bool | None:
        """At or above ``release``'s own minimum driver (PTX compiled as it loads included); None: unknown."""
        return framework_wheels.wheels_cuda_runs_in_full(release, self.version, self.cuda_max)

    def phrase(self) -> str:
        if self.version:
            return f"driver {self.version.replace('.999.999', '')}" + (
                " (its newest point release)" if self.version.endswith(".999.999") else "")
        if self.cuda_max:
            return f"the driver (CUDA {self.cuda_max} at most)"
        return "the driver of the machine that runs it"


def _python_refusal(facts: Facts, project: str, releases: tuple[FrameworkRelease, ...]) -> str | None:
    """Why no release of ``project`` has a wheel for this Python and glibc, or None when one has."""
    python, glibc = facts.get("python.version"), facts.get("libc.version")
    if not python:
        return f"the Python version is unknown, so no {project} release can be chosen"
    if facts.get("libc.family") == "musl":
        return (f"this Python runs on musl libc: {project} publishes manylinux (glibc) wheels only; use a "
                f"glibc-based distribution or image")
    if any(release.has_wheel_for(python, glibc) for release in releases):
        return None
    if any(release.has_wheel_for(python) for release in releases):
        floor = min(releases, key=lambda release: versions.major_minor_pair(release.glibc) or (0, 0)).glibc
        return (f"{project}'s wheels for Python {python} need glibc {floor} or newer; this host has {glibc}: "
                f"upgrade the distribution, or use a container with a newer one")
    oldest = min(versions.major_minor_pair(release.python[0]) or (9, 9) for release in releases)
    newest = max(versions.major_minor_pair(release.python[1]) or (0, 0) for release in releases)
    return (f"no {project} release setupkit installs has a wheel for Python {python} (they cover "
            f"{oldest[0]}.{oldest[1]} to {newest[0]}.{newest[1]}): install a supported Python and run setupkit "
            f"install from it")


def _fitting(facts: Facts, releases: tuple[FrameworkRelease, ...]) -> list[FrameworkRelease]:
    return [release for release in releases
            if release.has_wheel_for(facts.get("python.version"), facts.get("libc.version"))]


def _compute_capabilities(host_gpus: list[Gpu]) -> list[float]:
    return [gpu.compute_capability for gpu in host_gpus if gpu.compute_capability is not None]


def _labels(host_gpus: list[Gpu]) -> str:
    return ", ".join(gpu.label() for gpu in host_gpus) or "no GPU visible here"


# -- PyTorch --------------------------------------------------------------------------------------------------------


def pick_torch(facts: Facts, *, gpu: bool, driver: DriverView, host_gpus: list[Gpu]) -> FrameworkPick | str:
    """The PyTorch to install, or why there is none."""
    return _with_wheels(_pick_torch(facts, gpu, driver, host_gpus), framework_wheels.torch_releases())


def _with_wheels(pick: FrameworkPick | str, releases: tuple[FrameworkRelease, ...]) -> FrameworkPick | str:
    """The pick with the platform tag of its release's wheels and the oldest pip that reads it."""
    release = next((row for row in releases if isinstance(pick, FrameworkPick) and row.version == pick.version), None)
    if release is None or not isinstance(pick, FrameworkPick):
        return pick
    return dataclasses.replace(pick, platform=release.platform, pip_floor=release.pip_floor())


def _pick_torch(facts: Facts, gpu: bool, driver: DriverView, host_gpus: list[Gpu]) -> FrameworkPick | str:
    refusal = _python_refusal(facts, "PyTorch", framework_wheels.torch_releases())
    if refusal:
        return refusal
    releases = _fitting(facts, framework_wheels.torch_releases())
    if not gpu:
        release = releases[0]
        return FrameworkPick("torch", release.version, CPU, f"torch=={release.version}+{CPU}",
                             framework_wheels.torch_index_url(CPU),
                             f"CPU path: PyTorch {release.version}'s CPU wheel from PyTorch's index (no CUDA "
                             f"libraries: PyPI's default wheel brings some 3 GB of them)")
    found = framework_wheels.choose_torch_release(releases, driver.version, driver.cuda_max,
                                                  _compute_capabilities(host_gpus))
    if found is None:
        return _no_torch_variant(releases[0].version, driver, host_gpus)
    release, variant = found
    pick = _torch_pick(release.version, variant, driver, host_gpus)
    if release is releases[0]:
        return pick
    newest = releases[0].version
    gaps = "; ".join(gap for row in framework_wheels.torch_variants_of(newest)
                     if (gap := _variant_gap(row, driver, host_gpus)))
    return dataclasses.replace(pick, why=f"{pick.why}; no variant of the newest, PyTorch {newest}, serves this "
                                         f"host ({gaps})")


def _torch_pick(version: str, row: TorchVariant, driver: DriverView, host_gpus: list[Gpu]) -> FrameworkPick:
    from_pypi = row.variant == framework_wheels.torch_pypi_variant(version)
    requirement = f"torch=={version}" if from_pypi else f"torch=={version}+{row.variant}"
    index = None if from_pypi else framework_wheels.torch_index_url(row.variant)
    full = driver.runs_in_full(row.cuda)
    where = "PyPI's default wheel is this variant" if from_pypi else f"from PyTorch's index {index}"
    if not host_gpus and full is None:
        why = (f"{row.variant} (CUDA {row.cuda}) is PyTorch {version}'s default variant: no GPU or driver is "
               f"visible here, and the machine that runs it needs driver {cuda.minor_compat_driver(row.cuda)} or "
               f"newer; {where}")
        return FrameworkPick("torch", version, row.variant, requirement, index, why, row.cuda)
    how = {True: "runs in full", False: "runs through minor-version compatibility only", None: "runs"}[full]
    why = (f"{row.variant} (CUDA {row.cuda}) is the variant of PyTorch {version} that {driver.phrase()} {how} and "
           f"that has kernels for every GPU ({_labels(host_gpus)}; built for {row.arch_list()}); {where}")
    passed = _passed_over(version, row, driver, host_gpus)
    if passed:
        why += f"; {passed}"
    return FrameworkPick("torch", version, row.variant, requirement, index, why, row.cuda)


def _variant_gap(row: TorchVariant, driver: DriverView, host_gpus: list[Gpu]) -> str | None:
    """Why ``row`` does not serve this host (no kernels for a GPU, a driver too old), None when it does."""
    gaps = [gpu.label() for gpu in host_gpus if gpu.compute_capability is not None
            and framework_wheels.kernel_for(row, gpu.compute_capability) is None]
    if gaps:
        return f"{row.variant} has no kernels for {', '.join(gaps)}"
    if not driver.runs(row.cuda):
        return f"{row.variant} needs driver {cuda.minor_compat_driver(row.cuda)} or newer"
    return None


def _passed_over(version: str, chosen: TorchVariant, driver: DriverView, host_gpus: list[Gpu]) -> str:
    """Why each newer variant of ``version`` was not taken, in one clause."""
    reasons = []
    for row in framework_wheels.torch_variants_of(version):
        if row.cuda <= chosen.cuda:
            continue
        gap = _variant_gap(row, driver, host_gpus)
        if gap:
            reasons.append(gap)
        elif driver.runs_in_full(row.cuda) is False:
            reasons.append(f"{row.variant} would run through minor-version compatibility only (CUDA {row.cuda} "
                           f"wants driver {cuda.min_driver_for_cuda(row.cuda)} or newer)")
    return "; ".join(reasons)


def _no_torch_variant(version: str, driver: DriverView, host_gpus: list[Gpu]) -> str:
    """Why no variant of PyTorch ``version`` serves this host, variant by variant, and what to do."""
    rows = framework_wheels.torch_variants_of(version)
    gaps = "; ".join(gap for row in rows if (gap := _variant_gap(row, driver, host_gpus)))
    unserved = [gpu.label() for gpu in host_gpus if gpu.compute_capability is not None
                and not any(framework_wheels.kernel_for(row, gpu.compute_capability) for row in rows)]
    fix = ("build PyTorch from source for this GPU, or install the CPU wheel without --gpu" if unserved else
           "upgrade the driver (--driver-branch)")
    return f"no CUDA variant of PyTorch {version} serves this host ({gaps}): {fix}"


# -- JAX ------------------------------------------------------------------------------------------------------------


def pick_jax(facts: Facts, *, gpu: bool, driver: DriverView, host_gpus: list[Gpu]) -> FrameworkPick | str:
    """The JAX to install, or why there is none."""
    return _with_wheels(_pick_jax(facts, gpu, driver, host_gpus), framework_wheels.jax_releases())


def _pick_jax(facts: Facts, gpu: bool, driver: DriverView, host_gpus: list[Gpu]) -> FrameworkPick | str:
    flags = facts.get("cpu.flags")
    if isinstance(flags, list) and "avx" not in flags:
        return ("this CPU has no AVX: jaxlib's x86_64 wheels are built with AVX and refuse to import (\"This version "
                "of jaxlib was built using AVX instructions, which your CPU and/or operating system do not "
                "support\")")
    refusal = _python_refusal(facts, "JAX", framework_wheels.jax_releases())
    if refusal:
        return refusal
    releases = _fitting(facts, framework_wheels.jax_releases())
    if not gpu:
        release = releases[0]
        return FrameworkPick("jax", release.version, CPU, f"jax=={release.version}", None,
                             f"CPU path: plain jax {release.version} (jaxlib's CPU wheel, no CUDA plugin)")
    for release in releases:
        for extra in sorted(release.extras, reverse=True):  # cuda13 before cuda12
            plugin = framework_wheels.jax_plugin_for(extra)
            if plugin is not None and not _jax_gap(plugin, driver, host_gpus):
                return _jax_pick(release, plugin, driver, host_gpus)
    return _no_jax_plugin(releases[0], driver, host_gpus)


def _jax_gap(plugin: JaxPlugin, driver: DriverView, host_gpus: list[Gpu]) -> str | None:
    """Why ``plugin`` does not serve this host, or None when it does."""
    release = CudaVersion(plugin.cuda_major, 0)
    if not driver.runs(release):
        return f"jax[{plugin.extra}] needs driver {cuda.minor_compat_driver(release)} or newer"
    floor = plugin.min_compute_capability
    old = [gpu.label() for gpu in host_gpus if floor is not None and gpu.compute_capability is not None
           and gpu.compute_capability < floor]
    if old:
        return (f"jax[{plugin.extra}] supports compute capability {gpus.compute_capability_text(floor or 0)} or "
                f"newer, not {', '.join(old)}")
    return None


def _jax_pick(release: FrameworkRelease, plugin: JaxPlugin, driver: DriverView,
              host_gpus: list[Gpu]) -> FrameworkPick:
    floor = cuda.minor_compat_driver(CudaVersion(plugin.cuda_major, 0))
    runs = (f"which {driver.phrase()} runs, for {_labels(host_gpus)}" if host_gpus else
            f"for the machine that runs it (no GPU is visible here): it needs driver {floor} or newer")
    why = (f"jax[{plugin.extra}] {release.version}: {plugin.plugin} with NVIDIA's CUDA {plugin.cuda_major} wheels, "
           f"{runs}")
    newer = [gap for extra in sorted(release.extras, reverse=True)
             if (other := framework_wheels.jax_plugin_for(extra)) is not None and other.cuda_major > plugin.cuda_major
             and (gap := _jax_gap(other, driver, host_gpus))]
    if newer:
        why += f"; {'; '.join(newer)}"
    return FrameworkPick("jax", release.version, plugin.extra, f"jax[{plugin.extra}]=={release.version}", None, why,
                         CudaVersion(plugin.cuda_major, 0))


def _no_jax_plugin(release: FrameworkRelease, driver: DriverView, host_gpus: list[Gpu]) -> str:
    gaps = [gap for extra in sorted(release.extras, reverse=True)
            if (plugin := framework_wheels.jax_plugin_for(extra)) is not None
            and (gap := _jax_gap(plugin, driver, host_gpus))]
    return f"no CUDA plugin of JAX {release.version} serves this host: {'; '.join(gaps)}"
