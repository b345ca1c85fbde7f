"""What ``setupkit snapshot`` tells the user once the bundle is written."""

from __future__ import annotations

from pathlib import Path

from setupkit.bounded import printable


def written_lines(path: Path, redacted: bool) -> list[str]:
    """Where the bundle is and how to read it back, the path printed as it is named (no escape reaches the
    terminal)."""
    shown = printable(str(path), keep_newlines=False)
    return [f"snapshot written to {shown}" + (" (redacted)" if redacted else ""),
            f"read it back with: setupkit doctor --snapshot {shown}"]
