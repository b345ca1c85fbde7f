"""Programs doctor runs on the live host are bounded: a flood is stopped at its output bound, a hang at its
timeout, and Ctrl-C or SIGTERM ends them with doctor.

nvidia-smi is the program doctor is sure to run here: a fake pynvml that cannot start NVML (first on
PYTHONPATH) makes the driver probe ask nvidia-smi for the CUDA version, on any machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from setupkit import process
from setupkit.host.live import MAX_PROGRAM_OUTPUT, LiveHost
from setupkit.probes import driver

NO_NVML = "class NVMLError(Exception):\n    pass\n\n\ndef nvmlInit():\n    raise NVMLError('no driver here')\n"


@pytest.fixture
def world(tmp_path):
    """world(nvidia_smi_body) -> env for doctor: that fake nvidia-smi first on PATH, NVML unable to start."""
    fakes = tmp_path / "bin"
    fakes.mkdir()
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "pynvml.py").write_text(NO_NVML)

    def make(body: str) -> dict[str, str]:
        program = fakes / "nvidia-smi"
        program.write_text("#!/bin/sh\n" + body + "\n")
        program.chmod(0o755)
        return dict(os.environ, PATH=f"{fakes}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(modules),
                    NO_COLOR="1")

    return make


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_flooding_program_is_stopped_at_the_bound_in_memory_and_time(tmp_path):
    flood = tmp_path / "nvidia-smi"
    flood.write_text("#!/bin/sh\nexec yes 'NVIDIA-SMI flood line'\n")
    flood.chmod(0o755)
    started = time.monotonic()
    result = LiveHost().run([str(flood)], timeout=30)
    assert time.monotonic() - started < 5, "stopped at its output bound, not at its 30 s timeout"
    assert len(result.stdout) == MAX_PROGRAM_OUTPUT and not result.ok
    assert result.stderr.endswith(f"stopped: printed more than {MAX_PROGRAM_OUTPUT:,} bytes")


def test_doctor_with_a_flooding_nvidia_smi_ends_in_seconds_and_stays_small(world):
    env = world("exec yes 'Driver Version: 580.159.04     CUDA Version: 13.0'")
    # The wrapper reports the largest resident size among its waited-for descendants: doctor and nvidia-smi.
    wrapper = ("import resource, subprocess, sys\n"
               "done = subprocess.run([sys.executable, '-m', 'setupkit', 'doctor', '--json'], capture_output=True)\n"
               "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.stdout.write(done.stdout.decode())\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=60, env=env)
    took = time.monotonic() - started
    status, document = done.stdout.split("\n", 1)
    returncode, max_rss_kib = map(int, status.split())
    assert returncode in (0, 1), done.stderr
    assert took < 15
    assert max_rss_kib < 300 * 1024, f"doctor grew to {max_rss_kib // 1024} MiB"
    facts = json.loads(document)["facts"]
    assert facts["driver.nvml_error"] is not None and facts["driver.cuda_max"] is None


def test_a_hanging_nvidia_smi_is_cut_by_its_timeout_and_its_fact_is_unknown(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    class QuickHost(LiveHost):
        def run(self, argv, timeout=10.0):
            return super().run(argv, timeout=0.5)

    started = time.monotonic()
    result = QuickHost().run(["nvidia-smi"])
    assert result.timed_out and result.stderr.endswith("timed out after 0.5s")
    assert result.to_json()["timed_out"] is True  # what a snapshot records
    assert driver._cuda_max(QuickHost(), {"error": "NVMLError_DriverNotLoaded"}) is None
    assert time.monotonic() - started < 2 * (0.5 + process.KILL_GRACE_S) + 2


def test_a_wedged_nvml_is_not_asked_again_through_nvidia_smi(tmp_path, monkeypatch):
    ran = []

    class Recording(LiveHost):
        def run(self, argv, timeout=10.0):
            ran.append(tuple(argv))
            return super().run(argv, timeout)

    assert driver._cuda_max(Recording(), {"error": "NVMLError_ProbeTimedOut", "message": "..."}) is None
    assert ran == []


@pytest.mark.parametrize(("sig", "shown"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_ctrl_c_or_sigterm_ends_doctor_and_the_program_it_runs(world, tmp_path, sig, shown):
    pid_file = tmp_path / "nvidia-smi.pid"
    env = world(f"echo $$ > {pid_file}\nexec sleep 60")
    doctor = subprocess.Popen([sys.executable, "-m", "setupkit", "doctor", "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.monotonic() < deadline and doctor.poll() is None, "doctor never ran nvidia-smi"
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert alive(pid)
        doctor.send_signal(sig)
        _, err = doctor.communicate(timeout=20)
    finally:
        doctor.kill()
        doctor.wait()
    assert doctor.returncode == 130
    assert err.strip().splitlines() == [f"setupkit: interrupted ({shown})"]
    assert gone_within(pid, 3), "nvidia-smi outlived doctor"
