"""``setupkit snapshot --redact``: a recording without this host's identities (SNAPSHOT.md, "Writing, and what
``--redact`` leaves")."""

from __future__ import annotations

import dataclasses
import os
import posixpath
import pwd
import re
import socket
from collections.abc import Callable
from typing import Any

from setupkit.host.base import CommandResult, PythonInfo
from setupkit.host.recording import Recording
from setupkit.probes.os_release import OS_RELEASE_FILES, parse_os_release

_GPU_UUID = re.compile(r"\b(GPU|MIG)-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HOST_STAND_IN = "redacted-host"
USER_STAND_IN = "user"
SSH_STAND_IN = "192.0.2.1 0 192.0.2.2 22"
"""SSH_CONNECTION keeps its shape (client address and port, server address and port) with TEST-NET addresses
(RFC 5737): a probe still sees a session over ssh, and nobody learns where from."""
_TOKEN_CHARS = "A-Za-z0-9_-"
_HOME = re.compile(r"/home/([^/\s:;,'\"\x00]+)")
# "Serial Number : 1752524022246" as nvidia-smi -q and dmidecode print it; N/A says nothing and stays.
_SERIAL = re.compile(r"(?im)^([ \t]*(?:[a-z]+ )*serial(?: number)?[ \t]*:[ \t]*)(?!n/a\b)\S.*$")
SERIAL_STAND_IN = "redacted-serial"


def redact_recording(record: Recording) -> Recording:
    """The recording without this host's identities: its names and its users' names where they stand as whole
    tokens (never inside a word: on a host named vm the CPU flag vme stays; never as a path component: on a host
    named proc /proc stays), every /home/<name> (user, user2, ...), SSH_CONNECTION, serial numbers (DMI's files,
    "Serial Number : ..." lines) and GPU UUIDs (each by the same stand-in everywhere, so
    CUDA_VISIBLE_DEVICES=GPU-... still matches), in every file, program output and deep probe's run."""
    hosts, users = local_identities()
    redact = _Redactor(hosts, users, keep=_distribution_words(record))
    env = {key: redact.text(value) if value else value for key, value in (record.env or {}).items()}
    if env.get("SSH_CONNECTION"):
        env["SSH_CONNECTION"] = SSH_STAND_IN
    return Recording(
        files={redact.text(path): redact.data(data) for path, data in sorted(record.files.items())
               if not _is_serial(path)},
        links={redact.text(path): redact.text(target) for path, target in sorted(record.links.items())},
        dirs={redact.text(path) for path in sorted(record.dirs)},
        commands={tuple(map(redact.text, argv)): _redact_command(result, redact.text)
                  for argv, result in record.commands.items()},
        nvml=redact.json(record.nvml) if record.nvml is not None else None,
        env=env if record.env is not None else None,
        python=_redact_python(record.python, redact.text),
        probes={name: _redact_command(result, redact.text) for name, result in record.probes.items()},
    )


def local_identities() -> tuple[set[str], set[str]]:
    """This host's names and the names of the user running setupkit (and of the one behind sudo)."""
    hosts = {socket.gethostname(), socket.getfqdn()} - {"localhost", "localhost.localdomain"}
    users = {os.environ.get("USER"), os.environ.get("SUDO_USER"), os.environ.get("LOGNAME"), _home_user()}
    try:
        users.add(pwd.getpwuid(os.getuid()).pw_name)
    except KeyError:
        pass  # a uid with no passwd entry (a container's): its number is no name
    return {n for n in hosts if n and len(n) > 1}, {n for n in users if n and len(n) > 1 and n != "root"}


def _distribution_words(record: Recording) -> set[str]:
    """What the distribution's os-release states (ubuntu, debian, noble ...). Such a name (the default host name
    "ubuntu", a cloud image's user "debian") says nothing about the machine, and replacing it as a word would
    turn ID=ubuntu into ID=user: it is left alone, but for /home/<name>."""
    words: set[str] = set()
    for path in OS_RELEASE_FILES:
        fields = parse_os_release(record.files.get(path, b"").decode("utf-8", "replace"))
        for key in ("id", "id_like", "version_codename", "ubuntu_codename"):
            words.update(fields.get(key, "").split())
    return words


def _home_user() -> str | None:
    home = os.path.expanduser("~")
    return posixpath.basename(home) if home.startswith("/home/") else None


class _Redactor:
    """Replaces identities in text; the same UUID or home folder always gets the same stand-in."""

    def __init__(self, hosts: set[str], users: set[str], keep: set[str]):
        self._stand_ins = {name: USER_STAND_IN for name in users - keep}
        self._stand_ins.update({name: HOST_STAND_IN for name in hosts - keep})
        names = sorted(self._stand_ins, key=len, reverse=True)  # the FQDN before the short name inside it
        self._tokens = re.compile(
            rf"(?<![{_TOKEN_CHARS}])(?:{'|'.join(map(re.escape, names))})(?![{_TOKEN_CHARS}])") if names else None
        self._homes = {name: USER_STAND_IN for name in users}
        self._uuids: dict[str, str] = {}

    def text(self, text: str) -> str:
        text = _HOME.sub(self._home, text)
        if self._tokens is not None:
            text = self._tokens.sub(self._identity, text)
        text = _SERIAL.sub(rf"\g<1>{SERIAL_STAND_IN}", text)
        return _GPU_UUID.sub(self._uuid, text)

    def data(self, data: bytes) -> bytes:
        # surrogateescape: bytes that are not UTF-8 come back exactly as they were.
        return self.text(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value

    def _identity(self, match: re.Match[str]) -> str:
        text, start, end = match.string, match.start(), match.end()
        # A component of a file-system path (/proc on a host named proc, /etc/vm.conf) is not an identity;
        # a host after // (a URL, a share) is.
        in_path = text[start - 1:start] == "/" or text[end:end + 1] == "/"
        if in_path and text[max(start - 2, 0):start] != "//":
            return match.group(0)
        return self._stand_ins[match.group(0)]

    def _home(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in self._homes:
            others = sum(1 for stand_in in self._homes.values() if stand_in != USER_STAND_IN)
            self._homes[name] = f"{USER_STAND_IN}{others + 2}"
        return f"/home/{self._homes[name]}"

    def _uuid(self, match: re.Match[str]) -> str:
        found = match.group(0)
        if found not in self._uuids:
            self._uuids[found] = f"{match.group(1)}-00000000-0000-0000-0000-{len(self._uuids):012d}"
        return self._uuids[found]


def _is_serial(path: str) -> bool:
    return posixpath.basename(path) in ("product_serial", "board_serial", "chassis_serial", "product_uuid")


def _redact_command(result: CommandResult, replace: Callable[[str], str]) -> CommandResult:
    return CommandResult(tuple(replace(a) for a in result.argv), result.returncode,
                         replace(result.stdout), replace(result.stderr))


def _redact_python(info: PythonInfo | None, replace: Callable[[str], str]) -> PythonInfo | None:
    if info is None:
        return None
    # Paths can hold a home folder (a venv under /home/<name>): they are redacted as every other text.
    return dataclasses.replace(info, executable=replace(info.executable or "") or None,
                               include=replace(info.include or "") or None, packages=dict(info.packages))
