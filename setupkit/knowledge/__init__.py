"""What setupkit knows of the world, as tables with their sources: one YAML file a table beside these modules,
read by one bounded loader (``loader``), turned into frozen rows and asked through one module a table.

| table | module | what it holds |
| --- | --- | --- |
| ``tensorflow_builds.yaml`` | ``tensorflow`` | TensorFlow's tested build configurations (Python, CUDA, cuDNN ...) |
| ``tensorflow_wheels.yaml`` | ``tensorflow_wheels`` | each TensorFlow release's Linux wheels on PyPI: Pythons, tags |
| ``cuda_driver.yaml`` | ``cuda`` | each CUDA toolkit's minimum Linux driver, each major release's floor |
| ``driver_branches.yaml`` | ``driver_branches`` | NVIDIA's driver branches and their end of life |
| ``gpu_generations.yaml`` | ``gpus`` | GPU generations: their chips, names, driver branches, kernel modules, CUDA |
| ``nvidia_pci_ids.yaml`` | ``pci_ids`` | NVIDIA's GPUs by PCI device id, by chip (derived from pci.ids) |
| ``distributions.yaml`` | ``distributions`` | the RHEL family, end-of-life releases and their limits |
| ``cudnn_packages.yaml`` | ``cudnn_packages`` | the cuDNN 7/8 apt builds to pin per CUDA, and their repository |
| ``rpm_releases.yaml`` | ``rpm_releases`` | each RHEL-family and Fedora release: NVIDIA repository, dnf, branch lock |
| ``reference_speeds.yaml`` | ``reference_speeds`` | the smoke test model's speed on known devices |
| ``measure_references.yaml`` | ``measure_references`` | level-2 references: GPU peaks, CPU FLOP/cycle, PCIe |
| ``xid_errors.yaml`` | ``xid_errors`` | what the driver's Xid errors mean, and what to do |

Every table names its ``sources`` and the date ``checked``. The package sits below the verbs and above the
ground: probes and every verb may read it; it reads only the ground (``setupkit.versions``, ``setupkit.yamlio``).
"""
