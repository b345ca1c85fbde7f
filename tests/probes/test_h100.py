"""The real H100 capture (tests/snapshots/h100-ubuntu2404-vm): no systemd, no DMI, no lsmod."""

from __future__ import annotations

import json

H100_FACTS = {
    "os.id": "ubuntu", "os.version_id": "24.04", "os.pretty_name": "Ubuntu 24.04.3 LTS", "os.family": "debian",
    "os.codename": "noble", "kernel.release": "6.18.44-fc-v657-gpu", "kernel.wsl": False,
    "host.virtualization": "unknown", "host.laptop": False, "cpu.count": 16, "cpu.model": "Intel(R) Xeon(R) Processor",
    "gpu.count": 1, "gpu.names": ["NVIDIA H100 80GB HBM3"], "gpu.pci_ids": ["10de:2330"],
    "gpu.uuids": ["GPU-c8a18bfd-e4b1-ed51-a742-b00675a77712"], "gpu.compute_capabilities": ["9.0"],
    "gpu.memory_total_mib": [81559], "gpu.memory_used_mib": [480], "gpu.processes": [], "gpu.display_active": False,
    # 10de:2330 is GH100 (pci.ids: "GH100 [H100 SXM5 80GB]"); the capture carries no pci.ids, setupkit's table does
    "gpu.chips": ["GH100"], "gpu.architectures": ["hopper"], "gpu.kernel_modules": ["either"],
    "driver.loaded": True, "driver.version": "580.159.04", "driver.userspace_version": "580.159.04",
    "driver.open_kernel_module": True, "driver.nvml_error": None, "driver.cuda_max": "13.0",
    "nouveau.loaded": False, "nouveau.blacklisted": False,
    "cuda.toolkit_version": "13.0", "cuda.toolkit_path": "/usr/local/cuda-13.0", "cuda.toolkits": ["13.0"],
    "cuda.pip_runtime_version": "13.0", "cudnn.version": "9.14.0", "cudnn.pip_version": "9.19.0.56",
    "display.manager": None, "display.manager_active": False, "display.init": "none",
    "display.graphical_session": False, "secureboot.enabled": False, "reboot.required": False,
    "python.version": "3.12.3", "python.bits": 64, "pip.version": "24.0",
    "tensorflow.version": None, "tensorflow.package": None,
    "env.cuda_visible_devices": None, "env.tf_force_gpu_allow_growth": None,
}


def test_h100_capture_facts(h100_snapshot, facts_of):
    facts = facts_of(h100_snapshot)
    wrong = {key: (facts[key], value) for key, value in H100_FACTS.items() if facts[key] != value}
    assert not wrong, f"(found, expected): {wrong}"
    assert {"avx", "avx2", "fma", "avx512f", "sse4_2"} <= set(facts["cpu.flags"])


def test_doctor_prints_the_h100_facts_as_json(h100_snapshot, run_setupkit):
    result = run_setupkit("doctor", "--snapshot", str(h100_snapshot), "--json", timeout=60)
    facts = json.loads(result.stdout)["facts"]
    assert {key: facts[key] for key in H100_FACTS} == H100_FACTS, result.stderr
