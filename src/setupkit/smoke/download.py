"""Fetch the official Python-format archive (only on --download), verify its MD5, unpack it safely."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from setupkit.errors import PreconditionError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
"""The checksum published on https://www.cs.toronto.edu/~kriz/cifar.html."""
TIMEOUT_S = 15
ARCHIVE_NAME = "cifar-10-python.tar.gz"


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(dest_dir: Path, url: str = URL, timeout: float = TIMEOUT_S, md5: str = MD5) -> Path:
    """Download to ``dest_dir/cifar-10-python.tar.gz`` unless a verified copy is there already."""
    archive = dest_dir / ARCHIVE_NAME
    if archive.is_file() and md5_of(archive) == md5:
        return archive
    dest_dir.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise PreconditionError(f"cannot download CIFAR-10 from {url} ({reason}); offline? give --data DIR with "
                                f"the dataset, or leave out --download to train on synthetic data") from None
    return _verified(partial, archive, md5)


def _verified(partial: Path, archive: Path, md5: str) -> Path:
    found = md5_of(partial)
    if found != md5:
        partial.unlink(missing_ok=True)
        raise PreconditionError(f"{archive}: download corrupt (md5 {found}, expected {md5}); try again")
    partial.replace(archive)
    return archive


def unpack(archive: Path, dest_dir: Path) -> Path:
    """Extract with tarfile's 'data' filter (no absolute names, no links out, no devices)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest_dir, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise PreconditionError(f"{archive}: cannot unpack it ({error}); delete it and download again") from None
    return dest_dir / "cifar-10-batches-py"
