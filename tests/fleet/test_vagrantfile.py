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
@pytest.mark.parametrize("gpu,ansible", [("", "guest"), ("0000:01:00.0", "guest"), ("0000:01:00.0", "host")])
def test_vagrant_validate(gpu, ansible, fleet, tmp_path):
    result = vagrant_validate(fleet.REPO, tmp_path, SETUPKIT_GPU_PCI=gpu, SETUPKIT_VM_ANSIBLE=ansible)
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
    # Pinned to a published release that has both a VirtualBox and a libvirt build.
    assert settings["vm"]["box_version"] == "202508.03.0"
    for name in ("virtualbox", "libvirt"):
        assert provider(settings, name)["memory"] == 16384 and provider(settings, name)["cpus"] == 8
    libvirt = provider(settings, "libvirt")
    assert "pci" not in libvirt and "kvm_hidden" not in libvirt  # no passthrough unless asked
    assert "loader" not in libvirt and "nvram" not in libvirt  # and the box's own firmware


def provider_override(settings, name):
    return next(p.get("override") or {} for p in settings["vm"]["provider"] if p["args"] == [name])


def test_synced_folder_per_provider_brings_the_reports_back(fleet, tmp_path):
    settings = recorded(fleet.REPO, tmp_path)
    assert "synced_folder" not in settings["vm"]  # VirtualBox keeps its own (vboxsf, both ways)
    assert provider_override(settings, "virtualbox") == {}
    [folder] = provider_override(settings, "libvirt")["vm"]["synced_folder"]
    # libvirt: NFS, both ways; rsync would copy host to guest only and the guest's reports would never come back.
    assert folder["args"] == [".", "/vagrant"] and folder["kwargs"]["type"] == "nfs"
    reports = {p["config"]["extra_vars"]["setupkit_reports_dir"] for p in settings["vm"]["provision"]}
    assert reports == {"/vagrant/playbooks/reports"}  # inside the synced folder


def test_gpu_passthrough_from_the_environment(fleet, tmp_path):
    libvirt = provider(recorded(fleet.REPO, tmp_path, SETUPKIT_GPU_PCI="0000:81:00.0,02:00.1"), "libvirt")
    assert libvirt["kvm_hidden"] is True
    # UEFI (OVMF) for the GPU's large BARs, with the VM's own variable store in libvirt's folder.
    assert libvirt["loader"] == "/usr/share/OVMF/OVMF_CODE_4M.fd"
    assert libvirt["nvram"].startswith("/var/lib/libvirt/qemu/nvram/setupkit_") and libvirt["nvram"].endswith(".fd")
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


def test_the_firmware_paths_can_be_given(fleet, tmp_path):
    libvirt = provider(recorded(fleet.REPO, tmp_path, SETUPKIT_GPU_PCI="01:00.0",
                                SETUPKIT_VM_LOADER="/usr/share/edk2/ovmf/OVMF_CODE.fd",
                                SETUPKIT_VM_NVRAM="/var/lib/libvirt/qemu/nvram/gpu_VARS.fd"), "libvirt")
    assert libvirt["loader"] == "/usr/share/edk2/ovmf/OVMF_CODE.fd"
    assert libvirt["nvram"] == "/var/lib/libvirt/qemu/nvram/gpu_VARS.fd"


def test_host_side_ansible_reboots_the_vm_itself_and_brings_the_reports_here(fleet, tmp_path):
    """SETUPKIT_VM_ANSIBLE=host: the playbooks run on the Vagrant host over ssh, where the role's reboot reboots
    the VM and waits (the GPU path finishes in one `vagrant up`), from this checkout, into playbooks/reports."""
    provisioners = recorded(fleet.REPO, tmp_path, SETUPKIT_VM_ANSIBLE="host")["vm"]["provision"]
    assert [p["kwargs"]["type"] for p in provisioners] == ["ansible", "ansible"]
    assert [p["config"]["playbook"] for p in provisioners] == ["playbooks/provision.yml", "playbooks/smoke.yml"]
    for p in provisioners:
        assert "provisioning_path" not in p["config"] and "install_mode" not in p["config"]
        assert p["config"]["extra_vars"]["setupkit_source"] == str(fleet.REPO)
        assert p["config"]["extra_vars"]["setupkit_reports_dir"] == str(fleet.REPO / "playbooks" / "reports")
        assert "localhost" in p["config"]["limit"].split(",")


def test_a_bad_ansible_place_is_named(fleet, tmp_path):
    if shutil.which("ruby") is None:
        pytest.skip("ruby is not installed (it comes with vagrant)")
    result = subprocess.run(["ruby", str(RECORDER), str(fleet.REPO / "Vagrantfile")], capture_output=True,
                            text=True, timeout=60, env=vagrant_env(tmp_path, SETUPKIT_VM_ANSIBLE="controller"))
    assert result.returncode != 0
    assert 'SETUPKIT_VM_ANSIBLE="controller" is not one of guest, host' in result.stderr
