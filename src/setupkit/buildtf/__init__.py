"""Build TensorFlow from source for this CPU (and GPU), install the wheel in a venv, and measure the gain.

One module a job: ``source`` reads the checkout, ``tested`` holds TensorFlow's tested build configurations,
``cpuflags`` turns CPU flags into compiler flags, ``prereqs`` checks the toolchain, disk and memory,
``configure`` answers ./configure, ``bazel`` builds and parses its progress, ``measure`` installs and benchmarks,
``plan`` puts the choices together, ``pipeline`` runs them and ``report`` prints them.
"""
