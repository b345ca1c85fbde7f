"""The container probe (host.container, host.container_evidence) and the NVIDIA Container Toolkit probe
(container_toolkit.*): the parsers from strings, the probes on small snapshots, and the two container scenarios."""

from __future__ import annotations

import pytest

from setupkit.probes import container, container_toolkit
from tests.helpers.scenarios import snapshot_facts

DOCKER_ROOT = ("1418 1280 0:186 / / rw,relatime master:512 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/"
               "ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/0f1e/diff,workdir=/var/lib/"
               "docker/overlay2/0f1e/work,nouserxattr\n")
HOST_ROOT = "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,discard\n"
PROC = "22 27 0:21 / /proc rw,relatime shared:12 - proc proc rw\n"


@pytest.mark.parametrize("text, kind", [
    ("docker\n", "docker"), ("podman", "podman"), ("lxc\n", "lxc"), ("lxc-libvirt", "lxc"),
    ("systemd-nspawn\n", "systemd-nspawn"), ("rkt", "other"), ("oci", "other"), ("", None), ("wsl\n", None),
    (None, None), ("\n\n", None)])
def test_a_managers_name_is_a_kind(text, kind):
    assert container.manager_kind(text) == kind


def test_pid1_environ_is_read_by_key():
    block = b"PATH=/usr/bin\0container=lxc\0HOME=/root\0"
    assert container.environ_value(block, "container") == "lxc"
    assert container.environ_value(b"PATH=/usr/bin\0xcontainer=no\0", "container") is None
    assert container.environ_value(None, "container") is None and container.environ_value(b"", "container") is None


@pytest.mark.parametrize("text, kind", [
    ("12:memory:/docker/3f5e0c9b7a1d2e4f6a8b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5\n0::/\n", "docker"),
    ("0::/system.slice/docker-3f5e0c9b7a1d2e4f6a8b0c1d2e3f4a5b6c7d8e9f.scope\n", "docker"),
    ("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-9f8e.scope\n",
     "kubernetes"),
    ("0::/machine.slice/libpod-5d1c2b3a4f.scope/container\n", "podman"),
    ("0::/lxc.payload.build1/init.scope\n", "lxc"), ("4:memory:/lxc/build1\n", "lxc"),
    ("0::/machine.slice/systemd-nspawn@focal.service/payload\n", "systemd-nspawn"),
    ("0::/\n", None), ("0::/init.scope\n", None), ("0::/user.slice/user-1000.slice/session-3.scope\n", None),
    ("0::/system.slice/docker.service\n", None), ("", None), (None, None)])
def test_cgroup_paths_name_the_engine(text, kind):
    assert container.cgroup_kind(text) == kind


@pytest.mark.parametrize("text, kind", [
    (DOCKER_ROOT + PROC, "docker"),
    ("900 800 0:50 / / rw - overlay overlay rw,lowerdir=/home/me/.local/share/containers/storage/overlay/l/A,"
     "upperdir=/home/me/.local/share/containers/storage/overlay/b1/diff,workdir=/x\n", "podman"),
    ("900 800 0:50 / / rw - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/"
     "snapshots/12/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/13/fs\n",
     "containerd"),
    (HOST_ROOT + "1500 27 8:1 /var/lib/kubelet/pods/1a2b/etc-hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw\n",
     "kubernetes"),
    (HOST_ROOT + PROC, None),
    # A live system's overlay root (a live CD) names no engine's store.
    ("25 1 0:24 / / rw,relatime - overlay overlay rw,lowerdir=/run/rootfsbase,upperdir=/run/overlay/upper\n", None),
    ("garbage\n- - -\n1 2 3\n", None), ("", None), (None, None)])
def test_mountinfo_tells_the_engine_from_its_store(text, kind):
    found = container.mountinfo_kind(text)
    assert (found[0] if found else None) == kind


def test_docker_container(make_host):
    host = make_host(files={"/.dockerenv": b"", "/proc/self/cgroup": "0::/\n", "/proc/self/mountinfo": DOCKER_ROOT})
    assert container.probe(host) == {
        "host.container": "docker",
        "host.container_evidence": ["/.dockerenv",
                                    "/proc/self/mountinfo: the root file system is an overlay in docker's store"]}


def test_podman_says_so_in_its_file_and_in_the_environment(make_host):
    host = make_host(files={"/run/.containerenv": 'engine="podman-4.9.3"\n', "/proc/1/cgroup": "0::/\n"},
                     env={"container": "podman"})
    facts = container.probe(host)
    assert facts["host.container"] == "podman"
    assert facts["host.container_evidence"] == ["container=podman in the environment", "/run/.containerenv"]


def test_a_pod_is_kubernetes_whatever_engine_runs_it(make_host):
    host = make_host(files={"/proc/self/cgroup": "0::/kubepods/besteffort/pod1/cri-containerd-ab12.scope\n",
                            "/.dockerenv": b""}, env={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    facts = container.probe(host)
    assert facts["host.container"] == "kubernetes"
    assert facts["host.container_evidence"][0] == "KUBERNETES_SERVICE_HOST is set"


@pytest.mark.parametrize("path, name, kind", [
    ("/run/systemd/container", "lxc\n", "lxc"), ("/run/host/container-manager", "systemd-nspawn\n", "systemd-nspawn")])
def test_a_manager_that_writes_its_name(make_host, path, name, kind):
    facts = container.probe(make_host(files={path: name, "/proc/1/cgroup": "0::/\n"}))
    assert facts == {"host.container": kind, "host.container_evidence": [f"{path} names {kind}"]}


def test_oci_names_no_engine_so_the_files_decide(make_host):
    docker = make_host(files={"/.dockerenv": b""}, env={"container": "oci"})
    assert container.probe(docker)["host.container"] == "docker"
    assert container.probe(make_host(files={"/proc/1/cgroup": "0::/\n"}, env={"container": "oci"})) == {
        "host.container": "other", "host.container_evidence": ["container=oci in the environment"]}


def test_pid1_environment_is_the_last_resort(make_host):
    """It may hold the container's secrets, which a snapshot would keep: read only when nothing else told."""
    environ = b"container=lxc\0API_TOKEN=s3cret\0"
    alone = container.probe(make_host(files={"/proc/1/environ": environ, "/proc/1/cgroup": "0::/\n"}))
    assert alone == {"host.container": "lxc", "host.container_evidence": ["container= in /proc/1/environ"]}
    host = make_host(files={"/proc/1/environ": environ, "/.dockerenv": b""})
    assert container.probe(host)["host.container_evidence"] == ["/.dockerenv"]


def test_unreadable_pid1_environment_and_no_marker_is_no_container(make_host):
    # /proc/1/environ is root's alone: unreadable is absent, and the cgroup and mount files say no engine.
    host = make_host(files={"/proc/1/cgroup": "0::/init.scope\n", "/proc/self/cgroup": "0::/user.slice\n",
                            "/proc/self/mountinfo": HOST_ROOT + PROC})
    assert container.probe(host) == {"host.container": "none", "host.container_evidence": []}


def test_nothing_to_tell_from_is_unknown(make_host):
    assert container.probe(make_host(files={"/etc/os-release": "ID=ubuntu\n"})) == {
        "host.container": None, "host.container_evidence": None}


def test_a_hostile_manager_name_is_cut_in_the_evidence(make_host):
    facts = container.probe(make_host(files={"/proc/1/cgroup": "0::/\n"}, env={"container": "x" * 5000}))
    assert facts["host.container"] == "other" and len(facts["host.container_evidence"][0]) < 80


@pytest.mark.parametrize("text, registered", [
    ('{"runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}}', True),
    ('{"default-runtime": "gpu", "runtimes": {"gpu": {"path": "/usr/bin/nvidia-container-runtime"}}}', True),
    ('{"runtimes": {"runsc": {"path": "/usr/local/bin/runsc"}}}', False),
    ('{"log-driver": "journald"}', False), ('{"runtimes": ["nvidia"]}', False),
    (None, False), ("not json", None), ("[1, 2]", None), ('{"a": ' * 100 + "1" + "}" * 100, None), ("", None)])
def test_docker_daemon_json_registers_the_nvidia_runtime(text, registered):
    assert container_toolkit.registers_nvidia_runtime(text) is registered


def test_toolkit_programs_engines_and_cdi_specs_on_the_host(make_host):
    daemon = '{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}'
    host = make_host(files={"/usr/bin/docker": b"", "/usr/bin/nvidia-ctk": b"", "/usr/bin/nvidia-container-runtime":
                            b"", "/etc/cdi/nvidia.yaml": "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\n",
                            "/etc/cdi/other.yaml": "kind: vendor.com/fpga\n", "/etc/docker/daemon.json": daemon},
                     dirs=["/var/run/cdi"], env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
    assert container_toolkit.probe(host, {}) == {
        "container_toolkit.engines": ["docker"],
        "container_toolkit.programs": ["nvidia-ctk", "nvidia-container-runtime"],
        "container_toolkit.docker_runtime": True, "container_toolkit.cdi_specs": ["/etc/cdi/nvidia.yaml"]}


def test_without_path_the_programs_are_unknown(make_host):
    facts = container_toolkit.probe(make_host(files={"/usr/bin/docker": b""}), {})
    assert facts["container_toolkit.engines"] is None and facts["container_toolkit.programs"] is None


def test_gpu_container_scenario():
    facts = snapshot_facts("docker-gpu-l4-ubuntu2204")
    assert facts["host.container"] == "docker" and facts["gpu.count"] == 1
    assert facts["driver.version"] == "580.95.05" and facts["kernel.headers_installed"] is False
    assert facts["display.manager"] is None and facts["display.init"] == "none"


def test_gpu_less_build_scenario_is_told_by_its_root_mount_alone():
    """BuildKit makes no /.dockerenv: the overlay root in Docker's store tells it."""
    facts = snapshot_facts("docker-build-debian12-nogpu")
    assert facts["host.container"] == "docker" and facts["gpu.count"] == 0
    assert facts["host.container_evidence"] == [
        "/proc/self/mountinfo: the root file system is an overlay in docker's store"]


def test_this_machine_gives_a_kind_or_unknown():
    from setupkit.probes import read_facts

    facts = read_facts()
    assert facts["host.container"] in (*container.KINDS, "none", None)
    assert isinstance(facts["host.container_evidence"], list) or facts["host.container"] is None


def test_pid1_environment_is_not_read_under_systemd(make_host):
    host = make_host(files={"/proc/1/environ": b"container=lxc\0", "/proc/1/cgroup": "0::/init.scope\n"},
                     dirs=["/run/systemd/system"])
    assert container.probe(host) == {"host.container": "none", "host.container_evidence": []}
