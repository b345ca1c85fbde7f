"""This machine, read live: truthful facts, a snapshot taken here reads back the same, hung programs are cut."""

from __future__ import annotations

import json
import os
import platform
import stat
import time

import pytest

from setupkit.host.live import LiveHost
from setupkit.host.snapshot import SnapshotHost
from setupkit.probes import collect_facts, cuda


def first_flags_line() -> list[str]:
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(("flags", "Features")):
                return line.split(":", 1)[1].split()
    return []


def test_live_facts_are_truthful():
    facts = collect_facts(LiveHost())
    with open("/etc/os-release", encoding="utf-8") as handle:
        release = dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line)
    assert facts["os.id"] == release["ID"].strip('"')
    assert facts["os.version_id"] == (release.get("VERSION_ID", "").strip('"') or None)
    assert facts["cpu.flags"] == first_flags_line()
    assert facts["python.version"] == platform.python_version()
    assert facts["kernel.release"] == os.uname().release
    if not os.path.exists("/proc/driver/nvidia/version") and not os.path.exists("/dev/nvidiactl"):
        assert facts["gpu.count"] == 0 and facts["driver.version"] is None


def test_this_machine_is_the_debian_12_ci_host_without_a_gpu():
    """The machine this suite was written on; elsewhere the general truthfulness test above applies."""
    facts = collect_facts(LiveHost())
    if (facts["os.id"], facts["os.version_id"]) != ("debian", "12"):
        pytest.skip(f"not the Debian 12 host: {facts['os.id']} {facts['os.version_id']}")
    assert facts["os.family"] == "debian" and facts["os.codename"] == "bookworm"
    assert facts["gpu.count"] == 0 and facts["driver.nvml_error"] == "NVMLError_LibraryNotFound"


def test_snapshot_round_trip_gives_the_live_facts(tmp_path, run_setupkit):
    out = tmp_path / "snap"
    result = run_setupkit("snapshot", "-o", str(out), timeout=120)
    assert result.returncode == 0, result.stderr
    live = collect_facts(LiveHost())
    with SnapshotHost(out) as host:
        frozen = collect_facts(host)
    assert {k: (live[k], frozen[k]) for k in live if live[k] != frozen[k]} == {}


def test_doctor_json_here_matches_the_live_facts(run_setupkit):
    result = run_setupkit("doctor", "--json", timeout=120)
    facts = json.loads(result.stdout)["facts"]
    assert facts == json.loads(json.dumps(collect_facts(LiveHost())))


class QuickHost(LiveHost):
    """The live host with a one-second program timeout, so that a hung program costs the test one second."""

    def run(self, argv, timeout=10.0):
        return super().run(argv, timeout=min(timeout, 1.0))


def test_a_hung_program_is_cut_and_its_fact_is_unknown(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "nvcc"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(fake.parent))
    start = time.monotonic()
    result = QuickHost().run(["nvcc", "--version"])
    assert result.returncode is None and result.timed_out
    assert time.monotonic() - start < 5
    assert cuda.toolkit_version(QuickHost(), None) is None
    assert time.monotonic() - start < 10
