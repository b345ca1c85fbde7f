"""Build TensorFlow from source for this CPU (and GPU), install the wheel in a venv, and measure the gain.

One module a job: ``source`` reads the checkout, ``tested`` names the releases where the build changed,
``cpuflags`` turns CPU flags into compiler flags, ``interpreter`` describes the Python the build is for,
``prereqs`` checks the toolchain, disk and folders, ``configure`` answers ./configure, ``bazel`` builds and parses
its progress, ``measure`` installs and benchmarks, ``plan`` puts the choices together, ``run`` reads the host,
plans and carries the plan out, and ``report`` prints it.
"""
