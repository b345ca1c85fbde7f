"""Probe: what the machine is (host.*): virtual or not, in a container or not (probes.container), laptop or not,
how much memory.

By hand: ``cat /sys/class/dmi/id/{sys_vendor,product_name,chassis_type}``, ``cat /sys/hypervisor/type``,
``grep -w hypervisor /proc/cpuinfo``, ``ls /sys/class/power_supply``, ``grep MemTotal /proc/meminfo``
(``systemd-detect-virt`` and ``hostnamectl`` tell the same where systemd runs).
"""

from __future__ import annotations

import re

from setupkit.bounded import ascii_int
from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes import container
from setupkit.probes.cpu import has_hypervisor_flag
from setupkit.probes.text import clean_lines

DMI = "/sys/class/dmi/id"
_HYPERVISOR_KIND = re.compile(r"[a-z0-9_-]{1,32}")  # /sys/hypervisor/type: "xen"; anything else is unnamed
MAX_DMI = 256
"""SMBIOS strings are at most 64 bytes; the patterns below are matched on no more (one runs .* between two words,
which costs the square of a long text)."""

# (pattern in "sys_vendor product_name", virtualization), first match wins. KVM guests usually say
# "QEMU" as vendor and name KVM (if at all) in the product.
_DMI_VIRTUALIZATION = (
    (re.compile(r"\bkvm\b", re.I), "kvm"),
    (re.compile(r"\bqemu\b", re.I), "qemu"),
    (re.compile(r"vmware", re.I), "vmware"),
    (re.compile(r"innotek|virtualbox", re.I), "virtualbox"),
    (re.compile(r"\bxen\b", re.I), "xen"),
    (re.compile(r"microsoft corporation.*virtual machine", re.I), "hyperv"),
    (re.compile(r"amazon ec2", re.I), "amazon"),
    (re.compile(r"\bgoogle\b", re.I), "google"),
)

# SMBIOS chassis types: 8 portable, 9 laptop, 10 notebook, 14 sub notebook, 31 convertible, 32 detachable.
LAPTOP_CHASSIS = frozenset({8, 9, 10, 14, 31, 32})
UNKNOWN_CHASSIS = frozenset({1, 2})  # "Other", "Unknown"
MEM_KB_DIGITS = 13
"""Up to 9 PB in kB: more than any machine; a longer MemTotal is not a size."""


def first_line(text: str | None) -> str | None:
    lines = clean_lines(text)
    return lines[0].strip() if lines else None


def dmi_virtualization(sys_vendor: str | None, product_name: str | None) -> str | None:
    """The hypervisor DMI names ("QEMU", "VMware, Inc.", "innotek GmbH" ...), or None for real hardware."""
    text = f"{(first_line(sys_vendor) or '')[:MAX_DMI]} {(first_line(product_name) or '')[:MAX_DMI]}"
    for pattern, kind in _DMI_VIRTUALIZATION:
        if pattern.search(text):
            return kind
    return None


def virtualization(wsl: bool | None, dmi: str | None, hypervisor_type: str | None,
                   hypervisor_flag: bool | None) -> str | None:
    """wsl, the kind DMI or /sys/hypervisor names, "unknown" for an unnamed hypervisor, "none" on bare metal."""
    if wsl:
        return "wsl"
    if dmi:
        return dmi
    if hypervisor_type:
        kind = hypervisor_type.lower()
        return kind if _HYPERVISOR_KIND.fullmatch(kind) else "unknown"
    if hypervisor_flag is None:
        return None
    return "unknown" if hypervisor_flag else "none"


def parse_chassis_type(text: str | None) -> int | None:
    """/sys/class/dmi/id/chassis_type "10" -> 10 (SMBIOS types fit one byte); None for anything else."""
    return ascii_int(first_line(text), max_digits=3)


def is_laptop(chassis: int | None, power_supplies: list[str] | None, virt: str | None) -> bool | None:
    """True for a laptop chassis or a battery; False for another known chassis, no battery, or a VM."""
    if chassis in LAPTOP_CHASSIS or any(name.startswith("BAT") for name in power_supplies or []):
        return True
    known_chassis = chassis is not None and chassis not in UNKNOWN_CHASSIS
    if known_chassis or power_supplies is not None or virt not in (None, "none"):
        return False
    return None


def parse_mem_total_mib(text: str | None) -> int | None:
    """"MemTotal:       16318412 kB" -> 15935."""
    for line in clean_lines(text):
        key, _, value = line.partition(":")
        fields = value.split()
        total_kb = ascii_int(fields[0], max_digits=MEM_KB_DIGITS) if fields else None
        if key.strip() == "MemTotal" and total_kb is not None:
            return total_kb // 1024
    return None


def probe(host: Host, facts: Facts) -> Facts:
    dmi = dmi_virtualization(host.read_text(f"{DMI}/sys_vendor"), host.read_text(f"{DMI}/product_name"))
    virt = virtualization(facts.get("kernel.wsl"), dmi, first_line(host.read_text("/sys/hypervisor/type")),
                          has_hypervisor_flag(host.read_text("/proc/cpuinfo")))
    chassis = parse_chassis_type(host.read_text(f"{DMI}/chassis_type"))
    return {
        "host.virtualization": virt,
        "host.laptop": is_laptop(chassis, host.list_dir("/sys/class/power_supply"), virt),
        "host.memory_mib": parse_mem_total_mib(host.read_text("/proc/meminfo")),
        **container.probe(host),
    }
