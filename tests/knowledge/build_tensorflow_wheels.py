"""Write setupkit/knowledge/tensorflow_wheels.yaml from the package index: for every final release of the
TensorFlow projects a plan pins (tensorflow, tensorflow-gpu, tensorflow-cpu), the CPython versions it has Linux
x86_64 wheels for and their platform tags, and, for the releases with the `and-cuda` extra, the Pythons for which
`pip install tensorflow[and-cuda]==X` does not resolve.

Run it from anywhere, with the network: ``python3 tests/knowledge/build_tensorflow_wheels.py [--checked DATE]
[--pip-python PYTHON] [--skip-extras]``. The file lists are read from the index's JSON form (PEP 691, the API pip
itself reads; ``--index-url`` for a mirror), the extras are resolved by pip (``pip install --dry-run`` for that
Python and platform, dependencies included), about half a minute each: ``--skip-extras`` keeps the and-cuda
columns of the table as they stand. A newer pip resolves faster (it reads the wheels' metadata files, PEP 714,
instead of whole wheels): ``--pip-python`` names the interpreter whose pip runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from setupkit.knowledge import loader  # noqa: E402 - after the repository is on the path

TABLE = REPO / "setupkit" / "knowledge" / "tensorflow_wheels.yaml"
INDEX = "https://pypi.org/simple/"
PROJECTS = ("tensorflow", "tensorflow-gpu", "tensorflow-cpu")
OLDEST = Version("1.12.0")
"""The oldest release the tested-configurations table (tensorflow_builds.yaml) lists: older ones are never planned."""
AND_CUDA_HOST_GLIBC = 39
"""The extras are resolved for a host with glibc 2.39 (Ubuntu 24.04): every manylinux tag up to it is accepted."""
JSON_API = "application/vnd.pypi.simple.v1+json"

HEADER = """\
# TensorFlow's Linux x86_64 wheels on PyPI, per release, for the three projects a plan pins: tensorflow (the GPU
# build from 2.1, the only one before), tensorflow-gpu (the GPU build before 2.1; from 2.12 an sdist that refuses
# to install, so no wheel rows) and tensorflow-cpu (the CPU-only build, 2.1 and later). Final releases from 1.12.0
# (the oldest tested configuration) on, yanked files left out. Each release is one text, "<CPython tags of its
# wheels>; <their platform tags>" (every wheel of a release carries the same platform tags), so that doctor reads
# the table in a millisecond. `and_cuda_fails`: the releases and Pythons for which `pip install
# tensorflow[and-cuda]==<release>` does not resolve against the index (binary wheels, dependencies included, for
# a glibc 2.39 host), with pip's reason.
# WRITTEN BY tests/knowledge/build_tensorflow_wheels.py: do not edit the rows by hand, run it again.
# `platform_tags` (written by the same script, from its sources): what each manylinux tag asks of a host, the
# glibc its wheels link against (PEP 513, 571, 599, 600: manylinux_x_y needs glibc x.y) and the first pip that
# reads the tag (pypa/manylinux README.rst, "Client-side pip version required"; pip's release notes: 8.1.0
# manylinux1, 19.0 manylinux2010, 19.3 manylinux2014, 20.3 PEP 600).
"""

SOURCES = [
    "https://pypi.org/project/tensorflow/",
    "https://pypi.org/project/tensorflow-gpu/",
    "https://pypi.org/project/tensorflow-cpu/",
    "PyPI's simple index in its JSON form (PEP 691), https://pypi.org/simple/<project>/, the file list pip reads",
    "pip install --dry-run --only-binary=:all: --python-version X.Y --platform ... 'tensorflow[and-cuda]==R' "
    "against https://pypi.org/simple/",
    "tensorflow/tensorflow#62498 and #62520 (2.15.0's and-cuda pins tensorrt==8.6.1.post1, which cannot install; "
    "2.15.0.post1 drops it); tensorflow/tensorflow#61986 (2.14's tensorrt==8.5.3.1 has no Python 3.11 wheel)",
    "pypa/manylinux README.rst, the manylinux tags and the client-side pip each needs: "
    "https://github.com/pypa/manylinux",
    "PEP 513 (manylinux1, glibc 2.5), PEP 571 (manylinux2010, glibc 2.12), PEP 599 (manylinux2014, glibc 2.17), "
    "PEP 600 (manylinux_x_y, glibc x.y): https://peps.python.org/pep-0600/",
]

PLATFORM_TAGS = """\
platform_tags:
  manylinux1: {glibc: "2.5", pip: "8.1.0"}
  manylinux2010: {glibc: "2.12", pip: "19.0"}
  manylinux2014: {glibc: "2.17", pip: "19.3"}
  # manylinux_x_y (PEP 600): glibc x.y, and pip 20.3 (the first with PEP 600)
  manylinux_x_y: {pip: "20.3"}
"""


@dataclass
class Release:
    version: Version
    python: set[str] = field(default_factory=set)
    platforms: set[str] = field(default_factory=set)
    and_cuda_fails: list[str] = field(default_factory=list)
    and_cuda_error: str | None = None


def fetch_files(index: str, project: str) -> list[dict]:
    request = urllib.request.Request(f"{index.rstrip('/')}/{project}/", headers={"Accept": JSON_API})
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - the index's https URL
        return json.load(answer)["files"]


def linux_releases(files: list[dict]) -> dict[Version, Release]:
    """The final releases with Linux x86_64 wheels, from the index's file list (yanked files left out)."""
    releases: dict[Version, Release] = {}
    for entry in files:
        if entry.get("yanked"):
            continue
        try:
            _, version, _, tags = parse_wheel_filename(entry["filename"])
        except InvalidWheelFilename:
            continue  # an sdist
        linux = {tag for tag in tags if tag.platform.startswith("manylinux") and tag.platform.endswith("_x86_64")}
        if not linux or version.is_prerelease or version.is_devrelease or version < OLDEST:
            continue
        release = releases.setdefault(version, Release(version))
        platforms = {tag.platform for tag in linux}
        if release.platforms and platforms != release.platforms:
            # The table gives one platform list a release: a release that breaks this needs rows per Python.
            raise SystemExit(f"{entry['filename']}: other platform tags than the release's other wheels")
        release.python |= {tag.interpreter for tag in linux}
        release.platforms = platforms
    return releases


def tag_order(tag: str) -> tuple[int, int]:
    return int(tag[2]), int(tag[3:])  # cp27 < cp39 < cp310


def python_version(tag: str) -> str:
    return f"{tag[2]}.{tag[3:]}"  # cp310 -> 3.10


def host_platforms(glibc_minor: int) -> list[str]:
    """Every manylinux tag a glibc 2.<glibc_minor> x86_64 host accepts, newest first (pip's own order)."""
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(glibc_minor, 4, -1)]
    legacy = [(17, "manylinux2014_x86_64"), (12, "manylinux2010_x86_64"), (5, "manylinux1_x86_64")]
    return tags + [tag for minor, tag in legacy if glibc_minor >= minor]


def and_cuda_error(pip_python: str, release: Version, tag: str) -> str | None:
    """None when `tensorflow[and-cuda]==<release>` resolves for CPython ``tag``; else pip's last error line."""
    with tempfile.TemporaryDirectory() as target:
        argv = [pip_python, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                "--only-binary=:all:", "--target", target, "--python-version", python_version(tag)]
        for platform in host_platforms(AND_CUDA_HOST_GLIBC):
            argv += ["--platform", platform]
        done = subprocess.run([*argv, f"tensorflow[and-cuda]=={release}"], capture_output=True, text=True,
                              timeout=1800)
    if done.returncode == 0:
        return None
    errors = [line.removeprefix("ERROR: ") for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    return errors[-1] if errors else f"pip exited {done.returncode}"


def resolve_extras(releases: dict[Version, Release], since: Version, pip_python: str) -> None:
    for release in sorted(releases.values(), key=lambda r: r.version):
        if release.version < since:
            continue
        for tag in sorted(release.python, key=tag_order):
            error = and_cuda_error(pip_python, release.version, tag)
            print(f"tensorflow[and-cuda]=={release.version} cp{tag[2:]}: {error or 'resolves'}", file=sys.stderr)
            if error:
                release.and_cuda_fails.append(tag)
                release.and_cuda_error = release.and_cuda_error or error


def keep_extras(releases: dict[Version, Release]) -> None:
    """--skip-extras: the and-cuda columns as the current table has them."""
    table = loader.read_table(TABLE)
    for version, row in table.data["and_cuda_fails"].items():
        release = releases.get(Version(version))
        if release is not None:
            release.and_cuda_fails, release.and_cuda_error = list(row["python"]), row["error"]


def row_text(release: Release) -> str:
    python = " ".join(sorted(release.python, key=tag_order))
    return f'    "{release.version}": "{python}; {" ".join(sorted(release.platforms))}"\n'


def and_cuda_text(releases: dict[Version, Release]) -> str:
    text = "and_cuda_fails:\n"
    for version in sorted(releases, reverse=True):
        release = releases[version]
        if release.and_cuda_fails:
            text += (f'  "{version}": {{python: [{", ".join(release.and_cuda_fails)}], '
                     f"error: {json.dumps(release.and_cuda_error)}}}\n")
    return text


def table_text(projects: dict[str, dict[Version, Release]], checked: str) -> str:
    sources = "".join(f"  - {json.dumps(source)}\n" for source in SOURCES)
    text = (HEADER + "sources:\n" + sources + "# The date the rows were last read from the index (YYYY-MM-DD).\n"
            + f'checked: "{checked}"\n' + PLATFORM_TAGS + "projects:\n")
    for project, releases in projects.items():
        text += f"  {project}:\n"
        text += "".join(row_text(releases[version]) for version in sorted(releases, reverse=True))
    return text + and_cuda_text(projects["tensorflow"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checked", default=datetime.date.today().isoformat(), help="the date written (YYYY-MM-DD)")
    parser.add_argument("--index-url", default=INDEX)
    parser.add_argument("--pip-python", default=sys.executable, help="the interpreter whose pip resolves the extras")
    parser.add_argument("--skip-extras", action="store_true", help="keep the and-cuda columns of the current table")
    args = parser.parse_args()
    projects = {project: linux_releases(fetch_files(args.index_url, project)) for project in PROJECTS}
    if args.skip_extras:
        keep_extras(projects["tensorflow"])
    else:
        since = Version(loader.load_table("tensorflow_builds").data["and_cuda_since"])
        resolve_extras(projects["tensorflow"], since, args.pip_python)
    TABLE.write_text(table_text(projects, args.checked))
    print(f"wrote {TABLE}", file=sys.stderr)


if __name__ == "__main__":
    main()
