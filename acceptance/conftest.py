"""Options and fixtures of the post-provision acceptance suite (pytest-testinfra; see README.md).

The checks run THROUGH testinfra's `host`, so the same tests judge this machine (--hosts=local://), a machine
over ssh (--hosts=ssh://gpu01) or a whole Ansible inventory (--hosts=ansible://all --ansible-inventory=...).
"""

from __future__ import annotations

import os
import shlex

import pytest

DEFAULT_VENV_BIN = "/opt/setupkit/venv/bin/setupkit"
# NVIDIA display-class PCI functions (0x03xxxx: VGA or 3D controller), read from sysfs so no lspci is needed.
NVIDIA_PCI_SCRIPT = (
    'for d in /sys/bus/pci/devices/*; do '
    '[ "$(cat "$d/vendor" 2>/dev/null)" = 0x10de ] || continue; '
    'case "$(cat "$d/class" 2>/dev/null)" in 0x03*) echo "${d##*/}";; esac; done'
)


def pytest_addoption(parser):
    group = parser.getgroup("setupkit acceptance")
    group.addoption("--setupkit-bin", default=os.environ.get("SETUPKIT_BIN"),
                    help=f"setupkit on the host under test (env SETUPKIT_BIN; default {DEFAULT_VENV_BIN}, "
                         "else setupkit on the host's PATH)")
    group.addoption("--smoke-args", default=os.environ.get("SETUPKIT_SMOKE_ARGS", ""),
                    help='extra arguments for setupkit smoke-test (env SETUPKIT_SMOKE_ARGS), e.g. "--synthetic"')
    group.addoption("--smoke-timeout", type=int, default=int(os.environ.get("SETUPKIT_SMOKE_TIMEOUT", "1800")),
                    help="seconds the smoke test may take on the host (default 1800)")


def nvidia_gpus(host) -> list[str]:
    """PCI addresses of the host's NVIDIA GPUs; /proc/driver/nvidia alone (a loaded driver) also counts."""
    found = host.run(NVIDIA_PCI_SCRIPT).stdout.split()
    if not found and host.file("/proc/driver/nvidia").exists:
        found = ["(driver loaded)"]
    return found


@pytest.fixture
def nvidia_gpu(host):
    """Skip, saying why, on a host without an NVIDIA GPU: its GPU checks do not apply there."""
    gpus = nvidia_gpus(host)
    if not gpus:
        pytest.skip("no NVIDIA GPU on this host (no PCI function with vendor 0x10de and a display class, "
                    "no /proc/driver/nvidia)")
    return gpus


@pytest.fixture
def setupkit(host, request) -> str:
    """The setupkit command on the host, quoted for its shell."""
    chosen = request.config.getoption("--setupkit-bin")
    if chosen:
        candidates = [chosen]
    else:
        candidates = [DEFAULT_VENV_BIN, "setupkit"]
    for candidate in candidates:
        if host.file(candidate).exists if "/" in candidate else host.exists(candidate):
            return shlex.quote(candidate)
    pytest.fail(f"setupkit is not on the host (tried {', '.join(candidates)}): provision it first "
                "(ansible-playbook playbooks/provision.yml) or give --setupkit-bin / SETUPKIT_BIN")
