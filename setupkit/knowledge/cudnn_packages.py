"""The system cuDNN packages of NVIDIA's apt repositories that TensorFlow's tested builds load
(``cudnn_packages.yaml``): the exact build to pin for a cuDNN major release and a CUDA version, and the repository
(the CUDA one, or the older machine-learning one) that has it.

- ``package_for(7, CudaVersion(10, 1))`` -> libcudnn7 7.6.5.32-1+cuda10.1 from the machine-learning repository
- ``machine_learning_repo("ubuntu1604")`` -> that repository's folder for one release, and its signing key's file
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setupkit.knowledge import loader
from setupkit.knowledge.loader import Table
from setupkit.versions import CudaVersion

TABLE = "cudnn_packages"
MACHINE_LEARNING, CUDA = "machine-learning", "cuda"
# A version goes into an apt command line (libcudnn8=VERSION): a Debian version, nothing else.
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+~-]{0,60}")


@dataclass(frozen=True)
class CudnnPackage:
    cudnn: int
    """The cuDNN major release: the package is libcudnn<cudnn> (libcudnn.so.<cudnn>)."""
    cuda: CudaVersion
    version: str
    """The exact Debian version, its `+cudaX.Y` suffix naming the CUDA it was built for."""
    repository: str
    """machine-learning | cuda: the NVIDIA repository that publishes it."""

    @property
    def names(self) -> tuple[str, str]:
        """The runtime and the development package."""
        return f"libcudnn{self.cudnn}", f"libcudnn{self.cudnn}-dev"

    def pins(self) -> list[str]:
        """``name=version`` for both packages, as apt-get install takes them."""
        return [f"{name}={self.version}" for name in self.names]


@dataclass(frozen=True)
class CudnnPackages:
    machine_learning_repos: str
    machine_learning_key: str
    packages: tuple[CudnnPackage, ...]


def parse_cudnn_packages(table: Table) -> CudnnPackages:
    """The rows of a cuDNN package table; a row of the wrong form is refused."""
    rows = tuple(_package(table, row, f"packages {index}") for index, row in enumerate(table.rows("packages"), 1))
    repos = loader.text(table, table.data, "machine_learning_repos", "the table")
    if not repos.startswith("https://"):
        raise table.fail("'machine_learning_repos' must be an https URL")
    key = loader.text(table, table.data, "machine_learning_key", "the table")
    if not re.fullmatch(r"[0-9A-Za-z]{8}\.pub", key):
        raise table.fail("'machine_learning_key' must be a key file name (7fa2af80.pub)")
    return CudnnPackages(machine_learning_repos=repos.rstrip("/"), machine_learning_key=key, packages=rows)


def _package(table: Table, row: Mapping[str, Any], where: str) -> CudnnPackage:
    major = loader.optional_int(table, row, "cudnn", where)
    cuda = CudaVersion.parse(loader.text(table, row, "cuda", where))
    version = loader.text(table, row, "version", where)
    repository = loader.text(table, row, "repository", where)
    if major is None or cuda is None:
        raise table.fail(f"{where}: 'cudnn' must be a major release and 'cuda' a CUDA version")
    if not _VERSION.fullmatch(version) or not version.endswith(f"+cuda{cuda}"):
        raise table.fail(f"{where}: 'version' must be a Debian version built for CUDA {cuda} (...+cuda{cuda})")
    if repository not in (MACHINE_LEARNING, CUDA):
        raise table.fail(f"{where}: 'repository' must be {MACHINE_LEARNING} or {CUDA}, not {repository!r}")
    return CudnnPackage(cudnn=major, cuda=cuda, version=version, repository=repository)


@lru_cache(maxsize=1)
def cudnn_packages() -> CudnnPackages:
    return parse_cudnn_packages(loader.load_table(TABLE))


def package_for(cudnn_major: int, cuda: CudaVersion) -> CudnnPackage | None:
    """The cuDNN package to pin for a TensorFlow built with cuDNN ``cudnn_major`` and CUDA ``cuda``; None when
    the table has none."""
    return next((row for row in cudnn_packages().packages if (row.cudnn, row.cuda) == (cudnn_major, cuda)), None)


def machine_learning_repo(slug: str) -> tuple[str, str]:
    """(the machine-learning repository's folder for release ``slug`` (ubuntu1604), its signing key's URL)."""
    table = cudnn_packages()
    folder = f"{table.machine_learning_repos}/{slug}/x86_64"
    return folder, f"{folder}/{table.machine_learning_key}"
