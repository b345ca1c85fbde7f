"""Helpers for the fleet tests: run ansible-playbook with its state under tmp_path, read its PLAY RECAP, and a
fake `setupkit` (with a fake nvidia-smi) for the provision paths that would need root, a GPU and a reboot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$", re.MULTILINE)


def ansible_env(tmp: Path, **extra: str) -> dict[str, str]:
    """Ansible's temp, cache and home under tmp; plain output (no colour, no cows) that tests can parse."""
    return dict(os.environ, ANSIBLE_HOME=str(tmp / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
                ANSIBLE_REMOTE_TEMP=str(tmp / "ansible-remote-tmp"), ANSIBLE_NOCOWS="1", ANSIBLE_NOCOLOR="1",
                ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="0",
                ANSIBLE_STDOUT_CALLBACK="default", PYTHONDONTWRITEBYTECODE="1", NO_COLOR="1", **extra)


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}} from the PLAY RECAP."""
    recap = output.rsplit("PLAY RECAP", 1)[-1]
    return {m["host"]: {k: int(v) for k, v in (pair.split("=") for pair in m["counts"].split())}
            for m in RECAP_LINE.finditer(recap)}


def recap_line(output: str, host: str = "localhost") -> str:
    recap = output.rsplit("PLAY RECAP", 1)[-1]
    return next((line.strip() for line in recap.splitlines() if line.startswith(host + " ")), "")


def run_playbook(playbook: str, tmp: Path, extra_vars: dict, *, env: dict[str, str] | None = None,
                 timeout: float = 300, inventory: str = "localhost,",
                 options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """ansible-playbook PLAYBOOK with a local connection (localhost by default), extra vars as one JSON document."""
    argv = ["ansible-playbook", "-i", inventory, "-c", "local", *options, str(PLAYBOOKS / playbook),
            "-e", json.dumps({"ansible_python_interpreter": sys.executable, **extra_vars})]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=tmp,
                          env=env or ansible_env(tmp))


def frozen_checkout(tmp: Path) -> Path:
    """A still copy of the repository's package files: the working tree may change under a running test, and a
    changed source rightly makes the playbook rebuild setupkit."""
    copy = tmp / "checkout"
    for name in ("pyproject.toml", "build_tables.py", "MANIFEST.in", "README.md", "LICENSE", "setupkit", "checks"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        elif source.is_file():
            copy.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


def local_install_vars(tmp: Path, source: Path) -> dict:
    """Variables for a real install on this machine: a venv under tmp that sees the installed TensorFlow and
    builds setupkit offline, no sudo (the tests run as the user they are), no distribution packages."""
    home = tmp / "setupkit-home"
    _venv_seeing_this_environment(home / "venv")
    return {"setupkit_source": str(source), "setupkit_home": str(home),
            "setupkit_reports_dir": str(tmp / "reports"), "setupkit_venv_site_packages": True,
            "setupkit_pip_extra_args": "--no-build-isolation", "setupkit_become": False,
            "setupkit_system_packages": []}


def _venv_seeing_this_environment(venv: Path) -> None:
    """Make the role's venv before the role does (it keeps a venv it finds), seeing the packages of the
    environment the tests run in. ``--system-site-packages`` alone sees only the base interpreter's: when the
    tests run in a venv (the README's way), TensorFlow and setupkit's dependencies live in that venv, so a .pth
    file adds its site-packages after the new venv's own."""
    if venv.exists():
        return
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300,
                   capture_output=True)
    if sys.prefix != sys.base_prefix:
        import sysconfig

        purelib = sysconfig.get_paths()["purelib"]
        target = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        (target / "setupkit-tests-environment.pth").write_text(purelib + "\n")


FAKE_SETUPKIT = '''\
#!{python}
"""A fake setupkit for provision.yml: {gpus} GPU(s); install marks the stack installed (its driver step needs a
reboot when told so; a blocked plan refuses to run). Every call is appended to calls.log."""
import json, pathlib, sys
HERE = pathlib.Path({here!r})
installed = (HERE / "installed").exists()
(HERE / "calls.log").open("a").write(" ".join(sys.argv[1:]) + "\\n")
verb = sys.argv[1]
if verb == "doctor":
    facts = {{"gpu.count": {gpus}, "gpu.names": ["Fake GPU"] * {gpus}, "os.pretty_name": "Fake OS",
             "driver.loaded": installed, "driver.version": "580.95.05" if installed else None}}
    findings = {findings!r}
    print(json.dumps({{"schema": "setupkit-doctor/1", "status": "fail" if findings else "pass", "facts": facts,
                      "findings": findings}}))
    sys.exit(1 if findings else 0)
elif verb == "install":
    dry = "--dry-run" in sys.argv
    blocked = {blocked!r} if not installed else None
    if blocked and not dry:
        sys.exit("setupkit: " + blocked + "; then run setupkit install again")
    if not dry:
        (HERE / "installed").touch()
    driver = {{"id": "driver", "title": "Install the driver", "status": "done" if installed or not dry else "todo",
              "reason": "", "commands": [], "files": [], "reboot": {reboot}}}
    driver["changes"], driver["ran"] = True, not dry and not installed
    verify = {{"id": "verify", "title": "Verify with setupkit doctor", "status": "todo" if dry else "done",
              "reason": "", "commands": [], "files": [], "reboot": False, "changes": False, "ran": not dry}}
    # Like the real planner: a reboot is required by a blocker, or by a step that needs one and is still todo
    # or was carried out by this run.
    reboot_required = bool(blocked) or ((driver["status"] == "todo" or driver["ran"]) and driver["reboot"])
    print(json.dumps({{"schema": "setupkit-install/1", "reboot_required": reboot_required, "blocked": blocked,
                      "steps": [driver, verify]}}))
'''


@pytest.fixture
def fake_setupkit(tmp_path):
    """Write a fake setupkit (and a fake nvidia-smi) under tmp_path; returns (setupkit path, its folder, env)."""

    def make(gpus: int = 1, reboot: bool = False, findings: list | None = None, blocked: str | None = None):
        here = tmp_path / "fake"
        here.mkdir(exist_ok=True)
        setupkit = here / "setupkit"
        setupkit.write_text(FAKE_SETUPKIT.format(python=sys.executable, here=str(here), gpus=gpus, reboot=reboot,
                                                 findings=findings or [], blocked=blocked))
        nvidia_smi = here / "nvidia-smi"
        nvidia_smi.write_text(textwrap.dedent("""\
            #!/bin/sh
            echo "GPU 0: Fake GPU (UUID: GPU-00000000-0000-0000-0000-000000000000)"
            """))
        for program in (setupkit, nvidia_smi):
            program.chmod(0o755)
        env = ansible_env(tmp_path, PATH=f"{here}{os.pathsep}{os.environ['PATH']}")
        return setupkit, here, env

    return make


@pytest.fixture(scope="session")
def fleet():
    """The helpers above, for tests (pytest's importlib mode keeps conftest out of reach of imports)."""
    return SimpleNamespace(REPO=REPO, PLAYBOOKS=PLAYBOOKS, ROLE=PLAYBOOKS / "roles" / "setupkit", env=ansible_env,
                           parse_recap=parse_recap, recap_line=recap_line, run_playbook=run_playbook,
                           frozen_checkout=frozen_checkout, local_install_vars=local_install_vars)


@pytest.fixture(scope="module")
def ssh_fleet(tmp_path_factory):
    """Start a fleet of sshd hosts: ``ssh_fleet(["fleet-a", "fleet-b"], unreachable=("fleet-z",))`` returns a
    tests.fleet.sshfleet.SshFleet (``.inventory``, ``.host_dir(name)``, ``.ssh(name, cmd)``, ``.run_playbook``).
    Module-scoped: a module's tests share it; every sshd is stopped when the module ends."""
    from tests.fleet import sshfleet

    reason = sshfleet.missing_requirement()
    if reason:
        pytest.skip(f"no ssh fleet here: {reason}")
    started: list = []

    def start(names, unreachable=()):
        fleet = sshfleet.start_fleet(tmp_path_factory.mktemp("ssh-fleet"), list(names), tuple(unreachable))
        started.append(fleet)
        return fleet

    yield start
    for fleet in started:
        fleet.stop()
