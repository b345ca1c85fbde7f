"""Probe: the display manager, the init system and the session (display.*).

By hand: ``cat /etc/X11/default-display-manager``, ``readlink /etc/systemd/system/display-manager.service``,
``ps -e -o comm`` (i.e. /proc/<pid>/comm: how a running lightdm or gdm3 is seen under any init),
``systemctl is-active gdm3``, ``ls -d /run/systemd/system /sbin/initctl``, ``echo $DISPLAY $XDG_SESSION_TYPE``.
"""

from __future__ import annotations

import posixpath

from setupkit.bounded import ascii_int
from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.environment import env_of
from setupkit.probes.text import clean_lines, text_or_none

MANAGERS = ("lightdm", "gdm3", "gdm", "sddm")
# gdm3 (Debian's name for the package) runs as "gdm3" on older releases and as "gdm" on newer ones.
PROCESS_NAMES = {"gdm3": ("gdm3", "gdm"), "gdm": ("gdm", "gdm3")}
DM_LINK = "/etc/systemd/system/display-manager.service"
DEFAULT_DM = "/etc/X11/default-display-manager"


def manager_from_path(path: str | None) -> str | None:
    """"/usr/sbin/gdm3" or "/lib/systemd/system/gdm3.service" -> "gdm3"; None for one we do not know."""
    lines = clean_lines(path)
    if not lines:
        return None
    name = posixpath.basename(lines[0].strip()).removesuffix(".service")
    return name if name in MANAGERS else None


def running_manager(processes: set[str] | None) -> str | None:
    for name in MANAGERS:
        if name in (processes or set()):
            return name
    return None


def process_names(host: Host) -> set[str] | None:
    """The command names of every process (/proc/<pid>/comm); None when no process is visible."""
    pids = [name for name in host.list_dir("/proc") or [] if ascii_int(name) is not None]
    if not pids:
        return None
    names = (clean_lines(host.read_text(f"/proc/{pid}/comm")) for pid in pids)
    return {lines[0].strip() for lines in names if lines}


def init_system(host: Host) -> str:
    """systemd | upstart | sysvinit | none (a container or VM whose PID 1 is no init)."""
    if host.is_dir("/run/systemd/system"):
        return "systemd"
    if host.exists("/sbin/initctl"):
        return "upstart"
    if host.exists("/etc/inittab") or _is_sysv_init(host.read_link("/sbin/init"), host.exists("/sbin/init")):
        return "sysvinit"
    return "none"


def _is_sysv_init(link_target: str | None, exists: bool) -> bool:
    # /sbin/init as a link to systemd, with no /run/systemd/system, is an installed systemd that is not
    # running (a container whose PID 1 is something else): not sysvinit.
    return exists and not (link_target or "").endswith(("systemd", "upstart"))


def parse_is_active(stdout: str | None, returncode: int | None) -> bool | None:
    """``systemctl is-active NAME``: "active" -> True; inactive, failed, unknown -> False; cut or absent -> None."""
    lines = clean_lines(stdout)
    if returncode is None or not lines:
        return None
    return lines[0].strip() == "active"


def manager_active(host: Host, manager: str | None, processes: set[str] | None, init: str) -> bool | None:
    if manager is None:
        return False
    if processes is not None:
        return any(name in processes for name in PROCESS_NAMES.get(manager, (manager,)))
    if init == "systemd":
        result = host.run(["systemctl", "is-active", manager])
        return None if result.not_installed else parse_is_active(result.stdout, result.returncode)
    return None


def graphical_session(env: dict[str, str | None]) -> bool:
    """This process runs inside X or Wayland: DISPLAY or WAYLAND_DISPLAY set, or an x11/wayland session."""
    if text_or_none(env.get("DISPLAY")) or text_or_none(env.get("WAYLAND_DISPLAY")):
        return True
    return (text_or_none(env.get("XDG_SESSION_TYPE")) or "").lower() in ("x11", "wayland")


def probe(host: Host, facts: Facts) -> Facts:
    processes = process_names(host)
    init = init_system(host)
    manager = (manager_from_path(host.read_text(DEFAULT_DM)) or manager_from_path(host.read_link(DM_LINK))
               or running_manager(processes))
    return {
        "display.manager": manager,
        "display.manager_active": manager_active(host, manager, processes, init),
        "display.init": init,
        "display.graphical_session": graphical_session(env_of(host)),
    }
