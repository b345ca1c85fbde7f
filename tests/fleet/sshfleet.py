"""A fleet of ssh "hosts" on this machine, for real ansible-playbook runs over ssh.

Each host is one sshd in its own mount and UTS namespace (``unshare --mount --uts``): it has its own host name,
listens on its own loopback address (127.0.0.2, 127.0.0.3, ... port 2222; never any other address) and sees its
own folder bind-mounted over ``/srv/setupkit-host``, so the same path holds different state per host while the
rest of the filesystem (Python, the test environment) is shared. An "unreachable" host is an inventory entry on
a free loopback address where nothing listens. Root logs in with a key made for the fleet.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
HOST_MOUNT = Path("/srv/setupkit-host")
PORT = 2222
# 127.0.0.1 is the machine itself; the fleet takes addresses from .2 up, skipping any already in use.
FIRST_OCTET, LAST_OCTET = 2, 254
START_TIMEOUT = 20.0
# Fleets of several test runs may start at once: each picks its addresses and starts its sshds under this lock,
# and holds its unreachable hosts' addresses with a bound socket (no listen(): connections are refused).
LOCK = Path(tempfile.gettempdir()) / "setupkit-sshfleet.lock"
SSH_OPTIONS = ("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
               "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes")


def missing_requirement() -> str | None:
    """Why a fleet cannot start here, or None when it can."""
    if not SSHD.exists():
        return f"{SSHD} is missing (install openssh-server)"
    for program in ("unshare", "ssh", "ssh-keygen", "mount"):
        if shutil.which(program) is None:
            return f"{program} is not on PATH"
    if os.geteuid() != 0:
        return "the fleet needs root (mount namespaces and bind mounts)"
    return None


def address_is_free(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, PORT))
        except OSError:
            return False
    return True


def _free_addresses(count: int) -> list[str]:
    found = []
    for octet in range(FIRST_OCTET, LAST_OCTET + 1):
        address = f"127.0.0.{octet}"
        if address_is_free(address):
            found.append(address)
            if len(found) == count:
                return found
    raise RuntimeError(f"fewer than {count} free loopback addresses with port {PORT} free")


def _reserve(address: str) -> socket.socket:
    reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reservation.bind((address, PORT))
    return reservation


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "setupkit-fleet", "-f", str(path)],
                   check=True, capture_output=True, timeout=60)


def _sshd_config(address: str, state: Path, host_key: Path, authorized_keys: Path) -> str:
    lines = [f"ListenAddress {address}:{PORT}", f"HostKey {host_key}", f"AuthorizedKeysFile {authorized_keys}",
             f"PidFile {state / 'sshd.pid'}", "StrictModes no", "UsePAM no", "PermitRootLogin yes",
             "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PrintMotd no", "UseDNS no",
             "MaxStartups 64", "MaxSessions 64"]
    sftp = Path("/usr/lib/openssh/sftp-server")
    if sftp.exists():
        lines.append(f"Subsystem sftp {sftp}")
    return "\n".join(lines) + "\n"


@dataclass
class SshHost:
    name: str
    address: str
    directory: Path
    process: subprocess.Popen | None = None
    log: Path | None = None
    # An unreachable host's address, bound and never listened on: refused, and no other fleet can take it.
    reservation: socket.socket | None = None
    # The sshd's mount namespace (/proc/PID/ns/mnt): every process of this host's sessions shares it.
    namespace: str | None = None

    @property
    def reachable(self) -> bool:
        return self.process is not None


@dataclass
class SshFleet:
    """A started fleet: ``inventory`` (INI file), ``host_dir(name)``, ``ssh(name, command)``; ``stop()`` ends it."""

    root: Path
    client_key: Path
    hosts: dict[str, SshHost] = field(default_factory=dict)
    inventory: Path = field(init=False)

    @property
    def names(self) -> list[str]:
        return list(self.hosts)

    def host_dir(self, name: str) -> Path:
        """The real folder that host ``name`` sees as /srv/setupkit-host."""
        return self.hosts[name].directory

    def address(self, name: str) -> str:
        return self.hosts[name].address

    def ssh(self, name: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a shell command on host ``name`` over ssh as root."""
        argv = ["ssh", "-p", str(PORT), "-i", str(self.client_key), *SSH_OPTIONS, f"root@{self.address(name)}",
                command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def write_inventory(self, host_vars: dict[str, dict[str, str]] | None = None) -> Path:
        """(Re)write the INI inventory: group ``fleet``, one line per host; extra per-host variables merged in."""
        common = " ".join(SSH_OPTIONS)
        lines = ["[fleet]"]
        for host in self.hosts.values():
            variables = {"ansible_host": host.address, "ansible_port": str(PORT), "ansible_user": "root",
                         "ansible_ssh_private_key_file": str(self.client_key),
                         "ansible_python_interpreter": sys.executable, **(host_vars or {}).get(host.name, {})}
            lines.append(" ".join([host.name, *(f"{k}={shlex.quote(v)}" for k, v in variables.items())]))
        lines += ["", "[fleet:vars]", f"ansible_ssh_common_args={shlex.quote(common)}", ""]
        self.inventory.write_text("\n".join(lines))
        return self.inventory

    def run_playbook(self, playbook: Path, cwd: Path, extra_vars: dict, env: dict[str, str], *,
                     options: tuple[str, ...] = (), timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """ansible-playbook PLAYBOOK over ssh against this fleet's inventory, extra vars as one JSON document."""
        argv = ["ansible-playbook", "-i", str(self.inventory), *options, str(playbook), "-e", json.dumps(extra_vars)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)

    def stop(self) -> None:
        """End every sshd and everything that runs in its namespace: sshd's sessions call setsid(), so they
        leave its process group, and a client's ControlPersist master keeps them alive."""
        for host in self.hosts.values():
            if host.process is not None:
                _stop_host(host.process, host.namespace)
                host.process = None
            if host.reservation is not None:
                host.reservation.close()
                host.reservation = None


def _mount_namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def pids_in(namespace: str) -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and _mount_namespace(entry) == namespace]


def _stop_host(process: subprocess.Popen, namespace: str | None) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        members = pids_in(namespace) if namespace else []
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (process.poll() is None or
                                               (namespace and pids_in(namespace))):
            time.sleep(0.05)
        if process.poll() is not None and not (namespace and pids_in(namespace)):
            return
    process.wait(timeout=5)


def _wait_until_accepting(host: SshHost, deadline: float) -> None:
    """Block until the host's sshd sends its banner; raise with its log when it died or never answered."""
    while time.monotonic() < deadline:
        assert host.process is not None
        if host.process.poll() is not None:
            raise RuntimeError(f"sshd for {host.name} exited {host.process.returncode}: {_tail(host.log)}")
        try:
            with socket.create_connection((host.address, PORT), timeout=1) as connection:
                if connection.recv(64).startswith(b"SSH-"):
                    namespace = _mount_namespace(host.process.pid)
                    if namespace != _mount_namespace("self"):
                        host.namespace = namespace
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"sshd for {host.name} did not answer on {host.address}:{PORT}: {_tail(host.log)}")


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return "(no log)"
    return log.read_text(errors="replace")[-2000:] or "(empty log)"


def _start_sshd(host: SshHost, state: Path, host_key: Path, authorized_keys: Path) -> None:
    state.mkdir(parents=True, exist_ok=True)
    config = state / "sshd_config"
    config.write_text(_sshd_config(host.address, state, host_key, authorized_keys))
    # Private propagation first, so the bind mount and the host name stay inside this namespace.
    script = (f"mount --make-rprivate / && mount --bind {shlex.quote(str(host.directory))} {HOST_MOUNT} && "
              f"hostname {shlex.quote(host.name)} && exec {SSHD} -D -e -f {shlex.quote(str(config))}")
    host.log = state / "sshd.log"
    with host.log.open("wb") as log:
        host.process = subprocess.Popen(["unshare", "--mount", "--uts", "--fork", "sh", "-c", script],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)


def start_fleet(root: Path, names: list[str], unreachable: tuple[str, ...] = ()) -> SshFleet:
    """Start one sshd per name in ``names`` and add each name in ``unreachable`` as a host where nothing listens.

    Returns once every sshd accepts connections. The caller must call ``stop()`` (the fixture does)."""
    every = [*names, *unreachable]
    if len(set(every)) != len(every):
        raise ValueError(f"host names must be unique: {every}")
    root.mkdir(parents=True, exist_ok=True)
    keys = root / "keys"
    keys.mkdir(exist_ok=True)
    client_key, host_key = keys / "client", keys / "host"
    for key in (client_key, host_key):
        if not key.exists():
            _keygen(key)
    authorized_keys = keys / "authorized_keys"
    authorized_keys.write_text((keys / "client.pub").read_text())
    HOST_MOUNT.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation folder

    fleet = SshFleet(root=root, client_key=client_key)
    fleet.inventory = root / "inventory.ini"
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for name, address in zip(every, _free_addresses(len(every)), strict=True):
                directory = root / "hosts" / name
                directory.mkdir(parents=True, exist_ok=True)
                fleet.hosts[name] = SshHost(name=name, address=address, directory=directory)
            for name in unreachable:
                fleet.hosts[name].reservation = _reserve(fleet.hosts[name].address)
            for name in names:
                _start_sshd(fleet.hosts[name], root / "sshd" / name, host_key, authorized_keys)
            deadline = time.monotonic() + START_TIMEOUT
            for name in names:
                _wait_until_accepting(fleet.hosts[name], deadline)
        except BaseException:
            fleet.stop()
            raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    fleet.write_inventory()
    return fleet
