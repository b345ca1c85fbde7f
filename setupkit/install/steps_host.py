"""Steps that prepare the host: pip, kernel headers, nouveau, the display manager, the driver, Secure Boot. All
but pip are the kernel side of the stack: never planned in WSL or a container, where the driver is another
system's, nor where no GPU is visible (Context.host_side_reason)."""

from __future__ import annotations

from setupkit import versions
from setupkit.install import rhel, tensorflow_pick
from setupkit.install.context import Context
from setupkit.install.model import DONE, SKIP, TODO, FileWrite, Step
from setupkit.knowledge.tensorflow import pip_minimum

NOUVEAU_CONF = "/etc/modprobe.d/blacklist-nouveau.conf"
NOUVEAU_CONTENT = "blacklist nouveau\noptions nouveau modeset=0\n"  # install.md section 4, NVIDIA's guide


# The last pip for each old Python: pip before 9 ignores Requires-Python and would install a pip that cannot
# run there (pip's release history: 19.1.1 for 3.4, 20.3.4 for 3.5, 21.3.1 for 3.6, 24.0 for 3.7).
_LAST_PIP = {(3, 4): "19.1.1", (3, 5): "20.3.4", (3, 6): "21.3.1", (3, 7): "24.0"}


def pip_requirement(python_version: str | None, floor: str | None = None) -> tuple[str, str]:
    """(the pip requirement to install, the minimum that counts as done) for this Python. ``floor``: the oldest
    pip that reads the platform tags of the TensorFlow wheel the plan installs (pip 20.3 for manylinux_2_27);
    without one, the oldest that reads the manylinux2014 wheels TensorFlow ships."""
    last = _LAST_PIP.get(versions.major_minor_pair(python_version) or (0, 0))
    minimum = floor or pip_minimum()
    if last is None:
        return "pip", minimum
    needed = minimum if versions.at_least(last, minimum) else last
    return f"pip<={last}", needed


def pip_step(ctx: Context, others: list[tuple[str, str]] | None = None) -> Step:
    """``others``: (the wheels, the oldest pip that reads them) of the other frameworks the plan installs; the
    pip it ensures reads the wheels of every framework asked for."""
    have = ctx.fact("pip.version")
    build = ctx.choices.tensorflow
    wheel = tensorflow_pick.wheel_of(build, ctx.gpu) if build else None
    tensorflow = (f"TensorFlow {wheel.version}'s {wheel.platform_kinds} wheels" if wheel
                  else "TensorFlow's manylinux wheels", (wheel.pip_floor if wheel else None) or pip_minimum())
    wheels, floor = _most_demanding(ctx, tensorflow, others or [])
    requirement, needed = pip_requirement(ctx.fact("python.version"), floor)
    upgrade = [ctx.python, "-m", "pip", "install", "--upgrade", requirement]
    step = Step("pip", "Upgrade pip", commands=[upgrade])
    if ctx.managed_python_reason:
        return step.mark(SKIP, ctx.managed_python_reason)
    if have is None:
        step.commands = [ctx.distro.install("python3-pip"), upgrade]
        return step.mark(TODO, "pip is missing: install python3-pip, then upgrade it")
    if versions.at_least(have, needed):
        return step.mark(DONE, f"pip {have} reads {wheels} (needs {needed} or newer)")
    return step.mark(TODO, f"pip {have} is too old for {wheels} (needs {needed} or newer): 'No matching "
                           f"distribution found' otherwise")


def _most_demanding(ctx: Context, tensorflow: tuple[str, str],
                    others: list[tuple[str, str]]) -> tuple[str, str]:
    """(the wheels that need the newest pip, that pip) of TensorFlow's (where asked for, or where nothing else is)
    and ``others``; the first named wins a tie."""
    readers = ([tensorflow] if "tensorflow" in ctx.options.frameworks or not others else []) + others
    most = readers[0]
    for reader in readers[1:]:
        if not versions.at_least(most[1], reader[1]):
            most = reader
    return most


def driver_step(ctx: Context) -> Step:
    step = Step("driver", "Install the NVIDIA driver (distribution packages)", reboot=True)
    why_not = ctx.host_side_reason
    if why_not:
        return step.mark(SKIP, why_not)
    choices = ctx.choices
    assert choices.branch is not None, "a GPU plan always chooses a driver branch"
    step.commands = _driver_commands(ctx, choices.branch, choices.open_modules)
    if choices.keep_driver:
        return step.mark(DONE, f"driver {ctx.fact('driver.version')} is loaded and serves CUDA up to "
                               f"{choices.driver_cuda_max}")
    modules = "open" if choices.open_modules else "proprietary"
    return step.mark(TODO, f"{_driver_now(ctx)}: install branch {choices.branch} with the {modules} kernel modules "
                           f"(serves CUDA up to {choices.driver_cuda_max})")


def _driver_now(ctx: Context) -> str:
    if not ctx.fact("driver.loaded"):
        return "no NVIDIA driver is loaded"
    if ctx.fact("driver.nvml_error") or not ctx.fact("driver.version"):
        return f"the loaded driver does not answer ({ctx.fact('driver.nvml_error') or 'no version'})"
    return f"driver {ctx.fact('driver.version')} is too old for the CUDA this plan needs"


def _driver_commands(ctx: Context, branch: int, open_modules: bool) -> list[list[str]]:
    distro = ctx.distro
    if distro.family == "rhel":
        return rhel.driver_commands(distro, branch, open_modules, desktop=bool(ctx.fact("display.manager")))
    if not distro.is_ubuntu:  # Debian: NVIDIA's repository, pinned to the branch (install.md section 3)
        kernel = "nvidia-kernel-open-dkms" if open_modules else "nvidia-kernel-dkms"
        return [distro.install(f"nvidia-driver-pinning-{branch}"), distro.install("nvidia-driver", kernel)]
    if not versions.at_least(distro.version, "18.04"):
        # Before 18.04 the packages were named nvidia-<branch> (nvidia-352 on 14.04) and newer branches came
        # from the graphics-drivers PPA. add-apt-repository comes with software-properties-common, which minimal
        # and container images lack; apt-get update first, so that a fresh system's empty lists can find it.
        return [["apt-get", "update"], distro.install("software-properties-common"),
                ["add-apt-repository", "-y", "ppa:graphics-drivers/ppa"], ["apt-get", "update"],
                distro.install(f"nvidia-{branch}")]
    return [distro.install(f"nvidia-driver-{branch}{'-open' if open_modules else ''}")]


def headers_step(ctx: Context, driver: Step) -> Step:
    release = ctx.fact("kernel.release")
    step = Step("kernel-headers", f"Install the kernel headers for {release or 'the running kernel'}")
    why_not = ctx.host_side_reason
    if why_not:
        return step.mark(SKIP, why_not)
    step.commands = _headers_commands(ctx, release)
    if ctx.fact("kernel.headers_installed"):
        return step.mark(DONE, f"headers for {release} are installed (/lib/modules/{release}/build)")
    if driver.status != TODO:
        return step.mark(SKIP, "the driver is not being installed: no kernel module to build")
    why = "DKMS builds the driver's kernel module against these headers"
    if ctx.distro.family == "rhel":
        why = rhel.headers_reason(ctx.distro, release, why)
    return step.mark(TODO, why)


def _headers_commands(ctx: Context, release: str | None) -> list[list[str]]:
    if ctx.distro.family == "rhel":
        return rhel.headers_commands(ctx.distro, release)
    if release is None:
        return [["apt-get", "update"], ["sh", "-c", "apt-get install -y linux-headers-$(uname -r)"]]
    return [["apt-get", "update"], ctx.distro.install(f"linux-headers-{release}")]


def nouveau_step(ctx: Context, driver: Step) -> Step:
    initramfs = ["dracut", "--force"] if ctx.distro.family == "rhel" else ["update-initramfs", "-u"]
    step = Step("nouveau", "Blacklist the nouveau driver", commands=[initramfs],
                files=[FileWrite(NOUVEAU_CONF, NOUVEAU_CONTENT)], reboot=True)
    why_not = ctx.host_side_reason
    if why_not:
        return step.mark(SKIP, why_not)
    loaded, blacklisted = ctx.fact("nouveau.loaded"), ctx.fact("nouveau.blacklisted")
    if blacklisted and not loaded:
        return step.mark(DONE, "nouveau is blacklisted and not loaded")
    if loaded:
        return step.mark(TODO, "nouveau is loaded: it holds the GPU and the NVIDIA module cannot load beside it "
                               "(blacklist it, rebuild the initramfs, reboot)")
    if driver.status == TODO:
        return step.mark(TODO, "nouveau is not blacklisted: it would take the GPU at the next boot")
    return step.mark(SKIP, "nouveau is not loaded and the NVIDIA driver is in place")


def display_commands(init: str | None, manager: str, action: str) -> list[str]:
    """Stop or start a display manager the way this init does it (install.md section 4)."""
    if init == "upstart":
        return [action, manager]
    if init == "systemd":
        return ["systemctl", action, manager]
    return ["service", manager, action]


def display_steps(ctx: Context, driver: Step) -> tuple[Step, Step]:
    manager, init = ctx.fact("display.manager"), ctx.fact("display.init")
    stop = Step("display-stop", f"Stop the display manager ({manager or 'none'})")
    start = Step("display-start", f"Start the display manager again ({manager or 'none'})")
    if manager:
        stop.commands = [display_commands(init, manager, "stop")]
        start.commands = [display_commands(init, manager, "start")]
    reason = _display_skip_reason(ctx, driver, manager)
    if reason:
        return stop.mark(SKIP, reason), start.mark(SKIP, reason)
    stop.mark(TODO, f"{manager} runs X on the GPU: the driver must not be replaced under a running X server")
    start.mark(TODO, f"{manager} was stopped for the driver")
    return stop, start


def _display_skip_reason(ctx: Context, driver: Step, manager: str | None) -> str | None:
    why_not = ctx.host_side_reason
    if why_not:
        return why_not
    if driver.status != TODO:
        return "the driver is not being changed"
    if not manager:
        return "no display manager is installed"
    if ctx.fact("display.manager_active") is False:
        return f"{manager} is not running"
    return None


def secureboot_step(ctx: Context, driver: Step) -> Step:
    key = "/var/lib/shim-signed/mok/MOK.der" if ctx.distro.is_ubuntu else "/var/lib/dkms/mok.pub"
    commands = [["mokutil", "--import", key]]
    if ctx.distro.is_ubuntu:  # creates the DKMS signing key if the driver's install did not
        commands.insert(0, ["update-secureboot-policy", "--new-key"])
    step = Step("secureboot-mok", "Enroll the module signing key (MOK) for Secure Boot", commands=commands,
                reboot=True, interactive=True)
    why_not = ctx.host_side_reason
    if why_not:
        return step.mark(SKIP, why_not)
    enabled = ctx.fact("secureboot.enabled")
    if enabled is False:
        return step.mark(SKIP, "Secure Boot is off: unsigned modules load")
    if driver.status != TODO:
        return step.mark(DONE if enabled else SKIP, "the driver is already in place and loads")
    if enabled is None:
        return step.mark(SKIP, "the Secure Boot state is unknown (mokutil --sb-state): if it is on, enroll the "
                               "key by hand: mokutil --import " + key)
    return step.mark(TODO, "Secure Boot is on: the firmware loads only modules signed by a key it trusts. mokutil asks "
                           "for a one-time password; at the next boot the blue MOK manager appears: choose "
                           "'Enroll MOK', 'Continue', enter that password, reboot. Never an unsigned module.")
