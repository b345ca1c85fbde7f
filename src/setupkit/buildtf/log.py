"""The build log: every line configure, Bazel, pip and the benchmark print goes to one file the user can read."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

LOG_NAME = "setupkit-build-tf.log"


def default_log_path(source: Path) -> Path:
    """In the source folder when it is writable, else in the temp folder."""
    if os.access(source, os.W_OK):
        return source / LOG_NAME
    return Path(tempfile.gettempdir()) / f"setupkit-build-tf-{time.strftime('%Y%m%d-%H%M%S')}.log"


class BuildLog:
    """An append-only log file, flushed on every write so that a crash or Ctrl-C loses nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a", encoding="utf-8", errors="replace")

    def write(self, text: str) -> None:
        self._handle.write(text)
        self._handle.flush()

    def section(self, title: str) -> None:
        self.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {title}\n")

    def close(self) -> None:
        self._handle.close()
