"""The PyTorch and JAX steps: each installs its framework's wheel in the variant framework_pick chose, with the CUDA
it brings as pip wheels (never a system toolkit), when ``--framework`` names it.

An installed framework that works here is kept (done) unless --upgrade-frameworks: one that doctor's
torch.cuda-compat, torch.gpu-arch or jax.cuda-compat fails on, or that cannot use the GPU of a GPU plan (a CPU
build, JAX without a CUDA plugin or with two), is replaced."""

from __future__ import annotations

from setupkit import versions
from setupkit.install.context import Context
from setupkit.install.framework_pick import CPU, DriverView, FrameworkPick
from setupkit.install.model import DONE, SKIP, TODO, Step
from setupkit.knowledge import cuda, framework_wheels, gpus
from setupkit.knowledge.gpus import Gpu
from setupkit.versions import CudaVersion

UPGRADE_OPTION = "--upgrade-frameworks"


def not_asked(framework: str, frameworks: tuple[str, ...]) -> str:
    """The reason of a framework's step that --framework does not name."""
    return (f"not asked for (--framework {' --framework '.join(frameworks)}): add --framework {framework} to "
            f"install it")


def _why_not(ctx: Context, framework: str, pick: FrameworkPick | str | None) -> str:
    """Why a framework's step is skipped ("" when it is not): not asked for, no pick (its reason), or a Python
    pip may not install into."""
    if pick is None:
        return not_asked(framework, ctx.options.frameworks)
    if isinstance(pick, str):
        return pick
    return ctx.managed_python_reason or ""


def torch_step(ctx: Context, pick: FrameworkPick | str | None, driver: DriverView, host_gpus: list[Gpu]) -> Step:
    step = Step("torch", "Install PyTorch")
    why_not = _why_not(ctx, "torch", pick)
    if why_not or not isinstance(pick, FrameworkPick):
        return step.mark(SKIP, why_not)
    step.title = f"Install PyTorch {pick.version} ({pick.variant})"
    have = ctx.fact("torch.version")
    flags = ["--force-reinstall"] if _same_public_release(have, pick) else []
    step.commands = [[ctx.python, "-m", "pip", "install", *flags, *pick.pip_arguments()]]
    problem = torch_problem(ctx, driver, host_gpus) if have else None
    if have and not problem and (not ctx.options.upgrade_frameworks or _torch_is(have, pick)):
        return step.mark(DONE, f"PyTorch {have} ({_torch_build(ctx)}) is installed and {_works(ctx)}"
                               f"{_upgrade_note(have, pick)}")
    now = f"PyTorch {have} ({_torch_build(ctx)}) is installed" if have else "PyTorch is not installed"
    if problem:
        now = f"{now} but {problem}"
    return step.mark(TODO, f"{now}; {pick.why}")


def _torch_build(ctx: Context) -> str:
    build, cuda = ctx.fact("torch.build"), ctx.fact("torch.cuda_version")
    return f"CUDA {cuda}" if build == "cuda" and cuda else str(build or "build unknown")


def _works(ctx: Context) -> str:
    return "works with this driver and GPU, so it is kept" if ctx.gpu else "runs on the CPU, so it is kept"


def _upgrade_note(have: str, pick: FrameworkPick) -> str:
    if versions.same_release(have.split("+")[0], pick.version):
        return ""
    return f"; {UPGRADE_OPTION} installs {pick.requirement}"


def _torch_is(have: str, pick: FrameworkPick) -> bool:
    """The installed PyTorch is the pick: the same release, and the same variant (PyPI's wheel has no tag)."""
    public, _, tag = have.partition("+")
    if not versions.same_release(public, pick.version):
        return False
    return tag == pick.variant or (not tag and pick.index_url is None)


def _same_public_release(have: object, pick: FrameworkPick) -> bool:
    """pip counts ``torch==2.14.1`` as met by an installed 2.14.1+cu126 (a local tag is ignored), so replacing it
    by PyPI's wheel of the same release takes --force-reinstall; a pin with a tag (2.14.1+cu126) is exact."""
    return (isinstance(have, str) and pick.index_url is None and "+" in have
            and versions.same_release(have.split("+")[0], pick.version))


def torch_problem(ctx: Context, driver: DriverView, host_gpus: list[Gpu]) -> str | None:
    """What keeps the installed PyTorch from the GPUs of a GPU plan, as doctor judges it (torch.cuda-compat
    fails or warns of a CPU build, torch.gpu-arch fails); None when nothing does, or on the CPU path."""
    if not ctx.gpu:
        return None
    build, built = ctx.fact("torch.build"), CudaVersion.parse(ctx.fact("torch.cuda_version"))
    if build != "cuda":
        return f"it is a {build or 'unknown'} build: torch.cuda.is_available() is False"
    if built is not None and not driver.runs(built):
        return (f"it is built for CUDA {built}, which {driver.phrase()} does not run (it needs driver "
                f"{_floor(built)} or newer)")
    gaps = framework_wheels.torch_gpu_gaps(ctx.fact("torch.version"), str(built) if built else None,
                                           [gpu.name for gpu in host_gpus],
                                           [_cc_text(gpu) for gpu in host_gpus])
    if gaps:
        return f"it has no kernels for {', '.join(gaps)} (\"no kernel image is available for execution on the device\")"
    return None


def _floor(release: CudaVersion) -> str | None:
    return cuda.minor_compat_driver(release)


def _cc_text(gpu: Gpu) -> str | None:
    return None if gpu.compute_capability is None else gpus.compute_capability_text(gpu.compute_capability)


# -- JAX ------------------------------------------------------------------------------------------------------------


def jax_step(ctx: Context, pick: FrameworkPick | str | None, driver: DriverView, host_gpus: list[Gpu]) -> Step:
    step = Step("jax", "Install JAX")
    why_not = _why_not(ctx, "jax", pick)
    if why_not or not isinstance(pick, FrameworkPick):
        return step.mark(SKIP, why_not)
    step.title = f"Install JAX {pick.version} ({'CPU' if pick.variant == CPU else f'jax[{pick.variant}]'})"
    installed = _plugins(ctx)
    others = [name for name in installed if name != _plugin_name(pick)]
    uninstall = [[ctx.python, "-m", "pip", "uninstall", "-y", *_with_pjrt(others)]] if others and ctx.gpu else []
    step.commands = uninstall + [[ctx.python, "-m", "pip", "install", *pick.pip_arguments()]]
    have = ctx.fact("jax.version")
    problem = jax_problem(ctx, driver, host_gpus) if have else None
    kept = not ctx.options.upgrade_frameworks or _jax_is(ctx, have, pick)
    if have and not problem and kept:
        plugin = f" with {', '.join(installed)}" if installed else ""
        return step.mark(DONE, f"JAX {have}{plugin} is installed and {_works(ctx)}{_upgrade_note(have, pick)}")
    now = f"JAX {have}{' with ' + ', '.join(installed) if installed else ''} is installed" if have \
        else "JAX is not installed"
    if problem:
        now = f"{now} but {problem}"
    return step.mark(TODO, f"{now}; {pick.why}")


def _plugins(ctx: Context) -> list[str]:
    plugins = ctx.fact("jax.cuda_plugin")
    return sorted(name for name in plugins if isinstance(name, str)) if isinstance(plugins, dict) else []


def _plugin_name(pick: FrameworkPick) -> str | None:
    plugin = framework_wheels.jax_plugin_for(pick.variant)
    return None if plugin is None else plugin.plugin


def _with_pjrt(plugins: list[str]) -> list[str]:
    """Each plugin with its PJRT wheel (jax-cuda12-plugin requires jax-cuda12-pjrt of its release, PyPI
    metadata): both register the cuda backend, so both go."""
    return [name for plugin in plugins for name in (plugin, plugin.replace("-plugin", "-pjrt"))]


def _jax_is(ctx: Context, have: object, pick: FrameworkPick) -> bool:
    if not isinstance(have, str) or not versions.same_release(have, pick.version):
        return False
    return pick.variant == CPU or _plugins(ctx) == [_plugin_name(pick)]


def jax_problem(ctx: Context, driver: DriverView, host_gpus: list[Gpu]) -> str | None:
    """What keeps the installed JAX from the GPUs of a GPU plan, as doctor's jax.cuda-compat judges it: no CUDA
    plugin, two of them, or one whose CUDA the driver does not run; None when nothing does, or on the CPU path."""
    if not ctx.gpu:
        return None
    installed = _plugins(ctx)
    if not installed:
        return "it has no CUDA plugin: it runs on the CPU only"
    if len(installed) > 1:
        return f"two CUDA plugins are installed ({', '.join(installed)}), and both register the cuda backend"
    plugin = next((row for row in framework_wheels.framework_wheels().jax_plugins if row.plugin == installed[0]), None)
    if plugin is None:
        return None
    release = CudaVersion.parse(ctx.fact("jax.cuda_version")) or CudaVersion(plugin.cuda_major, 0)
    if not driver.runs(release):
        return (f"its {plugin.plugin} runs CUDA {release}, which {driver.phrase()} does not run (it needs driver "
                f"{_floor(release)} or newer)")
    floor = plugin.min_compute_capability
    old = [gpu.label() for gpu in host_gpus if floor is not None and gpu.compute_capability is not None
           and gpu.compute_capability < floor]
    if old:
        return f"its {plugin.plugin} does not support {', '.join(old)}"
    return None


def mixed_cuda_warnings(ctx: Context, picks: list[FrameworkPick]) -> list[str]:
    """What a plan says when a framework it installs brings NVIDIA wheels of one CUDA major release into an
    environment that holds another's (doctor's python.cuda-wheels-mixed): pip removes none of them, and the cuDNN
    and NCCL wheels of both share one folder. The plan does not remove them, since another framework here may load
    them."""
    majors = framework_wheels.cuda_wheel_majors(ctx.fact("python.cuda_wheels")) or []
    warnings = []
    for pick in picks:
        if pick.cuda is None:
            continue
        others = [major for major in majors if major != pick.cuda.major]
        if others:
            warnings.append(f"{pick.requirement} brings NVIDIA's CUDA {pick.cuda.major} wheels into an environment "
                            f"that holds CUDA {', '.join(map(str, others))} ones (python.cuda_wheels): pip removes "
                            f"none, and cuDNN's and NCCL's wheels of both install into one folder; uninstall the "
                            f"nvidia-* wheels of CUDA {', '.join(map(str, others))} first if nothing else here needs "
                            f"them, or install into a new virtual environment")
    if not picks and len(majors) > 1:
        warnings.append(f"this environment holds NVIDIA wheels of CUDA {' and '.join(map(str, majors))} (doctor's "
                        f"python.cuda-wheels-mixed): the frameworks are kept as they work, but upgrading one can "
                        f"pull the other's libraries out from under it; {UPGRADE_OPTION} installs the newest of "
                        f"each, or give each CUDA release its own virtual environment")
    return warnings


NAMES = {"torch": "PyTorch", "jax": "JAX"}


def pip_readers(picks: list[FrameworkPick]) -> list[tuple[str, str]]:
    """(the wheels, the oldest pip that reads them) of each framework the plan installs, for the pip step: PyTorch's
    manylinux_2_28 wheels need pip 20.3 (PEP 600), which an older pip does not see ("No matching distribution")."""
    return [(f"{NAMES.get(pick.framework, pick.framework)} {pick.version}'s "
             f"{pick.platform.removesuffix('_x86_64')} wheels", pick.pip_floor)
            for pick in picks if pick.platform and pick.pip_floor]
