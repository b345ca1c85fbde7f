"""Probe: whether the containers of this host can get its GPUs: Docker or Podman, and the NVIDIA Container Toolkit
installed and configured for them (container_toolkit.*).

By hand: ``command -v docker podman nvidia-ctk nvidia-container-runtime nvidia-container-runtime-hook``,
``cat /etc/docker/daemon.json`` (``"runtimes": {"nvidia": ...}``, written by ``nvidia-ctk runtime configure
--runtime=docker``), ``ls /etc/cdi /var/run/cdi`` (``nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml``, or
the toolkit's nvidia-cdi-refresh service from 1.18 on, writes the CDI specification Podman reads).

No program is run (doctor stays fast): programs are looked up in the folders of the host's PATH, as the
toolchain probe does. NVIDIA's guide: https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/
install-guide.html
"""

from __future__ import annotations

import posixpath
from typing import Any

from setupkit.bounded import BoundError, loads_json
from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.environment import env_of
from setupkit.probes.toolchain import find_program, path_folders

ENGINES = ("docker", "podman")
TOOLKIT_PROGRAMS = ("nvidia-ctk", "nvidia-container-runtime", "nvidia-container-runtime-hook",
                    "nvidia-container-cli")
"""What the nvidia-container-toolkit packages put on PATH (the CLI, the runtime, Docker's --gpus hook, the
libnvidia-container CLI)."""
DOCKER_DAEMON_JSON = "/etc/docker/daemon.json"
CDI_FOLDERS = ("/etc/cdi", "/var/run/cdi")
CDI_SUFFIXES = (".yaml", ".yml", ".json")
MAX_DAEMON_JSON_DEPTH = 16
"""daemon.json nests three levels deep; a hostile snapshot's file is not parsed past this."""


def registers_nvidia_runtime(text: str | None) -> bool | None:
    """Whether a Docker daemon.json registers NVIDIA's runtime (a runtime named nvidia, or one whose path is
    nvidia-container-runtime); False for a missing file, None for one that is not a JSON object."""
    if text is None:
        return False
    try:
        document = loads_json(text, max_depth=MAX_DAEMON_JSON_DEPTH)
    except BoundError:
        return None
    if not isinstance(document, dict):
        return None
    runtimes = document.get("runtimes")
    if not isinstance(runtimes, dict):
        return False
    return any(name == "nvidia" or _is_nvidia_runtime(entry) for name, entry in runtimes.items())


def _is_nvidia_runtime(entry: Any) -> bool:
    path = entry.get("path") if isinstance(entry, dict) else None
    return isinstance(path, str) and posixpath.basename(path).startswith("nvidia-container-runtime")


def cdi_specs(host: Host) -> list[str]:
    """The NVIDIA CDI specification files in the folders CDI-aware engines read."""
    found = []
    for folder in CDI_FOLDERS:
        found += [path for path in host.glob_dir(folder, prefix="nvidia") if path.endswith(CDI_SUFFIXES)]
    return found


def probe(host: Host, facts: Facts) -> Facts:
    env = env_of(host)
    path = env.get("PATH")
    folders = path_folders(path)
    known = isinstance(path, str)
    return {
        "container_toolkit.engines": [name for name in ENGINES if find_program(host, folders, name)] if known
        else None,
        "container_toolkit.programs": [name for name in TOOLKIT_PROGRAMS if find_program(host, folders, name)]
        if known else None,
        "container_toolkit.docker_runtime": registers_nvidia_runtime(host.read_text(DOCKER_DAEMON_JSON)),
        "container_toolkit.cdi_specs": cdi_specs(host),
    }
