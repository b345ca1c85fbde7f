"""Probe: the distribution (os.*).

By hand: ``cat /etc/os-release`` (or /usr/lib/os-release), ``cat /etc/lsb-release``, ``cat /etc/redhat-release``,
``cat /etc/debian_version``. The files are parsed as python-distro parses them (its two static parsers, copied
below), fed text read through the host source, so that a snapshot parses exactly as the live machine does.
"""

from __future__ import annotations

import io
import re
import shlex

from setupkit.facts import Facts
from setupkit.host.base import Host
from setupkit.probes.text import clean_lines

OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
MAX_RELEASE_FILE = 64 * 1024
"""os-release and lsb-release hold a few hundred bytes; distro's shlex-based parser takes seconds a megabyte
(minutes on one long line), so a larger file is malformed."""

FAMILIES = {
    "debian": "debian", "ubuntu": "debian",
    "rhel": "rhel", "centos": "rhel", "fedora": "rhel", "rocky": "rhel", "almalinux": "rhel",
    "suse": "suse", "sles": "suse",
    "arch": "arch", "manjaro": "arch",
}

# python-distro 1.9.0 (Apache-2.0), distro.py: the reversed pattern of a "<name> release <version> (<codename>)"
# line. Copied with its two parsers rather than imported: importing distro loads logging and argparse, a
# twentieth of `setupkit doctor`'s time (benchmarks/doctor_speed.py).
_DISTRO_RELEASE_REVERSED = re.compile(r"(?:[^)]*\)(.*)\()? *(?:STL )?([\d.+\-a-z]*\d) *(?:esaeler *)?(.+)")
_VERSION_CODENAME = re.compile(r"\((\D+)\)|,\s*(\D+)")

_DEBIAN_MAJOR = re.compile(r"([0-9]{1,4})(?:\.|$)")

# First word of a /etc/redhat-release name -> os-release ID.
_RELEASE_NAME_IDS = {"red": "rhel", "centos": "centos", "fedora": "fedora", "rocky": "rocky", "almalinux": "almalinux"}


def parse_os_release(text: str | None) -> dict[str, str]:
    """KEY=value lines of os-release (or lsb-release) -> {lower-case key: value}; {} when empty or malformed.

    This is python-distro's ``LinuxDistribution._parse_os_release_content`` (shell quoting, comments, CRLF), given
    text rather than opening /etc itself.
    """
    if not isinstance(text, str) or not text or len(text) > MAX_RELEASE_FILE:
        return {}
    lexer = shlex.shlex(io.StringIO(text), posix=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # shlex: "No closing quotation"
        return {}
    # After the shell-like parsing, a token is an assignment var=value or a word os-release does not allow.
    props = {key.lower(): value for key, _, value in (token.partition("=") for token in tokens if "=" in token)}
    if "version" in props:
        match = _VERSION_CODENAME.search(props["version"])
        if match:
            props["codename"] = props["release_codename"] = match.group(1) or match.group(2)
    if "version_codename" in props:
        props["codename"] = props["version_codename"]
    elif "ubuntu_codename" in props:  # older Ubuntus' name for it
        props["codename"] = props["ubuntu_codename"]
    return props


def parse_distro_release(text: str | None) -> dict[str, str]:
    """The first line of /etc/redhat-release -> {name, version_id, codename} (python-distro's
    ``_parse_distro_release_content``)."""
    lines = clean_lines(text)
    if not lines:
        return {}
    line = lines[0]
    matches = _DISTRO_RELEASE_REVERSED.match(line.strip()[::-1])
    if not matches:
        return {"name": line.strip()} if line else {}
    info = {"name": matches.group(3)[::-1]}
    if matches.group(2):
        info["version_id"] = matches.group(2)[::-1]
    if matches.group(1):
        info["codename"] = matches.group(1)[::-1]
    return info


def os_family(os_id: str | None, id_like: str | None) -> str | None:
    """debian | rhel | suse | arch | other, from ID then ID_LIKE; None when the ID is unknown."""
    if not os_id:
        return None
    for word in [os_id, *(id_like or "").split()]:
        word = word.lower()
        if word in FAMILIES:
            return FAMILIES[word]
        if word.startswith("opensuse"):
            return "suse"
    return "other"


def release_name_id(name: str | None) -> str | None:
    """"CentOS Linux" -> "centos", "Red Hat Enterprise Linux Server" -> "rhel"."""
    words = (name or "").lower().split()
    if not words:
        return None
    return _RELEASE_NAME_IDS.get(words[0], words[0])


def debian_version_id(text: str | None) -> str | None:
    """/etc/debian_version "12.11" -> "12"; a testing name such as "trixie/sid" (or '²') -> None."""
    lines = clean_lines(text)
    match = _DEBIAN_MAJOR.match(lines[0].strip()) if lines else None
    return match.group(1) if match else None


def identity(os_props: dict[str, str], lsb: dict[str, str], redhat: str | None,
             debian: str | None) -> dict[str, str | None]:
    """id, version_id, pretty_name and id_like from the first source that names the distribution."""
    if os_props.get("id"):
        return {key: os_props.get(key) for key in ("id", "version_id", "pretty_name", "id_like")}
    if lsb.get("distrib_id"):
        return {"id": lsb["distrib_id"].lower(), "version_id": lsb.get("distrib_release"),
                "pretty_name": lsb.get("distrib_description"), "id_like": None}
    release = parse_distro_release(redhat)
    if release.get("name"):
        return {"id": release_name_id(release["name"]), "version_id": release.get("version_id"),
                "pretty_name": clean_lines(redhat)[0].strip(), "id_like": None}
    if debian is not None:
        return {"id": "debian", "version_id": debian_version_id(debian), "pretty_name": None, "id_like": None}
    return {}


def codename(os_props: dict[str, str], lsb: dict[str, str]) -> str | None:
    """VERSION_CODENAME or UBUNTU_CODENAME of os-release, else DISTRIB_CODENAME (Ubuntu 14.04 has only that)."""
    return os_props.get("version_codename") or os_props.get("ubuntu_codename") or lsb.get("distrib_codename") or None


def read_os_release(host: Host) -> dict[str, str]:
    for path in OS_RELEASE_FILES:
        props = parse_os_release(host.read_text(path))
        if props.get("id"):
            return props
    return {}


def probe(host: Host, facts: Facts) -> Facts:
    os_props = read_os_release(host)
    lsb = parse_os_release(host.read_text("/etc/lsb-release"))
    found = identity(os_props, lsb, host.read_text("/etc/redhat-release"), host.read_text("/etc/debian_version"))
    return {
        "os.id": found.get("id"),
        "os.version_id": found.get("version_id"),
        "os.pretty_name": found.get("pretty_name"),
        "os.family": os_family(found.get("id"), found.get("id_like")),
        "os.codename": codename(os_props, lsb),
    }
