"""The acceptance suite (acceptance/) runs through testinfra's Ansible backend against this machine: its GPU
checks skip with their reason here (no NVIDIA GPU), its doctor check judges what setupkit reports."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow
NO_GPU_REASON = "no NVIDIA GPU on this host"


def run_suite(fleet, tmp_path, setupkit, env):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[lab]\nlocalhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return subprocess.run([sys.executable, "-m", "pytest", "acceptance", "--hosts=ansible://all",
                           f"--ansible-inventory={inventory}", f"--setupkit-bin={setupkit}", "-rA",
                           "-p", "no:cacheprovider"],
                          capture_output=True, text=True, timeout=300, cwd=fleet.REPO, env=env)


def test_suite_passes_the_doctor_check_and_skips_gpu_checks_without_a_gpu(fake_setupkit, fleet, tmp_path):
    setupkit, _, env = fake_setupkit(gpus=0)
    result = run_suite(fleet, tmp_path, setupkit, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED acceptance/test_provisioned_host.py::test_doctor_finds_no_failing_check" in result.stdout
    assert result.stdout.count(NO_GPU_REASON) == 3 and "1 passed, 3 skipped" in result.stdout


def test_suite_fails_on_a_failing_doctor_check_and_shows_its_fix(fake_setupkit, fleet, tmp_path):
    finding = {"id": "nouveau.loaded", "section": "driver", "status": "fail", "title": "nouveau holds the GPU",
               "detail": "", "fix": "sudo setupkit install --gpu"}
    setupkit, _, env = fake_setupkit(gpus=0, findings=[finding])
    result = run_suite(fleet, tmp_path, setupkit, env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nouveau.loaded: nouveau holds the GPU -- fix: sudo setupkit install --gpu" in result.stdout
