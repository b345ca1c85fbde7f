"""The fact namespace: one flat dictionary of dotted names, shared by checks, the JSON report, the install
planner and the playbooks. Every name below is present in doctor's JSON, with ``null`` where unknown.

A probe may only set names registered here; the checks catalog may only read names registered here (a test
holds both to it). Add a name here, with its meaning, before a probe sets it.
"""

from __future__ import annotations

from typing import Any

Facts = dict[str, Any]

FACTS: dict[str, str] = {
    # -- operating system and host ---------------------------------------------------------------------------
    "os.id": "distribution id from os-release, lower case (ubuntu, debian, centos, rhel, rocky, fedora ...)",
    "os.version_id": "distribution version from os-release (24.04, 12, 7)",
    "os.pretty_name": "human name of the distribution (Ubuntu 24.04.3 LTS)",
    "os.family": "debian | rhel | suse | arch | other",
    "os.codename": "release codename where the distribution has one (noble, jammy, trusty)",
    "kernel.release": "running kernel release, as uname -r prints it",
    "kernel.wsl": "true inside Windows Subsystem for Linux (/proc/version names Microsoft)",
    "kernel.headers_installed": "headers for the running kernel exist (/lib/modules/<release>/build)",
    "host.virtualization": "none | kvm | qemu | vmware | virtualbox | xen | hyperv | wsl | amazon | google | "
    "unknown (a hypervisor whose kind could not be told)",
    "host.laptop": "true on a laptop (DMI chassis type or a battery under /sys/class/power_supply)",
    "host.memory_mib": "total memory in MiB (/proc/meminfo)",
    "host.container": "docker | podman | kubernetes | containerd | lxc | systemd-nspawn | other | none: the "
    "container this runs in (other: a container whose engine could not be told); null when nothing was readable "
    "to tell either way",
    "host.container_evidence": "what told host.container, one entry a marker (/.dockerenv, /run/.containerenv, "
    "KUBERNETES_SERVICE_HOST, container= of PID 1, a cgroup path, the root file system in /proc/self/mountinfo); "
    "[] outside a container",
    # -- CPU -------------------------------------------------------------------------------------------------
    "cpu.model": "CPU model name (/proc/cpuinfo)",
    "cpu.count": "logical CPUs",
    "cpu.flags": "CPU flags as /proc/cpuinfo lists them (sse4_1, sse4_2, avx, avx2, fma, avx512f ...)",
    # -- GPU and driver --------------------------------------------------------------------------------------
    "gpu.count": "NVIDIA GPUs: NVML's count, or NVIDIA display-class PCI devices when no driver answers",
    "gpu.names": "GPU names (NVML, else the driver's /proc information, else the PCI id); null for a GPU NVML "
    "could not name",
    "gpu.errors": "per GPU, why NVML could not read it (could not open this GPU), null for one it read (NVML)",
    "gpu.pci_ids": "vendor:device PCI ids of the NVIDIA GPUs (10de:1b06); null when a GPU has no PCI device "
    "to match (WSL)",
    "gpu.uuids": "GPU UUIDs from NVML (GPU-...), for CUDA_VISIBLE_DEVICES given by UUID",
    "gpu.compute_capabilities": "compute capability of each GPU as X.Y: NVML's, else the one its chip (by its PCI "
    "id) or its name tells; null where unknown",
    "gpu.chips": "chip of each GPU by its PCI id (GB202, GA100), from the host's PCI ID database (pci.ids), else "
    "setupkit's table derived from it; null where unknown",
    "gpu.architectures": "architecture of each GPU: fermi | kepler | maxwell | pascal | volta | turing | ampere | ada "
    "| hopper | blackwell (by its compute capability, else its chip); null where unknown",
    "gpu.kernel_modules": "per GPU, the NVIDIA kernel modules that drive it: open (only the open ones: Blackwell, "
    "Grace Hopper) | proprietary (only the proprietary ones: before Turing) | either; null where unknown",
    "gpu.memory_total_mib": "total memory of each GPU in MiB (NVML)",
    "gpu.memory_used_mib": "memory in use on each GPU in MiB (NVML)",
    "gpu.processes": "processes holding GPU memory: [{gpu, pid, name, used_mib}] (NVML)",
    "gpu.display_active": "true when a display is attached to any NVIDIA GPU (NVML)",
    "driver.loaded": "the nvidia kernel module is loaded (/proc/modules)",
    "driver.version": "the kernel module's version (/proc/driver/nvidia/version, /sys/module/nvidia/version), "
    "else NVML's",
    "driver.userspace_version": "the user-space driver's version (NVML, else the libnvidia-ml.so.X name)",
    "driver.open_kernel_module": "true when the loaded module is NVIDIA's open kernel module, false for the "
    "proprietary one (/proc/driver/nvidia/version, else the module's taint flags: P is proprietary), null when "
    "none is loaded",
    "driver.nvml_error": "NVML's error class when it could not start (NVMLError_LibRmVersionMismatch ...), or "
                         "NVMLError_ProbeCrashed / ProbeTimedOut / ProbeFailed when the child process asking it "
                         "crashed, hung or answered garbage; else null",
    "driver.cuda_max": "highest CUDA version the driver supports (13.0)",
    "nouveau.loaded": "the nouveau kernel module is loaded",
    "nouveau.blacklisted": "a modprobe.d file or the kernel command line blacklists nouveau",
    # -- CUDA and cuDNN --------------------------------------------------------------------------------------
    "cuda.toolkit_version": "CUDA toolkit version X.Y (version.json, version.txt, then nvcc --version)",
    "cuda.toolkit_release": "the CUDA toolkit's release in full, as its version.json or version.txt states it "
    "(13.0.2 is 13.0 Update 2, 10.1.243); null when only nvcc --version's X.Y is known",
    "cuda.toolkit_path": "the /usr/local/cuda link's target, else the newest /usr/local/cuda-X.Y",
    "cuda.toolkits": "every CUDA toolkit version installed under /usr/local",
    "cuda.pip_runtime_version": "CUDA runtime from pip's nvidia-cuda-runtime(-cuXX) package, X.Y",
    "cudnn.version": "system cuDNN version (cudnn_version.h or cudnn.h, else the libcudnn.so.X.Y.Z name)",
    "cudnn.pip_version": "cuDNN from pip's nvidia-cudnn-cuXX package",
    # -- display, boot -----------------------------------------------------------------------------------
    "display.manager": "lightdm | gdm3 | gdm | sddm | null (none installed)",
    "display.manager_active": "the display manager is running",
    "display.init": "systemd | upstart | sysvinit | none (PID 1 is no init: a container, WSL, a micro-VM)",
    "display.graphical_session": "this process runs inside an X or Wayland session",
    "secureboot.enabled": "Secure Boot is on (mokutil --sb-state, else the EFI variable; false without EFI)",
    "reboot.required": "a reboot is pending (/var/run/reboot-required, or a loaded kernel module that differs from "
    "the user-space driver)",
    # -- Python and TensorFlow -------------------------------------------------------------------------------
    "python.executable": "the Python interpreter setupkit runs in",
    "python.version": "its version (3.12.3)",
    "python.bits": "32 or 64",
    "python.externally_managed": "the distribution manages this Python (PEP 668 EXTERNALLY-MANAGED, not a venv): "
    "pip refuses to install into it",
    "pip.version": "pip's version in that interpreter",
    "libc.family": "glibc | musl: the C library that interpreter runs on (glibc names itself through confstr "
    "CS_GNU_LIBC_VERSION; musl by its loader, /lib/ld-musl-x86_64.so.1)",
    "libc.version": "that C library's version (2.35); null for musl, whose version only its loader prints; a "
    "manylinux_2_X wheel needs glibc 2.X or newer",
    "tensorflow.version": "installed TensorFlow (tensorflow, tensorflow-cpu ...) from package metadata, no import",
    "tensorflow.package": "which distribution provides it (tensorflow, tensorflow-cpu, tf-nightly ...)",
    "tensorflow.distributions": "every TensorFlow distribution installed, {name: version}: two (tensorflow and "
                                "tensorflow-cpu) overwrite each other's files in one site-packages",
    # -- the deep probe: TensorFlow imported in a child process (doctor --deep, snapshot --deep; else null) ------
    "tfprobe.status": "ok | not-installed | import-error | crashed | timeout | no-output | not-recorded (the deep "
                      "probe's outcome; not-recorded: a snapshot taken without --deep)",
    "tfprobe.error": "what went wrong, in one line (the ImportError, the signal, the timeout)",
    "tfprobe.returncode": "the probe interpreter's exit status (negative: killed by that signal)",
    "tfprobe.python": "the interpreter the probe ran",
    "tfprobe.version": "tf.__version__",
    "tfprobe.built_with_cuda": "tf.test.is_built_with_cuda()",
    "tfprobe.cuda_version": "CUDA of the build (tf.sysconfig.get_build_info()['cuda_version'])",
    "tfprobe.cudnn_version": "cuDNN of the build (tf.sysconfig.get_build_info()['cudnn_version'])",
    "tfprobe.gpus": "GPUs TensorFlow lists (/device:GPU:0 ...)",
    "tfprobe.gpu_count": "how many GPUs TensorFlow lists",
    "tfprobe.gpu_ops_ok": "true when a small matmul ran on every listed GPU",
    "tfprobe.gpu_ops": "per GPU: the device, ok, where the op was placed or the error",
    "tfprobe.cpu_op_ok": "true when the small matmul ran on the CPU",
    "tfprobe.cpu_log": "TensorFlow's CPU-instruction log line, as printed",
    "tfprobe.cpu_instructions": "the instructions that line names (AVX2 FMA ...)",
    # -- environment -----------------------------------------------------------------------------------------
    "env.cuda_visible_devices": "CUDA_VISIBLE_DEVICES as set, null when unset",
    "env.tf_force_gpu_allow_growth": "TF_FORCE_GPU_ALLOW_GROWTH as set, null when unset",
    # -- containers on this host: the NVIDIA Container Toolkit (read on the host's PATH and config files) --------
    "container_toolkit.engines": "container engines on the host's PATH (docker, podman); null when PATH is unknown",
    "container_toolkit.programs": "NVIDIA Container Toolkit programs on the host's PATH (nvidia-ctk, "
    "nvidia-container-runtime, nvidia-container-runtime-hook, nvidia-container-cli); null when PATH is unknown",
    "container_toolkit.docker_runtime": "/etc/docker/daemon.json registers the nvidia runtime (nvidia-ctk runtime "
    "configure --runtime=docker); false when the file is absent or has none, null when it is not JSON",
    "container_toolkit.cdi_specs": "NVIDIA CDI specifications (nvidia*.yaml/.json in /etc/cdi and /var/run/cdi), "
    "which Podman's --device nvidia.com/gpu=all reads",
    # -- what a source build needs (build-tf) ----------------------------------------------------------------
    "toolchain.bazel": "bazel | bazelisk: the first of the two found on the host's PATH; null when neither is "
    "(or PATH is unknown)",
    "toolchain.clang": "path of clang (else of the newest clang-20 ... clang-16) on the host's PATH; null when none",
    "toolchain.gcc": "path of gcc on the host's PATH; null when none",
    "python.include": "the include folder of python.executable (sysconfig), where its Python.h belongs",
    "python.headers": "Python.h is in python.include (python3-dev installed); null when the folder is unknown",
    "python.ensurepip": "python.executable has ensurepip, so `python -m venv` can put pip in a venv (Debian ships "
    "it apart, in python3-venv)",
    # -- PyTorch, JAX and the NVIDIA CUDA wheels, from package metadata (no import) ------------------------------
    "torch.version": "installed PyTorch (the torch distribution), as its metadata says: 2.13.0+cu130, 2.8.0",
    "torch.build": "cuda | cpu | rocm | xpu | other: what that wheel was built for, by its local version tag "
    "(+cu130, +cpu, +rocm6.4, +xpu; other: a source build's +git...); PyPI's untagged Linux wheels are cuda builds",
    "torch.cuda_version": "the CUDA X.Y that PyTorch wheel was built for: its tag (+cu130: 13.0), else (PyPI's "
    "wheel) the nvidia-cuda-runtime(-cu12) wheel of the CUDA release that release requires; null for a non-CUDA build",
    "jax.version": "installed JAX (the jax distribution)",
    "jax.cuda_plugin": "JAX's CUDA plugins installed, {name: version} (jax-cuda12-plugin, jax-cuda13-plugin); {} "
    "when none: JAX runs on the CPU only",
    "jax.cuda_version": "the CUDA that plugin runs: X.Y of the nvidia-cuda-runtime wheel of its major release, else "
    "that major release as X.0 (jax[cuda13-local] uses the system's); null without a plugin",
    "python.cuda_wheels": "every NVIDIA CUDA library wheel installed, {name: version} (nvidia-cudnn-cu12, "
    "nvidia-cuda-runtime ...): the -cuXX suffix, or for CUDA 13's suffix-free wheels the version, tells its CUDA",
    # -- the deep probes of PyTorch and JAX: each imported in a child process (doctor --deep, snapshot --deep;
    # else null); status as tfprobe.status: ok | not-installed | import-error | crashed | timeout | no-output |
    # not-recorded --------------------------------------------------------------------------------------------
    "torchprobe.status": "ok | not-installed | import-error | crashed | timeout | no-output | not-recorded (the deep "
    "PyTorch probe's outcome; not-recorded: a snapshot that holds no run of it)",
    "torchprobe.error": "what went wrong, in one line (the ImportError, the signal, the timeout)",
    "torchprobe.returncode": "the probe interpreter's exit status (negative: killed by that signal)",
    "torchprobe.python": "the interpreter the probe ran",
    "torchprobe.version": "torch.__version__ (2.13.0+cu130)",
    "torchprobe.cuda": "torch.version.cuda: the CUDA it was built with (13.0); null for a CPU build",
    "torchprobe.cudnn": "torch.backends.cudnn.version(), the cuDNN it loads (91002 for 9.10.2); null when none",
    "torchprobe.nccl": "the NCCL it was built with, torch.cuda.nccl.version() as X.Y.Z; null for a CPU build",
    "torchprobe.cuda_available": "torch.cuda.is_available()",
    "torchprobe.device_count": "torch.cuda.device_count() (0 when CUDA is not available)",
    "torchprobe.devices": "torch.cuda.get_device_name(i) of each device it sees (NVIDIA H100 80GB HBM3)",
    "torchprobe.arch_list": "torch.cuda.get_arch_list(): the architectures the build has kernels for (sm_90, "
    "compute_90 for PTX); [] for a CPU build, and in releases that ask it only of an available CUDA",
    "torchprobe.cuda_error": "why CUDA did not start, as torch said it (its CUDA initialization warning, or the "
    "error of a CUDA call); null when none",
    "jaxprobe.status": "ok | not-installed | import-error | crashed | timeout | no-output | not-recorded (the deep "
    "JAX probe's outcome; import-error also when jax imports but jax.devices() fails)",
    "jaxprobe.error": "what went wrong, in one line (the ImportError, the signal, the timeout)",
    "jaxprobe.returncode": "the probe interpreter's exit status (negative: killed by that signal)",
    "jaxprobe.python": "the interpreter the probe ran",
    "jaxprobe.version": "jax.__version__",
    "jaxprobe.backend": "jax.default_backend(): gpu | cpu | tpu",
    "jaxprobe.devices": "jax.devices(), one {platform, device_kind} a device ({gpu, NVIDIA H100 80GB HBM3})",
    "jaxprobe.gpus": "the device_kind of each GPU device JAX sees",
    "jaxprobe.gpu_count": "how many GPU devices JAX sees",
    "jaxprobe.cuda_plugins": "the JAX CUDA plugin distributions the probe's interpreter has, {name: version} "
    "(jax-cuda13-plugin, jax-cuda13-pjrt)",
    "jaxprobe.cuda_error": "why JAX's cuda backend did not start, as JAX recorded or logged it; null when none",
    # -- GPU health, level 1: what NVML says of each GPU's link, memory, clocks and power (per GPU lists, in
    # gpu.names' order; an entry is null where NVML could not say; the whole fact null when NVML did not start) --
    "gpu.pcie_gen": "PCIe generation each GPU's link runs at now (nvmlDeviceGetCurrPcieLinkGeneration); an idle "
    "link trains down to save power, so a low one at idle is no fault",
    "gpu.pcie_gen_max": "the highest PCIe generation each GPU's link can run at in this slot: the lower of the "
    "card's and the slot's (nvmlDeviceGetMaxPcieLinkGeneration)",
    "gpu.pcie_gen_gpu_max": "the highest PCIe generation each card itself supports "
    "(nvmlDeviceGetGpuMaxPcieLinkGeneration)",
    "gpu.pcie_width": "lanes each GPU's link runs with now (nvmlDeviceGetCurrPcieLinkWidth): 16 for x16",
    "gpu.pcie_width_max": "the most lanes each GPU's link can have in this slot (nvmlDeviceGetMaxPcieLinkWidth)",
    "gpu.ecc_mode": "ECC is on for each GPU's memory now (nvmlDeviceGetEccMode); null where the card has none "
    "(GeForce: see gpu.nvml_unsupported)",
    "gpu.ecc_uncorrected_volatile": "uncorrectable ECC errors on each GPU since the driver was loaded "
    "(nvmlDeviceGetTotalEccErrors, volatile)",
    "gpu.ecc_uncorrected_aggregate": "uncorrectable ECC errors in each GPU's lifetime (nvmlDeviceGetTotalEccErrors, "
    "aggregate)",
    "gpu.retired_pages_pending": "each GPU has memory pages marked for retirement that wait for a driver reload "
    "(nvmlDeviceGetRetiredPagesPendingStatus; Kepler to Turing data-centre cards)",
    "gpu.remapped_rows_pending": "each GPU has memory rows marked for remapping that wait for a GPU reset "
    "(nvmlDeviceGetRemappedRows; Ampere and later)",
    "gpu.remapped_rows_failed": "a row remapping has failed on each GPU: its memory can no longer be repaired "
    "(nvmlDeviceGetRemappedRows)",
    "gpu.throttle_reasons": "per GPU, why its clocks are held down now, by NVML's clocks event reasons: gpu_idle, "
    "applications_clocks_setting, sw_power_cap, hw_slowdown, sync_boost, sw_thermal_slowdown, hw_thermal_slowdown, "
    "hw_power_brake_slowdown, display_clock_setting ([] when none)",
    "gpu.power_limit_w": "the power limit each GPU's driver enforces, in watts (nvmlDeviceGetEnforcedPowerLimit)",
    "gpu.power_default_limit_w": "each GPU's default power limit, in watts (nvmlDeviceGetPowerManagementDefaultLimit)",
    "gpu.persistence_mode": "persistence mode is on for each GPU (nvmlDeviceGetPersistenceMode): the driver keeps "
    "it initialised while no program uses it",
    "gpu.mig_mode": "Multi-Instance GPU mode is on for each GPU (nvmlDeviceGetMigMode, current)",
    "gpu.nvml_unsupported": "per GPU, the nvml.json fields NVML answered NotSupported for (ecc_mode, "
    "remapped_rows_pending, retired_pages_pending ...): features that card does not have",
    "gpu.kernel_log": "read | denied | unreadable | not-recorded: whether the kernel log (dmesg) could be read for "
    "the driver's Xid errors (denied: only root may read it; not-recorded: a snapshot without it); null when not "
    "asked (no GPU, or the nvidia module not loaded)",
    "gpu.xid_events": "the driver's Xid errors in the kernel log since boot, one entry an Xid and GPU: {xid, pci, "
    "count, message}; null when the log was not read",
}


def empty_facts() -> Facts:
    """Every registered name, all unknown."""
    return {name: None for name in FACTS}


def is_known(name: str) -> bool:
    return name in FACTS
