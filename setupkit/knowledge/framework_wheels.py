"""PyTorch's and JAX's wheels and the NVIDIA CUDA library wheels beside them (``framework_wheels.yaml``), and the
questions asked of them: which CUDA a wheel was built for, whether it carries kernels for a GPU, and whether the
NVIDIA wheels of one environment fit together. Everything is told from distribution names and versions
(``pip list``), never by importing a framework.

- ``torch_build("2.13.0+cu130", wheels)`` -> ("cuda", "13.0"); ``"2.13.0+cpu"`` -> ("cpu", None); PyPI's
  ``"2.8.0"`` -> ("cuda", "12.8"), from its nvidia-cuda-runtime-cu12 wheel
- ``torch_gpu_gaps("2.13.0+cu126", "12.6", ["NVIDIA GeForce RTX 5090"], ["12.0"], ["blackwell"])`` -> the GPUs
  the wheel has no kernel for ("no kernel image is available for execution on the device")
- ``wheel_cuda_major("nvidia-cudnn-cu12", "9.10.2.21")`` -> 12; ``cuda_wheel_majors(wheels)`` -> [12, 13]
- ``clashing_cuda_wheels(wheels)`` -> the wheels that overwrite each other's files (nvidia-cudnn-cu12 and -cu13)
- ``torch_releases()`` / ``jax_releases()`` -> the releases an install plan pins (2.14.1, 0.12.0.1 ...) with the
  Python range and glibc of their wheels; ``torch_variants_of("2.14.1")`` -> cu126, cu130, cu132;
  ``torch_pypi_variant("2.14.1")`` -> "cu130"; ``torch_index_url("cu126")`` -> https://download.pytorch.org/whl/cu126
- ``choose_torch_variant("2.14.1", "570.172.08", CudaVersion(12, 8), [8.9])`` -> the cu126 row: the one rule by which
  `setupkit install --framework torch` picks a variant and doctor advises one (``torch_variant_for``)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from setupkit import versions
from setupkit.knowledge import cuda, gpus, loader
from setupkit.knowledge.loader import Table
from setupkit.versions import CudaVersion

TABLE = "framework_wheels"
CUDA, CPU, ROCM, XPU, OTHER = "cuda", "cpu", "rocm", "xpu", "other"
TORCH_BUILDS = (CUDA, CPU, ROCM, XPU, OTHER)
"""What a PyTorch wheel was built for, as its local version tag says (+cu130, +cpu, +rocm6.4, +xpu)."""
_CUDA_TAG = re.compile(r"cu(\d{2,3})$", re.ASCII)
_SUFFIX = re.compile(r"^(nvidia-.+)-cu(\d{2})$", re.ASCII)
RUNTIME_WHEEL = "nvidia-cuda-runtime"
MAX_NAME = 200
"""Characters of a distribution name worth matching; PyPI's longest NVIDIA names are under 40."""


@dataclass(frozen=True)
class TorchVariant:
    """PyTorch's CUDA wheels of one variant (cu130) for some releases, and the GPUs they carry kernels for."""

    variant: str
    cuda: CudaVersion
    releases: tuple[str, ...]
    """PyTorch releases X.Y built with this arch list."""
    sass: tuple[float, ...]
    """Compute capabilities the wheel holds machine code for."""
    ptx: float | None
    """The compute capability whose PTX the wheel carries too; None without +PTX."""

    def arch_list(self) -> str:
        """"sm_75, sm_80, ... sm_120, compute_120", as ``torch.cuda.get_arch_list()`` names them."""
        names = [f"sm_{_arch_number(cc)}" for cc in self.sass]
        if self.ptx is not None:
            names.append(f"compute_{_arch_number(self.ptx)}")
        return ", ".join(names)


@dataclass(frozen=True)
class JaxPlugin:
    plugin: str
    cuda_major: int
    extra: str
    """The extra of jax that brings it with its NVIDIA wheels: ``pip install "jax[cuda13]"``."""
    min_compute_capability: float | None = None
    """The oldest GPU JAX supports on this CUDA release (5.2 on CUDA 12, 7.5 on CUDA 13)."""


@dataclass(frozen=True)
class FrameworkRelease:
    """A PyTorch or JAX release a plan may pin, and the Linux x86_64 wheels it has."""

    version: str
    python: tuple[str, str]
    """The oldest and newest CPython X.Y with a wheel."""
    glibc: str
    """The glibc its wheels' manylinux tag asks for."""
    extras: tuple[str, ...] = ()
    """JAX's CUDA extras of the release (cuda12, cuda13)."""
    platform: str | None = None
    """Its Linux x86_64 wheels' platform tag (manylinux_2_28_x86_64)."""

    def pip_floor(self) -> str | None:
        """The oldest pip that reads its wheels' platform tag (20.3 for PEP 600's manylinux_2_28); None unknown."""
        from setupkit.knowledge import tensorflow_wheels  # the table of manylinux tags is kept there

        return None if self.platform is None else tensorflow_wheels.pip_floor(self.platform)

    def has_wheel_for(self, python_version: object, glibc: object = None) -> bool:
        """A wheel for this Python X.Y (and this glibc, where known)."""
        pair = versions.major_minor_pair(python_version)
        oldest, newest = (versions.major_minor_pair(text) for text in self.python)
        if pair is None or oldest is None or newest is None or not oldest <= pair <= newest:
            return False
        return not isinstance(glibc, str) or versions.parse(glibc) is None or versions.at_least(glibc, self.glibc)


@dataclass(frozen=True)
class FrameworkWheels:
    torch_variants: tuple[TorchVariant, ...]
    torch_pypi_cuda: Mapping[str, CudaVersion] = field(hash=False)
    """PyTorch release X.Y -> the CUDA its PyPI wheel (no local tag) requires."""
    jax_plugins: tuple[JaxPlugin, ...]
    suffix_free_since: int
    suffix_free_wheels: frozenset[str]
    library_versioned_wheels: frozenset[str]
    shared_folders: Mapping[str, str] = field(hash=False)
    """NVIDIA library (without its -cuXX suffix) -> the folder its wheels of every CUDA major install into."""
    torch_index: str = ""
    """PyTorch's own package index; a variant's wheels are under <index>/<variant>, the CPU ones under <index>/cpu."""
    torch_releases: tuple[FrameworkRelease, ...] = ()
    jax_releases: tuple[FrameworkRelease, ...] = ()


def parse_framework_wheels(table: Table) -> FrameworkWheels:
    """The rows of a framework_wheels table; a row of the wrong form is refused."""
    variants = tuple(_variant(table, row, f"torch variant {index}")
                     for index, row in enumerate(table.rows("torch_variants"), 1))
    pypi = table.value("torch_pypi_cuda")
    if not isinstance(pypi, dict):
        raise table.fail("'torch_pypi_cuda' must map a PyTorch release to a CUDA release")
    pypi_cuda = {}
    for release, cuda_text in pypi.items():
        cuda = CudaVersion.parse(cuda_text) if isinstance(cuda_text, str) else None
        if versions.major_minor(release) is None or cuda is None:
            raise table.fail(f"torch_pypi_cuda {release!r}: must map a PyTorch release X.Y to a CUDA release X.Y")
        pypi_cuda[str(release)] = cuda
    plugins = []
    for index, row in enumerate(table.rows("jax_plugins"), 1):
        where = f"jax plugin {index}"
        major = loader.optional_int(table, row, "cuda_major", where)
        if major is None:
            raise table.fail(f"{where}: 'cuda_major' must be a CUDA major release")
        floor = row.get("min_compute_capability")
        plugins.append(JaxPlugin(plugin=loader.text(table, row, "plugin", where), cuda_major=major,
                                 extra=loader.text(table, row, "extra", where),
                                 min_compute_capability=None if floor is None else
                                 _compute_capability(table, str(floor), where)))
    since = loader.optional_int(table, table.data, "suffix_free_since", "the table")
    if since is None:
        raise table.fail("'suffix_free_since' must be a CUDA major release")
    folders = {loader.text(table, row, "library", f"shared folder {index}"):
               loader.text(table, row, "folder", f"shared folder {index}")
               for index, row in enumerate(table.rows("shared_folder_libraries"), 1)}
    return FrameworkWheels(
        torch_variants=variants, torch_pypi_cuda=MappingProxyType(pypi_cuda), jax_plugins=tuple(plugins),
        suffix_free_since=since, suffix_free_wheels=frozenset(_names(table, "suffix_free_wheels")),
        library_versioned_wheels=frozenset(_names(table, "library_versioned_wheels")),
        shared_folders=MappingProxyType(folders),
        torch_index=loader.text(table, table.data, "torch_index", "the table"),
        torch_releases=_releases(table, "torch_releases", "torch"),
        jax_releases=_releases(table, "jax_releases", "jax"))


def _releases(table: Table, key: str, project: str) -> tuple[FrameworkRelease, ...]:
    found = []
    for index, row in enumerate(table.rows(key), 1):
        where = f"{project} release {index}"
        version, python = loader.text(table, row, project, where), loader.texts(table, row, "python", where)
        glibc = loader.text(table, row, "glibc", where)
        if versions.parse(version) is None or len(python) != 2 or any(versions.major_minor(text) != text
                                                                       for text in python):
            raise table.fail(f"{where}: {project!r} must be a release and 'python' the oldest and newest X.Y")
        if versions.major_minor_pair(glibc) is None:
            raise table.fail(f"{where}: 'glibc' must be a glibc release X.Y")
        platform = row.get("platform")
        if platform is not None and (not isinstance(platform, str) or _tag_glibc(platform) != glibc):
            raise table.fail(f"{where}: 'platform' must be the manylinux tag of glibc {glibc}")
        found.append(FrameworkRelease(version=version, python=(python[0], python[1]), glibc=glibc,
                                      extras=loader.texts(table, row, "extras", where), platform=platform))
    return tuple(found)


def _tag_glibc(platform: str) -> str | None:
    from setupkit.knowledge import tensorflow_wheels

    return tensorflow_wheels.glibc_floor(platform)


def _variant(table: Table, row: Mapping[str, Any], where: str) -> TorchVariant:
    variant = loader.text(table, row, "variant", where)
    cuda = CudaVersion.parse(loader.text(table, row, "cuda", where))
    tag = _CUDA_TAG.match(variant)
    if cuda is None or tag is None or tag.group(1) != f"{cuda.major}{cuda.minor}":
        raise table.fail(f"{where}: 'variant' must be cuXYZ for its 'cuda' X.Y")
    releases = loader.texts(table, row, "torch", where)
    sass = tuple(_compute_capability(table, text, where) for text in loader.texts(table, row, "sass", where))
    if not releases or not sass or any(versions.major_minor(release) != release for release in releases):
        raise table.fail(f"{where}: 'torch' must list PyTorch releases X.Y and 'sass' compute capabilities")
    ptx_text = row.get("ptx")
    if ptx_text is not None and not isinstance(ptx_text, str):
        raise table.fail(f"{where}: 'ptx' must be a compute capability or null")
    ptx = None if ptx_text is None else _compute_capability(table, ptx_text, where)
    return TorchVariant(variant=variant, cuda=cuda, releases=releases, sass=sass, ptx=ptx)


def _compute_capability(table: Table, text: str, where: str) -> float:
    found = gpus.parse_compute_capability(text)
    if found is None:
        raise table.fail(f"{where}: {text!r} is no compute capability X.Y")
    return found


def _names(table: Table, key: str) -> tuple[str, ...]:
    names = table.value(key)
    if not isinstance(names, list) or not all(isinstance(name, str) and name.startswith("nvidia-")
                                              for name in names):
        raise table.fail(f"{key!r} must be a list of nvidia-* distribution names")
    return tuple(names)


def _arch_number(compute_capability: float) -> str:
    """12.0 -> "120", 8.6 -> "86" (the sm_XY spelling)."""
    major, minor = gpus.compute_capability_text(compute_capability).split(".")
    return f"{major}{minor}"


@lru_cache(maxsize=1)
def framework_wheels() -> FrameworkWheels:
    return parse_framework_wheels(loader.load_table(TABLE))


# -- the NVIDIA CUDA library wheels -------------------------------------------------------------------------------


def is_cuda_wheel(name: str) -> bool:
    """Whether the distribution ``name`` (PEP 503) is one of NVIDIA's CUDA library wheels: a ``nvidia-*-cuXX``
    name, or one of CUDA's suffix-free component wheels (not nvidia-ml-py, nvidia-pyindex ...)."""
    return bool(_SUFFIX.match(name)) or name in framework_wheels().suffix_free_wheels


def wheel_cuda_major(name: object, version: object) -> int | None:
    """The CUDA major release an NVIDIA wheel was built for: its -cuXX suffix, else (a suffix-free CUDA component)
    its version's major where that follows the CUDA release; None where the name does not tell (nvidia-cufft
    12.0 belongs to CUDA 13)."""
    if not isinstance(name, str):
        return None
    suffix = _SUFFIX.match(name[:MAX_NAME])
    if suffix:
        return int(suffix.group(2))
    table = framework_wheels()
    if name not in table.suffix_free_wheels or name in table.library_versioned_wheels:
        return None
    major = versions.major(version)
    return major if major is not None and major >= table.suffix_free_since else None


def _wheels(wheels: object) -> dict[str, str]:
    """The CUDA library wheels of a {name: version} fact, names and versions text."""
    if not isinstance(wheels, dict):
        return {}
    return {name: version for name, version in wheels.items()
            if isinstance(name, str) and isinstance(version, str) and is_cuda_wheel(name[:MAX_NAME])}


def cuda_wheel_majors(wheels: object) -> list[int] | None:
    """The CUDA major releases the NVIDIA wheels of ``wheels`` ({name: version}) were built for, oldest first.
    A suffix-free wheel whose version does not tell counts as the other suffix-free wheels' release, else as
    the first release that dropped the suffix (13). None when ``wheels`` is unknown."""
    if wheels is None:
        return None
    found = _wheels(wheels)
    majors = {major for name, version in found.items() if (major := wheel_cuda_major(name, version)) is not None}
    suffix_free = {wheel_cuda_major(name, version) for name, version in found.items()
                   if not _SUFFIX.match(name)}
    if None in suffix_free and not (suffix_free - {None}):
        majors.add(framework_wheels().suffix_free_since)
    return sorted(majors)


def _library(name: str) -> str:
    """"nvidia-cudnn-cu12" -> "nvidia-cudnn"."""
    suffix = _SUFFIX.match(name)
    return suffix.group(1) if suffix else name


def cudnn_wheel_majors(wheels: object) -> list[int] | None:
    """The cuDNN major versions of the nvidia-cudnn-cuXX wheels of ``wheels``, lowest first."""
    if wheels is None:
        return None
    return sorted({major for name, version in _wheels(wheels).items()
                   if _library(name) == "nvidia-cudnn" and (major := versions.major(version)) is not None})


def clashing_cuda_wheels(wheels: object) -> list[str] | None:
    """The NVIDIA wheels of ``wheels`` that overwrite each other's files: one library (cuDNN, NCCL ...) for two CUDA
    major releases, of the same library major, installs the same file (nvidia/cudnn/lib/libcudnn.so.9). One text a
    library; [] when none clash; None when ``wheels`` is unknown."""
    if wheels is None:
        return None
    folders = framework_wheels().shared_folders
    by_library: dict[tuple[str, int], list[str]] = {}
    for name, version in sorted(_wheels(wheels).items()):
        library, major = _library(name), versions.major(version)
        if library in folders and major is not None:
            by_library.setdefault((library, major), []).append(f"{name} {version}")
    return [f"{' and '.join(names)} both install {folders[library]}"
            for (library, _), names in sorted(by_library.items()) if len(names) > 1]


def runtime_cuda(wheels: object, major: int) -> CudaVersion | None:
    """The CUDA X.Y of the installed nvidia-cuda-runtime wheel of CUDA major release ``major`` (the -cuXX one, or
    the suffix-free one from CUDA 13 on)."""
    found = _wheels(wheels)
    for name in (f"{RUNTIME_WHEEL}-cu{major}", RUNTIME_WHEEL):
        cuda = CudaVersion.parse(found.get(name))
        if cuda is not None and cuda.major == major:
            return cuda
    return None


def _runtime_majors(wheels: object) -> set[int]:
    return {major for name, version in _wheels(wheels).items()
            if _library(name) == RUNTIME_WHEEL and (major := wheel_cuda_major(name, version)) is not None}


# -- PyTorch -------------------------------------------------------------------------------------------------------


def torch_build(version: object, wheels: object = None) -> tuple[str | None, CudaVersion | None]:
    """(what an installed PyTorch ``version`` was built for, the CUDA X.Y of a CUDA build).

    The local version tag says it (2.13.0+cu130, +cpu, +rocm6.4, +xpu; another tag, a source build's +git...,
    is "other"). PyPI's wheels carry no tag: on Linux x86_64 they are CUDA builds, whose CUDA is the installed
    nvidia-cuda-runtime wheel of the major release that release requires (the table), else the table's, else the
    one CUDA runtime wheel installed. (None, None) when none of it tells.
    """
    parsed = versions.parse(version)
    if parsed is None:
        return None, None
    tag = parsed.local
    if tag:
        cuda_tag = _CUDA_TAG.fullmatch(tag)
        if cuda_tag:
            digits = cuda_tag.group(1)
            return CUDA, CudaVersion(int(digits[:-1]), int(digits[-1]))
        for build in (CPU, ROCM, XPU):
            if tag.startswith(build):
                return build, None
        return OTHER, None
    expected = framework_wheels().torch_pypi_cuda.get(f"{parsed.major}.{parsed.minor}")
    if expected is not None:
        return CUDA, runtime_cuda(wheels, expected.major) or expected
    majors = _runtime_majors(wheels)
    if len(majors) == 1:
        return CUDA, runtime_cuda(wheels, majors.pop())
    return None, None


def torch_variant(version: object, cuda: object) -> TorchVariant | None:
    """The table's row for PyTorch ``version`` built for CUDA ``cuda`` (X.Y); None where it lists none."""
    parsed, release = versions.parse(version), CudaVersion.parse(cuda) if isinstance(cuda, str) else None
    if parsed is None or release is None:
        return None
    torch_release = f"{parsed.major}.{parsed.minor}"
    return next((row for row in framework_wheels().torch_variants
                 if row.cuda == release and torch_release in row.releases), None)


def kernel_for(variant: TorchVariant, compute_capability: float) -> str | None:
    """How ``variant`` runs on a GPU of ``compute_capability``: "sass" (a cubin of its major release, of an equal
    or lower minor), "ptx" (only the PTX, compiled as it loads), None (neither: no kernel image)."""
    major = int(compute_capability)
    if any(int(cc) == major and cc <= compute_capability for cc in variant.sass):
        return "sass"
    if variant.ptx is not None and variant.ptx <= compute_capability:
        return "ptx"
    return None


def _torch_gpus(version: object, cuda: object, names: object, compute_capabilities: object,
                architectures: object, wanted: str | None) -> list[str] | None:
    variant = torch_variant(version, cuda)
    found = gpus.gpus_of(names, compute_capabilities, architectures)
    if variant is None or found is None or any(gpu.compute_capability is None for gpu in found):
        return None
    return [gpu.label() for gpu in found if gpu.compute_capability is not None
            and kernel_for(variant, gpu.compute_capability) == wanted]


def torch_gpu_gaps(version: object, cuda: object, names: object, compute_capabilities: object,
                   architectures: object = None) -> list[str] | None:
    """The GPUs that PyTorch ``version`` (a CUDA ``cuda`` build) has no kernel for, one text a GPU: [] when it
    serves all; None when that cannot be told (a variant the table lacks, a GPU's compute capability unknown)."""
    return _torch_gpus(version, cuda, names, compute_capabilities, architectures, None)


def torch_ptx_gpus(version: object, cuda: object, names: object, compute_capabilities: object,
                   architectures: object = None) -> list[str] | None:
    """The GPUs that PyTorch ``version`` serves through PTX alone (compiled by the driver as it loads)."""
    return _torch_gpus(version, cuda, names, compute_capabilities, architectures, "ptx")


def torch_arch_list(version: object, cuda: object) -> str | None:
    """The architectures PyTorch ``version``'s CUDA ``cuda`` wheel was built for: "sm_75, ..., compute_120"."""
    variant = torch_variant(version, cuda)
    return None if variant is None else variant.arch_list()


def torch_variant_for(version: object, driver_cuda: object, names: object = None, compute_capabilities: object = None,
                      architectures: object = None, python: object = None, glibc: object = None) -> str | None:
    """Doctor's advice: the CUDA variant (cu126, cu130) of PyTorch to install on a driver that runs CUDA
    ``driver_cuda`` at most, for the GPUs given, by the rule `setupkit install --framework torch` picks by
    (``choose_torch_variant``). With this host's Python (and glibc) the release is the one that install pins for it,
    the newest with a wheel here whose variants serve this host, so that an unpinned ``pip install torch
    --index-url .../<variant>`` finds that release; without them, PyTorch ``version``'s release, else the newest the
    table knows. None when the driver's CUDA is unknown, or no variant serves this host."""
    driver = CudaVersion.parse(driver_cuda) if isinstance(driver_cuda, str) else None
    if driver is None:
        return None
    ccs = _known_compute_capabilities(names, compute_capabilities, architectures)
    if isinstance(python, str):
        releases = [release for release in torch_releases() if release.has_wheel_for(python, glibc)]
        found = choose_torch_release(releases, None, driver, ccs)
        return None if found is None else found[1].variant
    table = framework_wheels()
    parsed = versions.parse(version)
    release = f"{parsed.major}.{parsed.minor}" if parsed is not None else None
    known = {row_release for row in table.torch_variants for row_release in row.releases}
    if release not in known:
        release = max(known, key=lambda text: versions.major_minor_pair(text) or (0, 0))
    chosen = choose_torch_variant(str(release), None, driver, ccs)
    return None if chosen is None else chosen.variant


def _known_compute_capabilities(names: object, compute_capabilities: object, architectures: object) -> list[float]:
    found = gpus.gpus_of(names, compute_capabilities, architectures) or []
    return [gpu.compute_capability for gpu in found if gpu.compute_capability is not None]


# -- the driver that runs the CUDA a framework's wheels bring -----------------------------------------------------


def wheels_cuda_runs(release: CudaVersion, driver_version: str | None, driver_cuda: CudaVersion | None) -> bool:
    """Whether CUDA ``release`` from pip wheels runs on the driver at all: minor-version compatibility, a driver
    at or above its major release's floor (525.60.13 for 12.x, 580 for 13.x), judged by the driver's CUDA major
    release where its Linux version is not known (as in WSL). Nothing known of the driver: it may."""
    floor = cuda.minor_compat_driver(release)
    if driver_version is not None and versions.parse(driver_version) is not None and floor is not None:
        return versions.at_least(driver_version, floor)
    if driver_cuda is not None:
        return driver_cuda.major >= release.major
    return True


def wheels_cuda_runs_in_full(release: CudaVersion, driver_version: str | None,
                             driver_cuda: CudaVersion | None) -> bool | None:
    """Whether the driver is at or above CUDA ``release``'s own minimum (PTX compiled as it loads included): by its
    Linux version, else by the newest CUDA it serves; None when nothing is known of it."""
    if driver_version is not None and versions.parse(driver_version) is not None:
        need = cuda.min_driver_for_cuda(release)
        return None if need is None else versions.at_least(driver_version, need)
    if driver_cuda is not None:
        return release <= driver_cuda
    return None


def choose_torch_variant(version: str, driver_version: str | None, driver_cuda: CudaVersion | None,
                         compute_capabilities: Sequence[float]) -> TorchVariant | None:
    """The CUDA variant of PyTorch ``version``'s release to install: of those with kernels for every GPU (machine
    code or PTX) whose CUDA the driver runs, the one it runs in full over one it runs through minor-version
    compatibility only, machine code for every GPU over PTX, then the newest CUDA. Where nothing tells whether the
    driver runs a variant in full (no driver known), PyPI's default variant first. None when none serves.

    The one rule doctor's advice (``torch_variant_for``) and `setupkit install --framework torch` both follow."""
    fitting = [row for row in torch_variants_of(version)
               if wheels_cuda_runs(row.cuda, driver_version, driver_cuda)
               and all(kernel_for(row, cc) for cc in compute_capabilities)]
    if not fitting:
        return None
    default = torch_pypi_variant(version)

    def rank(row: TorchVariant) -> tuple[bool, bool, CudaVersion]:
        full = wheels_cuda_runs_in_full(row.cuda, driver_version, driver_cuda)
        machine_code = all(kernel_for(row, cc) == "sass" for cc in compute_capabilities)
        return (row.variant == default if full is None else full), machine_code, row.cuda

    return max(fitting, key=rank)


def choose_torch_release(releases: Sequence[FrameworkRelease], driver_version: str | None,
                         driver_cuda: CudaVersion | None,
                         compute_capabilities: Sequence[float]) -> tuple[FrameworkRelease, TorchVariant] | None:
    """The first of ``releases`` (newest first: those with a wheel for this Python) that has a variant serving this
    host (``choose_torch_variant``), with that variant; None when none has."""
    for release in releases:
        chosen = choose_torch_variant(release.version, driver_version, driver_cuda, compute_capabilities)
        if chosen is not None:
            return release, chosen
    return None


# -- JAX -----------------------------------------------------------------------------------------------------------


def jax_plugin_names() -> tuple[str, ...]:
    """The distributions of JAX's CUDA plugins (jax-cuda12-plugin, jax-cuda13-plugin)."""
    return tuple(plugin.plugin for plugin in framework_wheels().jax_plugins)


def jax_cuda(plugins: object, wheels: object) -> CudaVersion | None:
    """The CUDA an installed JAX CUDA plugin runs: the nvidia-cuda-runtime wheel of its major release (X.Y), else
    the major release itself (13.0); None without a plugin. With two plugins, the newer one's."""
    if not isinstance(plugins, dict):
        return None
    majors = [plugin.cuda_major for plugin in framework_wheels().jax_plugins if plugin.plugin in plugins]
    if not majors:
        return None
    major = max(majors)
    return runtime_cuda(wheels, major) or CudaVersion(major, 0)


# -- the releases a plan pins --------------------------------------------------------------------------------------


def torch_releases() -> tuple[FrameworkRelease, ...]:
    """The PyTorch releases a plan may pin, newest first."""
    return framework_wheels().torch_releases


def jax_releases() -> tuple[FrameworkRelease, ...]:
    """The JAX releases a plan may pin, newest first."""
    return framework_wheels().jax_releases


def torch_variants_of(version: str) -> tuple[TorchVariant, ...]:
    """The CUDA variants the table knows of PyTorch ``version``'s release X.Y, oldest CUDA first."""
    release = versions.major_minor(version)
    return tuple(sorted((row for row in framework_wheels().torch_variants if release in row.releases),
                        key=lambda row: row.cuda))


def torch_pypi_variant(version: str) -> str | None:
    """The variant (cu130) of PyTorch ``version``'s wheel on PyPI, None where the table does not say."""
    cuda = framework_wheels().torch_pypi_cuda.get(versions.major_minor(version) or "")
    return None if cuda is None else f"cu{cuda.major}{cuda.minor}"


def torch_index_url(variant: str) -> str:
    """PyTorch's index of one variant: https://download.pytorch.org/whl/cu126, .../whl/cpu."""
    return f"{framework_wheels().torch_index}/{variant}"


def jax_plugin_for(extra: str) -> JaxPlugin | None:
    return next((plugin for plugin in framework_wheels().jax_plugins if plugin.extra == extra), None)
