"""`setupkit snapshot --redact`: identities go, data stays.

A host or user name is replaced where it stands as a whole token, never inside a word (the CPU flag vme on a
host named vm) and never as a path component (/proc on a host named proc); every /home/<name> is an identity.
The recordings are the real H100 capture carried by the project, plus identity-bearing files.
"""

from __future__ import annotations

import json
import re
import socket
import tarfile
from pathlib import Path

import pytest

from setupkit.host.base import CommandResult, PythonInfo
from setupkit.host.bundle import TAR_MTIME
from setupkit.host.recording import Recording
from setupkit.host.snapshot import SnapshotHost
from setupkit.probes import collect_facts
from setupkit.snapshot.redact import SSH_STAND_IN, redact_recording
from setupkit.snapshot.run import default_output, write_snapshot

UUID = "GPU-c8a18bfd-e4b1-ed51-a742-b00675a77712"
CLIENT = "203.0.113.7 52144 10.0.0.5 22"
IDENTITY_FACTS = ("gpu.uuids", "env.cuda_visible_devices", "python.executable", "python.include")


def h100_recording(h100: Path, extra: dict[str, bytes]) -> Recording:
    """The capture as a recording (flattened links arrive as the small files they are), plus ``extra``."""
    files = {"/" + str(p.relative_to(h100 / "files")): p.read_bytes()
             for p in sorted((h100 / "files").rglob("*")) if p.is_file()}
    commands = {tuple(c["argv"]): CommandResult(tuple(c["argv"]), c["returncode"], c["stdout"], c["stderr"])
                for c in json.loads((h100 / "commands.json").read_text())}
    commands[("nvidia-smi", "-L")] = CommandResult(("nvidia-smi", "-L"), 0, f"GPU 0: NVIDIA H100 (UUID: {UUID})\n")
    return Recording(
        files={**files, **extra},
        commands=commands,
        nvml={**json.loads((h100 / "nvml.json").read_text()),
              "processes": [{"pid": 7, "name": "/home/alice/v/bin/python"}]},
        env={"PATH": "/home/alice/.local/bin:/usr/bin", "SSH_CONNECTION": CLIENT, "VIRTUAL_ENV": "/home/alice/v",
             "CUDA_VISIBLE_DEVICES": UUID},
        python=PythonInfo("/home/alice/v/bin/python", "3.12.3", 64, "24.0", {"numpy": "1.26.4"},
                          include="/home/alice/v/include/python3.12", ensurepip=True),
    )


@pytest.fixture
def identity(monkeypatch):
    """This process seen as host ``name`` (FQDN ``fqdn``), run by alice; no resolver is asked."""

    def become(name: str, fqdn: str | None = None) -> None:
        monkeypatch.setattr(socket, "gethostname", lambda: name)
        monkeypatch.setattr(socket, "getfqdn", lambda *args: fqdn or name)
        for key in ("USER", "LOGNAME"):
            monkeypatch.setenv(key, "alice")
        monkeypatch.delenv("SUDO_USER", raising=False)
        monkeypatch.setenv("HOME", "/home/alice")

    return become


def facts(record: Recording, folder: Path):
    with SnapshotHost(write_snapshot(record, str(folder))) as host:
        return collect_facts(host)


def without_identities(found) -> dict:
    return {name: value for name, value in found.items() if name not in IDENTITY_FACTS}


def token(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_/-]){re.escape(name)}(?![A-Za-z0-9_/-])")


def everything(record: Recording) -> str:
    return json.dumps([sorted(record.files), [d.decode("utf-8", "replace") for d in record.files.values()],
                       sorted(record.links.items()), sorted(record.dirs),
                       [[*r.argv, r.stdout, r.stderr] for r in record.commands.values()], record.nvml, record.env,
                       record.python.executable])


def test_on_a_host_named_vm_the_flags_stay_and_the_name_goes(identity, h100_snapshot, tmp_path):
    identity("vm", "vm.example.internal")
    extra = {"/etc/hostname": b"vm\n", "/etc/hosts": b"127.0.1.1\tvm.example.internal vm\n",
             "/proc/sys/vm/swappiness": b"60\n", "/etc/motd": b"Welcome to vm! See http://vm:8080/ or //vm/share\n"}
    record = h100_recording(h100_snapshot, extra)
    redacted = redact_recording(record)

    assert b" vme " in record.files["/proc/cpuinfo"]
    assert redacted.files["/proc/cpuinfo"] == record.files["/proc/cpuinfo"]  # vme, vmx: words, not the host
    assert redacted.files["/proc/sys/vm/swappiness"] == b"60\n"  # a path component, not the host
    assert redacted.files["/etc/hostname"] == b"redacted-host\n"
    assert redacted.files["/etc/hosts"] == b"127.0.1.1\tredacted-host redacted-host\n"
    assert redacted.files["/etc/motd"] == (b"Welcome to redacted-host! See http://redacted-host:8080/"
                                           b" or //redacted-host/share\n")
    text = everything(redacted)
    assert not token("vm").search(text) and "example.internal" not in text

    before, after = facts(record, tmp_path / "plain"), facts(redacted, tmp_path / "redacted")
    assert "vme" in after["cpu.flags"]
    assert after["python.executable"] == "/home/user/v/bin/python"
    assert without_identities(before) == without_identities(after)


def test_on_a_host_named_proc_the_proc_tree_stays(identity, h100_snapshot, tmp_path):
    identity("proc")
    record = h100_recording(h100_snapshot, {"/etc/hostname": b"proc\n"})
    record.commands[("ls", "/proc/driver/nvidia/gpus")] = CommandResult(("ls", "/proc/driver/nvidia/gpus"), 0,
                                                                         "/proc/driver/nvidia/gpus/0000:00:06.0\n")
    redacted = redact_recording(record)

    assert set(redacted.files) - {"/etc/hostname"} == set(record.files) - {"/etc/hostname"}
    uuid_free = {p: d for p, d in record.files.items() if p.startswith("/proc/") and UUID.encode() not in d}
    assert len(uuid_free) >= 4 and all(redacted.files[p] == d for p, d in uuid_free.items())
    assert redacted.commands[("ls", "/proc/driver/nvidia/gpus")].stdout == "/proc/driver/nvidia/gpus/0000:00:06.0\n"
    assert redacted.files["/etc/hostname"] == b"redacted-host\n"

    before, after = facts(record, tmp_path / "plain"), facts(redacted, tmp_path / "redacted")
    assert after["driver.version"] == "580.159.04" and without_identities(before) == without_identities(after)


def test_users_homes_the_ssh_client_and_uuids(identity, h100_snapshot):
    identity("gpu-box-17")
    extra = {"/home/alice/.bashrc": b"export PATH=/home/alice/bin:$PATH  # alice@gpu-box-17\n",
             "/home/bob/notes.txt": b"bob's, next to malice and alice-2\n"}
    redacted = redact_recording(h100_recording(h100_snapshot, extra))

    assert redacted.files["/home/user/.bashrc"] == b"export PATH=/home/user/bin:$PATH  # user@redacted-host\n"
    # bob is another user: his home is an identity (user2); "bob" as a word is not known to be a name.
    assert redacted.files["/home/user2/notes.txt"] == b"bob's, next to malice and alice-2\n"
    assert redacted.env["SSH_CONNECTION"] == SSH_STAND_IN and redacted.env["VIRTUAL_ENV"] == "/home/user/v"
    assert redacted.python.executable == "/home/user/v/bin/python"
    # build-tf's facts survive redaction: the headers' folder with its home redacted, ensurepip as it was.
    assert redacted.python.include == "/home/user/v/include/python3.12" and redacted.python.ensurepip is True
    assert redacted.nvml["processes"][0]["name"] == "/home/user/v/bin/python"
    text = everything(redacted)
    assert not token("alice").search(text) and "gpu-box-17" not in text and "203.0.113.7" not in text
    assert UUID not in text
    smi = redacted.commands[("nvidia-smi", "-q")].stdout
    assert "1752524022246" not in smi and "Serial Number                                      : redacted-serial" in smi
    assert "Chassis Serial Number                          : N/A" in smi  # N/A says nothing: it stays
    # The same UUID, the same stand-in everywhere: CUDA_VISIBLE_DEVICES still names the GPU nvidia-smi lists.
    assert redacted.env["CUDA_VISIBLE_DEVICES"] in redacted.commands[("nvidia-smi", "-L")].stdout


def test_a_name_the_distribution_states_is_left_alone(identity, h100_snapshot, tmp_path, monkeypatch):
    identity("ubuntu")  # Ubuntu's installer suggests it; the capture's os-release says ID=ubuntu
    monkeypatch.setenv("USER", "ubuntu")
    extra = {"/etc/hostname": b"ubuntu\n", "/home/ubuntu/.profile": b"# ~/.profile\n"}
    record = h100_recording(h100_snapshot, extra)
    redacted = redact_recording(record)
    assert redacted.files["/etc/os-release"] == record.files["/etc/os-release"]
    assert "/home/user/.profile" in redacted.files  # a home is an identity all the same
    assert facts(redacted, tmp_path / "redacted")["os.id"] == "ubuntu"


def test_the_bundle_names_nobody(identity, h100_snapshot, tmp_path, monkeypatch):
    identity("gpu-box-17")
    monkeypatch.chdir(tmp_path)
    name = default_output(redact=True)
    assert re.fullmatch(r"setupkit-snapshot-\d{8}-\d{6}\.tar\.gz", name)
    assert "gpu-box-17" in default_output(redact=False)
    path = write_snapshot(h100_recording(h100_snapshot, {}), name, redact=True)
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    assert all("gpu-box-17" not in m.name and m.name.startswith(name[: -len(".tar.gz")]) for m in members)
    assert {(m.uname, m.gname, m.uid, m.gid, m.mtime) for m in members} == {("root", "root", 0, 0, TAR_MTIME)}
    raw = path.read_bytes()
    assert raw[3] & 0x08 == 0, "the gzip header names no file"
    assert int.from_bytes(raw[4:8], "little") == TAR_MTIME


def test_the_command_writes_a_redacted_bundle_without_the_host_name(run_setupkit, tmp_path):
    done = run_setupkit("snapshot", "--redact", cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    written = [p.name for p in tmp_path.iterdir()]
    assert len(written) == 1 and re.fullmatch(r"setupkit-snapshot-\d{8}-\d{6}\.tar\.gz", written[0]), written


def test_the_deep_probes_runs_are_redacted_too(identity, h100_snapshot):
    identity("gpu-box-17")
    record = h100_recording(h100_snapshot, {})
    tf_run = ("/home/alice/v/bin/python", "-I", "-c", "import tensorflow")
    record.probes["tensorflow"] = CommandResult(
        tf_run, 0, json.dumps({"python": "/home/alice/v/bin/python", "gpus": [UUID], "host": "gpu-box-17"}),
        "2026-01-01 I tensorflow: gpu-box-17 /home/alice/v/lib/python3.12/site-packages\n")
    redacted = redact_recording(record)
    run = redacted.probes["tensorflow"]
    text = json.dumps([run.argv, run.stdout, run.stderr])
    assert "alice" not in text and UUID not in text and "gpu-box-17" not in text
    assert run.argv[0] == "/home/user/v/bin/python" and run.returncode == 0
    # The same stand-in as everywhere else: the GPU TensorFlow saw is still the one NVML reports.
    assert json.loads(run.stdout)["gpus"] == [redacted.nvml["devices"][0]["uuid"]]
