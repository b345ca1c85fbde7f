"""Helpers of the tests that ask the real package index: reach it or skip, and resolve a requirement with pip
for another machine's Python and platform (``pip install --dry-run``, nothing installed)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

INDEX = "https://pypi.org/simple/"
JSON_API = "application/vnd.pypi.simple.v1+json"
RESOLVE_TIMEOUT = 900
"""Seconds one resolution may take: tensorflow[and-cuda] reads the metadata of some twenty NVIDIA wheels (an old
pip, without PEP 714 metadata files, downloads them whole)."""


@cache
def index_unreachable() -> str | None:
    """Why the package index cannot be reached (the reason a network test skips with), None when it can."""
    request = urllib.request.Request(f"{INDEX}pip/", headers={"Accept": JSON_API})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 - a fixed https URL
            answer.read(1)
    except (urllib.error.URLError, OSError) as error:
        return f"the package index {INDEX} cannot be reached ({error}): this test resolves against it"
    return None


def require_index() -> None:
    reason = index_unreachable()
    if reason:
        pytest.skip(reason)


def index_files(project: str) -> list[dict]:
    """The index's file list of ``project`` (PEP 691 JSON), as pip reads it."""
    request = urllib.request.Request(f"{INDEX}{project}/", headers={"Accept": JSON_API})
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - a fixed https URL
        return json.load(answer)["files"]


def manylinux_platforms(glibc: str | None) -> list[str]:
    """Every manylinux x86_64 tag a host with glibc ``glibc`` ("2.35") accepts, newest first; every tag up to glibc
    2.39 where it is unknown."""
    minor = int(glibc.split(".")[1]) if glibc else 39
    tags = [f"manylinux_2_{number}_x86_64" for number in range(minor, 4, -1)]
    legacy = [(17, "manylinux2014_x86_64"), (12, "manylinux2010_x86_64"), (5, "manylinux1_x86_64")]
    return tags + [tag for floor, tag in legacy if minor >= floor]


@dataclass(frozen=True)
class Resolution:
    ok: bool
    installs: dict[str, str]
    """{name: version} of what pip would install (the report's ``install`` list)."""
    error: str
    """pip's last error line when it cannot resolve."""


@cache
def resolve(requirement: str, python: str, glibc: str | None, with_deps: bool) -> Resolution:
    """What ``pip install <requirement>`` would install on a host with this Python X.Y and glibc: binary wheels
    only (pip takes no sdist for a foreign Python), dependencies included unless ``with_deps`` is false."""
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "report.json"
        # --target, not only --dry-run: pip before 23.1 refuses --platform without it; nothing is written there.
        argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                "--only-binary=:all:", "--target", str(Path(work) / "target"), "--report", str(report),
                "--python-version", python, "--implementation", "cp"]
        for platform in manylinux_platforms(glibc):
            argv += ["--platform", platform]
        if not with_deps:
            argv.append("--no-deps")
        done = subprocess.run([*argv, requirement], capture_output=True, text=True, timeout=RESOLVE_TIMEOUT)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
            return Resolution(False, {}, errors[-1] if errors else done.stderr[-500:])
        installs = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                    for item in json.loads(report.read_text())["install"]}
        return Resolution(True, installs, "")


@cache
def url_unreachable(url: str, what: str) -> str | None:
    """Why ``url`` cannot be read (the reason a network test skips with): the server's HTTP error, or why it cannot
    be reached at all; None when it answers."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=15):  # noqa: S310
            pass
    except urllib.error.HTTPError as error:
        return f"{what} {url} answers HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError) as error:
        return f"{what} {url} cannot be reached ({getattr(error, 'reason', error)})"
    return None
