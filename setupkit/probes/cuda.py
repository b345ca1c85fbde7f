"""Probe: the CUDA toolkit (cuda.*).

By hand: ``readlink -f /usr/local/cuda``, ``ls -d /usr/local/cuda-*``, ``cat /usr/local/cuda/version.json``
(``version.txt`` before CUDA 11.1), ``nvcc --version``, ``pip show nvidia-cuda-runtime-cu12``.
"""

from __future__ import annotations

import posixpath
import re

from setupkit.bounded import loads_json
from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.packages import pip_package
from setupkit.probes.text import text_or_none, version_key
from setupkit.versions import major_minor

CUDA_LINK = "/usr/local/cuda"
MAX_LINK_HOPS = 40
# re.ASCII: \d is 0-9 only (in a str pattern it also takes Unicode digits, which no version parser reads).
_TOOLKIT_DIR = re.compile(r"cuda-(\d{1,3}\.\d{1,3})$", re.ASCII)
_VERSION_TXT = re.compile(r"CUDA Version\s+(\d{1,3}\.\d{1,3})(?!\d)", re.ASCII)
# A release as the toolkit states it: X.Y for a GA that says no more, X.Y.Z for an update ("13.0.2"). Nothing
# after it may be a digit or a dot, so that a longer or odd version is no release rather than a cut one.
_RELEASE = r"\d{1,3}\.\d{1,3}(?:\.\d{1,6})?(?![\d.])"
_RELEASE_JSON = re.compile(_RELEASE, re.ASCII)
_RELEASE_TXT = re.compile(r"CUDA Version\s+(" + _RELEASE + ")", re.ASCII)
_NVCC = re.compile(r"release (\d{1,3}\.\d{1,3}), V\d", re.ASCII)
RUNTIME_PACKAGES = ("nvidia-cuda-runtime-cu13", "nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime-cu11",
                    "nvidia-cuda-runtime")


def _json_cuda_version(text: str | None) -> str | None:
    """The text of version.json's "cuda" "version"; None when malformed (nested past reason, NaN, not UTF-8 ...)."""
    try:
        data = loads_json(text_or_none(text) or "")
    except ValueError:  # BoundError too
        return None
    cuda = data.get("cuda") if isinstance(data, dict) else None
    return text_or_none(cuda.get("version")) if isinstance(cuda, dict) else None


def parse_version_json(text: str | None) -> str | None:
    """<toolkit>/version.json {"cuda": {"version": "12.2.2"}, ...} -> "12.2"; None when malformed."""
    return major_minor(_json_cuda_version(text))


def parse_release_json(text: str | None) -> str | None:
    """<toolkit>/version.json {"cuda": {"version": "13.0.2"}, ...} -> "13.0.2", the release in full; None when it
    states none of the form X.Y or X.Y.Z."""
    stated = _json_cuda_version(text)
    return stated if stated is not None and _RELEASE_JSON.fullmatch(stated) else None


def parse_version_txt(text: str | None) -> str | None:
    """<toolkit>/version.txt "CUDA Version 10.0.130" -> "10.0"."""
    match = _VERSION_TXT.search(text_or_none(text) or "")
    return match.group(1) if match else None


def parse_release_txt(text: str | None) -> str | None:
    """<toolkit>/version.txt "CUDA Version 10.1.243" -> "10.1.243", the release in full."""
    match = _RELEASE_TXT.search(text_or_none(text) or "")
    return match.group(1) if match else None


def parse_nvcc_version(text: str | None) -> str | None:
    """``nvcc --version``'s "Cuda compilation tools, release 13.0, V13.0.88" -> "13.0"."""
    match = _NVCC.search(text_or_none(text) or "")
    return match.group(1) if match else None


def toolkit_dirs(host: Host) -> dict[str, str]:
    """{version: path} of the /usr/local/cuda-X.Y folders."""
    found = {}
    for path in host.glob_dir("/usr/local", prefix="cuda-"):
        match = _TOOLKIT_DIR.search(path)
        if match and host.is_dir(path):
            found[match.group(1)] = path
    return dict(sorted(found.items(), key=lambda item: version_key(item[0])))


def follow_links(host: Host, path: str) -> str:
    """Where a chain of links ends (/usr/local/cuda -> /etc/alternatives/cuda -> /usr/local/cuda-13.0)."""
    for _ in range(MAX_LINK_HOPS):
        target = host.resolve_link(path)
        if target is None:
            return path
        path = target
    return path


def toolkit_path(host: Host, installed: dict[str, str]) -> str | None:
    if host.is_dir(CUDA_LINK):
        return follow_links(host, CUDA_LINK)
    return list(installed.values())[-1] if installed else None


def stated_release(host: Host, path: str | None) -> tuple[str | None, str | None]:
    """(X.Y, the release in full or None) as the toolkit at ``path`` states them: its version.json, else its
    version.txt (before CUDA 11.1); (None, None) when neither says. Both come from the one file, so they agree."""
    if not path:
        return None, None
    for name, version_of, release_of in (("version.json", parse_version_json, parse_release_json),
                                         ("version.txt", parse_version_txt, parse_release_txt)):
        text = host.read_text(posixpath.join(path, name))
        version = version_of(text)
        if version:
            return version, release_of(text)
    return None, None


def nvcc_version(host: Host) -> str | None:
    """The X.Y ``nvcc --version`` prints: it names no update release (its V13.0.88 is the compiler's own)."""
    result = host.run(["nvcc", "--version"])
    return parse_nvcc_version(result.stdout) if result.ok else None


def toolkit_version(host: Host, path: str | None) -> str | None:
    return stated_release(host, path)[0] or nvcc_version(host)


def probe(host: Host, facts: Facts) -> Facts:
    installed = toolkit_dirs(host)
    path = toolkit_path(host, installed)
    version, release = stated_release(host, path)
    runtime = pip_package(host, RUNTIME_PACKAGES)
    return {
        "cuda.toolkit_path": path,
        "cuda.toolkit_version": version or nvcc_version(host),
        "cuda.toolkit_release": release,
        "cuda.toolkits": list(installed),
        "cuda.pip_runtime_version": major_minor(runtime[1]) if runtime else None,
    }
