"""Probe: a pending reboot (reboot.required).

By hand: ``ls /var/run/reboot-required`` (Debian and Ubuntu packages drop it), and ``nvidia-smi`` printing
"Failed to initialize NVML: Driver/library version mismatch": the driver was upgraded, the old kernel module
is still loaded.
"""

from __future__ import annotations

from setupkit.facts import Facts
from setupkit.host.base import Host

FLAG_FILES = ("/var/run/reboot-required", "/run/reboot-required")
MISMATCH = "NVMLError_LibRmVersionMismatch"


def driver_mismatch(nvml_error: str | None, module: str | None, userspace: str | None) -> bool:
    """NVML refuses the loaded module, or the module and the user-space driver differ in version."""
    if nvml_error == MISMATCH:
        return True
    return bool(module and userspace and module != userspace)


def probe(host: Host, facts: Facts) -> Facts:
    flagged = any(host.exists(path) for path in FLAG_FILES)
    mismatch = driver_mismatch(facts.get("driver.nvml_error"), facts.get("driver.version"),
                               facts.get("driver.userspace_version"))
    return {"reboot.required": flagged or mismatch}
