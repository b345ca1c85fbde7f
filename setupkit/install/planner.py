"""The planner: from doctor's facts and the options, the ordered steps of an install, each marked todo, done or
skip with its reason. Pure: it reads a facts dictionary and never touches the host."""

from __future__ import annotations

from setupkit.errors import PreconditionError, UsageError
from setupkit.facts import Facts
from setupkit.install import guard, installed, steps_host, steps_stack
from setupkit.install.choices import StackChoice, choose
from setupkit.install.context import Context
from setupkit.install.distro import Distro, distro_of
from setupkit.install.gpus import gpu_count
from setupkit.install.model import SKIP, TODO, Plan, Step
from setupkit.install.options import PlanOptions, shown

MISMATCH_ERRORS = ("NVMLError_LibRmVersionMismatch",)  # a tuple: testing a list-valued fact against it cannot raise

STEP_IDS = ("reboot", "pip", "kernel-headers", "nouveau", "cuda-repo", "display-stop", "driver", "secureboot-mok",
            "cuda-toolkit", "cudnn", "display-start", "tensorflow", "verify")
"""Every step a plan may hold, in plan order ("reboot" only leads a blocked plan): what --only and --skip name."""


def build_plan(facts: Facts, options: PlanOptions) -> Plan:
    """The plan for a host with these facts. Refuses (PreconditionError, exit 3) an unsupported distribution
    or an impossible request; every plan passes the never-a-driver-from-CUDA guard before it is returned."""
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
    plan = Plan(steps=_steps(ctx), path="gpu" if gpu else "cpu", distro=_distro_json(distro),
                choices=choices.to_json(), warnings=warnings + choices.warnings)
    _note_tensorflow(plan)
    blocker = reboot_blocker(facts)
    if blocker:
        _block(plan, blocker)
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


def _steps(ctx: Context) -> list[Step]:
    driver = steps_host.driver_step(ctx)
    tensorflow = steps_stack.tensorflow_step(ctx)  # the toolkit and cuDNN serve the TensorFlow it installs
    toolkit, cudnn = steps_stack.toolkit_step(ctx, tensorflow), steps_stack.cudnn_step(ctx, tensorflow)
    stop, start = steps_host.display_steps(ctx, driver)
    repo_users = [toolkit] if not ctx.options.cuda_runfile else []
    repo_users += [cudnn] + ([driver] if not ctx.distro.is_ubuntu else [])
    steps = [steps_host.pip_step(ctx), steps_host.headers_step(ctx, driver), steps_host.nouveau_step(ctx, driver),
             steps_stack.repo_step(ctx, repo_users), stop, driver, steps_host.secureboot_step(ctx, driver),
             toolkit, cudnn, start, tensorflow]
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
        if name not in STEP_IDS:
            raise UsageError(f"unknown step {shown(name)} (in {option}): the steps are {', '.join(STEP_IDS)}")
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
