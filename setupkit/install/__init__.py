"""`setupkit install`: plan the steps from a driver to TensorFlow out of doctor's facts, then run them safely.

The planner (``planner.build_plan``) is a pure function of a facts dictionary and the options; it never touches
the host. The executor (``executor.execute``) runs a plan's ``todo`` steps through a runner, with a lock, a log
and a state file. ``runfile`` drives NVIDIA's .run installers, toolkit only, never their bundled driver.
"""
