"""On a real NVIDIA GPU host only (opt-in: `python3 -m pytest -m gpu tests/gpu`): what doctor and snapshot read
from the live machine agrees with the driver's own files and with nvidia-smi."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu

DRIVER_VERSION_FILE = Path("/proc/driver/nvidia/version")


@pytest.fixture(scope="module")
def doctor(tmp_path_factory):
    if not DRIVER_VERSION_FILE.exists():
        pytest.fail("this test needs an NVIDIA driver loaded (/proc/driver/nvidia/version is absent)")
    done = subprocess.run([sys.executable, "-m", "setupkit", "doctor", "--json"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_the_driver_version_is_the_kernel_modules(doctor):
    line = DRIVER_VERSION_FILE.read_text().splitlines()[0]
    assert doctor["facts"]["driver.version"] in line
    assert doctor["facts"]["driver.loaded"] is True and doctor["facts"]["driver.nvml_error"] is None


def test_the_gpus_are_the_ones_nvidia_smi_lists(doctor):
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60).stdout
    names = re.findall(r"^GPU \d+: (.+?) \(UUID", listed, re.M)
    assert doctor["facts"]["gpu.count"] == len(names) > 0
    assert doctor["facts"]["gpu.names"] == names


def test_the_driver_checks_pass(doctor):
    verdicts = {f["id"]: f["status"] for f in doctor["findings"]}
    for check in ("gpu.present", "nouveau.loaded", "driver.installed", "driver.version-mismatch"):
        assert verdicts[check] == "pass", (check, verdicts[check])


def test_a_snapshot_of_this_host_reads_back_the_same_facts(doctor, tmp_path):
    out = tmp_path / "gpu-host.tar.gz"
    taken = subprocess.run([sys.executable, "-m", "setupkit", "snapshot", "-o", str(out)], capture_output=True,
                           text=True, timeout=120)
    assert taken.returncode == 0, taken.stderr
    read = subprocess.run([sys.executable, "-m", "setupkit", "doctor", "--snapshot", str(out), "--json"],
                          capture_output=True, text=True, timeout=120)
    facts = json.loads(read.stdout)["facts"]
    # Memory in use and the process list move between the two reads; everything else is the same host.
    moving = {"gpu.memory_used_mib", "gpu.processes"}
    assert {k: v for k, v in facts.items() if k not in moving} == \
        {k: v for k, v in doctor["facts"].items() if k not in moving}


@pytest.mark.skipif(shutil.which("nvidia-smi") is None, reason="nvidia-smi is not on PATH")
def test_nvml_and_nvidia_smi_agree_on_the_highest_cuda(doctor):
    header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"CUDA Version:\s*([\d.]+)", header)
    assert match and doctor["facts"]["driver.cuda_max"] == match.group(1)
