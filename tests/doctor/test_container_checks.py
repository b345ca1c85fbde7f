"""The container checks: host.container (where the driver comes from) and host.container-toolkit (whether this
host's containers can get its GPUs), on facts and on the two container scenarios."""

from __future__ import annotations

import pytest

from tests.helpers.doctor import builtin_checks, facts_with, verdict
from tests.helpers.scenarios import snapshot_facts

GUIDE = "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html"


def test_a_gpu_container_is_told_its_driver_is_the_hosts():
    finding = verdict("host.container", snapshot_facts("docker-gpu-l4-ubuntu2204"))
    assert finding.status == "info"
    assert finding.message.startswith("Inside a docker container (/.dockerenv, /proc/self/mountinfo: the root file "
                                      "system is an overlay in docker's store): the NVIDIA driver (580.95.05) is "
                                      "the host's, passed in by the NVIDIA Container Toolkit")
    assert "kernel driver, nouveau, kernel headers and the display manager belong to the host" in finding.message


def test_a_container_build_is_told_it_sees_no_gpu():
    finding = verdict("host.container", snapshot_facts("docker-build-debian12-nogpu"))
    assert finding.status == "info" and "sees no NVIDIA GPU" in finding.message
    assert "docker run --gpus all" in finding.message and "a docker build never sees one" in finding.message


def test_outside_a_container_and_unknown():
    assert verdict("host.container", facts_with(host__container="none", gpu__count=1)).status == "pass"
    assert verdict("host.container", facts_with(gpu__count=1)).status == "unknown"  # an older snapshot
    assert verdict("host.container", snapshot_facts("h100")).status == "unknown"


def host(**values):
    facts = {"host__container": "none", "gpu__count": 1, "os__family": "debian", "container_toolkit__engines": [],
             "container_toolkit__programs": [], "container_toolkit__docker_runtime": False,
             "container_toolkit__cdi_specs": []}
    return facts_with(**{**facts, **values})


def test_docker_without_the_toolkit_warns_with_nvidias_install_guide():
    finding = verdict("host.container-toolkit", host(container_toolkit__engines=["docker"]))
    assert finding.status == "warn" and "NVIDIA Container Toolkit is not" in finding.message
    assert 'could not select device driver "" with capabilities: [[gpu]]' in finding.message
    assert finding.fix is not None
    assert "sudo apt-get update && sudo apt-get install -y nvidia-container-toolkit" in finding.fix["commands"]
    rhel = verdict("host.container-toolkit", host(container_toolkit__engines=["docker"], os__family="rhel"))
    assert "sudo dnf install -y nvidia-container-toolkit" in rhel.fix["commands"]
    assert GUIDE in builtin_checks()["host.container-toolkit"].references


def test_the_toolkit_must_be_configured_for_each_engine():
    docker = verdict("host.container-toolkit", host(container_toolkit__engines=["docker"],
                                                    container_toolkit__programs=["nvidia-ctk"]))
    assert docker.status == "warn" and "not configured for Docker" in docker.message
    assert docker.fix["commands"] == ["sudo nvidia-ctk runtime configure --runtime=docker",
                                      "sudo systemctl restart docker"]
    podman = verdict("host.container-toolkit", host(container_toolkit__engines=["podman"],
                                                    container_toolkit__programs=["nvidia-ctk"]))
    assert podman.status == "warn" and "unresolvable CDI devices nvidia.com/gpu=all" in podman.message
    assert podman.fix["commands"][0] == "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"
    ready = verdict("host.container-toolkit", host(
        container_toolkit__engines=["docker", "podman"], container_toolkit__programs=["nvidia-ctk"],
        container_toolkit__docker_runtime=True, container_toolkit__cdi_specs=["/etc/cdi/nvidia.yaml"]))
    assert ready.status == "pass" and "configured for docker, podman" in ready.message


@pytest.mark.parametrize("values, why", [
    ({"host__container": "docker"}, "Inside a docker container"), ({"gpu__count": 0}, "No NVIDIA GPU"),
    ({}, "Neither Docker nor Podman")])
def test_the_toolkit_check_skips_where_it_has_nothing_to_say(values, why):
    finding = verdict("host.container-toolkit", host(**values))
    assert finding.status == "skip" and finding.message.startswith(why)


def test_the_container_scenarios_skip_the_host_side_check():
    for name in ("docker-gpu-l4-ubuntu2204", "docker-build-debian12-nogpu"):
        assert verdict("host.container-toolkit", snapshot_facts(name)).status == "skip"
