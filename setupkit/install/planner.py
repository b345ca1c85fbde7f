"""The planner: from doctor's facts and the options, the ordered steps of an install, each marked todo, done or
skip with its reason. Pure: it reads a facts dictionary and never touches the host."""

from __future__ import annotations

from typing import Any

from setupkit.errors import PreconditionError, UsageError
from setupkit.facts import Facts
from setupkit.install import guard, installed, steps_frameworks, steps_host, steps_stack
from setupkit.install.choices import StackChoice, choose
from setupkit.install.context import Context
from setupkit.install.distro import Distro, distro_of
from setupkit.install.framework_pick import DriverView, FrameworkPick, pick_jax, pick_torch
from setupkit.install.gpus import gpu_count, host_gpus
from setupkit.install.mirrors import apply_mirrors
from setupkit.install.model import SKIP, TODO, Plan, Step
from setupkit.install.options import PlanOptions, shown
from setupkit.install.tensorflow_pick import driver_left

MISMATCH_ERRORS = ("NVMLError_LibRmVersionMismatch",)  # a tuple: testing a list-valued fact against it cannot raise

STEP_IDS = ("reboot", "pip", "kernel-headers", "nouveau", "cuda-repo", "display-stop", "driver", "secureboot-mok",
            "cuda-toolkit", "cudnn", "display-start", "tensorflow", "verify")
"""Every step of the TensorFlow stack, in plan order ("reboot" only leads a blocked plan). Every plan holds them
(the tensorflow step skipped where --framework does not name TensorFlow)."""
FRAMEWORK_STEP_IDS = ("torch", "jax")
"""The steps of the other frameworks, only in a plan whose --framework names them: after the tensorflow step (the
system CUDA and cuDNN before it serve TensorFlow alone; PyTorch and JAX bring their CUDA as pip wheels) and
before verify. A plan of TensorFlow alone is so what it always was."""
ALL_STEP_IDS = (*STEP_IDS[:-1], *FRAMEWORK_STEP_IDS, STEP_IDS[-1])
"""Every step any plan may hold, in plan order: what --only and --skip name."""


def build_plan(facts: Facts, options: PlanOptions) -> Plan:
    """The plan for a host with these facts. Refuses (PreconditionError, exit 3) an unsupported distribution
    or an impossible request; its downloads come from the mirrors the options name; every plan passes the
    never-a-driver-from-CUDA guard before it is returned."""
    distro = distro_of(facts)
    wsl = bool(facts.get("kernel.wsl"))
    container = container_kind(facts)
    visible = gpu_count(facts) > 0
    warnings = _distro_warnings(distro) + _pending_reboot_warning(facts) + _option_warnings(options)
    gpu = options.gpu
    if gpu:
        warnings += _user_space_warnings(container, visible, options)
    # In WSL, in a container, or with no GPU to see, the driver is another system's: the choices keep it.
    choices = choose(facts, distro, options, wsl or bool(container) or not visible) if gpu else _cpu_choices(facts)
    note = installed.keep_working_tensorflow(choices, facts, options) if gpu else ""
    ctx = Context(facts, distro, options, gpu, wsl, choices, container=container, gpu_visible=visible,
                  tensorflow_note=note)
    driver = DriverView(driver_left(facts, choices.keep_driver, choices.branch, wsl) if gpu else None,
                        choices.driver_cuda_max if gpu else None)
    picks = _framework_picks(facts, options, gpu, driver)
    plan = Plan(steps=_steps(ctx, picks, driver), path="gpu" if gpu else "cpu", distro=_distro_json(distro),
                choices=_choices_json(choices, picks), warnings=warnings + _stack_warnings(choices, options))
    plan.warnings += steps_frameworks.mixed_cuda_warnings(ctx, [pick for step_id, pick in picks.items()
                                                                if isinstance(pick, FrameworkPick)
                                                                and any(s.id == step_id and s.status == TODO
                                                                        for s in plan.steps)])
    _note_tensorflow(plan)
    blocker = reboot_blocker(facts)
    if blocker:
        _block(plan, blocker)
    apply_mirrors(plan, options.cuda_repo_mirror, options.pip_index_url)
    guard.check_plan(plan)
    return plan


def container_kind(facts: Facts) -> str | None:
    """The kind of container the facts say this runs in (host.container), None outside one or when unknown."""
    kind = facts.get("host.container")
    return kind if isinstance(kind, str) and kind != "none" else None


def _user_space_warnings(container: str | None, visible: bool, options: PlanOptions) -> list[str]:
    """What a GPU plan says when the driver is not this system's to install: --gpu is the person's word, so the
    user-space GPU stack is planned all the same."""
    warnings = []
    if container:
        warnings.append(f"inside a {container} container: only the user-space GPU stack is planned; the NVIDIA "
                        f"kernel driver, nouveau, kernel headers and the display manager belong to the host, whose "
                        f"driver reaches this container through the NVIDIA Container Toolkit")
    if not visible:
        warnings.append("no NVIDIA GPU is visible (a container build, or a machine without one): --gpu plans the "
                        "user-space GPU stack only (TensorFlow with its CUDA wheels, the CUDA toolkit when asked "
                        "for), never a driver; the machine that runs it needs the NVIDIA driver (and, for a "
                        "container, the NVIDIA Container Toolkit)")
    if options.driver_branch is not None and (container or not visible):
        warnings.append(f"--driver-branch {options.driver_branch} is ignored: no driver is installed here")
    return warnings


def _cpu_choices(facts: Facts) -> StackChoice:
    from setupkit.install.tensorflow_pick import pick_tensorflow, why_no_tensorflow

    choices = StackChoice()
    choices.tensorflow = pick_tensorflow(facts, gpu=False)
    if choices.tensorflow is None:
        choices.tensorflow_reason = why_no_tensorflow(facts, gpu=False)
    return choices


Picks = dict[str, FrameworkPick | str | None]
"""PyTorch's and JAX's picks: what a plan installs, why there is none (a sentence), None when not asked for."""


def _framework_picks(facts: Facts, options: PlanOptions, gpu: bool, driver: DriverView) -> Picks:
    gpus = host_gpus(facts) if gpu else []
    return {name: pick(facts, gpu=gpu, driver=driver, host_gpus=gpus) if name in options.frameworks else None
            for name, pick in (("torch", pick_torch), ("jax", pick_jax))}


def _choices_json(choices: StackChoice, picks: Picks) -> dict[str, Any]:
    """The choices of the stack, and of each framework asked for beyond TensorFlow (its pick, or null when there
    is none): a plan of TensorFlow alone says what it always said."""
    found = choices.to_json()
    for name, pick in picks.items():
        if pick is not None:
            found[name] = pick.to_json() if isinstance(pick, FrameworkPick) else None
    return found


def _stack_warnings(choices: StackChoice, options: PlanOptions) -> list[str]:
    """The choices' warnings; those about TensorFlow's own wheels only where TensorFlow is asked for."""
    if "tensorflow" in options.frameworks:
        return list(choices.warnings)
    return [text for text in choices.warnings if not text.startswith("TensorFlow ")]


def _steps(ctx: Context, picks: Picks, framework_driver: DriverView) -> list[Step]:
    driver = steps_host.driver_step(ctx)
    tensorflow = steps_stack.tensorflow_step(ctx)  # the toolkit and cuDNN serve the TensorFlow it installs
    if "tensorflow" not in ctx.options.frameworks:
        tensorflow.mark(SKIP, steps_frameworks.not_asked("tensorflow", ctx.options.frameworks))
    toolkit, cudnn = steps_stack.toolkit_step(ctx, tensorflow), steps_stack.cudnn_step(ctx, tensorflow)
    stop, start = steps_host.display_steps(ctx, driver)
    repo_users = [toolkit] if not ctx.options.cuda_runfile else []
    repo_users += [cudnn] + ([driver] if not ctx.distro.is_ubuntu else [])
    gpus = host_gpus(ctx.facts) if ctx.gpu else []
    asked = [pick for pick in picks.values() if isinstance(pick, FrameworkPick)]
    pip = steps_host.pip_step(ctx, steps_frameworks.pip_readers(asked))  # a pip that reads every wheel asked for
    steps = [pip, steps_host.headers_step(ctx, driver), steps_host.nouveau_step(ctx, driver),
             steps_stack.repo_step(ctx, repo_users), stop, driver, steps_host.secureboot_step(ctx, driver),
             toolkit, cudnn, start, tensorflow]
    if picks["torch"] is not None:
        steps.append(steps_frameworks.torch_step(ctx, picks["torch"], framework_driver, gpus))
    if picks["jax"] is not None:
        steps.append(steps_frameworks.jax_step(ctx, picks["jax"], framework_driver, gpus))
    reboot_pending = any(s.reboot and s.status == TODO for s in steps)
    return steps + [steps_stack.verify_step(reboot_pending)]


def reboot_blocker(facts: Facts) -> str | None:
    """Why nothing may run before a reboot: the loaded kernel module and the driver's libraries disagree."""
    if facts.get("driver.nvml_error") in MISMATCH_ERRORS:
        return ("reboot first: the loaded nvidia kernel module and the driver libraries disagree (NVML: "
                "Driver/library version mismatch; the driver was upgraded without a reboot)")
    module, userspace = facts.get("driver.version"), facts.get("driver.userspace_version")
    if facts.get("reboot.required") and facts.get("driver.loaded") and module and userspace and module != userspace:
        return (f"reboot first: the loaded nvidia kernel module is {module} but the driver libraries are "
                f"{userspace} (upgraded without a reboot)")
    return None


def _pending_reboot_warning(facts: Facts) -> list[str]:
    if facts.get("reboot.required") and not reboot_blocker(facts):
        return ["a reboot is pending (/var/run/reboot-required): the driver module is built for the running kernel "
                f"{facts.get('kernel.release')}; DKMS rebuilds it for a new kernel at the reboot this plan ends with"]
    return []


def _block(plan: Plan, blocker: str) -> None:
    for step in plan.steps:
        step.mark(SKIP, blocker)
    plan.steps.insert(0, Step("reboot", "Reboot, then run setupkit install again", reason=blocker, reboot=True))
    plan.blocked = blocker


def _option_warnings(options: PlanOptions) -> list[str]:
    ignored = [flag for flag, given in (("--toolkit-path", options.toolkit_path), ("--override", options.override))
               if given and not options.cuda_runfile]
    if not ignored:
        return []
    return [f"{' and '.join(ignored)} only apply to --cuda-runfile: NVIDIA's packages install to /usr/local/cuda-X.Y"]


def _distro_warnings(distro: Distro) -> list[str]:
    eol = distro.end_of_life
    if eol is None:
        return []
    limit = f"; the plan stays within CUDA {eol.cuda_max}" if eol.cuda_max else ""
    return [f"{distro.pretty_name} is end-of-life ({eol.source}){limit}: no security updates, plan an OS upgrade"]


def _note_tensorflow(plan: Plan) -> None:
    step = plan.step("tensorflow")
    if step.status == SKIP and "build-tf" in step.reason:
        plan.warnings.append("official TensorFlow wheels cannot run on this CPU (no AVX): use `setupkit build-tf`")
    if step.status == SKIP and "PEP 668" in step.reason:
        plan.warnings.append("pip and TensorFlow are left out: this Python is the distribution's own (PEP 668); "
                             "run setupkit from a virtual environment to include them")


def _distro_json(distro: Distro) -> dict[str, str]:
    return {"family": distro.family, "id": distro.id, "version": distro.version, "name": distro.pretty_name,
            "package_manager": distro.package_manager}


def check_step_names(names: list[str], option: str) -> list[str]:
    """--only / --skip values that name steps a plan can have; exit 2 naming the first that does not."""
    for name in names:
        if name not in ALL_STEP_IDS:
            raise UsageError(f"unknown step {shown(name)} (in {option}): the steps are {', '.join(ALL_STEP_IDS)}")
    return names


def select_steps(plan: Plan, only: list[str], skip: list[str]) -> Plan:
    """Apply --only / --skip: the steps left out become skip, with that reason. Unknown ids, or a step named by
    both: exit 2. A step named by --only is never skipped without a word: one the plan skips here is exit 3 with
    the plan's reason (one already done stays done)."""
    known = {s.id for s in plan.steps}
    unknown = sorted(set(only + skip) - known)
    if unknown:
        raise UsageError(f"unknown step {', '.join(unknown)}: the steps are {', '.join(s.id for s in plan.steps)}")
    both = [step_id for step_id in only if step_id in skip]
    if both:
        raise UsageError(f"step {both[0]} is named by both --only and --skip", hint="name it in one of them")
    for step_id in only:
        named = plan.step(step_id)
        if named.status == SKIP:
            raise PreconditionError(f"--only {step_id}: the step cannot run here: {named.reason}",
                                    hint="`setupkit install --dry-run` with the same options shows every step "
                                         "and why")
    for step in plan.steps:
        if step.status == TODO and ((only and step.id not in only) or step.id in skip):
            step.mark(SKIP, "left out by --skip" if step.id in skip else "not named by --only")
    return plan
