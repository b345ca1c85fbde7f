"""Write the built scenario snapshots under tests/snapshots/ (SNAPSHOT.md format) and the expected facts beside
every snapshot there (expected_facts.json).

The folders are the fixtures and are committed; this script is how they were made, kept so that a scenario
can be changed in one place, and tests/probes/test_scenarios.py holds the committed folders to it byte
for byte. Run it from anywhere: ``python3 tests/probes/build_scenarios.py [NAME ...]``.

- A built scenario holds only what the probes read, in the real formats of those files and programs, and is
  written by setupkit's own bundle writer (``setupkit.host.bundle``), as ``setupkit snapshot`` writes one. Its
  expected facts are written here by hand, from what a person reading those files would conclude (never from
  the probes).
- A snapshot captured from a real host (CAPTURED) is never rewritten: only its expected facts are, from what
  the probes read from it, so that a change in a probe that changes its facts shows up as a difference.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from setupkit.facts import FACTS
from setupkit.host.base import CommandResult, PythonInfo
from setupkit.host.bundle import write_recording
from setupkit.host.recording import Recording
from setupkit.probes import gpu_health, read_facts

ROOT = Path(__file__).resolve().parents[2] / "tests" / "snapshots"
CAPTURED = (ROOT / "h100-ubuntu2404-vm",)
"""Snapshots captured from real hosts (tests/snapshots/README.md says where from)."""
EXPECTED_FACTS = "expected_facts.json"
CREATED = "2026-11-27T09:00:00Z"
"""Every built scenario's manifest time: the same scenario gives the same bytes."""
SECUREBOOT_VAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


@dataclass
class Scenario:
    name: str
    note: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    nvml: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str | None] = field(default_factory=dict)
    python: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)


# -- real file formats -----------------------------------------------------------------------------------------


def cpuinfo(model: str, family: int, model_id: int, stepping: int, mhz: str, cache: str, flags: str,
            sockets: int, cores: int, threads: int, vendor: str = "GenuineIntel") -> str:
    """A whole /proc/cpuinfo: one block per logical CPU, as the kernel prints it."""
    blocks = []
    per_socket = cores * threads
    for cpu in range(sockets * per_socket):
        socket, index = divmod(cpu, per_socket)
        core = index % cores
        apic = socket * 32 + core * 2 + index // cores
        blocks.append(
            f"processor\t: {cpu}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model_id}\n"
            f"model name\t: {model}\nstepping\t: {stepping}\nmicrocode\t: 0x2f\ncpu MHz\t\t: {mhz}\n"
            f"cache size\t: {cache}\nphysical id\t: {socket}\nsiblings\t: {per_socket}\ncore id\t\t: {core}\n"
            f"cpu cores\t: {cores}\napicid\t\t: {apic}\ninitial apicid\t: {apic}\nfpu\t\t: yes\n"
            f"fpu_exception\t: yes\ncpuid level\t: 22\nwp\t\t: yes\nflags\t\t: {flags}\n"
            f"bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs\nbogomips\t: 7200.00\n"
            f"clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 39 bits physical, 48 bits virtual\n"
            f"power management:\n\n"
        )
    return "".join(blocks)


def meminfo(total_kb: int) -> str:
    return (f"MemTotal:       {total_kb} kB\nMemFree:        {total_kb // 3} kB\n"
            f"MemAvailable:   {total_kb // 2} kB\nBuffers:          204800 kB\nCached:          4194304 kB\n"
            "SwapCached:            0 kB\n")


def pci(scenario: Scenario, address: str, vendor: str, device: str, pci_class: str) -> None:
    base = f"/sys/bus/pci/devices/{address}"
    scenario.files[f"{base}/vendor"] = f"0x{vendor}\n"
    scenario.files[f"{base}/device"] = f"0x{device}\n"
    scenario.files[f"{base}/class"] = f"0x{pci_class}\n"


def processes(scenario: Scenario, names: dict[int, str]) -> None:
    for pid, name in names.items():
        scenario.files[f"/proc/{pid}/comm"] = f"{name}\n"


def dmi(scenario: Scenario, vendor: str, product: str, chassis: int) -> None:
    scenario.files["/sys/class/dmi/id/sys_vendor"] = f"{vendor}\n"
    scenario.files["/sys/class/dmi/id/product_name"] = f"{product}\n"
    scenario.files["/sys/class/dmi/id/chassis_type"] = f"{chassis}\n"


def kernel(scenario: Scenario, release: str, proc_version: str, headers: bool, lib: str = "/lib") -> None:
    scenario.files["/proc/sys/kernel/osrelease"] = f"{release}\n"
    scenario.files["/proc/version"] = f"{proc_version}\n"
    if headers:
        scenario.links[f"{lib}/modules/{release}/build"] = f"/usr/src/linux-headers-{release}"
        scenario.dirs.append(f"/usr/src/linux-headers-{release}/include")
    else:
        scenario.dirs.append(f"{lib}/modules/{release}/kernel")


def command(argv: list[str], returncode: int | None, stdout: str = "", stderr: str = "") -> dict[str, Any]:
    return {"argv": argv, "returncode": returncode, "stdout": stdout, "stderr": stderr}


def gpu(index: int, name: str, uuid: str, bus: str, total: int, used: int, cc: list[int],
        display: bool | None, procs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    device = {"index": index, "name": name, "uuid": uuid, "pci_bus_id": bus, "memory_total": total,
              "memory_used": used, "compute_capability": cc, "persistence_mode": False, "mig_mode": None,
              "display_active": display, "temperature_c": 41, "power_w": 21.3, "power_limit_w": 350.0,
              "pcie_gen": [1, 4], "pcie_width": [16, 16], "processes": procs}
    device.update(extra)
    return device


NOT_SUPPORTED = "NVMLError_NotSupported: Not Supported"
GEFORCE_UNSUPPORTED = ("ecc_mode", "ecc_uncorrected_aggregate", "ecc_uncorrected_volatile", "remapped_rows_correctable",
                       "remapped_rows_failed", "remapped_rows_pending", "remapped_rows_uncorrectable",
                       "retired_pages_pending")
"""What NVML answers NotSupported for on a GeForce card: it has no ECC memory to count or repair."""


def geforce_health(reasons: int) -> dict[str, Any]:
    """The newer reader's health fields of a GeForce card that is fine: no ECC memory, the link at gen 1 of its 4
    at idle, the default power limit (gpu()'s 350 W); ``reasons`` NVML's clocks event reasons."""
    return {"pcie_gen_gpu_max": 4, **{name: None for name in GEFORCE_UNSUPPORTED},
            "clocks_event_reasons": reasons, "power_management_limit_w": 350.0, "power_default_limit_w": 350.0,
            "errors": {name: NOT_SUPPORTED for name in GEFORCE_UNSUPPORTED}}


def health_expected(count: int, kernel_log: str | None = "not-recorded", **given: list[Any]) -> dict[str, Any]:
    """The GPU health facts of ``count`` GPUs as gpu() writes them (idle links at gen 1 of 4, x16, 350 W, no
    health field of the newer NVML reader), with ``given`` facts (short names: pcie_width=[8]) over them."""
    facts: dict[str, Any] = {
        "pcie_gen": [1] * count, "pcie_gen_max": [4] * count, "pcie_width": [16] * count,
        "pcie_width_max": [16] * count, "power_limit_w": [350.0] * count, "persistence_mode": [False] * count,
        "nvml_unsupported": [[] for _ in range(count)],
        **{name: [None] * count for name in (
            "pcie_gen_gpu_max", "ecc_mode", "ecc_uncorrected_volatile", "ecc_uncorrected_aggregate",
            "retired_pages_pending", "remapped_rows_pending", "remapped_rows_failed", "throttle_reasons",
            "power_default_limit_w", "mig_mode")},
        **given}
    return {**{f"gpu.{name}": value for name, value in facts.items()}, "gpu.kernel_log": kernel_log,
            "gpu.xid_events": None}


def smi_header(smi: str, driver: str, cuda: str | None, width: int = 89) -> str:
    """The first lines of ``nvidia-smi`` as drivers from 470 on print them."""
    cuda_text = f"CUDA Version: {cuda}" if cuda else ""
    line = f"| NVIDIA-SMI {smi:<22}Driver Version: {driver:<15}{cuda_text}"
    return ("Thu May 16 10:12:01 2024       \n+" + "-" * (width - 2) + "+\n" + line.ljust(width - 1) + "|\n+"
            + "-" * (width - 2) + "+\n")


NVML_NOT_FOUND = {"error": "NVMLError_LibraryNotFound", "message": "NVML Shared Library Not Found"}
UBUNTU_BLACKLIST_CONF = (
    "# This file lists those modules which we don't want to be loaded by\n"
    "# alias expansion, usually so some other driver will be loaded for the\n"
    "# device instead.\n\n# evbug is a debug tool that should be loaded explicitly\nblacklist evbug\n\n"
    "# these drivers are very simple, the HID drivers are usually preferred\nblacklist usbmouse\n"
    "blacklist usbkbd\n\n# replaced by e100\nblacklist eepro100\n"
)
NOUVEAU_BLACKLIST_CONF = "blacklist nouveau\noptions nouveau modeset=0\n"


def os_release_ubuntu(version: str, point: str, codename: str, title: str) -> str:
    return (f'PRETTY_NAME="Ubuntu {point} LTS"\nNAME="Ubuntu"\nVERSION_ID="{version}"\n'
            f'VERSION="{point} LTS ({title})"\nVERSION_CODENAME={codename}\nID=ubuntu\nID_LIKE=debian\n'
            'HOME_URL="https://www.ubuntu.com/"\nSUPPORT_URL="https://help.ubuntu.com/"\n'
            'BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"\n'
            'PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"\n'
            f"UBUNTU_CODENAME={codename}\n")


def ubuntu_release(s: Scenario, version: str, point: str, codename: str, title: str, debian: str) -> None:
    """The files that name an Ubuntu release, laid out as Ubuntu lays them: /etc/os-release a link to
    ../usr/lib/os-release, lsb-release, the Debian release it is built on (``debian``, "bookworm/sid"), and /lib
    a link to usr/lib."""
    s.links["/etc/os-release"] = "../usr/lib/os-release"
    s.files["/usr/lib/os-release"] = os_release_ubuntu(version, point, codename, title)
    s.files["/etc/lsb-release"] = lsb_release(version, codename, f"Ubuntu {point} LTS")
    s.files["/etc/debian_version"] = f"{debian}\n"
    s.links["/lib"] = "usr/lib"


def lsb_release(version: str, codename: str, description: str) -> str:
    return (f"DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE={version}\nDISTRIB_CODENAME={codename}\n"
            f'DISTRIB_DESCRIPTION="{description}"\n')


def python_json(executable: str, version: str, pip: str, packages: dict[str, str],
                externally_managed: bool | None = False) -> dict[str, Any]:
    # Every scenario's release predates PEP 668's EXTERNALLY-MANAGED marker (Debian 12, Ubuntu 23.04).
    return {"executable": executable, "version": version, "bits": 64, "pip_version": pip,
            "packages": dict(sorted({"pip": pip, **packages}.items())), "externally_managed": externally_managed}


def dmesg_run(returncode: int, log: str, stderr: str = "") -> dict[str, Any]:
    """The kernel log probe's run as setupkit records it: its command (dmesg, cut to the driver's Xid lines by
    the probe's own shell pipeline) and what that printed of ``log``, the whole ring buffer of the scenario."""
    kept = "".join(line for line in log.splitlines(keepends=True) if "NVRM: Xid" in line)
    return command(list(gpu_health.DMESG_ARGV), returncode, kept, stderr)


def base_expected() -> dict[str, Any]:
    """The facts most scenarios share; each scenario states the rest (and may override these)."""
    return {
        "kernel.wsl": False, "host.virtualization": "none", "host.laptop": False,
        "gpu.errors": None, "gpu.uuids": None, "gpu.compute_capabilities": None, "gpu.memory_total_mib": None,
        "gpu.chips": None, "gpu.architectures": None, "gpu.kernel_modules": None,
        "gpu.memory_used_mib": None, "gpu.processes": None, "gpu.display_active": None,
        # GPU health, level 1: NVML's, and the kernel log's where a GPU and the nvidia module are present.
        **{name: None for name in (
            "gpu.pcie_gen", "gpu.pcie_gen_max", "gpu.pcie_gen_gpu_max", "gpu.pcie_width", "gpu.pcie_width_max",
            "gpu.ecc_mode", "gpu.ecc_uncorrected_volatile", "gpu.ecc_uncorrected_aggregate",
            "gpu.retired_pages_pending", "gpu.remapped_rows_pending", "gpu.remapped_rows_failed",
            "gpu.throttle_reasons", "gpu.power_limit_w", "gpu.power_default_limit_w", "gpu.persistence_mode",
            "gpu.mig_mode", "gpu.nvml_unsupported", "gpu.kernel_log", "gpu.xid_events")},
        "driver.loaded": False, "driver.version": None, "driver.userspace_version": None,
        "driver.open_kernel_module": None, "driver.nvml_error": None, "driver.cuda_max": None,
        "nouveau.loaded": False, "nouveau.blacklisted": False,
        "cuda.toolkit_version": None, "cuda.toolkit_release": None, "cuda.toolkit_path": None, "cuda.toolkits": [],
        "cuda.pip_runtime_version": None, "cudnn.version": None, "cudnn.pip_version": None,
        "display.manager": None, "display.manager_active": False, "display.graphical_session": False,
        "secureboot.enabled": False, "reboot.required": False, "python.bits": 64,
        "python.externally_managed": False,
        "tensorflow.version": None, "tensorflow.package": None, "tensorflow.distributions": {},
        "torch.version": None, "torch.build": None, "torch.cuda_version": None, "jax.version": None,
        "jax.cuda_plugin": {}, "jax.cuda_version": None, "python.cuda_wheels": {},
        # The deep probe's: only --deep sets them, and these are the facts read without it.
        "tfprobe.status": None, "tfprobe.error": None, "tfprobe.returncode": None, "tfprobe.python": None,
        "tfprobe.version": None, "tfprobe.built_with_cuda": None, "tfprobe.cuda_version": None,
        "tfprobe.cudnn_version": None, "tfprobe.gpus": None, "tfprobe.gpu_count": None, "tfprobe.gpu_ops_ok": None,
        "tfprobe.gpu_ops": None, "tfprobe.cpu_op_ok": None, "tfprobe.cpu_log": None, "tfprobe.cpu_instructions": None,
        **{name: None for name in FACTS if name.startswith(("torchprobe.", "jaxprobe."))},
        "env.cuda_visible_devices": None, "env.tf_force_gpu_allow_growth": None,
        # No scenario records a compiler, bazel, or where its Python's headers are.
        "toolchain.bazel": None, "toolchain.clang": None, "toolchain.gcc": None,
        "python.include": None, "python.headers": None, "python.ensurepip": None,
        # Unknown unless the scenario's Python names its C library (GLIBC below).
        "libc.family": None, "libc.version": None,
        # Recorded before setupkit read the container markers: whether one ran in a container is unknown. No
        # scenario host has Docker, Podman or the NVIDIA Container Toolkit on its PATH.
        "host.container": None, "host.container_evidence": None,
        "container_toolkit.engines": [], "container_toolkit.programs": [], "container_toolkit.docker_runtime": False,
        "container_toolkit.cdi_specs": [],
    }


HASWELL_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 "
    "ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl xtopology "
    "nonstop_tsc aperfmperf eagerfpu pni pclmulqdq dtes64 monitor ds_cpl vmx est tm2 ssse3 fma cx16 xtpr pdcm "
    "pcid sse4_1 sse4_2 movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm ida arat epb pln "
    "pts dtherm tpr_shadow vnmi flexpriority ept vpid fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid "
    "xsaveopt"
)
SKYLAKE_FLAGS = HASWELL_FLAGS.replace("xsaveopt", "mpx rdseed adx smap clflushopt intel_pt xsaveopt xsavec "
                                      "xgetbv1 xsaves hwp hwp_notify hwp_act_window hwp_epp md_clear "
                                      "flush_l1d")
SKYLAKE_SP_FLAGS = SKYLAKE_FLAGS.replace("clflushopt", "avx512f avx512dq clflushopt clwb avx512cd avx512bw "
                                         "avx512vl")
ALDER_LAKE_FLAGS = SKYLAKE_FLAGS.replace("md_clear", "sha_ni umip pku ospke waitpkg gfni vaes vpclmulqdq rdpid "
                                         "movdiri movdir64b fsrm md_clear serialize arch_lbr avx_vnni")
NEHALEM_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 "
    "ss ht tm pbe syscall nx rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc "
    "aperfmperf eagerfpu pni dtes64 monitor ds_cpl vmx est tm2 ssse3 cx16 xtpr pdcm dca sse4_1 sse4_2 popcnt "
    "lahf_lm ssbd ibrs ibpb stibp tpr_shadow vnmi flexpriority ept vpid dtherm ida spec_ctrl intel_stibp flush_l1d"
)


# -- the scenarios ---------------------------------------------------------------------------------------------


def ubuntu1404() -> Scenario:
    s = Scenario("ubuntu1404-upstart-lightdm", "Ubuntu 14.04 desktop under upstart, lightdm running, GeForce GTX 970 "
                 "on the NVIDIA 352 driver (CUDA 7.5 runfile), cuDNN 5.1 in the toolkit, BIOS boot.")
    s.files["/etc/os-release"] = (
        'NAME="Ubuntu"\nVERSION="14.04.6 LTS, Trusty Tahr"\nID=ubuntu\nID_LIKE=debian\n'
        'PRETTY_NAME="Ubuntu 14.04.6 LTS"\nVERSION_ID="14.04"\nHOME_URL="http://www.ubuntu.com/"\n'
        'SUPPORT_URL="http://help.ubuntu.com/"\nBUG_REPORT_URL="http://bugs.launchpad.net/ubuntu/"\n')
    s.files["/etc/lsb-release"] = lsb_release("14.04", "trusty", "Ubuntu 14.04.6 LTS")
    s.files["/etc/debian_version"] = "jessie/sid\n"
    kernel(s, "3.13.0-170-generic", "Linux version 3.13.0-170-generic (buildd@lgw01-amd64-027) (gcc version 4.8.4 "
           "(Ubuntu 4.8.4-2ubuntu1~14.04.4) ) #220-Ubuntu SMP Thu May 9 12:40:49 UTC 2019", headers=True)
    dmi(s, "Gigabyte Technology Co., Ltd.", "Z97X-UD3H", 3)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Core(TM) i7-4790K CPU @ 4.00GHz", 6, 60, 3, "4000.000",
                                       "8192 KB", HASWELL_FLAGS, 1, 4, 2)
    s.files["/proc/meminfo"] = meminfo(16342784)
    pci(s, "0000:00:00.0", "8086", "0c00", "060000")
    pci(s, "0000:01:00.0", "10de", "13c2", "030000")
    pci(s, "0000:01:00.1", "10de", "0fbb", "040300")
    s.files["/proc/modules"] = (
        "nvidia_uvm 67139 0 - Live 0x0000000000000000 (POF)\n"
        "nvidia 8642880 41 nvidia_uvm, Live 0x0000000000000000 (POF)\n"
        "drm 303102 3 nvidia, Live 0x0000000000000000\n"
        "snd_hda_intel 52355 3 - Live 0x0000000000000000\n")
    s.files["/proc/driver/nvidia/version"] = (
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  352.63  Sat Nov  7 21:25:42 PST 2015\n"
        "GCC version:  gcc version 4.8.4 (Ubuntu 4.8.4-2ubuntu1~14.04) \n")
    s.files["/proc/driver/nvidia/gpus/0000:01:00.0/information"] = (
        "Model: \t\t GeForce GTX 970\nIRQ:   \t\t 46\nGPU UUID: \t GPU-3c6f2fbd-5a59-2c6e-04b0-3d8a6f81d2a1\n"
        "Video BIOS: \t 84.04.2f.00.81\nBus Type: \t PCIe\nDMA Size: \t 40 bits\nDMA Mask: \t 0xffffffffff\n"
        "Bus Location: \t 0000:01:00.0\nDevice Minor: \t 0\n")
    s.files["/sys/module/nvidia/version"] = "352.63\n"
    s.files["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.352.63"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"] = "libnvidia-ml.so.352.63"
    s.files["/etc/modprobe.d/blacklist.conf"] = UBUNTU_BLACKLIST_CONF
    s.files["/etc/modprobe.d/nvidia-installer-disable-nouveau.conf"] = (
        "# generated by nvidia-installer\n" + NOUVEAU_BLACKLIST_CONF)
    s.files["/proc/cmdline"] = ("BOOT_IMAGE=/boot/vmlinuz-3.13.0-170-generic root=UUID=5b1e7a4c-0c1e-4f0e-9d55-"
                                "2f3c4b6a7d81 ro quiet splash vt.handoff=7\n")
    s.links["/usr/local/cuda"] = "/usr/local/cuda-7.5"
    s.files["/usr/local/cuda-7.5/version.txt"] = "CUDA Version 7.5.18\n"
    s.files["/usr/local/cuda-7.5/bin/nvcc"] = b""
    s.files["/usr/local/cuda-7.5/include/cudnn.h"] = (
        "/*\n * Copyright 2014-2016 NVIDIA Corporation.  All rights reserved.\n */\n\n"
        "/*   cudnn : Neural Networks Library\n\n*/\n\n#if !defined(CUDNN_H_)\n#define CUDNN_H_\n\n"
        "#define CUDNN_MAJOR      5\n#define CUDNN_MINOR      1\n#define CUDNN_PATCHLEVEL 10\n\n"
        "#define CUDNN_VERSION    (CUDNN_MAJOR * 1000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)\n")
    s.files["/usr/local/cuda-7.5/lib64/libcudnn.so.5.1.10"] = b""
    s.links["/usr/local/cuda-7.5/lib64/libcudnn.so.5"] = "libcudnn.so.5.1.10"
    s.commands.append(command(["nvcc", "--version"], 0,
                              "nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2015 NVIDIA Corporation\n"
                              "Built on Tue_Aug_11_14:27:32_CDT_2015\nCuda compilation tools, release 7.5, V7.5.17\n"))
    s.files["/etc/X11/default-display-manager"] = "/usr/sbin/lightdm\n"
    s.files["/sbin/initctl"] = b""
    s.files["/sbin/init"] = b""
    processes(s, {1: "init", 412: "upstart-udev-br", 1020: "lightdm", 1046: "Xorg", 1102: "sshd",
                  2210: "compiz", 2388: "bash", 2415: "python3"})
    s.nvml = {"driver_version": "352.63", "cuda_driver_version": 7050, "nvml_version": "7.352.63", "devices": [
        gpu(0, "GeForce GTX 970", "GPU-3c6f2fbd-5a59-2c6e-04b0-3d8a6f81d2a1", "0000:01:00.0", 4294770688,
            276824064, [5, 2], True, [{"pid": 1046, "used_memory": 157286400, "name": "Xorg"},
                                      {"pid": 2210, "used_memory": 62914560, "name": "compiz"}])]}
    s.env = {"PATH": "/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LD_LIBRARY_PATH": "/usr/local/cuda/lib64", "SSH_CONNECTION": "192.168.1.20 51234 192.168.1.31 22"}
    s.python = python_json("/usr/bin/python3", "3.4.3", "1.5.4", {"numpy": "1.8.2", "setuptools": "3.3"})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "14.04", "os.pretty_name": "Ubuntu 14.04.6 LTS", "os.family": "debian",
        "os.codename": "trusty", "kernel.release": "3.13.0-170-generic", "kernel.headers_installed": True,
        "host.memory_mib": 15959, "cpu.model": "Intel(R) Core(TM) i7-4790K CPU @ 4.00GHz", "cpu.count": 8,
        "cpu.flags": HASWELL_FLAGS.split(),
        "gpu.count": 1, "gpu.names": ["GeForce GTX 970"], "gpu.pci_ids": ["10de:13c2"],
        "gpu.chips": ["GM204"], "gpu.architectures": ["maxwell"], "gpu.kernel_modules": ["proprietary"],
        "gpu.errors": [None],
        "gpu.uuids": ["GPU-3c6f2fbd-5a59-2c6e-04b0-3d8a6f81d2a1"], "gpu.compute_capabilities": ["5.2"],
        "gpu.memory_total_mib": [4095], "gpu.memory_used_mib": [264],
        "gpu.processes": [{"gpu": 0, "pid": 1046, "name": "Xorg", "used_mib": 150},
                          {"gpu": 0, "pid": 2210, "name": "compiz", "used_mib": 60}],
        "gpu.display_active": True, **health_expected(1),
        "driver.loaded": True, "driver.version": "352.63", "driver.userspace_version": "352.63",
        "driver.open_kernel_module": False, "driver.cuda_max": "7.5", "nouveau.blacklisted": True,
        "cuda.toolkit_version": "7.5", "cuda.toolkit_release": "7.5.18", "cuda.toolkit_path": "/usr/local/cuda-7.5",
        "cuda.toolkits": ["7.5"],
        "cudnn.version": "5.1.10", "display.manager": "lightdm", "display.manager_active": True,
        "display.init": "upstart", "python.executable": "/usr/bin/python3", "python.version": "3.4.3",
        "pip.version": "1.5.4",
    }
    return s


def ubuntu1604() -> Scenario:
    s = Scenario("ubuntu1604-gtx-nouveau", "Ubuntu 16.04 desktop under systemd, lightdm running, a GeForce GTX "
                 "1080 Ti driven by nouveau, no NVIDIA driver, EFI without Secure Boot, a kernel update pending.")
    s.files["/etc/os-release"] = (
        'NAME="Ubuntu"\nVERSION="16.04.7 LTS (Xenial Xerus)"\nID=ubuntu\nID_LIKE=debian\n'
        'PRETTY_NAME="Ubuntu 16.04.7 LTS"\nVERSION_ID="16.04"\nHOME_URL="http://www.ubuntu.com/"\n'
        'SUPPORT_URL="http://help.ubuntu.com/"\nBUG_REPORT_URL="http://bugs.launchpad.net/ubuntu/"\n'
        'VERSION_CODENAME=xenial\nUBUNTU_CODENAME=xenial\n')
    s.files["/etc/lsb-release"] = lsb_release("16.04", "xenial", "Ubuntu 16.04.7 LTS")
    s.files["/etc/debian_version"] = "stretch/sid\n"
    kernel(s, "4.15.0-142-generic", "Linux version 4.15.0-142-generic (buildd@lgw01-amd64-036) (gcc version 5.4.0 "
           "20160609 (Ubuntu 5.4.0-6ubuntu1~16.04.12)) #146~16.04.1-Ubuntu SMP Tue Apr 13 09:27:15 UTC 2021",
           headers=False)
    dmi(s, "ASUSTeK COMPUTER INC.", "All Series", 3)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Core(TM) i7-6700K CPU @ 4.00GHz", 6, 94, 3, "4000.000",
                                       "8192 KB", SKYLAKE_FLAGS, 1, 4, 2)
    s.files["/proc/meminfo"] = meminfo(32856180)
    pci(s, "0000:00:00.0", "8086", "191f", "060000")
    pci(s, "0000:01:00.0", "10de", "1b06", "030000")
    pci(s, "0000:01:00.1", "10de", "10ef", "040300")
    s.files["/proc/modules"] = (
        "nouveau 1822720 3 - Live 0x0000000000000000\nmxm_wmi 16384 1 nouveau, Live 0x0000000000000000\n"
        "ttm 106496 1 nouveau, Live 0x0000000000000000\n"
        "drm_kms_helper 172032 1 nouveau, Live 0x0000000000000000\n"
        "drm 401408 6 nouveau,ttm,drm_kms_helper, Live 0x0000000000000000\n"
        "wmi 24576 2 mxm_wmi,nouveau, Live 0x0000000000000000\n")
    s.files["/etc/modprobe.d/blacklist.conf"] = UBUNTU_BLACKLIST_CONF
    s.files["/proc/cmdline"] = "BOOT_IMAGE=/boot/vmlinuz-4.15.0-142-generic root=UUID=0d6f ro quiet splash\n"
    s.files["/etc/X11/default-display-manager"] = "/usr/sbin/lightdm\n"
    s.links["/etc/systemd/system/display-manager.service"] = "/lib/systemd/system/lightdm.service"
    s.files["/lib/systemd/system/lightdm.service"] = "[Unit]\nDescription=Light Display Manager\n"
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "/run"
    s.files["/run/reboot-required"] = "*** System restart required ***\n"
    s.dirs.append("/sys/firmware/efi/efivars")
    s.commands.append(command(["mokutil", "--sb-state"], 0, "SecureBoot disabled\n"))
    processes(s, {1: "systemd", 388: "systemd-journal", 1130: "lightdm", 1158: "Xorg", 1210: "sshd",
                  1987: "gnome-terminal-", 2004: "bash"})
    s.nvml = dict(NVML_NOT_FOUND)
    s.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DISPLAY": ":0",
             "XDG_SESSION_TYPE": "x11"}
    s.python = python_json("/usr/bin/python3", "3.5.2", "8.1.1", {"setuptools": "20.7.0"})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "16.04", "os.pretty_name": "Ubuntu 16.04.7 LTS", "os.family": "debian",
        "os.codename": "xenial", "kernel.release": "4.15.0-142-generic", "kernel.headers_installed": False,
        "host.memory_mib": 32086, "cpu.model": "Intel(R) Core(TM) i7-6700K CPU @ 4.00GHz", "cpu.count": 8,
        "cpu.flags": SKYLAKE_FLAGS.split(),
        "gpu.count": 1, "gpu.names": ["NVIDIA GeForce GTX 1080 Ti"], "gpu.pci_ids": ["10de:1b06"],
        # No driver and no pci.ids: setupkit's table tells the chip, GP102 (Pascal, compute capability 6.1).
        "gpu.compute_capabilities": ["6.1"], "gpu.chips": ["GP102"], "gpu.architectures": ["pascal"],
        "gpu.kernel_modules": ["proprietary"],
        "driver.nvml_error": "NVMLError_LibraryNotFound", "nouveau.loaded": True,
        "display.manager": "lightdm", "display.manager_active": True, "display.init": "systemd",
        "display.graphical_session": True, "reboot.required": True, "python.executable": "/usr/bin/python3",
        "python.version": "3.5.2", "pip.version": "8.1.1",
    }
    return s


def on_the_host(s: Scenario) -> None:
    """What a process on the machine itself reads of its cgroups and mounts: systemd's init.scope, a login
    session, the root an ext4 partition (no container)."""
    s.files["/proc/1/cgroup"] = "0::/init.scope\n"
    s.files["/proc/self/cgroup"] = "0::/user.slice/user-1000.slice/session-4.scope\n"
    s.files["/proc/self/mountinfo"] = (
        "29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro\n"
        "24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "25 29 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:14 - proc proc rw\n"
        "30 29 259:1 / /boot/efi rw,relatime shared:31 - vfat /dev/nvme0n1p1 rw,fmask=0077,dmask=0077\n")


def ubuntu2204_two_gpus() -> Scenario:
    s = Scenario("ubuntu2204-two-gpus-cuda118", "Ubuntu 22.04 workstation, two GeForce RTX 3090 on driver 535 "
                 "(working), CUDA 11.8 (the /usr/local/cuda link) beside 12.2, cuDNN 8.6 from the deb, "
                 "CUDA_VISIBLE_DEVICES=1, no display manager, a training job on GPU 0.")
    ubuntu_release(s, "22.04", "22.04.4", "jammy", "Jammy Jellyfish", "bookworm/sid")
    kernel(s, "5.15.0-105-generic", "Linux version 5.15.0-105-generic (buildd@lcy02-amd64-054) (gcc (Ubuntu "
           "11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #115-Ubuntu SMP Mon Apr 15 "
           "09:52:04 UTC 2024", headers=True, lib="/usr/lib")
    dmi(s, "Supermicro", "SYS-7049GP-TRT", 17)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Xeon(R) W-2255 CPU @ 3.70GHz", 6, 85, 7, "3700.000",
                                       "19712 KB", SKYLAKE_SP_FLAGS, 1, 10, 2)
    s.files["/proc/meminfo"] = meminfo(131841232)
    pci(s, "0000:00:00.0", "8086", "2020", "060000")
    pci(s, "0000:17:00.0", "10de", "2204", "030000")
    pci(s, "0000:17:00.1", "10de", "1aef", "040300")
    pci(s, "0000:65:00.0", "10de", "2204", "030000")
    pci(s, "0000:65:00.1", "10de", "1aef", "040300")
    s.files["/proc/modules"] = (
        "nvidia_uvm 1523712 2 - Live 0xffffffffc1a9d000 (POE)\n"
        "nvidia_drm 77824 0 - Live 0xffffffffc1a89000 (POE)\n"
        "nvidia_modeset 1314816 1 nvidia_drm, Live 0xffffffffc1946000 (POE)\n"
        "nvidia 56778752 24 nvidia_uvm,nvidia_modeset, Live 0xffffffffbe400000 (POE)\n"
        "drm_kms_helper 311296 1 nvidia_drm, Live 0xffffffffc06e1000\n")
    s.files["/proc/driver/nvidia/version"] = (
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024\n"
        "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04) \n")
    s.files["/sys/module/nvidia/version"] = "535.183.01\n"
    s.files["/etc/modprobe.d/blacklist.conf"] = UBUNTU_BLACKLIST_CONF
    s.files["/etc/modprobe.d/blacklist-nouveau.conf"] = NOUVEAU_BLACKLIST_CONF
    s.files["/proc/cmdline"] = "BOOT_IMAGE=/boot/vmlinuz-5.15.0-105-generic root=UUID=8e2a ro\n"
    s.links["/usr/local/cuda"] = "cuda-11.8"
    s.files["/usr/local/cuda-11.8/version.json"] = json.dumps(
        {"cuda": {"name": "CUDA SDK", "version": "11.8.0"},
         "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "11.8.89"}}, indent=3) + "\n"
    s.files["/usr/local/cuda-11.8/bin/nvcc"] = b""
    s.files["/usr/local/cuda-12.2/version.json"] = json.dumps(
        {"cuda": {"name": "CUDA SDK", "version": "12.2.2"},
         "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "12.2.140"}}, indent=3) + "\n"
    s.files["/usr/local/cuda-12.2/bin/nvcc"] = b""
    s.files["/usr/include/x86_64-linux-gnu/cudnn_version_v8.h"] = (
        "/*\n * Copyright 2014-2022 NVIDIA Corporation. All rights reserved.\n */\n\n"
        "/**\n * \\file: The master cuDNN version file.\n */\n\n#ifndef CUDNN_VERSION_H_\n"
        "#define CUDNN_VERSION_H_\n\n#define CUDNN_MAJOR 8\n#define CUDNN_MINOR 6\n#define CUDNN_PATCHLEVEL 0\n\n"
        "#define CUDNN_VERSION (CUDNN_MAJOR * 1000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)\n\n"
        "#endif /* CUDNN_VERSION_H */\n")
    s.links["/etc/alternatives/cudnn_version_h"] = "/usr/include/x86_64-linux-gnu/cudnn_version_v8.h"
    s.links["/usr/include/cudnn_version.h"] = "/etc/alternatives/cudnn_version_h"
    s.files["/usr/lib/x86_64-linux-gnu/libcudnn.so.8.6.0"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libcudnn.so.8"] = "libcudnn.so.8.6.0"
    s.files["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.183.01"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"] = "libnvidia-ml.so.535.183.01"
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "/run"
    s.dirs.append("/sys/firmware/efi/efivars")
    s.commands.append(command(["mokutil", "--sb-state"], 0, "SecureBoot disabled\n"))
    s.commands.append(command(["nvidia-smi"], 0, smi_header("535.183.01", "535.183.01", "12.2")))
    # Docker with the NVIDIA Container Toolkit, registered as Docker's nvidia runtime by nvidia-ctk; setupkit runs
    # on the host itself (systemd's cgroups, the root an ext4 partition).
    for program in ("docker", "nvidia-ctk", "nvidia-container-runtime", "nvidia-container-runtime-hook"):
        s.files[f"/usr/bin/{program}"] = b""
    s.files["/etc/docker/daemon.json"] = (
        '{\n    "runtimes": {\n        "nvidia": {\n            "args": [],\n            "path": '
        '"nvidia-container-runtime"\n        }\n    }\n}\n')
    on_the_host(s)
    processes(s, {1: "systemd", 402: "systemd-journal", 1203: "sshd", 1388: "nvidia-persiste",
                  48211: "python3", 48390: "tmux: server", 48391: "bash"})
    gib = 1024 ** 3
    s.nvml = {"driver_version": "535.183.01", "cuda_driver_version": 12020, "nvml_version": "12.535.183.01",
              "devices": [
                  gpu(0, "NVIDIA GeForce RTX 3090", "GPU-5d3e3b0f-3c38-7a8a-60e3-3a2e6c0f9b11", "00000000:17:00.0",
                      24 * gib, 11027873792, [8, 6], False,
                      [{"pid": 48211, "used_memory": 10485760000, "name": "python3"}],
                      persistence_mode=True, pcie_gen=[4, 4], **geforce_health(0x24)),
                  gpu(1, "NVIDIA GeForce RTX 3090", "GPU-a0c9f4d2-7b1e-4c55-9e3a-6d2f1b8e4c70", "00000000:65:00.0",
                      24 * gib, 289406976, [8, 6], False, [], persistence_mode=True, **geforce_health(0x1))]}
    # The training job's fault (an out-of-range address in its kernel), as driver 535 logs it.
    s.probes["dmesg"] = dmesg_run(0, (
        "[    0.000000] Linux version 5.15.0-105-generic (buildd@lcy02-amd64-054) #115-Ubuntu SMP\n"
        "[    4.512345] nvidia: loading out-of-tree module taints kernel.\n"
        "[    4.601234] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024\n"
        "[ 8123.456789] NVRM: Xid (PCI:0000:17:00): 13, pid=48211, name=python3, Graphics SM Warp Exception on "
        "(GPC 0, TPC 1, SM 0): Out Of Range Address\n"
        "[ 8123.456801] NVRM: Xid (PCI:0000:17:00): 13, pid=48211, name=python3, Graphics Exception: ESR "
        "0x504648=0x102000e 0x504650=0x0 0x504644=0xd3eff2 0x50464c=0x17f\n"))
    s.env = {"PATH": "/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LD_LIBRARY_PATH": "/usr/local/cuda/lib64", "CUDA_VISIBLE_DEVICES": "1",
             "TF_FORCE_GPU_ALLOW_GROWTH": "true", "SSH_CONNECTION": "10.0.0.5 50022 10.0.0.12 22"}
    s.python = python_json("/home/user/venvs/tf/bin/python", "3.10.12", "24.0",
                           {"tensorflow": "2.12.0", "keras": "2.12.0", "numpy": "1.23.5", "setuptools": "59.6.0"})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "22.04", "os.pretty_name": "Ubuntu 22.04.4 LTS", "os.family": "debian",
        "os.codename": "jammy", "kernel.release": "5.15.0-105-generic", "kernel.headers_installed": True,
        "host.memory_mib": 128751, "cpu.model": "Intel(R) Xeon(R) W-2255 CPU @ 3.70GHz", "cpu.count": 20,
        "cpu.flags": SKYLAKE_SP_FLAGS.split(),
        "gpu.count": 2, "gpu.names": ["NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 3090"],
        "gpu.pci_ids": ["10de:2204", "10de:2204"], "gpu.chips": ["GA102", "GA102"],
        "gpu.architectures": ["ampere", "ampere"], "gpu.kernel_modules": ["either", "either"],
        "gpu.errors": [None, None],
        "gpu.uuids": ["GPU-5d3e3b0f-3c38-7a8a-60e3-3a2e6c0f9b11", "GPU-a0c9f4d2-7b1e-4c55-9e3a-6d2f1b8e4c70"],
        "gpu.compute_capabilities": ["8.6", "8.6"], "gpu.memory_total_mib": [24576, 24576],
        "gpu.memory_used_mib": [10517, 276],
        "gpu.processes": [{"gpu": 0, "pid": 48211, "name": "python3", "used_mib": 10000}],
        "gpu.display_active": False,
        **health_expected(
            2, kernel_log="read", pcie_gen=[4, 1], pcie_gen_gpu_max=[4, 4], persistence_mode=[True, True],
            power_default_limit_w=[350.0, 350.0],
            throttle_reasons=[["sw_power_cap", "sw_thermal_slowdown"], ["gpu_idle"]],
            nvml_unsupported=[list(GEFORCE_UNSUPPORTED), list(GEFORCE_UNSUPPORTED)]),
        "gpu.xid_events": [{"xid": 13, "pci": "0000:17:00", "count": 2,
                            "message": "pid=48211, name=python3, Graphics SM Warp Exception on (GPC 0, TPC 1, SM 0): "
                                       "Out Of Range Address"}],
        "driver.loaded": True, "driver.version": "535.183.01", "driver.userspace_version": "535.183.01",
        "driver.open_kernel_module": False, "driver.cuda_max": "12.2", "nouveau.blacklisted": True,
        "cuda.toolkit_version": "11.8", "cuda.toolkit_release": "11.8.0", "cuda.toolkit_path": "/usr/local/cuda-11.8",
        "cuda.toolkits": ["11.8", "12.2"], "cudnn.version": "8.6.0", "display.init": "systemd",
        "python.executable": "/home/user/venvs/tf/bin/python", "python.version": "3.10.12", "pip.version": "24.0",
        "tensorflow.version": "2.12.0", "tensorflow.package": "tensorflow",
        "tensorflow.distributions": {"tensorflow": "2.12.0"},
        "env.cuda_visible_devices": "1", "env.tf_force_gpu_allow_growth": "true",
        "host.container": "none", "host.container_evidence": [],
        "container_toolkit.engines": ["docker"],
        "container_toolkit.programs": ["nvidia-ctk", "nvidia-container-runtime", "nvidia-container-runtime-hook"],
        "container_toolkit.docker_runtime": True,
    }
    return s


def ubuntu2204_mismatch() -> Scenario:
    s = Scenario("ubuntu2204-driver-mismatch", "Ubuntu 22.04 desktop whose NVIDIA driver was upgraded from "
                 "535.104.05 to 535.183.01 without a reboot: the old kernel module is loaded, NVML and nvidia-smi "
                 "refuse it (Driver/library version mismatch). gdm3, CUDA 12.2 from the deb, TensorFlow from pip.")
    s.files["/etc/os-release"] = os_release_ubuntu("22.04", "22.04.3", "jammy", "Jammy Jellyfish")
    s.files["/etc/lsb-release"] = lsb_release("22.04", "jammy", "Ubuntu 22.04.3 LTS")
    s.files["/etc/debian_version"] = "bookworm/sid\n"
    kernel(s, "6.5.0-35-generic", "Linux version 6.5.0-35-generic (buildd@lcy02-amd64-079) (x86_64-linux-gnu-gcc-12 "
           "(Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #35~22.04.1-Ubuntu SMP "
           "PREEMPT_DYNAMIC Tue May  7 09:00:52 UTC 2", headers=True)
    dmi(s, "Dell Inc.", "Precision 5820 Tower", 3)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Xeon(R) W-2133 CPU @ 3.60GHz", 6, 85, 4, "3600.000",
                                       "8448 KB", SKYLAKE_SP_FLAGS, 1, 6, 2)
    s.files["/proc/meminfo"] = meminfo(65589760)
    pci(s, "0000:00:00.0", "8086", "2020", "060000")
    pci(s, "0000:65:00.0", "10de", "2684", "030000")
    pci(s, "0000:65:00.1", "10de", "22ba", "040300")
    s.files["/proc/modules"] = (
        "nvidia_uvm 1531904 0 - Live 0xffffffffc2a6b000 (POE)\n"
        "nvidia_drm 98304 6 - Live 0xffffffffc2a4c000 (POE)\n"
        "nvidia_modeset 1314816 12 nvidia_drm, Live 0xffffffffc2908000 (POE)\n"
        "nvidia 56733696 606 nvidia_uvm,nvidia_modeset, Live 0xffffffffbf400000 (POE)\n")
    s.files["/proc/driver/nvidia/version"] = (
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
        "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04) \n")
    s.files["/proc/driver/nvidia/gpus/0000:65:00.0/information"] = (
        "Model: \t\t NVIDIA GeForce RTX 4090\nIRQ:   \t\t 163\nGPU UUID: \t GPU-1f0a6c1e-8f8e-3d1b-77a2-5c9f4e2d0b31\n"
        "Video BIOS: \t 95.02.18.80.5f\nBus Type: \t PCIe\nDMA Size: \t 47 bits\nDMA Mask: \t 0x7fffffffffff\n"
        "Bus Location: \t 0000:65:00.0\nDevice Minor: \t 0\nGPU Excluded:\t No\n")
    s.files["/sys/module/nvidia/version"] = "535.104.05\n"
    s.files["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.183.01"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"] = "libnvidia-ml.so.535.183.01"
    s.files["/etc/modprobe.d/blacklist.conf"] = UBUNTU_BLACKLIST_CONF
    s.files["/proc/cmdline"] = ("BOOT_IMAGE=/boot/vmlinuz-6.5.0-35-generic root=UUID=c41e ro quiet splash "
                                "modprobe.blacklist=nouveau vt.handoff=7\n")
    s.links["/usr/local/cuda"] = "/etc/alternatives/cuda"
    s.links["/etc/alternatives/cuda"] = "/usr/local/cuda-12.2"
    s.links["/usr/local/cuda-12"] = "/etc/alternatives/cuda-12"
    s.links["/etc/alternatives/cuda-12"] = "/usr/local/cuda-12.2"
    s.files["/usr/local/cuda-12.2/version.json"] = json.dumps(
        {"cuda": {"name": "CUDA SDK", "version": "12.2.2"}}, indent=3) + "\n"
    s.files["/usr/local/cuda-12.2/bin/nvcc"] = b""
    s.files["/etc/X11/default-display-manager"] = "/usr/sbin/gdm3\n"
    s.links["/etc/systemd/system/display-manager.service"] = "/lib/systemd/system/gdm3.service"
    s.files["/lib/systemd/system/gdm3.service"] = "[Unit]\nDescription=GNOME Display Manager\n"
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "/run"
    s.dirs.append("/sys/firmware/efi/efivars")
    s.commands.append(command(["mokutil", "--sb-state"], 0, "SecureBoot disabled\n"))
    s.commands.append(command(["nvidia-smi"], 18, "Failed to initialize NVML: Driver/library version mismatch\n"
                                                  "NVML library version: 535.183\n"))
    processes(s, {1: "systemd", 1544: "gdm3", 1562: "gdm-session-wor", 1590: "Xorg", 1702: "gnome-shell",
                  2811: "sshd", 2840: "bash"})
    s.nvml = {"error": "NVMLError_LibRmVersionMismatch", "message": "RM has detected an NVML/RM version mismatch."}
    s.env = {"PATH": "/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "SSH_CONNECTION": "10.0.0.5 50022 10.0.0.40 22"}
    s.python = python_json("/usr/bin/python3", "3.10.12", "22.0.2", {
        "tensorflow": "2.15.1", "nvidia-cudnn-cu12": "8.9.4.25", "nvidia-cuda-runtime-cu12": "12.2.140",
        "nvidia-cublas-cu12": "12.2.5.6"})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "22.04", "os.pretty_name": "Ubuntu 22.04.3 LTS", "os.family": "debian",
        "os.codename": "jammy", "kernel.release": "6.5.0-35-generic", "kernel.headers_installed": True,
        "host.memory_mib": 64052, "cpu.model": "Intel(R) Xeon(R) W-2133 CPU @ 3.60GHz", "cpu.count": 12,
        "cpu.flags": SKYLAKE_SP_FLAGS.split(),
        "gpu.count": 1, "gpu.names": ["NVIDIA GeForce RTX 4090"], "gpu.pci_ids": ["10de:2684"],
        "gpu.compute_capabilities": ["8.9"], "gpu.chips": ["AD102"], "gpu.architectures": ["ada"],
        "gpu.kernel_modules": ["either"],
        # NVML does not start, but the module is loaded: its Xid errors are asked for (none recorded here).
        "gpu.kernel_log": "not-recorded",
        "driver.loaded": True, "driver.version": "535.104.05", "driver.userspace_version": "535.183.01",
        "driver.open_kernel_module": False, "driver.nvml_error": "NVMLError_LibRmVersionMismatch",
        "nouveau.blacklisted": True,
        "cuda.toolkit_version": "12.2", "cuda.toolkit_release": "12.2.2", "cuda.toolkit_path": "/usr/local/cuda-12.2",
        "cuda.toolkits": ["12.2"],
        "cuda.pip_runtime_version": "12.2", "cudnn.pip_version": "8.9.4.25",
        "display.manager": "gdm3", "display.manager_active": True, "display.init": "systemd",
        "reboot.required": True, "python.executable": "/usr/bin/python3", "python.version": "3.10.12",
        "pip.version": "22.0.2", "tensorflow.version": "2.15.1", "tensorflow.package": "tensorflow",
        "tensorflow.distributions": {"tensorflow": "2.15.1"},
        "python.cuda_wheels": {"nvidia-cublas-cu12": "12.2.5.6", "nvidia-cuda-runtime-cu12": "12.2.140",
                               "nvidia-cudnn-cu12": "8.9.4.25"},
    }
    return s


def wsl2() -> Scenario:
    s = Scenario("wsl2-ubuntu2204", "WSL2 Ubuntu 22.04 on a laptop with a GeForce RTX 3070 Ti Laptop GPU: the "
                 "Windows driver serves it through /usr/lib/wsl/lib (no nvidia kernel module, no PCI device), "
                 "WSLg display, PID 1 is WSL's own init, TensorFlow with pip's CUDA.")
    s.files["/etc/os-release"] = os_release_ubuntu("22.04", "22.04.3", "jammy", "Jammy Jellyfish")
    s.files["/etc/lsb-release"] = lsb_release("22.04", "jammy", "Ubuntu 22.04.3 LTS")
    s.files["/etc/debian_version"] = "bookworm/sid\n"
    kernel(s, "5.15.153.1-microsoft-standard-WSL2", "Linux version 5.15.153.1-microsoft-standard-WSL2 "
           "(root@941d701f84f1) (gcc (GCC) 11.2.0, GNU ld (GNU Binutils) 2.37) #1 SMP Fri Mar 29 23:14:13 UTC 2024",
           headers=False, lib="/usr/lib")
    s.files["/proc/cpuinfo"] = cpuinfo("12th Gen Intel(R) Core(TM) i7-12700H", 6, 154, 3, "2688.008", "24576 KB",
                                       ALDER_LAKE_FLAGS.replace("rdrand", "rdrand hypervisor"), 1, 10, 2)
    s.files["/proc/meminfo"] = meminfo(16235452)
    s.dirs.append("/sys/bus/pci/devices")
    s.files["/proc/modules"] = ""
    s.files["/usr/lib/wsl/lib/libnvidia-ml.so.1"] = b""
    s.files["/usr/lib/wsl/lib/libcuda.so.1"] = b""
    s.files["/usr/lib/wsl/lib/nvidia-smi"] = b""
    s.files["/proc/cmdline"] = "initrd=\\initrd.img WSL_ROOT_INIT=1 panic=-1 nr_cpus=20 hv_utils.timesync_implicit=1\n"
    s.links["/sbin"] = "usr/sbin"
    s.links["/usr/sbin/init"] = "/lib/systemd/systemd"
    s.files["/usr/lib/systemd/systemd"] = b""
    s.links["/lib"] = "usr/lib"
    s.commands.append(command(["nvidia-smi"], 0, smi_header("550.76.01", "552.22", "12.4")))
    processes(s, {1: "init", 4: "init", 5: "plan9", 312: "SessionLeader", 313: "Relay(314)", 314: "bash",
                  455: "python3"})
    s.nvml = {"driver_version": "552.22", "cuda_driver_version": 12040, "nvml_version": "12.550.76.01", "devices": [
        gpu(0, "NVIDIA GeForce RTX 3070 Ti Laptop GPU", "GPU-8b7d2a44-31e9-0c5b-9f0e-62a1c7d3e5f8",
            "00000000:01:00.0", 8589934592, 1073741824, [8, 6], None, [])]}
    s.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/wsl/lib",
             "DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "WSL_DISTRO_NAME": "Ubuntu-22.04"}
    s.python = python_json("/home/user/.venv/bin/python", "3.10.12", "24.0", {
        "tensorflow": "2.16.1", "nvidia-cuda-runtime-cu12": "12.3.101", "nvidia-cudnn-cu12": "8.9.7.29"})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "22.04", "os.pretty_name": "Ubuntu 22.04.3 LTS", "os.family": "debian",
        "os.codename": "jammy", "kernel.release": "5.15.153.1-microsoft-standard-WSL2", "kernel.wsl": True,
        "kernel.headers_installed": False, "host.virtualization": "wsl", "host.laptop": False,
        "host.memory_mib": 15854, "cpu.model": "12th Gen Intel(R) Core(TM) i7-12700H", "cpu.count": 20,
        "cpu.flags": ALDER_LAKE_FLAGS.replace("rdrand", "rdrand hypervisor").split(),
        "gpu.count": 1, "gpu.names": ["NVIDIA GeForce RTX 3070 Ti Laptop GPU"], "gpu.pci_ids": None,
        "gpu.chips": [None], "gpu.architectures": ["ampere"], "gpu.kernel_modules": ["either"],
        "gpu.errors": [None],
        "gpu.uuids": ["GPU-8b7d2a44-31e9-0c5b-9f0e-62a1c7d3e5f8"], "gpu.compute_capabilities": ["8.6"],
        "gpu.memory_total_mib": [8192], "gpu.memory_used_mib": [1024], "gpu.processes": [],
        "gpu.display_active": None, **health_expected(1, kernel_log=None),
        "driver.loaded": False, "driver.version": "552.22", "driver.userspace_version": "552.22",
        "driver.cuda_max": "12.4", "cuda.pip_runtime_version": "12.3", "cudnn.pip_version": "8.9.7.29",
        "display.init": "none", "display.graphical_session": True,
        "python.executable": "/home/user/.venv/bin/python", "python.version": "3.10.12", "pip.version": "24.0",
        "tensorflow.version": "2.16.1", "tensorflow.package": "tensorflow",
        "tensorflow.distributions": {"tensorflow": "2.16.1"},
        "python.cuda_wheels": {"nvidia-cuda-runtime-cu12": "12.3.101", "nvidia-cudnn-cu12": "8.9.7.29"},
    }
    return s


def centos7() -> Scenario:
    s = Scenario("centos7-no-avx", "CentOS 7.9 on an HP ProLiant DL360 G6 with two Xeon X5570 (Nehalem: SSE4.2, "
                 "no AVX), no NVIDIA GPU, no driver, BIOS boot, the system python 3.6 with pip 9.")
    s.files["/etc/os-release"] = (
        'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n'
        'PRETTY_NAME="CentOS Linux 7 (Core)"\nANSI_COLOR="0;31"\nCPE_NAME="cpe:/o:centos:centos:7"\n'
        'HOME_URL="https://www.centos.org/"\nBUG_REPORT_URL="https://bugs.centos.org/"\n\n'
        'CENTOS_MANTISBT_PROJECT="CentOS-7"\nCENTOS_MANTISBT_PROJECT_VERSION="7"\n'
        'REDHAT_SUPPORT_PRODUCT="centos"\nREDHAT_SUPPORT_PRODUCT_VERSION="7"\n\n')
    s.files["/etc/centos-release"] = "CentOS Linux release 7.9.2009 (Core)\n"
    s.links["/etc/redhat-release"] = "centos-release"
    s.files["/proc/sys/kernel/osrelease"] = "3.10.0-1160.el7.x86_64\n"
    s.files["/proc/version"] = ("Linux version 3.10.0-1160.el7.x86_64 (mockbuild@kbuilder.bsys.centos.org) (gcc "
                                "version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP Mon Oct 19 16:18:59 UTC "
                                "2020\n")
    s.links["/lib"] = "usr/lib"
    s.links["/usr/lib/modules/3.10.0-1160.el7.x86_64/build"] = "/usr/src/kernels/3.10.0-1160.el7.x86_64"
    s.dirs.append("/usr/src/kernels/3.10.0-1160.el7.x86_64/include")
    dmi(s, "HP", "ProLiant DL360 G6", 23)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Xeon(R) CPU           X5570  @ 2.93GHz", 6, 26, 5, "2933.000",
                                       "8192 KB", NEHALEM_FLAGS, 2, 4, 2)
    s.files["/proc/meminfo"] = meminfo(49311048)
    pci(s, "0000:00:00.0", "8086", "3406", "060000")
    pci(s, "0000:01:03.0", "1002", "515e", "030000")
    pci(s, "0000:02:00.0", "14e4", "1639", "020000")
    s.files["/proc/modules"] = (
        "bnx2 90196 0 - Live 0xffffffffc0345000\nhpsa 108544 3 - Live 0xffffffffc030f000\n"
        "radeon 1500816 1 - Live 0xffffffffc0188000\nttm 114688 1 radeon, Live 0xffffffffc016b000\n")
    s.files["/usr/lib/modprobe.d/dist-blacklist.conf"] = (
        "#\n# Listing a module here prevents the hotplug scripts from loading it.\n"
        "# Usually that'd be so that some other driver will bind it instead,\n"
        "# no matter which driver happens to get probed first.  Sometimes user\n"
        "# mode tools can also control driver binding.\n\n# watchdog drivers\nblacklist i8xx_tco\n\n"
        "# framebuffer drivers\nblacklist aty128fb\nblacklist atyfb\nblacklist radeonfb\n"
        "#blacklist nouveau\nblacklist nvidiafb\n")
    s.files["/proc/cmdline"] = ("BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/centos-root ro "
                                "crashkernel=auto rd.lvm.lv=centos/root rhgb quiet LANG=en_US.UTF-8\n")
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "../run"
    s.commands.append(command(["mokutil", "--sb-state"], 255, "", "EFI variables are not supported on this system\n"))
    processes(s, {1: "systemd", 622: "systemd-journal", 901: "crond", 1033: "tuned", 1040: "sshd", 2202: "bash"})
    s.nvml = dict(NVML_NOT_FOUND)
    s.env = {"PATH": "/usr/local/bin:/usr/bin:/usr/local/sbin:/usr/sbin",
             "SSH_CONNECTION": "10.1.1.9 40022 10.1.1.30 22"}
    s.python = python_json("/usr/bin/python3", "3.6.8", "9.0.3", {"setuptools": "39.2.0"})
    s.expected = {
        "os.id": "centos", "os.version_id": "7", "os.pretty_name": "CentOS Linux 7 (Core)", "os.family": "rhel",
        "os.codename": None, "kernel.release": "3.10.0-1160.el7.x86_64", "kernel.headers_installed": True,
        "host.memory_mib": 48155, "cpu.model": "Intel(R) Xeon(R) CPU           X5570  @ 2.93GHz", "cpu.count": 16,
        "cpu.flags": NEHALEM_FLAGS.split(), "gpu.count": 0, "gpu.names": [], "gpu.pci_ids": [],
        "gpu.compute_capabilities": [], "gpu.chips": [], "gpu.architectures": [], "gpu.kernel_modules": [],
        "driver.nvml_error": "NVMLError_LibraryNotFound", "display.init": "systemd",
        "python.executable": "/usr/bin/python3", "python.version": "3.6.8", "pip.version": "9.0.3",
    }
    return s


def laptop() -> Scenario:
    s = Scenario("laptop-hybrid-secureboot", "Ubuntu 22.04 on a Lenovo Legion laptop: Intel Iris Xe beside a "
                 "GeForce RTX 4060 Laptop GPU (hybrid, the display on the Intel GPU), driver 550 from Ubuntu's "
                 "archive, gdm3 on X11, Secure Boot on (the module signed with the enrolled MOK), on battery.")
    ubuntu_release(s, "22.04", "22.04.4", "jammy", "Jammy Jellyfish", "bookworm/sid")
    kernel(s, "6.5.0-28-generic", "Linux version 6.5.0-28-generic (buildd@lcy02-amd64-098) (x86_64-linux-gnu-gcc-12 "
           "(Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #29~22.04.1-Ubuntu SMP "
           "PREEMPT_DYNAMIC Thu Apr  4 14:39:20 UTC 2", headers=True, lib="/usr/lib")
    dmi(s, "LENOVO", "82WK", 10)
    s.dirs.append("/sys/class/power_supply/AC")
    s.dirs.append("/sys/class/power_supply/BAT0")
    s.files["/proc/cpuinfo"] = cpuinfo("13th Gen Intel(R) Core(TM) i7-13700H", 6, 186, 2, "400.000", "24576 KB",
                                       ALDER_LAKE_FLAGS, 1, 10, 2)
    s.files["/proc/meminfo"] = meminfo(32542004)
    pci(s, "0000:00:00.0", "8086", "a706", "060000")
    pci(s, "0000:00:02.0", "8086", "a7a0", "030000")
    pci(s, "0000:01:00.0", "10de", "28e0", "030000")
    pci(s, "0000:01:00.1", "10de", "22be", "040300")
    s.files["/proc/modules"] = (
        "nvidia_uvm 1654784 0 - Live 0xffffffffc3a2d000 (POE)\n"
        "nvidia_drm 114688 4 - Live 0xffffffffc3a0f000 (POE)\n"
        "nvidia_modeset 1572864 3 nvidia_drm, Live 0xffffffffc3887000 (POE)\n"
        "nvidia 62681088 24 nvidia_uvm,nvidia_modeset, Live 0xffffffffc1000000 (POE)\n"
        "i915 3833856 47 - Live 0xffffffffc0c5d000\n")
    s.files["/proc/driver/nvidia/version"] = (
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.67  Tue Mar 12 23:54:15 UTC 2024\n"
        "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04) \n")
    s.files["/sys/module/nvidia/version"] = "550.67\n"
    s.files["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.67"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"] = "libnvidia-ml.so.550.67"
    s.files["/etc/modprobe.d/blacklist.conf"] = UBUNTU_BLACKLIST_CONF
    s.files["/usr/lib/modprobe.d/nvidia-kms.conf"] = (
        "# This file was generated by nvidia-prime\n# Set value to 0 to disable modesetting\n"
        "options nvidia-drm modeset=1\n")
    s.files["/usr/lib/modprobe.d/blacklist-nvidia-nouveau.conf"] = (
        "# This file was generated by nvidia-prime\n" + NOUVEAU_BLACKLIST_CONF)
    s.files["/proc/cmdline"] = "BOOT_IMAGE=/boot/vmlinuz-6.5.0-28-generic root=UUID=77ab ro quiet splash vt.handoff=7\n"
    s.files["/etc/X11/default-display-manager"] = "/usr/sbin/gdm3\n"
    s.links["/etc/systemd/system/display-manager.service"] = "/lib/systemd/system/gdm3.service"
    s.files["/usr/lib/systemd/system/gdm3.service"] = "[Unit]\nDescription=GNOME Display Manager\n"
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "/run"
    s.files[SECUREBOOT_VAR] = bytes([6, 0, 0, 0, 1])
    s.commands.append(command(["mokutil", "--sb-state"], 0, "SecureBoot enabled\n"))
    processes(s, {1: "systemd", 1402: "gdm3", 1420: "gdm-session-wor", 1451: "Xorg", 1610: "gnome-shell",
                  2950: "gnome-terminal-", 2977: "bash"})
    s.nvml = {"driver_version": "550.67", "cuda_driver_version": 12040, "nvml_version": "12.550.67", "devices": [
        gpu(0, "NVIDIA GeForce RTX 4060 Laptop GPU", "GPU-0e5b3f7a-9c41-6d28-b3a1-7f2c8e4d6a90", "00000000:01:00.0",
            8585740288, 15728640, [8, 9], False, [{"pid": 1451, "used_memory": 4194304, "name": "Xorg"},
                                                  {"pid": 1610, "used_memory": 4194304, "name": "gnome-shell"}])]}
    s.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DISPLAY": ":1",
             "XDG_SESSION_TYPE": "x11"}
    s.python = python_json("/usr/bin/python3", "3.10.12", "22.0.2", {"setuptools": "59.6.0"})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "22.04", "os.pretty_name": "Ubuntu 22.04.4 LTS", "os.family": "debian",
        "os.codename": "jammy", "kernel.release": "6.5.0-28-generic", "kernel.headers_installed": True,
        "host.laptop": True, "host.memory_mib": 31779, "cpu.model": "13th Gen Intel(R) Core(TM) i7-13700H",
        "cpu.count": 20, "cpu.flags": ALDER_LAKE_FLAGS.split(),
        "gpu.count": 1, "gpu.names": ["NVIDIA GeForce RTX 4060 Laptop GPU"], "gpu.pci_ids": ["10de:28e0"],
        "gpu.chips": ["AD107"], "gpu.architectures": ["ada"], "gpu.kernel_modules": ["either"],
        "gpu.errors": [None],
        "gpu.uuids": ["GPU-0e5b3f7a-9c41-6d28-b3a1-7f2c8e4d6a90"], "gpu.compute_capabilities": ["8.9"],
        "gpu.memory_total_mib": [8188], "gpu.memory_used_mib": [15],
        "gpu.processes": [{"gpu": 0, "pid": 1451, "name": "Xorg", "used_mib": 4},
                          {"gpu": 0, "pid": 1610, "name": "gnome-shell", "used_mib": 4}],
        "gpu.display_active": False, **health_expected(1),
        "driver.loaded": True, "driver.version": "550.67", "driver.userspace_version": "550.67",
        "driver.open_kernel_module": False, "driver.cuda_max": "12.4", "nouveau.blacklisted": True,
        "display.manager": "gdm3", "display.manager_active": True, "display.init": "systemd",
        "display.graphical_session": True, "secureboot.enabled": True,
        "python.executable": "/usr/bin/python3", "python.version": "3.10.12", "pip.version": "22.0.2",
    }
    return s


def arch() -> Scenario:
    s = Scenario("install-arch-unsupported", "An Arch Linux host: setupkit install refuses distributions outside the "
                 "Debian and RHEL families.")
    s.files["/etc/os-release"] = ('NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n'
                                  'ANSI_COLOR="38;2;23;147;209"\nHOME_URL="https://archlinux.org/"\n'
                                  "LOGO=archlinux-logo\n")
    s.files["/proc/version"] = ("Linux version 6.6.8-arch1-1 (linux@archlinux) (gcc (GCC) 13.2.1 20230801, GNU ld "
                                "(GNU Binutils) 2.41.0) #1 SMP PREEMPT_DYNAMIC Thu, 21 Dec 2023 19:01:01 +0000\n")
    s.commands.append(command(["uname", "-r"], 0, "6.6.8-arch1-1\n"))
    s.nvml = dict(NVML_NOT_FOUND)
    s.env = {"PATH": "/usr/local/bin:/usr/bin"}
    # Whether Arch's Python carries PEP 668's marker is left unknown: the scenario is about the distribution.
    s.python = python_json("/usr/bin/python3", "3.11.6", "23.3.1", {}, externally_managed=None)
    # Nothing but os-release, the kernel and Python was recorded: no DMI, /proc/cpuinfo, /proc/modules or PCI
    # devices, so what they would tell is unknown, not "none".
    s.expected = {
        "os.id": "arch", "os.version_id": None, "os.pretty_name": "Arch Linux", "os.family": "arch",
        "os.codename": None, "kernel.release": "6.6.8-arch1-1", "kernel.headers_installed": False,
        "host.virtualization": None, "host.laptop": None, "host.memory_mib": None,
        "cpu.model": None, "cpu.count": None, "cpu.flags": None, "gpu.count": None, "gpu.names": None,
        "gpu.pci_ids": None, "driver.loaded": None, "driver.nvml_error": "NVMLError_LibraryNotFound",
        "nouveau.loaded": None, "display.init": "none", "python.executable": "/usr/bin/python3",
        "python.version": "3.11.6", "pip.version": "23.3.1", "python.externally_managed": None,
    }
    return s


PCI_IDS_HEADER = (
    "#\n#\tList of PCI IDs\n#\n#\tVersion: 2026.08.22\n#\tDate:    2026-08-22 03:15:01\n#\n"
    "#\tMaintained by Albert Pool, Martin Mares, and other volunteers from\n"
    "#\tthe PCI ID Project at https://pci-ids.ucw.cz/.\n#\n"
    "#\tNew data are always welcome, especially if they are accurate. If you have\n"
    "#\tanything to contribute, please follow the instructions at the web site.\n#\n"
    "#\tThis file can be distributed under either the GNU General Public License\n"
    "#\t(version 2 or higher) or the 3-clause BSD License.\n#\n"
    "#\tThe database is a compilation of factual data, and as such the copyright\n"
    "#\tonly covers the aggregation and formatting. The copyright is held by\n#\tMartin Mares and Albert Pool.\n#\n\n"
    "# Vendors, devices and subsystems. Please keep sorted.\n\n# Syntax:\n# vendor  vendor_name\n"
    "#\tdevice  device_name\t\t\t\t<-- single tab\n#\t\tsubvendor subdevice  subsystem_name\t<-- two tabs\n\n"
)


def pci_ids_excerpt() -> str:
    """The PCI ID database as pciutils ships it (pciutils/pciids, Version 2026.08.22), cut to the vendors around
    NVIDIA's and a few of NVIDIA's devices: the lines, tabs and order are the file's own."""
    return PCI_IDS_HEADER + (
        "0001  SafeNet (wrong ID)\n10dd  Evans & Sutherland\n\t0100  Lightning 1200\n"
        "\t\t10dd 0023  Lightning 1200 15+16M\n10de  NVIDIA Corporation\n\t0008  NV1 [STG2000X-B Series]\n"
        "\t0009  NV1 [NV1 Series]\n\t1b06  GP102 [GeForce GTX 1080 Ti]\n\t1b07  GP102 [P102-100]\n"
        "\t20f1  GA100 [A100 PCIe 40GB]\n\t22e8  GB202 High Definition Audio Controller\n"
        "\t2b85  GB202 [GeForce RTX 5090]\n\t2b87  GB202 [GeForce RTX 5090 D]\n"
        "\t2bb1  GB202GL [RTX PRO 6000 Blackwell Workstation Edition]\n\t2c02  GB203 [GeForce RTX 5080]\n"
        "\t2c18  GB203M / GN22 [GeForce RTX 5090 Max-Q / Mobile]\n10df  Emulex Corporation\n"
        "\t0720  OneConnect NIC (Skyhawk)\n\t\t103c 1934  FlexFabric 20Gb 2-port 650M Adapter\n"
        "ffff  Illegal Vendor ID\n")


def ubuntu2404_blackwell() -> Scenario:
    s = Scenario("ubuntu2404-rtx5090-nouveau", "Ubuntu 24.04 desktop with a GeForce RTX 5090 (Blackwell, 10de:2b85) "
                 "driven by nouveau: no NVIDIA driver yet, gdm3 on Wayland, EFI without Secure Boot, pciutils' PCI "
                 "ID database naming the card, Python 3.12 in a virtual environment.")
    ubuntu_release(s, "24.04", "24.04.3", "noble", "Noble Numbat", "trixie/sid")
    on_the_host(s)
    # Ubuntu 24.04.3's GA kernel, 6.8.0-71 (its compiler, build host and date are those of the
    # linux-headers-6.8.0-71-generic 6.8.0-71.71 package in noble-updates): a point release's kernel, whose
    # headers the archive keeps.
    kernel(s, "6.8.0-71-generic", "Linux version 6.8.0-71-generic (buildd@lcy02-amd64-053) (x86_64-linux-gnu-gcc-13 "
           "(Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #71-Ubuntu SMP "
           "PREEMPT_DYNAMIC Tue Jul 22 15:22:08 UTC 2025", headers=False, lib="/usr/lib")
    dmi(s, "Micro-Star International Co., Ltd.", "MS-7E06", 3)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Core(TM) Ultra 9 285K", 6, 198, 2, "3700.000", "36864 KB",
                                       ALDER_LAKE_FLAGS, 1, 24, 1)
    s.files["/proc/meminfo"] = meminfo(65536000)
    pci(s, "0000:00:00.0", "8086", "7d1a", "060000")
    pci(s, "0000:00:02.0", "8086", "7d67", "030000")
    pci(s, "0000:01:00.0", "10de", "2b85", "030000")
    pci(s, "0000:01:00.1", "10de", "22e8", "040300")
    s.files["/usr/share/misc/pci.ids"] = pci_ids_excerpt()
    s.files["/proc/modules"] = (
        "nouveau 3096576 24 - Live 0x0000000000000000\nmxm_wmi 12288 1 nouveau, Live 0x0000000000000000\n"
        "drm_gpuvm 45056 1 nouveau, Live 0x0000000000000000\n"
        "drm_exec 12288 2 nouveau,drm_gpuvm, Live 0x0000000000000000\n"
        "gpu_sched 61440 1 nouveau, Live 0x0000000000000000\n"
        "ttm 110592 2 nouveau,drm_ttm_helper, Live 0x0000000000000000\n"
        "i915 4280320 37 - Live 0x0000000000000000\n")
    s.files["/etc/modprobe.d/blacklist.conf"] = UBUNTU_BLACKLIST_CONF
    s.files["/proc/cmdline"] = "BOOT_IMAGE=/boot/vmlinuz-6.8.0-71-generic root=UUID=3f1c ro quiet splash vt.handoff=7\n"
    s.files["/etc/X11/default-display-manager"] = "/usr/sbin/gdm3\n"
    s.links["/etc/systemd/system/display-manager.service"] = "/lib/systemd/system/gdm3.service"
    s.files["/usr/lib/systemd/system/gdm3.service"] = "[Unit]\nDescription=GNOME Display Manager\n"
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "/run"
    s.dirs.append("/sys/firmware/efi/efivars")
    s.commands.append(command(["mokutil", "--sb-state"], 0, "SecureBoot disabled\n"))
    processes(s, {1: "systemd", 1388: "gdm3", 1402: "gdm-session-wor", 1560: "gnome-shell", 2410: "gnome-terminal-",
                  2433: "bash"})
    s.nvml = dict(NVML_NOT_FOUND)
    s.env = {"PATH": "/home/user/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "VIRTUAL_ENV": "/home/user/venv"}
    s.python = python_json("/home/user/venv/bin/python", "3.12.3", "24.0", {})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "24.04", "os.pretty_name": "Ubuntu 24.04.3 LTS", "os.family": "debian",
        "os.codename": "noble", "kernel.release": "6.8.0-71-generic", "kernel.headers_installed": False,
        "host.container": "none", "host.container_evidence": [],
        "host.memory_mib": 64000, "cpu.model": "Intel(R) Core(TM) Ultra 9 285K", "cpu.count": 24,
        "cpu.flags": ALDER_LAKE_FLAGS.split(),
        # The PCI ID database names the card and its chip: GB202 is Blackwell, compute capability 12.0, driven by
        # the open kernel modules only.
        "gpu.count": 1, "gpu.names": ["NVIDIA GeForce RTX 5090"], "gpu.pci_ids": ["10de:2b85"],
        "gpu.compute_capabilities": ["12.0"], "gpu.chips": ["GB202"], "gpu.architectures": ["blackwell"],
        "gpu.kernel_modules": ["open"],
        "driver.nvml_error": "NVMLError_LibraryNotFound", "nouveau.loaded": True,
        "display.manager": "gdm3", "display.manager_active": True, "display.init": "systemd",
        "display.graphical_session": True, "python.executable": "/home/user/venv/bin/python",
        "python.version": "3.12.3", "pip.version": "24.0",
    }
    return s


def ubuntu2204_pascal_cuda13() -> Scenario:
    s = Scenario("ubuntu2204-gtx1080ti-cuda13", "Ubuntu 22.04 workstation, a GeForce GTX 1080 Ti (Pascal) on "
                 "NVIDIA's driver 580.95.05 (proprietary kernel module, working) with the CUDA 13.0 toolkit from "
                 "NVIDIA's repository, whose nvcc cannot build for sm_61. A minimal install: no PCI ID database.")
    ubuntu_release(s, "22.04", "22.04.5", "jammy", "Jammy Jellyfish", "bookworm/sid")
    kernel(s, "5.15.0-160-generic", "Linux version 5.15.0-160-generic (buildd@lcy02-amd64-062) (gcc (Ubuntu "
           "11.4.0-1ubuntu1~22.04.2) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #170-Ubuntu SMP Wed Oct 1 "
           "10:06:56 UTC 2025", headers=True, lib="/usr/lib")
    dmi(s, "Dell Inc.", "Precision 7820 Tower", 3)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz", 6, 85, 4, "2200.000",
                                       "14080 KB", SKYLAKE_SP_FLAGS, 1, 10, 2)
    s.files["/proc/meminfo"] = meminfo(32768000)
    pci(s, "0000:00:00.0", "8086", "2020", "060000")
    pci(s, "0000:65:00.0", "10de", "1b06", "030000")
    pci(s, "0000:65:00.1", "10de", "10ef", "040300")
    s.files["/proc/modules"] = (
        "nvidia_uvm 1437696 0 - Live 0xffffffffc2a4d000 (POE)\n"
        "nvidia_drm 122880 0 - Live 0xffffffffc2a2e000 (POE)\n"
        "nvidia_modeset 1376256 1 nvidia_drm, Live 0xffffffffc28de000 (POE)\n"
        "nvidia 97517568 3 nvidia_uvm,nvidia_modeset, Live 0xffffffffbc800000 (POE)\n")
    s.files["/proc/driver/nvidia/version"] = (
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  Tue Sep 23 09:50:13 UTC 2025\n"
        "GCC version:  gcc version 11.4.0 (Ubuntu 11.4.0-1ubuntu1~22.04.2) \n")
    s.files["/sys/module/nvidia/version"] = "580.95.05\n"
    s.files["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.95.05"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"] = "libnvidia-ml.so.580.95.05"
    s.files["/etc/modprobe.d/blacklist.conf"] = UBUNTU_BLACKLIST_CONF
    s.files["/etc/modprobe.d/blacklist-nouveau.conf"] = NOUVEAU_BLACKLIST_CONF
    s.files["/proc/cmdline"] = "BOOT_IMAGE=/boot/vmlinuz-5.15.0-160-generic root=UUID=9b0d ro\n"
    s.links["/usr/local/cuda"] = "/etc/alternatives/cuda"
    s.links["/etc/alternatives/cuda"] = "/usr/local/cuda-13.0"
    s.files["/usr/local/cuda-13.0/version.json"] = json.dumps(
        {"cuda": {"name": "CUDA SDK", "version": "13.0.2"},
         "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "13.0.96"}}, indent=3) + "\n"
    s.files["/usr/local/cuda-13.0/bin/nvcc"] = b""
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "/run"
    s.dirs.append("/sys/firmware/efi/efivars")
    s.commands.append(command(["mokutil", "--sb-state"], 0, "SecureBoot disabled\n"))
    processes(s, {1: "systemd", 411: "systemd-journal", 1190: "sshd", 1302: "nvidia-persiste", 3011: "bash"})
    s.nvml = {"driver_version": "580.95.05", "cuda_driver_version": 13000, "nvml_version": "13.580.95.05",
              "devices": [gpu(0, "NVIDIA GeForce GTX 1080 Ti", "GPU-6a1f0c52-3d4e-8b7a-9c10-2e5f7d8b4a13",
                              "00000000:65:00.0", 11811160064, 2097152, [6, 1], False, [],
                              persistence_mode=True)]}
    s.env = {"PATH": "/usr/local/cuda/bin:/home/user/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                     "/sbin:/bin", "SSH_CONNECTION": "10.0.0.5 50022 10.0.0.51 22", "VIRTUAL_ENV": "/home/user/venv"}
    s.python = python_json("/home/user/venv/bin/python", "3.10.12", "24.0", {"setuptools": "59.6.0"})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "22.04", "os.pretty_name": "Ubuntu 22.04.5 LTS", "os.family": "debian",
        "os.codename": "jammy", "kernel.release": "5.15.0-160-generic", "kernel.headers_installed": True,
        "host.memory_mib": 32000, "cpu.model": "Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz", "cpu.count": 20,
        "cpu.flags": SKYLAKE_SP_FLAGS.split(),
        # No pci.ids on the host: the chip comes from setupkit's table (GP102), the compute capability from NVML.
        "gpu.count": 1, "gpu.names": ["NVIDIA GeForce GTX 1080 Ti"], "gpu.pci_ids": ["10de:1b06"],
        "gpu.errors": [None], "gpu.uuids": ["GPU-6a1f0c52-3d4e-8b7a-9c10-2e5f7d8b4a13"],
        "gpu.compute_capabilities": ["6.1"], "gpu.chips": ["GP102"], "gpu.architectures": ["pascal"],
        "gpu.kernel_modules": ["proprietary"], "gpu.memory_total_mib": [11264], "gpu.memory_used_mib": [2],
        "gpu.processes": [], "gpu.display_active": False, **health_expected(1, persistence_mode=[True]),
        "driver.loaded": True, "driver.version": "580.95.05", "driver.userspace_version": "580.95.05",
        "driver.open_kernel_module": False, "driver.cuda_max": "13.0", "nouveau.blacklisted": True,
        "cuda.toolkit_version": "13.0", "cuda.toolkit_release": "13.0.2", "cuda.toolkit_path": "/usr/local/cuda-13.0",
        "cuda.toolkits": ["13.0"],
        "display.init": "systemd", "python.executable": "/home/user/venv/bin/python", "python.version": "3.10.12",
        "pip.version": "24.0",
    }
    return s


# -- containers ------------------------------------------------------------------------------------------------

GPU_CONTAINER_ID = "5c1c3a57fcad478bf0be782e1bc28b721ad5805b8c4b4d895c49a57582c9ac83"
BUILD_LAYER_ID = "f86263d23149776835fd295f9968674a1f4c5f10be7da4d5dc3ade03e6514b2e"
OVERLAY_LINKS = ("/var/lib/docker/overlay2/l/77EA7EEE3D80B1A38F83906DD3:"
                 "/var/lib/docker/overlay2/l/95CF1A2E1698FE3CA1FCC3F653")


def docker_root_mount(layer: str) -> str:
    """/proc/self/mountinfo's line for a Docker container's root: an overlay of the image layers (overlay2)."""
    store = f"/var/lib/docker/overlay2/{layer}"
    return (f"1418 1280 0:186 / / rw,relatime master:512 - overlay overlay rw,lowerdir={OVERLAY_LINKS},"
            f"upperdir={store}/diff,workdir={store}/work,nouserxattr\n")


def docker_mountinfo(root: str, etc_files_from: str, extra: str = "") -> str:
    """A container's /proc/self/mountinfo as Docker sets it up: its root, /proc, /dev, /sys read-only, the
    cgroup2 hierarchy, and /etc/resolv.conf, /etc/hostname and /etc/hosts bind-mounted from ``etc_files_from``."""
    return (root
            + "1419 1418 0:189 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
            "1420 1418 0:190 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64\n"
            "1421 1420 0:191 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666\n"
            "1422 1418 0:192 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n"
            "1423 1422 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,"
            "memory_recursiveprot\n"
            "1424 1420 0:188 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw\n"
            "1425 1420 0:193 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k,inode64\n"
            f"1426 1418 8:1 {etc_files_from}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 "
            "rw,discard,errors=remount-ro\n"
            f"1427 1418 8:1 {etc_files_from}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 "
            "rw,discard,errors=remount-ro\n"
            f"1428 1418 8:1 {etc_files_from}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 "
            "rw,discard,errors=remount-ro\n"
            + extra)


def nvidia_toolkit_mounts() -> str:
    """The lines the NVIDIA Container Toolkit adds to a GPU container's mountinfo: the host driver's programs and
    libraries, read-only, its /proc entry for the GPU, and the device node."""
    host = "ro,nosuid,nodev,relatime - ext4 /dev/sda1 rw,discard,errors=remount-ro"
    return (f"1429 1418 8:1 /usr/bin/nvidia-smi /usr/bin/nvidia-smi {host}\n"
            f"1430 1418 8:1 /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.95.05 "
            f"/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.95.05 {host}\n"
            f"1431 1418 8:1 /usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05 "
            f"/usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05 {host}\n"
            "1432 1419 0:61 /proc/driver/nvidia/gpus/0000:00:03.0 /proc/driver/nvidia/gpus/0000:00:03.0 "
            "ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
            "1433 1420 0:6 /nvidia0 /dev/nvidia0 rw,nosuid,noexec,relatime - devtmpfs udev rw,size=16411264k,"
            "nr_inodes=4102816,mode=755,inode64\n")


def os_release_debian12() -> str:
    return ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
            'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\n'
            'SUPPORT_URL="https://www.debian.org/support"\nBUG_REPORT_URL="https://bugs.debian.org/"\n')


def gpu_container() -> Scenario:
    s = Scenario("docker-gpu-l4-ubuntu2204", "A Docker container (ubuntu:22.04 with python3-pip, started with "
                 "docker run --gpus all) on a Google Compute Engine g2 instance whose NVIDIA L4 runs the host's "
                 "driver 580.95.05 (open kernel module): the NVIDIA Container Toolkit mounted nvidia-smi and the "
                 "driver's libraries; no kernel headers, no init, no display manager in the container.")
    ubuntu_release(s, "22.04", "22.04.5", "jammy", "Jammy Jellyfish", "bookworm/sid")
    # The host's kernel: a container has no /lib/modules of its own, so no headers either.
    s.files["/proc/sys/kernel/osrelease"] = "6.8.0-1040-gcp\n"
    s.files["/proc/version"] = ("Linux version 6.8.0-1040-gcp (buildd@lcy02-amd64-093) (x86_64-linux-gnu-gcc-12 "
                                "(Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) "
                                "#43~22.04.1-Ubuntu SMP Wed Sep 24 17:58:21 UTC 2025\n")
    dmi(s, "Google", "Google Compute Engine", 1)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Xeon(R) CPU @ 2.20GHz", 6, 85, 7, "2200.154", "39424 KB",
                                       SKYLAKE_SP_FLAGS.replace("rdrand", "rdrand hypervisor"), 1, 4, 2)
    s.files["/proc/meminfo"] = meminfo(32873432)
    pci(s, "0000:00:00.0", "8086", "1237", "060000")
    pci(s, "0000:00:03.0", "10de", "27b8", "030200")
    s.files["/proc/modules"] = (
        "nvidia_uvm 2076672 0 - Live 0x0000000000000000 (OE)\n"
        "nvidia 11538432 2 nvidia_uvm, Live 0x0000000000000000 (OE)\n"
        "gve 110592 0 - Live 0x0000000000000000\n")
    s.files["/proc/driver/nvidia/version"] = (
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release Build  "
        "(dvs-builder@U22-I3-AF03-09-1)  Tue Sep 23 09:50:13 UTC 2025\n"
        "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04) \n")
    s.files["/proc/driver/nvidia/gpus/0000:00:03.0/information"] = (
        "Model: \t\t NVIDIA L4\nIRQ:   \t\t 35\nGPU UUID: \t GPU-2f9d4c1a-7e3b-5a60-8c1d-94b2e6f0a7c3\n"
        "Video BIOS: \t 95.04.5b.00.03\nBus Type: \t PCIe\nDMA Size: \t 47 bits\nDMA Mask: \t 0x7fffffffffff\n"
        "Bus Location: \t 0000:00:03.0\nDevice Minor: \t 0\nGPU Firmware: \t 580.95.05\nGPU Excluded:\t No\n")
    s.files["/sys/module/nvidia/version"] = "580.95.05\n"
    s.files["/proc/cmdline"] = "BOOT_IMAGE=/vmlinuz-6.8.0-1040-gcp root=PARTUUID=5e2a0f4c ro console=ttyS0\n"
    s.files["/usr/bin/nvidia-smi"] = b""
    s.files["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.95.05"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"] = "libnvidia-ml.so.580.95.05"
    s.files["/usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libcuda.so.1"] = "libcuda.so.580.95.05"
    s.commands.append(command(["nvidia-smi"], 0, smi_header("580.95.05", "580.95.05", "13.0")))
    # How the container is told: Docker's marker file, and the root an overlay in Docker's store.
    s.files["/.dockerenv"] = b""
    s.files["/proc/1/cgroup"] = "0::/\n"
    s.files["/proc/self/cgroup"] = "0::/\n"
    s.files["/proc/self/mountinfo"] = docker_mountinfo(
        docker_root_mount(GPU_CONTAINER_ID), f"/var/lib/docker/containers/{GPU_CONTAINER_ID}",
        nvidia_toolkit_mounts())
    processes(s, {1: "bash", 412: "python3"})
    s.nvml = {"driver_version": "580.95.05", "cuda_driver_version": 13000, "nvml_version": "13.580.95.05",
              "devices": [gpu(0, "NVIDIA L4", "GPU-2f9d4c1a-7e3b-5a60-8c1d-94b2e6f0a7c3", "00000000:00:03.0",
                              24152899584, 1048576, [8, 9], False, [], power_limit_w=72.0, pcie_width=[8, 16],
                              pcie_gen_gpu_max=4, ecc_mode=True, ecc_uncorrected_volatile=0,
                              ecc_uncorrected_aggregate=0, retired_pages_pending=None, remapped_rows_correctable=1,
                              remapped_rows_uncorrectable=0, remapped_rows_pending=True, remapped_rows_failed=False,
                              clocks_event_reasons=0x1, power_management_limit_w=72.0, power_default_limit_w=72.0,
                              errors={"retired_pages_pending": NOT_SUPPORTED})]}
    s.probes["dmesg"] = dmesg_run(1, "", "dmesg: read kernel buffer failed: Operation not permitted\n")
    s.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    s.python = python_json("/usr/bin/python3", "3.10.12", "22.0.2", {"setuptools": "59.6.0"})
    s.expected = {
        "os.id": "ubuntu", "os.version_id": "22.04", "os.pretty_name": "Ubuntu 22.04.5 LTS", "os.family": "debian",
        "os.codename": "jammy", "kernel.release": "6.8.0-1040-gcp", "kernel.headers_installed": False,
        # The host's DMI shows through /sys: a container on a Compute Engine VM.
        "host.virtualization": "google", "host.memory_mib": 32102,
        "host.container": "docker",
        "host.container_evidence": ["/.dockerenv",
                                    "/proc/self/mountinfo: the root file system is an overlay in docker's store"],
        "cpu.model": "Intel(R) Xeon(R) CPU @ 2.20GHz", "cpu.count": 8,
        "cpu.flags": SKYLAKE_SP_FLAGS.replace("rdrand", "rdrand hypervisor").split(),
        "gpu.count": 1, "gpu.names": ["NVIDIA L4"], "gpu.pci_ids": ["10de:27b8"], "gpu.errors": [None],
        "gpu.uuids": ["GPU-2f9d4c1a-7e3b-5a60-8c1d-94b2e6f0a7c3"], "gpu.compute_capabilities": ["8.9"],
        "gpu.chips": ["AD104"], "gpu.architectures": ["ada"], "gpu.kernel_modules": ["either"],
        "gpu.memory_total_mib": [23034], "gpu.memory_used_mib": [1], "gpu.processes": [],
        "gpu.display_active": False,
        **health_expected(
            1, kernel_log="denied", pcie_width=[8], pcie_gen_gpu_max=[4], power_limit_w=[72.0],
            power_default_limit_w=[72.0], ecc_mode=[True], ecc_uncorrected_volatile=[0], ecc_uncorrected_aggregate=[0],
            remapped_rows_pending=[True], remapped_rows_failed=[False], throttle_reasons=[["gpu_idle"]],
            nvml_unsupported=[["retired_pages_pending"]]),
        "driver.loaded": True, "driver.version": "580.95.05", "driver.userspace_version": "580.95.05",
        "driver.open_kernel_module": True, "driver.cuda_max": "13.0",
        "display.init": "none", "python.executable": "/usr/bin/python3", "python.version": "3.10.12",
        "pip.version": "22.0.2",
    }
    return s


def build_container() -> Scenario:
    s = Scenario("docker-build-debian12-nogpu", "A RUN step of `docker build` (BuildKit) on a GitHub-hosted "
                 "ubuntu-24.04 runner (an Azure VM, no GPU), making a GPU image FROM python:3.12-slim (Debian 12): "
                 "no /.dockerenv under BuildKit, the root an overlay in Docker's store, no NVIDIA device, no "
                 "driver, PID 1 the step's shell.")
    s.links["/etc/os-release"] = "../usr/lib/os-release"
    s.files["/usr/lib/os-release"] = os_release_debian12()
    s.files["/etc/debian_version"] = "12.12\n"
    s.links["/lib"] = "usr/lib"
    s.files["/proc/sys/kernel/osrelease"] = "6.11.0-1018-azure\n"
    s.files["/proc/version"] = ("Linux version 6.11.0-1018-azure (buildd@lcy02-amd64-107) (x86_64-linux-gnu-gcc-13 "
                                "(Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0, GNU ld (GNU Binutils for Ubuntu) 2.42) "
                                "#18~24.04.1-Ubuntu SMP Sat Jun 28 04:46:03 UTC 2025\n")
    dmi(s, "Microsoft Corporation", "Virtual Machine", 3)
    s.files["/proc/cpuinfo"] = cpuinfo("AMD EPYC 7763 64-Core Processor", 25, 1, 1, "3242.437", "512 KB",
                                       HASWELL_FLAGS.replace("rdrand", "rdrand hypervisor"), 1, 2, 2,
                                       vendor="AuthenticAMD")
    s.files["/proc/meminfo"] = meminfo(16364588)
    s.dirs.append("/sys/bus/pci/devices")  # Hyper-V's VMBus devices are no PCI devices: none to list
    s.files["/proc/modules"] = (
        "hv_netvsc 102400 0 - Live 0x0000000000000000\nhv_utils 53248 2 - Live 0x0000000000000000\n"
        "overlay 212992 10 - Live 0x0000000000000000\n")
    s.files["/proc/cmdline"] = ("BOOT_IMAGE=/vmlinuz-6.11.0-1018-azure root=PARTUUID=7d3b ro console=tty1 "
                                "console=ttyS0 earlyprintk=ttyS0 panic=-1\n")
    s.files["/proc/1/cgroup"] = "0::/\n"
    s.files["/proc/self/cgroup"] = "0::/\n"
    s.files["/proc/self/mountinfo"] = docker_mountinfo(docker_root_mount(BUILD_LAYER_ID),
                                                       "/var/lib/docker/buildkit/executor")
    processes(s, {1: "sh", 7: "setupkit"})
    s.nvml = dict(NVML_NOT_FOUND)
    s.env = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    s.python = python_json("/usr/local/bin/python3", "3.12.12", "25.0.1", {})
    s.expected = {
        "os.id": "debian", "os.version_id": "12", "os.pretty_name": "Debian GNU/Linux 12 (bookworm)",
        "os.family": "debian", "os.codename": "bookworm", "kernel.release": "6.11.0-1018-azure",
        "kernel.headers_installed": False, "host.virtualization": "hyperv",
        "host.memory_mib": 15981,
        "host.container": "docker",
        "host.container_evidence": ["/proc/self/mountinfo: the root file system is an overlay in docker's store"],
        "cpu.model": "AMD EPYC 7763 64-Core Processor", "cpu.count": 4,
        "cpu.flags": HASWELL_FLAGS.replace("rdrand", "rdrand hypervisor").split(),
        "gpu.count": 0, "gpu.names": [], "gpu.pci_ids": [],
        "gpu.compute_capabilities": [], "gpu.chips": [], "gpu.architectures": [], "gpu.kernel_modules": [],
        "driver.nvml_error": "NVMLError_LibraryNotFound", "display.init": "none",
        "python.executable": "/usr/local/bin/python3", "python.version": "3.12.12", "pip.version": "25.0.1",
    }
    return s


def rhel9_server_a100() -> Scenario:
    s = Scenario("rhel9-server-a100", "Red Hat Enterprise Linux 9.6 on a headless Dell PowerEdge R750xa rack server "
                 "with an NVIDIA A100 PCIe 40GB (Ampere, 10de:20f1) bound by nouveau: no NVIDIA driver yet, no kernel "
                 "headers, no display manager (multi-user target), EFI without Secure Boot, SELinux off, hwdata's PCI "
                 "ID database naming the card, Python 3.12 in a virtual environment.")
    s.links["/etc/os-release"] = "../usr/lib/os-release"
    s.files["/usr/lib/os-release"] = (
        'NAME="Red Hat Enterprise Linux"\nVERSION="9.6 (Plow)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.6"\n'
        'PLATFORM_ID="platform:el9"\nPRETTY_NAME="Red Hat Enterprise Linux 9.6 (Plow)"\nANSI_COLOR="0;31"\n'
        'LOGO="fedora-logo-icon"\nCPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"\n'
        'HOME_URL="https://www.redhat.com/"\n'
        'DOCUMENTATION_URL="https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9"\n'
        'BUG_REPORT_URL="https://issues.redhat.com/"\n\nREDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux 9"\n'
        'REDHAT_BUGZILLA_PRODUCT_VERSION=9.6\nREDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"\n'
        'REDHAT_SUPPORT_PRODUCT_VERSION="9.6"\n')
    s.files["/etc/redhat-release"] = "Red Hat Enterprise Linux release 9.6 (Plow)\n"
    s.links["/lib"] = "usr/lib"
    kernel(s, "5.14.0-570.12.1.el9_6.x86_64", "Linux version 5.14.0-570.12.1.el9_6.x86_64 "
           "(mockbuild@x86-64-02.build.eng.rdu2.redhat.com) (gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-5), GNU ld "
           "version 2.35.2-63.el9) #1 SMP PREEMPT_DYNAMIC Fri Apr 4 10:41:31 EDT 2025", headers=False, lib="/usr/lib")
    dmi(s, "Dell Inc.", "PowerEdge R750xa", 23)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Xeon(R) Gold 6326 CPU @ 2.90GHz", 6, 106, 6, "2900.000",
                                       "24576 KB", SKYLAKE_SP_FLAGS, 1, 16, 2)
    s.files["/proc/meminfo"] = meminfo(263852032)
    pci(s, "0000:00:00.0", "8086", "09a2", "060000")
    pci(s, "0000:03:00.0", "102b", "0536", "030000")  # the iDRAC's Matrox G200eW3 serves the console
    pci(s, "0000:17:00.0", "10de", "20f1", "030200")
    pci(s, "0000:31:00.0", "14e4", "16d7", "020000")
    s.files["/usr/share/hwdata/pci.ids"] = pci_ids_excerpt()
    # nouveau claims the A100 through its PCI alias at boot, as on any RHEL 9 install without NVIDIA's driver.
    s.files["/proc/modules"] = (
        "nouveau 2981888 0 - Live 0x0000000000000000\nmxm_wmi 16384 1 nouveau, Live 0x0000000000000000\n"
        "drm_ttm_helper 16384 2 nouveau,mgag200, Live 0x0000000000000000\n"
        "ttm 98304 2 nouveau,drm_ttm_helper, Live 0x0000000000000000\n"
        "mgag200 73728 0 - Live 0x0000000000000000\nbnxt_en 385024 0 - Live 0x0000000000000000\n")
    s.files["/proc/cmdline"] = ("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-5.14.0-570.12.1.el9_6.x86_64 "
                                "root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M "
                                "resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap selinux=0\n")
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "../run"
    s.dirs.append("/sys/firmware/efi/efivars")
    s.commands.append(command(["mokutil", "--sb-state"], 0, "SecureBoot disabled\n"))
    processes(s, {1: "systemd", 812: "systemd-journal", 1204: "chronyd", 1230: "tuned", 1301: "sshd", 4410: "bash"})
    s.nvml = dict(NVML_NOT_FOUND)
    s.env = {"PATH": "/opt/ml/venv/bin:/root/.local/bin:/root/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
             "VIRTUAL_ENV": "/opt/ml/venv", "SSH_CONNECTION": "10.20.0.5 51522 10.20.3.41 22"}
    # A venv of RHEL's python3.12: its ensurepip installs the distribution's pip wheel (python3.12-pip-wheel).
    s.python = python_json("/opt/ml/venv/bin/python", "3.12.9", "23.2.1", {})
    s.expected = {
        "os.id": "rhel", "os.version_id": "9.6", "os.pretty_name": "Red Hat Enterprise Linux 9.6 (Plow)",
        "os.family": "rhel", "os.codename": None, "kernel.release": "5.14.0-570.12.1.el9_6.x86_64",
        "kernel.headers_installed": False, "host.memory_mib": 257668,
        "cpu.model": "Intel(R) Xeon(R) Gold 6326 CPU @ 2.90GHz", "cpu.count": 32, "cpu.flags": SKYLAKE_SP_FLAGS.split(),
        # hwdata's PCI ID database names the card and its chip: GA100 is Ampere, compute capability 8.0, served by
        # the open and the proprietary kernel modules alike.
        "gpu.count": 1, "gpu.names": ["NVIDIA A100 PCIe 40GB"], "gpu.pci_ids": ["10de:20f1"],
        "gpu.compute_capabilities": ["8.0"], "gpu.chips": ["GA100"], "gpu.architectures": ["ampere"],
        "gpu.kernel_modules": ["either"],
        "driver.nvml_error": "NVMLError_LibraryNotFound", "nouveau.loaded": True, "display.init": "systemd",
        "python.executable": "/opt/ml/venv/bin/python", "python.version": "3.12.9", "pip.version": "23.2.1",
    }
    return s


# -- PyTorch and JAX wheels on a GPU workstation -----------------------------------------------------------------

TORCH_213_CU130_WHEELS = {
    # torch 2.13.0+cu130's CUDA wheels (cuda-toolkit[...]==13.0.3, cuDNN 9.20.0.48, NCCL 2.29.7 as its release
    # matrix says): CUDA 13's toolkit wheels carry no -cuXX suffix.
    "cuda-toolkit": "13.0.3", "nvidia-cublas": "13.1.0.3", "nvidia-cuda-cupti": "13.0.85",
    "nvidia-cuda-nvrtc": "13.0.88", "nvidia-cuda-runtime": "13.0.96", "nvidia-cudnn-cu13": "9.20.0.48",
    "nvidia-cufft": "12.0.0.61", "nvidia-curand": "10.4.0.35", "nvidia-cusolver": "12.0.4.66",
    "nvidia-cusparse": "12.6.3.3", "nvidia-nccl-cu13": "2.29.7", "nvidia-nvjitlink": "13.0.88",
    "nvidia-nvtx": "13.0.85",
}
TORCH_CU12_WHEELS = {
    # PyTorch's CUDA 12 wheels (torch 2.13.0+cu126: cuDNN 9.10.2.21, NCCL 2.29.3), every one suffixed -cu12.
    "nvidia-cublas-cu12": "12.6.4.1", "nvidia-cuda-cupti-cu12": "12.6.80", "nvidia-cuda-nvrtc-cu12": "12.6.77",
    "nvidia-cuda-runtime-cu12": "12.6.77", "nvidia-cudnn-cu12": "9.10.2.21", "nvidia-cufft-cu12": "11.3.0.4",
    "nvidia-nccl-cu12": "2.29.3", "nvidia-nvjitlink-cu12": "12.6.85",
}


def gpu_workstation(s: Scenario, driver: str, date: str, cuda: int, card: tuple[str, str, list[int], int],
                    open_module: bool, packages: dict[str, str], health: dict[str, Any] | None = None) -> None:
    """An Ubuntu 24.04 workstation with one NVIDIA card on NVIDIA's driver ``driver`` (its NVML answers), no
    system CUDA toolkit, and a virtual environment holding ``packages``: the frameworks bring their CUDA as
    wheels. ``card``: its name, PCI device id, compute capability and memory in MiB."""
    name, device, cc, memory = card
    ubuntu_release(s, "24.04", "24.04.3", "noble", "Noble Numbat", "trixie/sid")
    on_the_host(s)
    kernel(s, "6.8.0-71-generic", "Linux version 6.8.0-71-generic (buildd@lcy02-amd64-053) (x86_64-linux-gnu-gcc-13 "
           "(Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #71-Ubuntu SMP "
           "PREEMPT_DYNAMIC Tue Jul 22 15:22:08 UTC 2025", headers=True, lib="/usr/lib")  # as the RTX 5090 desktop's
    dmi(s, "ASUSTeK COMPUTER INC.", "ProArt Z890-CREATOR WIFI", 3)
    s.dirs.append("/sys/class/power_supply")
    s.files["/proc/cpuinfo"] = cpuinfo("Intel(R) Core(TM) Ultra 9 285K", 6, 198, 2, "3700.000", "36864 KB",
                                       ALDER_LAKE_FLAGS, 1, 24, 1)
    s.files["/proc/meminfo"] = meminfo(131072000)
    pci(s, "0000:00:00.0", "8086", "7d1a", "060000")
    pci(s, "0000:01:00.0", "10de", device, "030000")
    flavour = "Open Kernel Module for x86_64" if open_module else "Kernel Module"
    taint = "(OE)" if open_module else "(POE)"
    s.files["/proc/modules"] = (
        f"nvidia_uvm 2076672 0 - Live 0xffffffffc2a4d000 {taint}\n"
        f"nvidia_drm 135168 0 - Live 0xffffffffc2a2e000 {taint}\n"
        f"nvidia_modeset 1638400 1 nvidia_drm, Live 0xffffffffc28de000 {taint}\n"
        f"nvidia 104136704 3 nvidia_uvm,nvidia_modeset, Live 0xffffffffbc800000 {taint}\n")
    s.files["/proc/driver/nvidia/version"] = (
        f"NVRM version: NVIDIA UNIX {flavour}  {driver}  Release Build  (dvs-builder@U22-I3-AF03-09-1)  {date}\n"
        "GCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04) \n")
    s.files["/sys/module/nvidia/version"] = f"{driver}\n"
    s.files[f"/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.{driver}"] = b""
    s.links["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"] = f"libnvidia-ml.so.{driver}"
    s.files["/etc/modprobe.d/blacklist.conf"] = UBUNTU_BLACKLIST_CONF
    s.files["/etc/modprobe.d/nvidia-graphics-drivers-kms.conf"] = "options nvidia-drm modeset=1\n"
    s.files["/usr/lib/modprobe.d/blacklist-nvidia-nouveau.conf"] = NOUVEAU_BLACKLIST_CONF
    s.files["/proc/cmdline"] = "BOOT_IMAGE=/boot/vmlinuz-6.8.0-71-generic root=UUID=3f1c ro quiet splash\n"
    s.dirs.append("/run/systemd/system")
    s.links["/var/run"] = "/run"
    s.dirs.append("/sys/firmware/efi/efivars")
    s.commands.append(command(["mokutil", "--sb-state"], 0, "SecureBoot disabled\n"))
    processes(s, {1: "systemd", 411: "systemd-journal", 1190: "sshd", 1302: "nvidia-persiste", 3011: "bash"})
    s.nvml = {"driver_version": driver, "cuda_driver_version": cuda, "nvml_version": f"{cuda // 1000}.{driver}",
              "devices": [gpu(0, name, "GPU-3c9e51d2-7a40-4f6b-8d21-5e0f9b7c2a18", "00000000:01:00.0",
                              memory * 1048576, 4194304, cc, False, [], persistence_mode=True,
                              **(health or {}))]}
    s.env = {"PATH": "/home/user/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "SSH_CONNECTION": "10.0.0.5 50022 10.0.0.52 22", "VIRTUAL_ENV": "/home/user/venv"}
    s.python = python_json("/home/user/venv/bin/python", "3.12.3", "25.2", packages)


def workstation_expected(driver: str, cuda_max: str, card: tuple[str, str, list[int], int], chip: str,
                         architecture: str, modules: str, open_module: bool) -> dict[str, Any]:
    """The facts of a ``gpu_workstation`` a person reads off its files (the frameworks' are the scenario's own)."""
    name, device, cc, memory = card
    return {
        "os.id": "ubuntu", "os.version_id": "24.04", "os.pretty_name": "Ubuntu 24.04.3 LTS", "os.family": "debian",
        "os.codename": "noble", "kernel.release": "6.8.0-71-generic", "kernel.headers_installed": True,
        "host.container": "none", "host.container_evidence": [], "host.memory_mib": 128000,
        "cpu.model": "Intel(R) Core(TM) Ultra 9 285K", "cpu.count": 24,
        "cpu.flags": ALDER_LAKE_FLAGS.split(),
        "gpu.count": 1, "gpu.names": [name], "gpu.pci_ids": [f"10de:{device}"], "gpu.errors": [None],
        "gpu.uuids": ["GPU-3c9e51d2-7a40-4f6b-8d21-5e0f9b7c2a18"], "gpu.compute_capabilities": [f"{cc[0]}.{cc[1]}"],
        "gpu.chips": [chip], "gpu.architectures": [architecture], "gpu.kernel_modules": [modules],
        "gpu.memory_total_mib": [memory], "gpu.memory_used_mib": [4], "gpu.processes": [],
        "gpu.display_active": False, **health_expected(1, persistence_mode=[True]),
        "driver.loaded": True, "driver.version": driver, "driver.userspace_version": driver,
        "driver.open_kernel_module": open_module, "driver.cuda_max": cuda_max, "nouveau.blacklisted": True,
        "display.init": "systemd", "python.executable": "/home/user/venv/bin/python", "python.version": "3.12.3",
        "pip.version": "25.2",
    }


RTX_4090 = ("NVIDIA GeForce RTX 4090", "2684", [8, 9], 24564)
RTX_5090 = ("NVIDIA GeForce RTX 5090", "2b85", [12, 0], 32607)
RTX_A6000 = ("NVIDIA RTX A6000", "2230", [8, 6], 49140)


def torch_cu130_old_driver() -> Scenario:
    s = Scenario("ubuntu2404-torch-cu130-driver570", "Ubuntu 24.04 workstation, a GeForce RTX 4090 on NVIDIA's "
                 "driver 570.172.08 (CUDA 12.8 at most), and PyTorch 2.13.0+cu130 from PyTorch's cu130 index with "
                 "its CUDA 13 wheels in a virtual environment: the driver is older than CUDA 13's 580.")
    gpu_workstation(s, "570.172.08", "Wed Jul  2 15:07:20 UTC 2025", 12080, RTX_4090, False,
                    {"torch": "2.13.0+cu130", **TORCH_213_CU130_WHEELS})
    s.expected = {
        **workstation_expected("570.172.08", "12.8", RTX_4090, "AD102", "ada", "either", False),
        "cuda.pip_runtime_version": "13.0", "cudnn.pip_version": "9.20.0.48",
        "torch.version": "2.13.0+cu130", "torch.build": "cuda", "torch.cuda_version": "13.0",
        "python.cuda_wheels": {name: version for name, version in TORCH_213_CU130_WHEELS.items()
                               if name.startswith("nvidia-")},
    }
    return s


def torch_cu126_blackwell() -> Scenario:
    s = Scenario("ubuntu2404-rtx5090-torch-cu126", "Ubuntu 24.04 workstation, a GeForce RTX 5090 (Blackwell, "
                 "compute capability 12.0) on NVIDIA's driver 580.95.05 with the open kernel modules, and PyTorch "
                 "2.13.0+cu126 from PyTorch's cu126 index: that wheel has kernels up to sm_90 only.")
    gpu_workstation(s, "580.95.05", "Tue Sep 23 09:50:13 UTC 2025", 13000, RTX_5090, True,
                    {"torch": "2.13.0+cu126", **TORCH_CU12_WHEELS})
    s.files["/usr/share/misc/pci.ids"] = pci_ids_excerpt()
    s.expected = {
        **workstation_expected("580.95.05", "13.0", RTX_5090, "GB202", "blackwell", "open", True),
        "cuda.pip_runtime_version": "12.6", "cudnn.pip_version": "9.10.2.21",
        "torch.version": "2.13.0+cu126", "torch.build": "cuda", "torch.cuda_version": "12.6",
        "python.cuda_wheels": dict(TORCH_CU12_WHEELS),
    }
    return s


JAX_CUDA13_WHEELS = {
    # jax[cuda13] 0.10.2: the plugin, its PJRT and the CUDA 13 wheels of its with-cuda extra.
    "nvidia-cublas": "13.1.0.3", "nvidia-cuda-nvcc": "13.0.88", "nvidia-cuda-runtime": "13.0.96",
    "nvidia-cudnn-cu13": "9.20.0.48", "nvidia-cufft": "12.0.0.61", "nvidia-nccl-cu13": "2.29.7",
    "nvidia-nvjitlink": "13.0.88",
}
TORCH_28_WHEELS = {
    # torch 2.8.0 from PyPI: CUDA 12.8, every wheel suffixed -cu12.
    "nvidia-cublas-cu12": "12.8.4.1", "nvidia-cuda-runtime-cu12": "12.8.90", "nvidia-cudnn-cu12": "9.10.2.21",
    "nvidia-nccl-cu12": "2.27.3", "nvidia-nvjitlink-cu12": "12.8.93",
}


def mixed_cuda_wheels() -> Scenario:
    s = Scenario("ubuntu2404-torch-jax-mixed-cuda", "Ubuntu 24.04 workstation, an RTX A6000 on NVIDIA's driver "
                 "580.95.05, and one virtual environment holding PyTorch 2.8.0 from PyPI (CUDA 12.8 wheels) and "
                 "jax[cuda13] 0.10.2 (CUDA 13 wheels): cuDNN and NCCL for both CUDA releases in one folder.")
    gpu_workstation(s, "580.95.05", "Tue Sep 23 09:50:13 UTC 2025", 13000, RTX_A6000, False,
                    {"torch": "2.8.0", **TORCH_28_WHEELS, "jax": "0.10.2", "jaxlib": "0.10.2",
                     "jax-cuda13-plugin": "0.10.2", "jax-cuda13-pjrt": "0.10.2", **JAX_CUDA13_WHEELS},
                    # A healthy professional card: ECC on and clean, no row to remap, idle, its 300 W default.
                    health={"pcie_gen_gpu_max": 4, "ecc_mode": True, "ecc_uncorrected_volatile": 0,
                            "ecc_uncorrected_aggregate": 0, "retired_pages_pending": None,
                            "remapped_rows_correctable": 0, "remapped_rows_uncorrectable": 0,
                            "remapped_rows_pending": False, "remapped_rows_failed": False,
                            "clocks_event_reasons": 0x1, "power_limit_w": 300.0, "power_management_limit_w": 300.0,
                            "power_default_limit_w": 300.0, "mig_mode": None,
                            "errors": {"retired_pages_pending": NOT_SUPPORTED, "mig_mode": NOT_SUPPORTED}})
    # Read as root: the driver's load lines, no Xid.
    s.probes["dmesg"] = dmesg_run(0, (
        "[    0.000000] Linux version 6.8.0-71-generic (buildd@lcy02-amd64-053) #71-Ubuntu SMP PREEMPT_DYNAMIC\n"
        "[    5.102938] nvidia: loading out-of-tree module taints kernel.\n"
        "[    5.231877] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  580.95.05  Tue Sep 23 09:50:13 UTC 2025\n"))
    s.expected = {
        **workstation_expected("580.95.05", "13.0", RTX_A6000, "GA102", "ampere", "either", False),
        **health_expected(1, kernel_log="read", persistence_mode=[True], pcie_gen_gpu_max=[4], ecc_mode=[True],
                          ecc_uncorrected_volatile=[0], ecc_uncorrected_aggregate=[0], remapped_rows_pending=[False],
                          remapped_rows_failed=[False], throttle_reasons=[["gpu_idle"]], power_limit_w=[300.0],
                          power_default_limit_w=[300.0], nvml_unsupported=[["mig_mode", "retired_pages_pending"]]),
        "gpu.xid_events": [],
        # setupkit's existing probes take the first suffixed runtime and cuDNN they know (CUDA 13's first).
        "cuda.pip_runtime_version": "12.8", "cudnn.pip_version": "9.20.0.48",
        "torch.version": "2.8.0", "torch.build": "cuda", "torch.cuda_version": "12.8",
        "jax.version": "0.10.2", "jax.cuda_plugin": {"jax-cuda13-plugin": "0.10.2"}, "jax.cuda_version": "13.0",
        "python.cuda_wheels": dict(sorted({**TORCH_28_WHEELS, **JAX_CUDA13_WHEELS}.items())),
    }
    return s


TF_221_WHEELS = {
    # pip install tensorflow[and-cuda]==2.21.0 for CPython 3.12 on manylinux_2_27 x86_64, as PyPI resolved it on
    # 2026-12-01 (pip install --dry-run --report): TensorFlow's CUDA 12 wheels, every one suffixed -cu12.
    "nvidia-cublas-cu12": "12.9.3.13", "nvidia-cuda-cupti-cu12": "12.8.90", "nvidia-cuda-nvcc-cu12": "12.9.86",
    "nvidia-cuda-nvrtc-cu12": "12.9.86", "nvidia-cuda-runtime-cu12": "12.9.79", "nvidia-cudnn-cu12": "9.28.0.42",
    "nvidia-cufft-cu12": "11.4.1.4", "nvidia-curand-cu12": "10.3.10.19", "nvidia-cusolver-cu12": "11.7.5.82",
    "nvidia-cusparse-cu12": "12.5.10.65", "nvidia-nccl-cu12": "2.32.3", "nvidia-nvjitlink-cu12": "12.9.86",
}


def tensorflow_workstation(name: str, card: tuple[str, str, list[int], int], chip: str, architecture: str,
                           modules: str, open_module: bool, what: str) -> Scenario:
    """An Ubuntu 24.04 workstation on driver 580.95.05 with tensorflow[and-cuda] 2.21.0 in a venv."""
    s = Scenario(name, f"Ubuntu 24.04 workstation, {what}, on NVIDIA's driver 580.95.05, and TensorFlow 2.21.0 "
                       f"installed with pip install tensorflow[and-cuda] in a virtual environment.")
    gpu_workstation(s, "580.95.05", "Tue Sep 23 09:50:13 UTC 2025", 13000, card, open_module,
                    {"tensorflow": "2.21.0", **TF_221_WHEELS})
    s.files["/usr/share/misc/pci.ids"] = pci_ids_excerpt()
    s.expected = {
        **workstation_expected("580.95.05", "13.0", card, chip, architecture, modules, open_module),
        "cuda.pip_runtime_version": "12.9", "cudnn.pip_version": "9.28.0.42",
        "tensorflow.version": "2.21.0", "tensorflow.package": "tensorflow",
        "tensorflow.distributions": {"tensorflow": "2.21.0"},
        "python.cuda_wheels": dict(TF_221_WHEELS),
    }
    return s


def tensorflow_ada() -> Scenario:
    return tensorflow_workstation("ubuntu2404-rtx4090-tensorflow221", RTX_4090, "AD102", "ada", "either", False,
                                  "a GeForce RTX 4090 (Ada, compute capability 8.9)")


def tensorflow_blackwell() -> Scenario:
    return tensorflow_workstation("ubuntu2404-rtx5090-tensorflow221", RTX_5090, "GB202", "blackwell", "open", True,
                                  "a GeForce RTX 5090 (Blackwell, compute capability 12.0) with the open kernel "
                                  "modules")


def tensorflow_and_cpu() -> Scenario:
    """tensorflow[and-cuda] and then tensorflow-cpu of the same release in one venv: both install the package
    ``tensorflow``, the second over the first's files, and pip cannot say whose are imported."""
    s = tensorflow_workstation("ubuntu2404-tensorflow-and-cpu", RTX_4090, "AD102", "ada", "either", False,
                               "a GeForce RTX 4090 (Ada, compute capability 8.9)")
    s.note += " Then pip install tensorflow-cpu==2.21.0 into the same environment: two distributions of one package."
    s.python = python_json("/home/user/venv/bin/python", "3.12.3", "25.2",
                           {"tensorflow": "2.21.0", "tensorflow-cpu": "2.21.0", **TF_221_WHEELS})
    s.expected["tensorflow.distributions"] = {"tensorflow": "2.21.0", "tensorflow-cpu": "2.21.0"}
    return s


SCENARIOS = (ubuntu1404, ubuntu1604, ubuntu2204_two_gpus, ubuntu2204_mismatch, wsl2, centos7, laptop, arch,
             ubuntu2404_blackwell, ubuntu2204_pascal_cuda13, gpu_container,
             build_container, rhel9_server_a100, torch_cu130_old_driver, torch_cu126_blackwell, mixed_cuda_wheels,
             tensorflow_ada, tensorflow_blackwell, tensorflow_and_cpu)


# -- writing ---------------------------------------------------------------------------------------------------


GLIBC = {
    # The glibc of each scenario's release (the libc6 package of Debian and Ubuntu, glibc of CentOS), which its
    # Python names through confstr(CS_GNU_LIBC_VERSION) as "glibc X.Y". The Arch host's is left unrecorded.
    "ubuntu1404-upstart-lightdm": "2.19", "ubuntu1604-gtx-nouveau": "2.23", "ubuntu2204-two-gpus-cuda118": "2.35",
    "ubuntu2204-driver-mismatch": "2.35", "wsl2-ubuntu2204": "2.35", "centos7-no-avx": "2.17",
    "laptop-hybrid-secureboot": "2.35", "ubuntu2404-rtx5090-nouveau": "2.39", "ubuntu2204-gtx1080ti-cuda13": "2.35",
    "docker-gpu-l4-ubuntu2204": "2.35", "docker-build-debian12-nogpu": "2.36",
    "rhel9-server-a100": "2.34",
    "ubuntu2404-torch-cu130-driver570": "2.39", "ubuntu2404-rtx5090-torch-cu126": "2.39",
    "ubuntu2404-torch-jax-mixed-cuda": "2.39", "ubuntu2404-rtx4090-tensorflow221": "2.39",
    "ubuntu2404-rtx5090-tensorflow221": "2.39", "ubuntu2404-tensorflow-and-cpu": "2.39",
}


def python_record(scenario: Scenario) -> dict[str, Any]:
    """python.json of the scenario: its Python, with the C library it runs on where GLIBC names one."""
    glibc = GLIBC.get(scenario.name)
    return {**scenario.python, "libc": f"glibc {glibc}"} if glibc else dict(scenario.python)


def libc_expected(scenario: Scenario) -> dict[str, Any]:
    glibc = GLIBC.get(scenario.name)
    return {"libc.family": "glibc", "libc.version": glibc} if glibc else {}


def recording(scenario: Scenario) -> Recording:
    """The scenario as what a recording host would have read on that machine."""
    return Recording(
        files={path: content if isinstance(content, bytes) else content.encode("utf-8")
               for path, content in scenario.files.items()},
        links=dict(scenario.links),
        dirs=set(scenario.dirs),
        commands={tuple(c["argv"]): CommandResult(tuple(c["argv"]), c["returncode"], c["stdout"], c["stderr"])
                  for c in scenario.commands},
        nvml=scenario.nvml,
        env=scenario.env,
        python=PythonInfo(**python_record(scenario)),
        probes={name: CommandResult(tuple(c["argv"]), c["returncode"], c["stdout"], c["stderr"])
                for name, c in scenario.probes.items()},
    )


def write(scenario: Scenario, root: Path = ROOT) -> Path:
    """The scenario's snapshot folder under ``root``, written by setupkit's own bundle writer, with the facts a
    person reading its files concludes beside it."""
    folder = root / scenario.name
    if folder.exists():
        shutil.rmtree(folder)
    write_recording(recording(scenario), str(folder), note=scenario.note, created=CREATED)
    _dump(folder / EXPECTED_FACTS, {**base_expected(), **libc_expected(scenario), **scenario.expected})
    return folder


def write_captured_facts(folder: Path, root: Path = ROOT) -> Path:
    """The expected facts of a snapshot captured from a real host: what the probes read from it, written into
    ``root`` under the capture's own name (the capture itself is never rewritten)."""
    target = root / folder.name / EXPECTED_FACTS
    target.parent.mkdir(parents=True, exist_ok=True)
    _dump(target, read_facts(str(folder)))
    return target


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def build(root: Path = ROOT, names: list[str] | None = None) -> list[Path]:
    """Write every built scenario (or those named) and the expected facts of every capture into ``root``."""
    written = [write(scenario, root) for scenario in (make() for make in SCENARIOS)
               if not names or scenario.name in names]
    written += [write_captured_facts(folder, root) for folder in CAPTURED if not names or folder.name in names]
    return written


def main(names: list[str]) -> None:
    for path in build(ROOT, names):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
