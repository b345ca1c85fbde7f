"""Whether setupkit runs inside a container, and which (host.container, host.container_evidence); part of the
machine probe.

By hand: ``systemd-detect-virt --container``; ``ls -a /.dockerenv /run/.containerenv``; ``cat
/run/systemd/container``; ``echo $KUBERNETES_SERVICE_HOST $container``; ``cat /proc/1/cgroup /proc/self/cgroup``;
``grep -E ' / / | /etc/hosts ' /proc/self/mountinfo``; as root ``tr '\\0' '\\n' < /proc/1/environ | grep
^container=``.

The markers are asked in the order systemd's ``detect_container()`` (src/basic/virt.c) asks them: what the
container manager says (/run/host/container-manager, /run/systemd/container, ``container=`` in the environment),
then the files engines leave (/run/.containerenv: Podman, /.dockerenv: Docker), with Kubernetes first (its
``KUBERNETES_SERVICE_HOST`` is in every pod) and, last, the engine's traces in the cgroup paths and in the root
file system's mount. Those last ones matter: a ``docker build`` under BuildKit has no /.dockerenv
(moby/buildkit#4503), but its root is an overlay under /var/lib/docker.

PID 1's environment (/proc/1/environ) is read only when nothing else told and PID 1 is not systemd (which writes
its container= to /run/systemd/container): it is readable by root alone, and it holds whatever the container was
started with (tokens too), which a snapshot would keep.
"""

from __future__ import annotations

import re

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.environment import env_of
from setupkit.probes.text import clean_lines, text_or_none

KINDS = ("docker", "podman", "kubernetes", "containerd", "lxc", "systemd-nspawn", "other")
"""What host.container names inside a container ("none" outside)."""
MANAGER_FILES = ("/run/host/container-manager", "/run/systemd/container")
"""Where a container manager (or systemd as the container's init) writes its name for unprivileged readers."""
ENGINE_FILES = (("/run/.containerenv", "podman"), ("/.dockerenv", "docker"))
"""Podman first: /.dockerenv may linger in an image built elsewhere (systemd's order)."""
CGROUP_FILES = ("/proc/1/cgroup", "/proc/self/cgroup")
MOUNTINFO = "/proc/self/mountinfo"
PID1_ENVIRON = "/proc/1/environ"
SYSTEMD_RUNNING = "/run/systemd/system"
MAX_NAME = 40
"""A manager's name as evidence is cut here: it is the container's to choose."""
MAX_LINES = 4096
"""More mounts or cgroup lines than any container has; a hostile snapshot's file is read no further."""

# The names container managers give in container= (systemd's container_table), as host.container kinds.
_MANAGER_KINDS = {"docker": "docker", "podman": "podman", "lxc": "lxc", "lxc-libvirt": "lxc",
                  "systemd-nspawn": "systemd-nspawn", "containerd": "containerd", "kubernetes": "kubernetes"}
_NOT_CONTAINERS = {"", "wsl"}  # WSL is told by kernel.wsl; an empty container= means "no container"

# Engine traces in a cgroup path, first match wins (Kubernetes before the runtime it runs on).
_CGROUP_KINDS = (
    (re.compile(r"kubepods"), "kubernetes"),
    (re.compile(r"(?:^|/)docker[-/][0-9a-f]{12}"), "docker"),
    (re.compile(r"libpod"), "podman"),
    (re.compile(r"(?:^|/)(?:cri-)?containerd[-/]"), "containerd"),
    (re.compile(r"(?:^|/)lxc(?:\.payload)?[./]"), "lxc"),
    (re.compile(r"systemd-nspawn@|(?:^|/)machine\.slice/machine-"), "systemd-nspawn"),
)

# Engine stores in the paths behind the root overlay or the bind-mounted /etc/hosts, first match wins.
_STORE_KINDS = (
    ("/var/lib/kubelet/pods/", "kubernetes"),
    ("/var/lib/docker/", "docker"),
    ("/containers/storage/", "podman"),
    ("/var/lib/containerd/", "containerd"),
    ("/var/lib/lxc/", "lxc"),
    ("/var/lib/machines/", "systemd-nspawn"),
)
_BIND_MOUNTED = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")
"""Files every engine mounts into its containers from its own store."""


def manager_kind(name: str | None) -> str | None:
    """A container manager's name (container=, /run/systemd/container) as a kind: "other" for one not known here
    and for "oci", which some images set and which names no manager (the files may tell more); None for no
    container (empty, WSL)."""
    lines = clean_lines(name)
    value = lines[0].strip().lower() if lines else ""
    if value in _NOT_CONTAINERS:
        return None
    return _MANAGER_KINDS.get(value, "other")


def environ_value(data: bytes | None, key: str) -> str | None:
    """The value of ``key`` in a /proc/<pid>/environ block (NUL-separated KEY=VALUE entries), or None."""
    if not data:
        return None
    prefix = key.encode("ascii") + b"="
    for entry in data.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode("utf-8", errors="replace")
    return None


def cgroup_kind(text: str | None) -> str | None:
    """The engine a /proc/<pid>/cgroup names in its paths ("0::/kubepods/burstable/pod.../...", "12:memory:/docker/
    <id>"); None when the paths name none (a cgroup namespace shows only "/")."""
    for line in clean_lines(text)[:MAX_LINES]:
        path = line.split(":", 2)[-1]
        for pattern, kind in _CGROUP_KINDS:
            if pattern.search(path):
                return kind
    return None


def store_kind(path: str) -> str | None:
    for store, kind in _STORE_KINDS:
        if store in path:
            return kind
    return None


def mountinfo_kind(text: str | None) -> tuple[str, str] | None:
    """(kind, what told it) from /proc/self/mountinfo: the root file system an overlay in an engine's store, or
    /etc/hosts bind-mounted from one. Lines: ``ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE SOURCE
    SUPER_OPTIONS`` (proc(5))."""
    for line in clean_lines(text)[:MAX_LINES]:
        fields = line.split()
        if "-" not in fields[6:] or len(fields) < 10:
            continue
        root, mount_point = fields[3], fields[4]
        rest = fields[fields.index("-", 6) + 1:]
        fs_type, super_options = rest[0], rest[2] if len(rest) > 2 else ""
        if mount_point == "/" and fs_type == "overlay":
            kind = store_kind(super_options)
            if kind:
                return kind, f"{MOUNTINFO}: the root file system is an overlay in {kind}'s store"
        if mount_point in _BIND_MOUNTED:
            kind = store_kind(root)
            if kind:
                return kind, f"{MOUNTINFO}: {mount_point} is mounted from {kind}'s store"
    return None


def _told(host: Host) -> list[tuple[str, str]]:
    """Every (kind, evidence) the markers give, in the order they are trusted."""
    env = env_of(host)
    found = []
    if text_or_none(env.get("KUBERNETES_SERVICE_HOST")):
        found.append(("kubernetes", "KUBERNETES_SERVICE_HOST is set"))
    for path in MANAGER_FILES:
        kind = manager_kind(host.read_text(path))
        if kind:
            found.append((kind, f"{path} names {kind}"))
    named = text_or_none(env.get("container"))
    kind = manager_kind(named)
    if kind:
        found.append((kind, f"container={(named or '')[:MAX_NAME]} in the environment"))
    found += [(kind, path) for path, kind in ENGINE_FILES if host.exists(path)]
    for path in CGROUP_FILES:
        kind = cgroup_kind(host.read_text(path))
        if kind:
            found.append((kind, f"{path} names {kind}"))
    mounted = mountinfo_kind(host.read_text(MOUNTINFO))
    if mounted:
        found.append(mounted)
    return found


def _looked(host: Host) -> bool:
    """Whether the host showed the files a container would show itself in (a snapshot may hold none of them)."""
    return any(host.exists(path) for path in (*CGROUP_FILES, MOUNTINFO))


def probe(host: Host) -> Facts:
    found = _told(host)
    # Under systemd as PID 1 its container= is already in /run/systemd/container: no need to read its environment.
    if not found and not host.is_dir(SYSTEMD_RUNNING):
        kind = manager_kind(environ_value(host.read_bytes(PID1_ENVIRON), "container"))
        if kind:
            found.append((kind, f"container= in {PID1_ENVIRON}"))
    if not found:
        looked = _looked(host)
        return {"host.container": "none" if looked else None, "host.container_evidence": [] if looked else None}
    return {"host.container": container_of([kind for kind, _ in found]),
            "host.container_evidence": list(dict.fromkeys(evidence for _, evidence in found))}


def container_of(kinds: list[str]) -> str:
    """The kind the markers name, most trusted first: a pod runs on some engine whose traces show too, so
    Kubernetes wins; a marker that names no engine ("other") only where none does."""
    if "kubernetes" in kinds:
        return "kubernetes"
    return next((kind for kind in kinds if kind != "other"), "other")
