"""The GPU health probe: NVML's health fields as facts, the driver's Xid lines of a kernel log, and the kernel log
read only where a GPU and the nvidia module are present (a GPU-less host runs no program for it)."""

from __future__ import annotations

import subprocess

import pytest

from setupkit.host.base import CommandResult
from setupkit.host.live import LiveHost
from setupkit.host.snapshot import SnapshotHost
from setupkit.probes import collect_facts, gpu_health
from tests.helpers.scenarios import snapshot_path


@pytest.mark.parametrize(("mask", "names"), [
    (0, []),
    (0x1, ["gpu_idle"]),
    (0x4 | 0x20, ["sw_power_cap", "sw_thermal_slowdown"]),
    (0x8 | 0x40 | 0x80, ["hw_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown"]),
    (0x100 | 0x200, ["display_clock_setting", "unknown_0x200"]),
    (None, None), (-1, None), (True, None), (1 << 64, None), (1.0, None),
])
def test_clocks_event_reasons_become_names(mask, names):
    assert gpu_health.throttle_reasons(mask) == names


LOG = """\
[    3.348715] NVRM: loading NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build
[ 5107.644336] NVRM: Xid (PCI:0000:3B:00): 79, pid=0, GPU has fallen off the bus.
[ 5107.644400] NVRM: GPU 0000:3b:00.0: GPU has fallen off the bus.
[ 5108.000001] NVRM: Xid (PCI:0000:3b:00): 79, pid=0, GPU has fallen off the bus.
[ 6000.000001] NVRM: Xid (0000:01:00): 13, 0000 00000000 0000a1c0 00000000 \x1b[31m
[ 7000.000001] NVRM: Xid (PCI:0000:01:00): 31
"""


def test_xid_lines_are_counted_per_xid_and_gpu_old_and_new_formats():
    assert gpu_health.xid_events(LOG) == [
        {"xid": 79, "pci": "0000:3b:00", "count": 2, "message": "pid=0, GPU has fallen off the bus."},
        {"xid": 13, "pci": "0000:01:00", "count": 1, "message": "0000 00000000 0000a1c0 00000000 ?[31m"},
        {"xid": 31, "pci": "0000:01:00", "count": 1, "message": ""},
    ]
    assert gpu_health.xid_events("NVRM: loading the module\n") == []


def test_a_flood_of_xids_is_bounded():
    flood = "".join(f"NVRM: Xid (PCI:0000:{n % 256:02x}:00): {n % 900 + 1}, x\n" for n in range(5000))
    events = gpu_health.xid_events(flood)
    assert len(events) == gpu_health.MAX_EVENTS
    assert gpu_health.xid_events("NVRM: Xid (PCI:0000:01:00): 79, x\n" * 10_000)[0]["count"] == 10_000


@pytest.mark.parametrize(("done", "log", "events"), [
    (None, "not-recorded", None),
    (CommandResult(("dmesg",), 0, LOG.splitlines()[0], ""), "read", []),
    (CommandResult(("dmesg",), 1, "", "dmesg: read kernel buffer failed: Operation not permitted\n"), "denied", None),
    (CommandResult(("dmesg",), 127, "", "dmesg: not found"), "unreadable", None),
    (CommandResult(("dmesg",), None, "", "timed out after 3s"), "unreadable", None),
])
def test_the_kernel_log_read_denied_or_absent(done, log, events):
    assert gpu_health.kernel_log_facts(done) == {"gpu.kernel_log": log, "gpu.xid_events": events}


def test_old_nvml_documents_give_unknown_health_facts():
    facts = gpu_health.nvml_health_facts([{"index": 0, "name": "NVIDIA H100 80GB HBM3", "pcie_gen": [5, 5]}])
    assert facts["gpu.pcie_gen"] == [5] and facts["gpu.pcie_width"] == [None]
    assert facts["gpu.ecc_mode"] == [None] and facts["gpu.throttle_reasons"] == [None]
    assert facts["gpu.nvml_unsupported"] == [[]]


def test_hostile_values_are_unknown():
    device = {"pcie_gen": [0, 10 ** 9], "pcie_width": "16", "ecc_mode": 1, "ecc_uncorrected_volatile": -3,
              "power_limit_w": float("inf"), "persistence_mode": "yes", "clocks_event_reasons": "0x1",
              "errors": {"ecc_mode": "NVMLError_NotSupported", "name": "NVMLError_NotSupported", 5: "x"}}
    facts = gpu_health.nvml_health_facts([device, {"index": 1, "error": "could not open this GPU"}])
    assert facts["gpu.pcie_gen"] == [None, None] and facts["gpu.pcie_gen_max"] == [None, None]
    assert facts["gpu.pcie_width"] == [None, None] and facts["gpu.ecc_mode"] == [None, None]
    assert facts["gpu.ecc_uncorrected_volatile"] == [None, None] and facts["gpu.power_limit_w"] == [None, None]
    assert facts["gpu.persistence_mode"] == [None, None] and facts["gpu.throttle_reasons"] == [None, None]
    assert facts["gpu.nvml_unsupported"] == [["ecc_mode"], None]  # only health fields; an unopened GPU: unknown


@pytest.fixture
def kernel_log_asked(monkeypatch):
    """The names of the host probes run (SnapshotHost and LiveHost alike)."""
    asked: list[str] = []
    for host_class in (SnapshotHost, LiveHost):
        original = host_class.run_probe

        def spy(self, name, argv, timeout, env=None, _original=original):
            asked.append(name)
            return _original(self, name, argv, timeout, env)

        monkeypatch.setattr(host_class, "run_probe", spy)
    return asked


@pytest.mark.parametrize("scenario", ["centos7-no-avx", "docker-build-debian12-nogpu", "ubuntu1604-gtx-nouveau",
                                      "wsl2-ubuntu2204"])
def test_no_kernel_log_is_asked_without_a_gpu_and_a_loaded_module(kernel_log_asked, scenario):
    with SnapshotHost(snapshot_path(scenario)) as host:
        facts = collect_facts(host)
    assert kernel_log_asked == [] and facts["gpu.kernel_log"] is None


def test_the_kernel_log_is_asked_once_where_the_module_drives_a_gpu(kernel_log_asked):
    with SnapshotHost(snapshot_path("ubuntu2404-torch-jax-mixed-cuda")) as host:
        facts = collect_facts(host)
    assert kernel_log_asked == ["dmesg"] and facts["gpu.kernel_log"] == "read" and facts["gpu.xid_events"] == []


def test_this_gpu_less_machine_runs_no_program_for_it(kernel_log_asked):
    with LiveHost() as host:
        facts = collect_facts(host)
    if facts["gpu.count"]:
        pytest.skip("this machine has an NVIDIA GPU")
    assert "dmesg" not in kernel_log_asked and facts["gpu.kernel_log"] is None


# -- the dmesg command itself, with a dmesg of the test's own on PATH ------------------------------------------------

FAKE_DMESG_LOG = ("[    1.0] usb 1-1: SerialNumber: 0123456789AB\n"
                  "[    2.0] e1000e 0000:00:1f.6 eth0: (PCI Express:2.5GT/s:Width x1) 3c:52:82:00:11:22\n"
                  "[ 5123.4] NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python3, GPU has fallen off the bus.\n")


def run_dmesg_probe(tmp_path, script: str) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "dmesg"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", **gpu_health.DMESG_ENV}
    return subprocess.run(list(gpu_health.DMESG_ARGV), capture_output=True, text=True, timeout=10, env=env)


def test_the_kernel_log_is_cut_to_the_driver_xid_lines(tmp_path):
    log = tmp_path / "log"
    log.write_text(FAKE_DMESG_LOG)
    done = run_dmesg_probe(tmp_path, f"cat {log}\n")
    # serial numbers and MAC addresses never reach doctor, nor a snapshot of this run
    assert done.returncode == 0 and done.stdout == FAKE_DMESG_LOG.splitlines(keepends=True)[-1]
    facts = gpu_health.kernel_log_facts(CommandResult(gpu_health.DMESG_ARGV, done.returncode, done.stdout, done.stderr))
    assert facts["gpu.kernel_log"] == "read" and [event["xid"] for event in facts["gpu.xid_events"]] == [79]


def test_a_log_without_xid_lines_is_read_and_empty(tmp_path):
    done = run_dmesg_probe(tmp_path, "echo '[ 1.0] Linux version 6.8.0'\n")
    assert (done.returncode, done.stdout) == (0, "")
    assert gpu_health.kernel_log_facts(CommandResult(gpu_health.DMESG_ARGV, 0, "", ""))["gpu.xid_events"] == []


def test_dmesg_refused_keeps_its_status_and_message(tmp_path):
    done = run_dmesg_probe(tmp_path, "echo 'dmesg: read kernel buffer failed: Operation not permitted' >&2\nexit 1\n")
    assert done.returncode == 1 and "Operation not permitted" in done.stderr
    facts = gpu_health.kernel_log_facts(CommandResult(gpu_health.DMESG_ARGV, done.returncode, done.stdout, done.stderr))
    assert facts["gpu.kernel_log"] == "denied"
