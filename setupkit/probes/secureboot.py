"""Probe: Secure Boot (secureboot.enabled).

By hand: ``mokutil --sb-state``; without mokutil, ``ls /sys/firmware/efi`` (absent: a BIOS boot, no Secure
Boot) and ``od -An -t u1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c``.
"""

from __future__ import annotations

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.text import text_or_none

EFI = "/sys/firmware/efi"
SECUREBOOT_VAR = f"{EFI}/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
_NO_EFI = ("EFI variables are not supported on this system", "This system doesn't support Secure Boot")


def parse_sb_state(stdout: str | None, stderr: str | None) -> bool | None:
    """``mokutil --sb-state``: "SecureBoot enabled" -> True, "SecureBoot disabled" or no EFI -> False."""
    text = text_or_none(stdout) or ""
    if "SecureBoot enabled" in text:
        return True
    if "SecureBoot disabled" in text:
        return False
    if any(message in f"{text}\n{text_or_none(stderr) or ''}" for message in _NO_EFI):
        return False
    return None


def parse_efi_variable(data: bytes | None) -> bool | None:
    """The SecureBoot EFI variable: 4 attribute bytes then one value byte (1 on, 0 off)."""
    if not isinstance(data, bytes) or len(data) < 5:
        return None
    return data[4] == 1


def probe(host: Host, facts: Facts) -> Facts:
    result = host.run(["mokutil", "--sb-state"])
    found = parse_sb_state(result.stdout, result.stderr) if not result.not_installed else None
    if found is None:
        found = parse_efi_variable(host.read_bytes(SECUREBOOT_VAR)) if host.is_dir(EFI) else False
    return {"secureboot.enabled": found}
