"""What setupkit knows of the world, as tables with their sources: one YAML file a table beside these modules,
read by one bounded loader (``loader``), turned into frozen rows and asked through one module a table.

| table | module | what it holds |
| --- | --- | --- |
| ``tensorflow_builds.yaml`` | ``tensorflow`` | TensorFlow's tested build configurations (Python, CUDA, cuDNN ...) |
| ``cuda_driver.yaml`` | ``cuda`` | each CUDA toolkit's minimum Linux driver, each major release's floor |
| ``gpu_generations.yaml`` | ``gpus`` | GPU generations by compute capability, names, open kernel modules |
| ``distributions.yaml`` | ``distributions`` | the RHEL family, end-of-life releases and their limits |
| ``reference_speeds.yaml`` | ``reference_speeds`` | the smoke test model's speed on known devices |

Every table names its ``sources`` and the date ``checked``. The package sits below the verbs and above the
ground: probes and every verb may read it; it reads only the ground (``setupkit.versions``, ``setupkit.yamlio``).
"""
