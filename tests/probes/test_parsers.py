"""The probes' pure parsers, fed strings: real texts, empty input, CRLF, comments, trailing blanks, tool errors."""

from __future__ import annotations

import pytest

from setupkit.probes import cpu, cuda, cudnn, display, driver, gpu, kernel, machine, os_release, secureboot, text

UBUNTU_2404 = ('PRETTY_NAME="Ubuntu 24.04.3 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\n'
               'VERSION="24.04.3 LTS (Noble Numbat)"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\n')


# -- text helpers ------------------------------------------------------------------------------------------------


def test_clean_lines_drops_cr_blank_lines_and_trailing_blanks():
    assert text.clean_lines("a  \r\n\r\n b\t\n") == ["a", " b"]
    assert text.clean_lines("") == [] and text.clean_lines(None) == []


@pytest.mark.parametrize("name, normal", [("Nvidia_CUDNN.cu12", "nvidia-cudnn-cu12"),
                                          ("tensorflow_cpu", "tensorflow-cpu"), ("TF-Nightly", "tf-nightly")])
def test_package_names_are_compared_as_pep503_says(name, normal):
    assert text.normalize_package(name) == normal
    assert text.find_package({name: "1.0"}, (normal,)) == (normal, "1.0")


def test_version_key():
    assert sorted(["535.183.01", "535.54.03", "550.67"], key=text.version_key) == ["535.54.03", "535.183.01", "550.67"]


# -- os ----------------------------------------------------------------------------------------------------------


def test_os_release_real_file_with_crlf_comments_and_trailing_blanks():
    crlf = "# written by hand\r\n" + UBUNTU_2404.replace("\n", "  \r\n") + "\r\n\r\n"
    props = os_release.parse_os_release(crlf)
    assert (props["id"], props["version_id"], props["pretty_name"]) == ("ubuntu", "24.04", "Ubuntu 24.04.3 LTS")
    assert props["version_codename"] == "noble"


@pytest.mark.parametrize("bad", ["", None, 'NAME="Ubuntu\n', "garbage without equals\n"])
def test_os_release_empty_or_malformed_gives_nothing_useful(bad):
    assert not os_release.parse_os_release(bad).get("id")


def test_redhat_release_line():
    found = os_release.parse_distro_release("CentOS Linux release 7.9.2009 (Core)\n\n")
    assert found == {"name": "CentOS Linux", "version_id": "7.9.2009", "codename": "Core"}
    assert os_release.release_name_id(found["name"]) == "centos"
    assert os_release.release_name_id("Red Hat Enterprise Linux Server") == "rhel"
    assert os_release.parse_distro_release("") == {}


@pytest.mark.parametrize("os_id, like, family", [
    ("ubuntu", "debian", "debian"), ("debian", None, "debian"), ("linuxmint", "ubuntu debian", "debian"),
    ("centos", "rhel fedora", "rhel"), ("rocky", "rhel centos fedora", "rhel"), ("almalinux", None, "rhel"),
    ("fedora", None, "rhel"), ("opensuse-leap", "suse opensuse", "suse"), ("opensuse-tumbleweed", None, "suse"),
    ("manjaro", "arch", "arch"), ("arch", None, "arch"), ("alpine", None, "other"), (None, "debian", None),
])
def test_os_family(os_id, like, family):
    assert os_release.os_family(os_id, like) == family


def test_debian_version():
    assert os_release.debian_version_id("12.11\n") == "12"
    assert os_release.debian_version_id("trixie/sid\n") is None and os_release.debian_version_id("") is None


# -- kernel ------------------------------------------------------------------------------------------------------

WSL_VERSION = ("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 11.2.0, "
               "GNU ld (GNU Binutils) 2.37) #1 SMP Fri Mar 29 23:14:13 UTC 2024\n")
WSL1_VERSION = ("Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) "
                "#1237-Microsoft")


def test_kernel_release_from_each_source():
    assert kernel.parse_release("6.8.0-45-generic\r\n") == "6.8.0-45-generic"
    assert kernel.parse_release("") is None and kernel.parse_release("\n\n") is None
    assert kernel.parse_proc_version(WSL_VERSION) == "5.15.153.1-microsoft-standard-WSL2"
    assert kernel.parse_proc_version("not a version") is None


def test_wsl_is_told_by_proc_version():
    assert kernel.is_wsl(WSL_VERSION) and kernel.is_wsl(WSL1_VERSION)
    assert kernel.is_wsl("Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075)") is False
    assert kernel.is_wsl(None) is None


# -- machine -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor, product, kind", [
    ("QEMU", "Standard PC (Q35 + ICH9, 2009)", "qemu"), ("Red Hat", "KVM", "kvm"),
    ("VMware, Inc.", "VMware Virtual Platform", "vmware"), ("innotek GmbH", "VirtualBox", "virtualbox"),
    ("Xen", "HVM domU", "xen"), ("Microsoft Corporation", "Virtual Machine", "hyperv"),
    ("Amazon EC2", "m5.large", "amazon"), ("Google", "Google Compute Engine", "google"),
    ("Dell Inc.", "Precision 5820 Tower", None), ("Microsoft Corporation", "Surface Laptop 5", None),
    (None, None, None),
])
def test_dmi_virtualization(vendor, product, kind):
    assert machine.dmi_virtualization(vendor, product) == kind


def test_virtualization_order_wsl_dmi_hypervisor_then_cpu_flag():
    assert machine.virtualization(True, "hyperv", None, True) == "wsl"
    assert machine.virtualization(False, "kvm", None, True) == "kvm"
    assert machine.virtualization(False, None, "Xen", True) == "xen"
    assert machine.virtualization(False, None, None, True) == "unknown"
    assert machine.virtualization(False, None, None, False) == "none"
    assert machine.virtualization(None, None, None, None) is None


def test_laptop_from_chassis_battery_or_virtualization():
    assert machine.is_laptop(10, None, None) is True
    assert machine.is_laptop(3, ["BAT0"], "none") is True  # a battery wins over a desktop chassis
    assert machine.is_laptop(3, None, None) is False
    assert machine.is_laptop(None, ["AC", "ucsi-source-psy-USBC000:001"], "none") is False
    assert machine.is_laptop(None, None, "unknown") is False
    assert machine.is_laptop(2, None, None) is None  # chassis "Unknown", nothing else known
    assert machine.is_laptop(None, None, None) is None


def test_chassis_type_and_meminfo():
    assert machine.parse_chassis_type("10\n") == 10 and machine.parse_chassis_type("") is None
    assert machine.parse_chassis_type("Notebook") is None
    assert machine.parse_mem_total_mib("MemTotal:       16318412 kB\r\nMemFree: 1 kB\n") == 15935
    assert machine.parse_mem_total_mib("MemFree: 1 kB\n") is None and machine.parse_mem_total_mib(None) is None


# -- cpu ---------------------------------------------------------------------------------------------------------

BLOCK = ("processor\t: {n}\nmodel name\t: Intel(R) Xeon(R) CPU X5570 @ 2.93GHz\nphysical id\t: {p}\n"
         "siblings\t: 8\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt\n\n")


def test_cpuinfo_full_listing_counts_processors():
    blocks = cpu.parse_cpuinfo("".join(BLOCK.format(n=n, p=n // 8) for n in range(16)))
    assert cpu.cpu_count(blocks) == 16
    assert cpu.cpu_model(blocks) == "Intel(R) Xeon(R) CPU X5570 @ 2.93GHz"
    assert cpu.cpu_flags(blocks) == ["fpu", "sse", "sse2", "ssse3", "sse4_1", "sse4_2", "popcnt"]


def test_cpuinfo_first_block_only_counts_its_package_siblings():
    blocks = cpu.parse_cpuinfo(BLOCK.format(n=0, p=0).replace("siblings\t: 8", "siblings\t: 16"))
    assert cpu.cpu_count(blocks) == 16


def test_cpuinfo_crlf_and_arm_features():
    blocks = cpu.parse_cpuinfo("processor\t: 0\r\nFeatures\t: fp asimd evtstrm aes\r\n\r\nprocessor\t: 1\r\n")
    assert cpu.cpu_count(blocks) == 2 and cpu.cpu_flags(blocks) == ["fp", "asimd", "evtstrm", "aes"]


def test_cpuinfo_empty_or_unreadable():
    assert cpu.parse_cpuinfo("") == [] and cpu.parse_cpuinfo(None) == []
    assert cpu.cpu_count([]) is None and cpu.cpu_flags([]) is None and cpu.cpu_model([]) is None
    assert cpu.has_hypervisor_flag(None) is None
    assert cpu.has_hypervisor_flag("flags\t: fpu hypervisor\n") is True


# -- gpu ---------------------------------------------------------------------------------------------------------


def test_pci_ids_and_classes():
    assert gpu.parse_hex_id("0x10DE\n") == "10de" and gpu.parse_hex_id("") is None
    assert gpu.parse_hex_id("cat: vendor: No such file or directory") is None
    assert gpu.is_display_class("030000") and gpu.is_display_class("030200") and gpu.is_display_class("038000")
    assert not gpu.is_display_class("040300") and not gpu.is_display_class(None)


def test_information_model_and_names():
    info = "Model: \t\t NVIDIA H100 80GB HBM3\r\nIRQ:   \t\t 41\r\nModel name: nothing\n"
    assert gpu.parse_information_model(info) == "NVIDIA H100 80GB HBM3"
    assert gpu.parse_information_model("") is None
    assert gpu.device_name("1b06", None) == "NVIDIA GeForce GTX 1080 Ti"
    assert gpu.device_name("ffff", None) == "NVIDIA GPU 10de:ffff"
    assert gpu.device_name("1b06", "GeForce GTX 1080 Ti") == "GeForce GTX 1080 Ti"


def test_nvml_bus_id_to_sysfs():
    assert gpu.sysfs_bus_id("00000000:0A:00.0") == "0000:0a:00.0"
    assert gpu.sysfs_bus_id("0000:01:00.0") == "0000:01:00.0"
    assert gpu.sysfs_bus_id(None) is None and gpu.sysfs_bus_id("") is None


def test_nvml_devices_error_forms():
    assert gpu.nvml_devices({"error": "NVMLError_DriverNotLoaded", "message": "Driver Not Loaded"}) is None
    assert gpu.nvml_devices({}) is None
    assert gpu.nvml_devices({"devices": [{"index": 0}, "junk"]}) == [{"index": 0}]


def test_facts_from_nvml_degrade_per_field():
    facts = gpu.facts_from_nvml([{"index": 0, "name": "Tesla T4", "memory_total": None, "compute_capability": None,
                                  "display_active": None, "processes": None, "pci_bus_id": "00000000:00:04.0"}],
                                {"0000:00:04.0": "1eb8"})
    assert facts["gpu.pci_ids"] == ["10de:1eb8"] and facts["gpu.memory_total_mib"] == [None]
    # NVML gave no compute capability: the PCI id's chip (1eb8: TU104, Turing) tells it
    assert facts["gpu.compute_capabilities"] == ["7.5"] and facts["gpu.display_active"] is None
    assert facts["gpu.processes"] == []
    unknown = gpu.facts_from_nvml([{"index": 0, "name": "Tesla T4", "compute_capability": None,
                                    "pci_bus_id": "00000000:00:04.0"}], {"0000:00:04.0": "ffff"})
    assert unknown["gpu.compute_capabilities"] == [None] and unknown["gpu.architectures"] == [None]


# -- driver ------------------------------------------------------------------------------------------------------

PROPRIETARY = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
OPEN = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (nixbld@)  \n"


def test_nvrm_version_both_forms():
    assert driver.parse_nvrm_version(PROPRIETARY + "GCC version:  gcc version 12.3.0\n") == ("535.104.05", False)
    assert driver.parse_nvrm_version(OPEN.replace("\n", "\r\n")) == ("580.159.04", True)
    assert driver.parse_nvrm_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  352.63  Sat Nov  7") == (
        "352.63", False)
    assert driver.parse_nvrm_version("") is None and driver.parse_nvrm_version("GCC version: 12\n") is None


def test_modules_and_module_version():
    assert driver.parse_modules("nvidia 14299136 - - Live 0xffffffffc0400000 (O)\r\n\n") == {"nvidia"}
    assert driver.parse_modules("") == set() and driver.parse_modules(None) is None
    assert driver.parse_module_version("535.104.05\n") == "535.104.05"
    assert driver.parse_module_version("") is None


def test_userspace_version_from_library_names():
    names = ["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.54.03",
             "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.183.01"]
    assert driver.newest_libnvml_version(names) == "535.183.01"
    assert driver.newest_libnvml_version(["/usr/lib/wsl/lib/libnvidia-ml.so.1"]) is None


def test_cuda_max_from_nvml_int_and_smi_header():
    assert driver.cuda_version_from_int(13000) == "13.0" and driver.cuda_version_from_int(12020) == "12.2"
    assert driver.cuda_version_from_int(None) is None and driver.cuda_version_from_int(0) is None
    header = "| NVIDIA-SMI 580.159.04             Driver Version: 580.159.04     CUDA Version: 13.0     |\n"
    assert driver.parse_smi_cuda_version(header) == "13.0"
    assert driver.parse_smi_cuda_version("Failed to initialize NVML: Driver/library version mismatch\n") is None
    assert driver.parse_smi_cuda_version("") is None


def test_nouveau_blacklist_lines():
    assert driver.blacklists_nouveau("# generated by nvidia-installer\nblacklist nouveau\noptions nouveau modeset=0\n")
    assert driver.blacklists_nouveau("blacklist   nouveau   # added by hand\r\n")
    assert not driver.blacklists_nouveau("#blacklist nouveau\n# blacklist nouveau\n")
    assert not driver.blacklists_nouveau("blacklist nouveaufb\n") and not driver.blacklists_nouveau("")


def test_nouveau_on_the_kernel_command_line():
    assert driver.cmdline_blacklists_nouveau("ro quiet modprobe.blacklist=nouveau splash\n")
    assert driver.cmdline_blacklists_nouveau("ro modprobe.blacklist=radeon,nouveau")
    assert driver.cmdline_blacklists_nouveau("ro quiet nouveau.modeset=0")
    assert not driver.cmdline_blacklists_nouveau("ro quiet nouveau.modeset=1 splash")
    assert not driver.cmdline_blacklists_nouveau("") and not driver.cmdline_blacklists_nouveau(None)


# -- cuda and cudnn ----------------------------------------------------------------------------------------------


def test_toolkit_version_files_and_nvcc():
    assert cuda.parse_version_json('{\r\n   "cuda" : {\r\n      "name" : "CUDA SDK",\r\n      "version" : "12.2.2"\r\n'
                                   '   }\r\n}\r\n') == "12.2"
    assert cuda.parse_version_json("") is None and cuda.parse_version_json("[1]") is None
    assert cuda.parse_version_json('{"cuda": {"version": 12}}') is None
    assert cuda.parse_version_txt("CUDA Version 10.0.130\n") == "10.0" and cuda.parse_version_txt("") is None
    nvcc = ("nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2025 NVIDIA Corporation\n"
            "Cuda compilation tools, release 13.0, V13.0.88\nBuild cuda_13.0.r13.0/compiler.36424714_0\n")
    assert cuda.parse_nvcc_version(nvcc) == "13.0"
    assert cuda.parse_nvcc_version("bash: nvcc: command not found") is None and cuda.parse_nvcc_version(None) is None


def test_cudnn_headers_of_each_generation():
    v9 = "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 14\n#define CUDNN_PATCHLEVEL 0\n"
    assert cudnn.parse_cudnn_header(v9) == "9.14.0"
    v7 = ("#if !defined(CUDNN_H_)\r\n#define CUDNN_MAJOR      7\r\n#define CUDNN_MINOR      6\r\n"
          "#define CUDNN_PATCHLEVEL 5\r\n#define CUDNN_VERSION    (CUDNN_MAJOR * 1000 + CUDNN_MINOR * 100)\r\n")
    assert cudnn.parse_cudnn_header(v7) == "7.6.5"
    assert cudnn.parse_cudnn_header('/* cuDNN 8: */\n#include "cudnn_version.h"\n') is None
    assert cudnn.parse_cudnn_header("// #define CUDNN_MAJOR 1\n") is None and cudnn.parse_cudnn_header("") is None


def test_cudnn_library_names():
    names = ["/usr/lib64/libcudnn.so.8", "/usr/lib64/libcudnn.so.8.9.7", "/usr/lib64/libcudnn.so.8.10.0"]
    assert cudnn.newest_library_version(names) == "8.10.0"
    assert cudnn.newest_library_version(["/usr/lib64/libcudnn.so.9"]) is None


# -- display, secure boot ----------------------------------------------------------------------------------------


def test_display_manager_names():
    assert display.manager_from_path("/usr/sbin/gdm3\n") == "gdm3"
    assert display.manager_from_path("/usr/bin/sddm\r\n") == "sddm"
    assert display.manager_from_path("/lib/systemd/system/lightdm.service") == "lightdm"
    assert display.manager_from_path("/usr/lib/systemd/system/gdm.service") == "gdm"
    assert display.manager_from_path("/usr/bin/xdm") is None and display.manager_from_path("") is None
    assert display.running_manager({"systemd", "sddm", "Xorg"}) == "sddm" and display.running_manager(None) is None


def test_systemctl_is_active():
    assert display.parse_is_active("active\n", 0) is True
    assert display.parse_is_active("inactive\n", 3) is False and display.parse_is_active("failed\n", 3) is False
    assert display.parse_is_active("", None) is None and display.parse_is_active("", 1) is None


def test_graphical_session_from_env():
    assert display.graphical_session({"DISPLAY": ":0"}) and display.graphical_session({"WAYLAND_DISPLAY": "wayland-0"})
    assert display.graphical_session({"XDG_SESSION_TYPE": "wayland"})
    assert not display.graphical_session({"XDG_SESSION_TYPE": "tty", "DISPLAY": ""})
    assert not display.graphical_session({})


@pytest.mark.parametrize("stdout, stderr, state", [
    ("SecureBoot enabled\n", "", True),
    ("SecureBoot disabled\nPlatform is in Setup Mode\n", "", False),
    ("SecureBoot enabled\r\nSecureBoot validation is disabled in shim\r\n", "", True),
    ("", "EFI variables are not supported on this system\n", False),
    ("", "This system doesn't support Secure Boot\n", False),
    ("", "timed out after 10s", None),
    ("", "", None),
])
def test_mokutil_sb_state(stdout, stderr, state):
    assert secureboot.parse_sb_state(stdout, stderr) is state


def test_secureboot_efi_variable():
    assert secureboot.parse_efi_variable(bytes([6, 0, 0, 0, 1])) is True
    assert secureboot.parse_efi_variable(bytes([6, 0, 0, 0, 0])) is False
    assert secureboot.parse_efi_variable(b"") is None and secureboot.parse_efi_variable(None) is None
