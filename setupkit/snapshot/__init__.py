"""`setupkit snapshot`: freeze what the probes read from this machine into a bundle (SNAPSHOT.md).

run (record the live host through the probes, add the support minimum, redact when asked) -> the bundle writer
(``setupkit.host.bundle``) -> report (what to tell the user).
"""
