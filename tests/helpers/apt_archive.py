"""Helpers of the tests that ask the real Debian and Ubuntu archives: an apt of its own per release, in a folder of
its own, whose indexes come signature-checked from the archive itself; ``apt-get install`` against them resolves
a plan's packages with their whole dependency closure for that release, on a bare system of it (nothing is
downloaded or installed, and the machine's own apt configuration, lists and keys are neither read nor touched).

The resolution is apt's own: ``apt-get install --print-uris`` marks the same packages ``apt-get -s install`` does,
then lists what it would download instead of simulating the unpack order (a quarter of the time; the tests
check once that both name the same packages).

One apt root costs one ``apt-get update`` of the release's binary-amd64 indexes (no translations, Contents or
AppStream): about 10 MB for a Debian release, 13 to 40 MB for an Ubuntu LTS with main, restricted and universe.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.network import url_unreachable

UBUNTU = "http://archive.ubuntu.com/ubuntu"
DEBIAN = "http://deb.debian.org/debian"
DEBIAN_SECURITY = "http://deb.debian.org/debian-security"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
"""Debian's archive keys, from the debian-archive-keyring package every Debian machine carries."""
UBUNTU_KEYRING_PACKAGE = "ubuntu-keyring"
"""Debian's package of Ubuntu's archive keys (in Debian from trixie on): fetched from Debian's stable archive, so
Ubuntu's indexes are checked against keys that came through Debian's signed archive."""
UPDATE_TIMEOUT = 600
"""Seconds one ``apt-get update`` may take (40 MB for Ubuntu 22.04, a few seconds on a good link)."""
SIMULATE_TIMEOUT = 180


@dataclass(frozen=True)
class Release:
    """A Debian or Ubuntu release as its archive serves it: the release pocket with -updates and -security."""

    distribution: str  # "debian" | "ubuntu"
    codename: str

    @property
    def title(self) -> str:
        return f"{self.distribution.capitalize()} {self.codename}"

    @property
    def mirror(self) -> str:
        return UBUNTU if self.distribution == "ubuntu" else DEBIAN

    @property
    def components(self) -> str:
        # Ubuntu's NVIDIA drivers are in restricted and python3-pip in universe; Debian's driver in non-free
        return ("main restricted universe" if self.distribution == "ubuntu"
                else "main contrib non-free non-free-firmware")

    @property
    def release_file(self) -> str:
        return f"{self.mirror}/dists/{self.codename}/InRelease"

    def suites(self) -> list[tuple[str, str]]:
        """(archive URL, suite) of every pocket a default install of the release has in its sources."""
        security = self.mirror if self.distribution == "ubuntu" else DEBIAN_SECURITY
        return [(self.mirror, self.codename), (self.mirror, f"{self.codename}-updates"),
                (security, f"{self.codename}-security")]


def release_of(facts: dict) -> Release | None:
    """The archive release of a host's facts (os.id, os.codename), None where it is not Debian's or Ubuntu's."""
    if facts.get("os.id") in ("debian", "ubuntu") and facts.get("os.codename"):
        return Release(facts["os.id"], facts["os.codename"])
    return None


@dataclass(frozen=True)
class AptResolution:
    """What ``apt-get install --print-uris`` (or ``-s``) says about installing some requests on a bare system."""

    ok: bool
    installs: dict[str, str]
    """{package: version} of every package it would install (the whole dependency closure)."""
    download: int
    """Bytes it would download (0 from ``-s``, which does not say)."""
    selected: dict[str, str]
    """{requested name: package apt took for it}, where a requested name is virtual ("Note, selecting ...")."""
    errors: list[str]
    """apt's E: lines and the unmet dependencies it lists, when it cannot resolve."""

    def package_for(self, request: str) -> str | None:
        """The package that would be installed for a request ("name" or "name=version"), None if none."""
        name = request.partition("=")[0]
        name = self.selected.get(name, name)
        return name if name in self.installs else None


_INST = re.compile(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) ", re.M)
_URI = re.compile(r"^'[^']+' ([^_\s]+)_([^_\s]+)_[^_\s]+\.deb (\d+) ", re.M)
"""--print-uris: 'URL' name_version_arch.deb size hash (the version's epoch colon written %3a)."""
_SELECTED = re.compile(r"^Note, selecting '([^']+)' instead of '([^']+)'", re.M)
_UNMET = re.compile(r"^ (\S+) : (?:Pre)?Depends: .*$", re.M)


def parse_resolution(returncode: int, stdout: str, stderr: str) -> AptResolution:
    """apt-get's answer, from ``--print-uris`` lines or ``-s`` Inst lines."""
    errors = [line for line in stderr.splitlines() if line.startswith("E:")]
    errors += [match.group(0).strip() for match in _UNMET.finditer(stdout)]
    selected = {wanted: chosen for chosen, wanted in _SELECTED.findall(stdout)}
    installs = dict(_INST.findall(stdout))
    download = 0
    for name, version, size in _URI.findall(stdout):
        installs[name] = urllib.parse.unquote(version)
        download += int(size)
    if returncode != 0 and not errors:
        errors = [stderr.strip()[-1000:] or f"apt-get exited {returncode}"]
    return AptResolution(returncode == 0 and not errors, installs, download, selected, errors)


_UPDATE_FAILURE = re.compile(r"^(E:|Err:|W: (Failed to fetch|GPG error|Some index files failed|The repository))")


class AptRoot:
    """An apt of its own for one set of sources, under ``folder``: its configuration, sources, lists, caches and an
    empty dpkg status (so ``-s install`` resolves everything a bare system of that release would need)."""

    def __init__(self, folder: Path, sources: Sequence[str]):
        self.folder = folder
        for sub in ("etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d",
                    "etc/apt/trusted.gpg.d", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial",
                    "var/lib/dpkg", "var/log/apt"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / "var/lib/dpkg/status").write_text("")
        (folder / "etc/apt/sources.list").write_text("".join(f"{line}\n" for line in sources))
        self.config = folder / "apt.conf"
        self.config.write_text(apt_config(folder))
        self._resolutions: dict[tuple[str, ...], AptResolution] = {}

    def apt(self, tool: str, *args: str, timeout: int, cwd: Path | None = None) -> subprocess.CompletedProcess:
        # APT_CONFIG is read before anything else, and it points the parts folder and the main file into the root:
        # nothing of this machine's /etc/apt applies
        env = {**os.environ, "APT_CONFIG": str(self.config), "LC_ALL": "C"}
        return subprocess.run([tool, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL)

    def update(self) -> str:
        """Download the indexes; apt's own summary ("Fetched 39.9 MB in 4s") with the wall time. An index that
        cannot be fetched or whose signature does not verify fails the test: that is no reason to skip."""
        started = time.monotonic()
        done = self.apt("apt-get", "update", timeout=UPDATE_TIMEOUT)
        output = done.stdout + done.stderr
        failures = [line for line in output.splitlines() if _UPDATE_FAILURE.match(line)]
        if done.returncode != 0 or failures:
            pytest.fail(f"apt-get update of {self.folder.name} failed:\n" + "\n".join(failures or [output[-2000:]]))
        fetched = re.search(r"^Fetched .*$", done.stdout, re.M)
        return f"{fetched.group(0) if fetched else 'nothing fetched'} ({time.monotonic() - started:.1f} s)"

    def resolve(self, requests: Sequence[str]) -> AptResolution:
        """What ``apt-get install <requests>`` would install on a bare system of this release, with the download
        it needs; answered once per request list. --assume-no: were apt ever to ask, it would answer no."""
        key = tuple(requests)
        if key not in self._resolutions:
            done = self.apt("apt-get", "-q", "--assume-no", "--print-uris", "install", *key,
                            timeout=SIMULATE_TIMEOUT)
            self._resolutions[key] = parse_resolution(done.returncode, done.stdout, done.stderr)
        return self._resolutions[key]

    def names(self, prefix: str) -> list[str]:
        """Every package name the indexes list that starts with ``prefix``."""
        return self.apt("apt-cache", "pkgnames", prefix, timeout=SIMULATE_TIMEOUT).stdout.split()

    def simulate(self, requests: Sequence[str]) -> AptResolution:
        """``apt-get -s install <requests>``: the same marking as resolve(), then the unpack order simulated."""
        done = self.apt("apt-get", "-s", "-q", "install", *requests, timeout=SIMULATE_TIMEOUT)
        return parse_resolution(done.returncode, done.stdout, done.stderr)

    def download(self, package: str, into: Path) -> Path:
        """The .deb of ``package``, its checksum checked against the signed index."""
        into.mkdir(parents=True, exist_ok=True)
        done = self.apt("apt-get", "download", "-q", package, timeout=UPDATE_TIMEOUT, cwd=into)
        found = sorted(into.glob(f"{package}_*.deb"))
        if done.returncode != 0 or not found:
            pytest.fail(f"apt-get download {package} failed: {done.stderr[-1000:]}")
        return found[-1]


def apt_config(root: Path) -> str:
    """The configuration of an isolated apt root: amd64 only, binary indexes only, bounded timeouts."""
    user = pwd.getpwuid(os.geteuid()).pw_name  # root downloads as itself: the root's folder is private to it
    return "\n".join([
        f'Dir "{root}/";',
        'Dir::Etc "etc/apt/";',
        'Dir::Etc::Parts "apt.conf.d/";',
        'Dir::Etc::main "apt.conf";',
        'Dir::State "var/lib/apt/";',
        'Dir::State::status "var/lib/dpkg/status";',
        'Dir::Cache "var/cache/apt/";',
        'Dir::Cache::srcpkgcache "";',  # the binary cache is enough: 65 MB less for Ubuntu 22.04
        'Dir::Log "var/log/apt/";',
        'Dir::Bin::dpkg "/bin/false";',  # this root installs nothing: no dpkg call can reach the machine's own
        'APT::Architecture "amd64";',
        'APT::Architectures { "amd64"; };',
        f'APT::Sandbox::User "{user}";',
        'Acquire::Languages "none";',
        'Acquire::PDiffs "false";',
        'Acquire::GzipIndexes "true";',
        'Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";',
        'Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";',
        'Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";',
        'Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";',
        'Acquire::IndexTargets::deb::CNF::DefaultEnabled "false";',
        'Acquire::http::Timeout "30";',
        'Acquire::Retries "2";',
        "",
    ])


class Archives:
    """The apt roots of one test session, made on first use under ``folder`` and kept: each release's indexes are
    downloaded once. A release whose archive cannot be reached, or which its archive no longer serves, skips the
    test that asks for it, saying which."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.roots: dict[Release, AptRoot] = {}
        self.downloads: list[str] = []
        """One line per apt-get update of the session: what it fetched and how long it took."""
        self._failed: dict[Release, str] = {}
        self._ubuntu_keyring: Path | None = None

    def root(self, release: Release) -> AptRoot:
        if release in self._failed:
            pytest.fail(self._failed[release])
        if release not in self.roots:
            self._require(release.release_file, f"{release.title}'s archive index")
            keyring = self.ubuntu_keyring() if release.distribution == "ubuntu" else DEBIAN_KEYRING
            sources = [f"deb [signed-by={keyring}] {url} {suite} {release.components}"
                       for url, suite in release.suites()]
            self.roots[release] = self._updated(f"{release.distribution}-{release.codename}", sources, release)
        return self.roots[release]

    def ubuntu_keyring(self) -> Path:
        """Ubuntu's archive keyring, unpacked from Debian's ubuntu-keyring package."""
        if self._ubuntu_keyring is None:
            stable = Release("debian", "stable")
            self._require(stable.release_file, "Debian's archive index (it carries Ubuntu's archive keys)")
            root = self._updated("debian-stable-keyring",
                                 [f"deb [signed-by={DEBIAN_KEYRING}] {DEBIAN} stable main"], stable)
            deb = root.download(UBUNTU_KEYRING_PACKAGE, self.folder / "ubuntu-keyring")
            unpacked = self.folder / "ubuntu-keyring" / "files"
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True, capture_output=True, timeout=60)
            shutil.rmtree(root.folder)  # its only use was the keyring
            self._ubuntu_keyring = unpacked / "usr/share/keyrings/ubuntu-archive-keyring.gpg"
        return self._ubuntu_keyring

    def _require(self, url: str, what: str) -> None:
        reason = url_unreachable(url, what)
        if reason and "HTTP 404" in reason:
            pytest.skip(f"{reason}: the release has left that archive, so its packages cannot be checked here")
        if reason:
            pytest.skip(f"{reason}: this test resolves against that archive")

    def _updated(self, name: str, sources: list[str], release: Release) -> AptRoot:
        root = AptRoot(self.folder / name, sources)
        try:
            self.downloads.append(f"{name}: {root.update()}")
        except pytest.fail.Exception as failure:
            self._failed[release] = str(failure)
            raise
        return root


def missing_tools() -> str | None:
    """Why this machine cannot run an isolated apt (the reason the tests skip with), None when it can."""
    for tool in ("apt-get", "dpkg-deb"):
        if not any(Path(folder, tool).is_file() for folder in os.get_exec_path()):
            return f"{tool} is absent: the archive tests need a Debian-family machine's apt"
    if not DEBIAN_KEYRING.is_file():
        return f"{DEBIAN_KEYRING} is absent (the debian-archive-keyring package): nothing could verify the archive"
    return None
