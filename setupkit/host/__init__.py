"""The host source: the only code that touches the machine (files, programs, NVML, environment, Python)."""

from setupkit.host.base import DEFAULT_TIMEOUT, CommandResult, Host, PythonInfo

__all__ = ["DEFAULT_TIMEOUT", "CommandResult", "Host", "PythonInfo", "open_host"]


def open_host(snapshot: str | None = None) -> Host:
    """The live host, or the snapshot at ``snapshot`` (a folder or .tar.gz). Close a snapshot when done."""
    if snapshot is None:
        from setupkit.host.live import LiveHost

        return LiveHost()
    from setupkit.host.snapshot import SnapshotHost

    return SnapshotHost(snapshot)
