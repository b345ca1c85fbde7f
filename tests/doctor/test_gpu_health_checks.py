"""The GPU health checks (checks/35-gpu-health.yaml) on the scenarios and on variants of them with nvml.json or
probes.json rewritten: each fault NVML or the kernel log can show, its verdict and its fix."""

from __future__ import annotations

import pytest

from tests.helpers.doctor import verdict
from tests.helpers.scenarios import snapshot_facts

HEALTHY = "ubuntu2404-torch-jax-mixed-cuda"  # an RTX A6000: ECC, row remapping, a readable kernel log
SERVER = "ubuntu2204-two-gpus-cuda118"  # two GeForce cards, no display manager
CLOUD = "docker-gpu-l4-ubuntu2204"  # an L4 on a Compute Engine VM, x8 of x16


def set_device(**fields):
    def change(nvml):
        nvml["devices"][0].update(fields)
    return change


def kernel_log(*lines):
    def change(probes):
        probes["dmesg"]["stdout"] += "".join(f"[ 912.000001] {line}\n" for line in lines)
    return change


def test_an_old_snapshot_loads_and_its_new_checks_say_unknown():
    facts = snapshot_facts("h100")
    assert facts["gpu.ecc_mode"] == [None] and facts["gpu.throttle_reasons"] == [None]
    assert facts["gpu.kernel_log"] == "not-recorded" and facts["gpu.xid_events"] is None
    for check_id in ("gpu.ecc", "gpu.retired-memory", "gpu.throttle", "gpu.xid"):
        assert verdict(check_id, facts).status == "unknown", check_id
    # what the capture does hold is judged: PCIe 5 x16 of 5 x16, persistence on
    assert verdict("gpu.pcie-link", facts).status == "pass"
    assert verdict("gpu.persistence", facts).status == "pass"


def test_a_narrow_link_warns_and_an_idle_one_is_not_judged():
    narrow = verdict("gpu.pcie-link", snapshot_facts(CLOUD))
    assert narrow.status == "warn" and "GPU 0 (NVIDIA L4): x8 of x16" in narrow.message
    assert "nvidia-smi -q -d PCIE" in narrow.fix["commands"]
    idle = verdict("gpu.pcie-link", snapshot_facts(HEALTHY))
    assert idle.status == "pass" and "gen 1 of gen 4" in idle.message and "idle, not judged" in idle.message


def test_a_slot_below_the_cards_generation_warns(variant):
    path = variant(HEALTHY, "nvml.json", set_device(pcie_gen=[3, 3], pcie_gen_gpu_max=4))
    finding = verdict("gpu.pcie-link", snapshot_facts(path))
    assert finding.status == "warn" and "gen 3 of gen 4" in finding.message


@pytest.mark.parametrize(("fields", "status", "words"), [
    ({"ecc_uncorrected_volatile": 2}, "fail", "since the driver was loaded: GPU 0 (NVIDIA RTX A6000): 2"),
    ({"ecc_uncorrected_aggregate": 1}, "warn", "in their lifetime"),
    ({"ecc_mode": False, "ecc_uncorrected_volatile": None, "ecc_uncorrected_aggregate": None}, "info", "ECC is off"),
    ({"ecc_mode": None}, "unknown", "did not report ECC"),
])
def test_ecc_errors_and_modes(variant, fields, status, words):
    finding = verdict("gpu.ecc", snapshot_facts(variant(HEALTHY, "nvml.json", set_device(**fields))))
    assert finding.status == status and words in finding.message, finding.message
    if status == "fail":
        assert "sudo nvidia-smi -r -i <gpu index>" in finding.fix["commands"]


def test_a_geforce_card_has_no_ecc_to_judge():
    finding = verdict("gpu.ecc", snapshot_facts(SERVER))
    assert finding.status == "skip" and "no ECC memory" in finding.message


@pytest.mark.parametrize(("fields", "status", "words"), [
    ({"remapped_rows_failed": True}, "fail", "can no longer be repaired"),
    ({"remapped_rows_pending": True}, "warn", "reset the GPU"),
])
def test_row_remapping_pending_or_failed(variant, fields, status, words):
    finding = verdict("gpu.retired-memory", snapshot_facts(variant(HEALTHY, "nvml.json", set_device(**fields))))
    assert finding.status == status and words in finding.message, finding.message
    assert finding.fix["text"]


def test_pages_pending_retirement_on_an_older_card_warn(variant):
    older = set_device(retired_pages_pending=True, remapped_rows_pending=None, remapped_rows_failed=None,
                       errors={"remapped_rows_pending": "NVMLError_NotSupported: Not Supported"})
    finding = verdict("gpu.retired-memory", snapshot_facts(variant(HEALTHY, "nvml.json", older)))
    assert finding.status == "warn" and "driver to be reloaded" in finding.message


@pytest.mark.parametrize(("fields", "status", "words"), [
    ({"clocks_event_reasons": 0x80}, "fail", "hw_power_brake_slowdown"),
    ({"clocks_event_reasons": 0x40 | 0x4}, "fail", "GPU 0 (NVIDIA RTX A6000): hw_thermal_slowdown"),
    ({"clocks_event_reasons": 0x20}, "warn", "sw_thermal_slowdown"),
    ({"power_limit_w": 250.0}, "warn", "GPU 0 (NVIDIA RTX A6000): 250 W, default 300 W"),
    ({"clocks_event_reasons": 0x4}, "info", "full power limit"),
    ({"clocks_event_reasons": 0}, "pass", "No GPU's clocks are held down"),
])
def test_throttling(variant, fields, status, words):
    finding = verdict("gpu.throttle", snapshot_facts(variant(HEALTHY, "nvml.json", set_device(**fields))))
    assert finding.status == status and words in finding.message, finding.message
    if status == "fail":
        assert "nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER" in finding.fix["commands"]


def test_persistence_off_on_a_server_without_a_display_warns_with_the_daemon_as_the_fix(variant):
    def off(nvml):
        for device in nvml["devices"]:
            device["persistence_mode"] = False

    finding = verdict("gpu.persistence", snapshot_facts(variant(SERVER, "nvml.json", off)))
    assert finding.status == "warn" and "no display holds the driver" in finding.message
    assert finding.fix["commands"] == ["sudo systemctl enable --now nvidia-persistenced", "sudo nvidia-smi -pm 1"]


@pytest.mark.parametrize(("line", "status", "words"), [
    ("NVRM: Xid (PCI:0000:01:00): 79, pid=0, GPU has fallen off the bus.", "fail",
     "Xid 79 on PCI 0000:01:00: GPU has fallen off the bus"),
    ("NVRM: Xid (PCI:0000:01:00): 48, pid=2211, name=python3, DBE (0x1) detected", "fail", "Double Bit ECC"),
    ("NVRM: Xid (PCI:0000:01:00): 95, pid=2211, Uncontained: FBHUB. RST: Yes, D-RST: No", "fail", "Uncontained"),
    ("NVRM: Xid (PCI:0000:01:00): 94, pid=2211, Contained: SM (0x1). RST: No, D-RST: No", "warn", "Contained"),
    ("NVRM: Xid (PCI:0000:01:00): 63, pid=2211, Row Remapper: New row marked for remapping", "warn",
     "row remapping"),
    ("NVRM: Xid (PCI:0000:01:00): 31, pid=2211, name=python3, Ch 00000008, intr 00000000. MMU Fault", "info",
     "GPU memory page fault"),
    ("NVRM: Xid (PCI:0000:01:00): 119, pid=2211, Timeout after 6s of waiting for RPC response", "info",
     "Xid 119 on PCI 0000:01:00: pid=2211, Timeout"),
])
def test_xid_errors_in_the_kernel_log(variant, line, status, words):
    finding = verdict("gpu.xid", snapshot_facts(variant(HEALTHY, "probes.json", kernel_log(line))))
    assert finding.status == status and words in finding.message, finding.message
    if status == "fail":
        assert finding.fix["commands"]


def test_a_kernel_log_only_root_may_read_is_unknown_with_the_reason():
    finding = verdict("gpu.xid", snapshot_facts(CLOUD))
    assert finding.status == "unknown"
    assert finding.message.startswith("Kernel log not readable (run as root)")
