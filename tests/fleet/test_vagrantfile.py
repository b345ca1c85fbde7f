"""The Vagrantfile: `vagrant validate --ignore-provider` where Vagrant is installed, and the settings it makes
(read by loading it under a recording stand-in for Vagrant, which needs only Ruby)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

RECORDER = Path(__file__).with_name("vagrant_recorder.rb")
NEEDS_VAGRANT = pytest.mark.skipif(shutil.which("vagrant") is None,
                                   reason="vagrant is not installed (Debian: apt-get install vagrant)")


def vagrant_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPKIT_")}
    return {**env, "VAGRANT_HOME": str(tmp_path / "vagrant-home"), "VAGRANT_CHECKPOINT_DISABLE": "1",
            "VAGRANT_DOTFILE_PATH": str(tmp_path / "vagrant-dotfile"), **extra}


def vagrant_validate(repo, tmp_path, **extra):
    return subprocess.run(["vagrant", "validate", "--ignore-provider"], capture_output=True, text=True,
                          timeout=180, cwd=repo, env=vagrant_env(tmp_path, **extra))


@NEEDS_VAGRANT
@pytest.mark.parametrize("gpu", ["", "0000:01:00.0"])
def test_vagrant_validate(gpu, fleet, tmp_path):
    result = vagrant_validate(fleet.REPO, tmp_path, SETUPKIT_GPU_PCI=gpu)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Vagrantfile validated successfully" in result.stdout


@NEEDS_VAGRANT
def test_vagrant_validate_names_a_bad_pci_address(fleet, tmp_path):
    result = vagrant_validate(fleet.REPO, tmp_path, SETUPKIT_GPU_PCI="01:00")
    assert result.returncode != 0
    assert 'SETUPKIT_GPU_PCI="01:00" is not a PCI address' in result.stdout + result.stderr


def recorded(repo, tmp_path, **extra):
    if shutil.which("ruby") is None:
        pytest.skip("ruby is not installed (it comes with vagrant)")
    result = subprocess.run(["ruby", str(RECORDER), str(repo / "Vagrantfile")], capture_output=True, text=True,
                            timeout=60, cwd=repo, env=vagrant_env(tmp_path, **extra))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def provider(settings, name):
    return next(p["config"] for p in settings["vm"]["provider"] if p["args"] == [name])


def test_box_providers_and_resources(fleet, tmp_path):
    settings = recorded(fleet.REPO, tmp_path, SETUPKIT_VM_MEMORY="16384", SETUPKIT_VM_CPUS="8")
    assert settings["vm"]["box"] == "bento/ubuntu-24.04"
    for name in ("virtualbox", "libvirt"):
        assert provider(settings, name)["memory"] == 16384 and provider(settings, name)["cpus"] == 8
    libvirt = provider(settings, "libvirt")
    assert "pci" not in libvirt and "kvm_hidden" not in libvirt  # no passthrough unless asked


def test_gpu_passthrough_from_the_environment(fleet, tmp_path):
    libvirt = provider(recorded(fleet.REPO, tmp_path, SETUPKIT_GPU_PCI="0000:81:00.0,02:00.1"), "libvirt")
    assert libvirt["kvm_hidden"] is True
    assert libvirt["machine_type"] == "q35" and libvirt["cpu_mode"] == "host-passthrough"
    assert [call["kwargs"] for call in libvirt["pci"]] == [
        {"domain": "0x0000", "bus": "0x81", "slot": "0x00", "function": "0x0"},
        {"domain": "0x0000", "bus": "0x02", "slot": "0x00", "function": "0x1"}]


def test_provisioned_by_provision_then_smoke_inside_the_guest(fleet, tmp_path):
    provisioners = recorded(fleet.REPO, tmp_path)["vm"]["provision"]
    assert [p["kwargs"]["type"] for p in provisioners] == ["ansible_local", "ansible_local"]
    assert [p["config"]["playbook"] for p in provisioners] == ["playbooks/provision.yml", "playbooks/smoke.yml"]
    for p in provisioners:
        assert (fleet.REPO / p["config"]["playbook"]).is_file()
        assert p["config"]["install_mode"] == "pip" and p["config"]["provisioning_path"] == "/vagrant"
        assert p["config"]["extra_vars"]["setupkit_source"] == "/vagrant"
        assert "localhost" in p["config"]["limit"].split(",")  # the fleet table's play runs on localhost


def test_a_bad_number_is_named(fleet, tmp_path):
    if shutil.which("ruby") is None:
        pytest.skip("ruby is not installed (it comes with vagrant)")
    result = subprocess.run(["ruby", str(RECORDER), str(fleet.REPO / "Vagrantfile")], capture_output=True,
                            text=True, timeout=60, env=vagrant_env(tmp_path, SETUPKIT_VM_MEMORY="8G"))
    assert result.returncode != 0
    assert 'SETUPKIT_VM_MEMORY="8G" is not a whole number' in result.stderr
