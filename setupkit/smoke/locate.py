"""Where CIFAR-10 is on this machine: a folder the user named, setupkit's cache, or a Keras cache.

setupkit downloads into ``$SETUPKIT_CACHE_DIR`` when it is set, else into Keras' own datasets folder (where
tf.keras' ``cifar10.load_data()`` looks too): one copy serves both.

The Keras cache root is ``$KERAS_HOME``, else ``~/.keras``, else ``/tmp/.keras`` (Keras' own order), with
``datasets/`` below it. Older tf.keras unpacked ``datasets/cifar-10-batches-py``; Keras 3.15 unpacks
``datasets/cifar-10-batches-py-target/cifar-10-batches-py`` (and versions in between differ again), so every
``datasets/cifar-10*`` folder is looked in, and one level below it, rather than one layout hard-coded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from setupkit.errors import PreconditionError
from setupkit.smoke.cifar_files import BINARY, PYTHON, Layout

FOLDER_NAMES = {"cifar-10-batches-py": PYTHON, "cifar-10-batches-bin": BINARY}
CACHE_VARIABLE = "SETUPKIT_CACHE_DIR"


@dataclass(frozen=True)
class Found:
    folder: Path
    layout: Layout
    source: str
    """cifar-10-python, cifar-10-binary or keras-cache."""


def layout_of(folder: Path) -> Layout | None:
    """The layout whose first training batch this folder holds."""
    for layout in (PYTHON, BINARY):
        if (folder / layout.train_names[0]).exists():
            return layout
    return None


def in_folder(folder: Path) -> Found | None:
    """``folder`` itself in either layout, or ``folder/cifar-10-batches-py|bin`` (the extracted archives)."""
    for candidate in (folder, *(folder / name for name in FOLDER_NAMES)):
        layout = layout_of(candidate)
        if layout:
            return Found(candidate, layout, layout.source)
    return None


def from_user(data_dir: str) -> Found:
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise PreconditionError(f"--data {data_dir}: no such folder",
                                hint="give the folder holding cifar-10-batches-py or cifar-10-batches-bin (or the "
                                     "batches themselves)")
    found = in_folder(folder)
    if found is None:
        raise PreconditionError(f"--data {data_dir}: no CIFAR-10 batches there (looked for data_batch_1 and "
                                f"data_batch_1.bin in it and in cifar-10-batches-py|bin below it)")
    return found


def keras_home(environ: Mapping[str, str] | None = None) -> Path:
    """Keras' cache root, in Keras' order: $KERAS_HOME, ~/.keras if writable, else /tmp/.keras."""
    return _own_keras_home(os.environ if environ is None else environ) or Path("/tmp/.keras")


def _own_keras_home(environ: Mapping[str, str]) -> Path | None:
    """$KERAS_HOME or ~/.keras; None where Keras would fall back to /tmp/.keras."""
    if environ.get("KERAS_HOME"):
        return Path(environ["KERAS_HOME"])
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    return home / ".keras" if os.access(home, os.W_OK) or (home / ".keras").is_dir() else None


def download_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where a download goes: $SETUPKIT_CACHE_DIR, else Keras' datasets folder. Never Keras' /tmp/.keras
    fallback: any local user could have put a link there first."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_VARIABLE):
        return Path(environ[CACHE_VARIABLE]).expanduser()
    home = _own_keras_home(environ)
    if home is None:
        raise PreconditionError("no writable cache folder for the CIFAR-10 download (this home folder is "
                                "read-only and KERAS_HOME is not set)",
                                hint=f"set {CACHE_VARIABLE} to a writable folder, or give --data DIR")
    return home / "datasets"


def in_caches(environ: Mapping[str, str] | None = None) -> Found | None:
    """A copy setupkit downloaded before ($SETUPKIT_CACHE_DIR), else one in Keras' cache."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_VARIABLE):
        found = in_folder(Path(environ[CACHE_VARIABLE]).expanduser())
        if found:
            return Found(found.folder, found.layout, "setupkit-cache")
    return in_keras_cache(environ)


def in_keras_cache(environ: Mapping[str, str] | None = None) -> Found | None:
    datasets = keras_home(environ) / "datasets"
    if not datasets.is_dir():
        return None
    for entry in sorted(datasets.glob("cifar-10*")):
        for folder in (entry, *sorted(entry.glob("cifar-10-batches-*"))):
            layout = layout_of(folder) if folder.is_dir() else None
            if layout:
                return Found(folder, layout, "keras-cache")
    return None
