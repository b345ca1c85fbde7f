"""Each probe's fallbacks, on small snapshots made for the case: the second and third sources, and unknowns."""

from __future__ import annotations

from setupkit.probes import collect_facts, cuda, cudnn, display, driver, gpu, kernel, machine, os_release, secureboot

SMI_OK = "| NVIDIA-SMI 535.183.01             Driver Version: 535.183.01   CUDA Version: 12.2     |\n"


def cmd(argv, returncode, stdout="", stderr=""):
    return {"argv": argv, "returncode": returncode, "stdout": stdout, "stderr": stderr}


def test_an_empty_host_is_all_unknown_without_errors(make_host):
    facts = collect_facts(make_host())
    assert facts["os.id"] is None and facts["kernel.release"] is None and facts["cpu.count"] is None
    assert facts["gpu.count"] is None and facts["driver.loaded"] is None and facts["host.virtualization"] is None
    assert facts["driver.nvml_error"] == "NVMLError_LibraryNotFound" and facts["kernel.headers_installed"] is None


def test_os_from_usr_lib_os_release_then_lsb_then_redhat_then_debian_version(make_host):
    usr_lib = make_host(files={"/usr/lib/os-release": 'ID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n'})
    assert os_release.probe(usr_lib, {})["os.family"] == "rhel"
    lsb = make_host(files={"/etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n"
                                               'DISTRIB_DESCRIPTION="Ubuntu 14.04.6 LTS"\n'})
    assert os_release.probe(lsb, {}) == {"os.id": "ubuntu", "os.version_id": "14.04", "os.family": "debian",
                                         "os.pretty_name": "Ubuntu 14.04.6 LTS", "os.codename": "trusty"}
    redhat = make_host(files={"/etc/redhat-release": "CentOS Linux release 7.9.2009 (Core)\n"})
    assert os_release.probe(redhat, {}) == {"os.id": "centos", "os.version_id": "7.9.2009", "os.family": "rhel",
                                            "os.pretty_name": "CentOS Linux release 7.9.2009 (Core)",
                                            "os.codename": None}
    debian = make_host(files={"/etc/debian_version": "12.11\n"})
    assert os_release.probe(debian, {})["os.version_id"] == "12"


def test_kernel_release_from_proc_version_then_uname(make_host):
    proc = make_host(files={"/proc/version": "Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org)\n"})
    assert kernel.probe(proc, {})["kernel.release"] == "6.1.0-28-amd64"
    uname = make_host(commands=[cmd(["uname", "-r"], 0, "6.1.0-28-amd64\n")])
    assert kernel.probe(uname, {})["kernel.release"] == "6.1.0-28-amd64"
    cut = make_host(commands=[cmd(["uname", "-r"], None, "", "timed out after 10s")])
    assert kernel.probe(cut, {}) == {"kernel.release": None, "kernel.wsl": None, "kernel.headers_installed": None}


def test_a_dangling_headers_link_is_not_installed_headers(make_host):
    host = make_host(files={"/proc/sys/kernel/osrelease": "6.8.0-45-generic\n"},
                     links={"/lib/modules/6.8.0-45-generic/build": "/usr/src/linux-headers-6.8.0-45-generic"})
    assert kernel.probe(host, {})["kernel.headers_installed"] is False


def test_virtualization_from_dmi_and_sys_hypervisor(make_host):
    vmware = make_host(files={"/sys/class/dmi/id/sys_vendor": "VMware, Inc.\n",
                              "/sys/class/dmi/id/product_name": "VMware Virtual Platform\n",
                              "/sys/class/dmi/id/chassis_type": "1\n", "/proc/cpuinfo": "flags\t: fpu hypervisor\n"})
    assert machine.probe(vmware, {"kernel.wsl": False})["host.virtualization"] == "vmware"
    assert machine.probe(vmware, {"kernel.wsl": False})["host.laptop"] is False
    xen = make_host(files={"/sys/hypervisor/type": "xen\n", "/proc/cpuinfo": "flags\t: fpu\n"})
    assert machine.probe(xen, {})["host.virtualization"] == "xen"


def test_gpu_names_from_the_driver_then_the_table_then_the_id(make_host):
    pci = "/sys/bus/pci/devices"
    files = {}
    for address, device in (("0000:01:00.0", "1b80"), ("0000:02:00.0", "2330"), ("0000:03:00.0", "abcd")):
        files.update({f"{pci}/{address}/vendor": "0x10de\n", f"{pci}/{address}/device": f"0x{device}\n",
                      f"{pci}/{address}/class": "0x030200\n"})
    files["/proc/driver/nvidia/gpus/0000:01:00.0/information"] = "Model: \t\t GeForce GTX 1080\n"
    found = gpu.probe(make_host(files=files), {})
    assert found["gpu.names"] == ["GeForce GTX 1080", "NVIDIA H100 80GB HBM3", "NVIDIA GPU 10de:abcd"]
    assert found["gpu.pci_ids"] == ["10de:1b80", "10de:2330", "10de:abcd"] and found["gpu.count"] == 3


def test_driver_version_from_sys_module_and_cuda_max_from_nvidia_smi(make_host):
    host = make_host(files={"/proc/modules": "nvidia 56778752 24 - Live 0x0 (POE)\n",
                            "/sys/module/nvidia/version": "535.183.01\n"},
                     commands=[cmd(["nvidia-smi"], 0, SMI_OK)],
                     nvml={"driver_version": "535.183.01", "devices": []})
    found = driver.probe(host, {})
    # no /proc/driver/nvidia/version: the module's taint flags (POE: P, a proprietary licence) tell the flavour
    assert found["driver.version"] == "535.183.01" and found["driver.open_kernel_module"] is False
    assert found["driver.cuda_max"] == "12.2" and found["driver.loaded"] is True


def test_a_hung_nvidia_smi_leaves_cuda_max_unknown(make_host):
    host = make_host(commands=[cmd(["nvidia-smi"], None, "", "timed out after 10s")], nvml={"error": "x"})
    assert driver.probe(host, {})["driver.cuda_max"] is None


def test_without_proc_modules_sys_module_tells_what_is_loaded(make_host):
    host = make_host(dirs=["/sys/module/nvidia", "/sys/module/drm"])
    assert driver.probe(host, {})["driver.loaded"] is True
    assert driver.probe(make_host(dirs=["/sys/module/drm"]), {})["driver.loaded"] is False


def test_newest_toolkit_folder_when_there_is_no_cuda_link(make_host):
    host = make_host(files={"/usr/local/cuda-11.8/version.json": '{"cuda": {"version": "11.8.0"}}',
                            "/usr/local/cuda-12.10/version.txt": "CUDA Version 12.10.1\n"},
                     dirs=["/usr/local/cuda-12.9/bin"])
    found = cuda.probe(host, {})
    assert found["cuda.toolkit_path"] == "/usr/local/cuda-12.10" and found["cuda.toolkit_version"] == "12.10"
    assert found["cuda.toolkits"] == ["11.8", "12.9", "12.10"]


def test_toolkit_version_from_nvcc_and_pip_runtime(make_host):
    nvcc = "Cuda compilation tools, release 12.4, V12.4.131\n"
    host = make_host(commands=[cmd(["nvcc", "--version"], 0, nvcc)],
                     packages={"nvidia_cuda_runtime_cu12": "12.4.127", "Nvidia-CUDNN-cu12": "9.1.0.70"})
    assert cuda.probe(host, {})["cuda.toolkit_version"] == "12.4"
    assert cuda.probe(host, {})["cuda.pip_runtime_version"] == "12.4"
    assert cudnn.probe(host, {})["cudnn.pip_version"] == "9.1.0.70"


def test_cudnn_from_the_toolkit_library_when_no_header(make_host):
    host = make_host(files={"/opt/cuda/lib64/libcudnn.so.8.9.7": b""}, links={"/opt/cuda/lib64/libcudnn.so.8":
                                                                              "libcudnn.so.8.9.7"})
    assert cudnn.probe(host, {"cuda.toolkit_path": "/opt/cuda"})["cudnn.version"] == "8.9.7"


def test_display_manager_from_the_unit_link_and_systemctl_without_processes(make_host):
    host = make_host(links={"/etc/systemd/system/display-manager.service": "/usr/lib/systemd/system/sddm.service"},
                     dirs=["/run/systemd/system"], commands=[cmd(["systemctl", "is-active", "sddm"], 0, "active\n")])
    assert display.probe(host, {}) == {"display.manager": "sddm", "display.manager_active": True,
                                       "display.init": "systemd", "display.graphical_session": False}
    quiet = make_host(files={"/etc/X11/default-display-manager": "/usr/sbin/gdm3\n"}, dirs=["/run/systemd/system"])
    assert display.probe(quiet, {})["display.manager_active"] is None  # systemctl absent: cannot tell


def test_a_running_manager_is_found_with_no_config(make_host):
    host = make_host(files={"/proc/1/comm": "init\n", "/proc/777/comm": "sddm\n",
                            "/etc/inittab": "id:5:initdefault:\n"})
    assert display.probe(host, {})["display.manager"] == "sddm"
    assert display.probe(host, {})["display.init"] == "sysvinit"


def test_secureboot_from_the_efi_variable_without_mokutil(make_host):
    var = secureboot.SECUREBOOT_VAR
    assert secureboot.probe(make_host(files={var: bytes([7, 0, 0, 0, 1])}), {})["secureboot.enabled"] is True
    assert secureboot.probe(make_host(dirs=["/sys/firmware/efi/efivars"]), {})["secureboot.enabled"] is None
    assert secureboot.probe(make_host(), {})["secureboot.enabled"] is False


def test_the_python_packages_are_read_once_per_collection(make_host, monkeypatch):
    host = make_host(packages={"tensorflow": "2.21.0", "nvidia-cudnn-cu12": "9.3.0.75"})
    calls = []
    real = host.python
    monkeypatch.setattr(host, "python", lambda: calls.append(1) or real())
    facts = collect_facts(host)
    assert len(calls) == 1
    assert (facts["tensorflow.version"], facts["cudnn.pip_version"]) == ("2.21.0", "9.3.0.75")
