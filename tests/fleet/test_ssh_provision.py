"""provision.yml over ssh against the ssh_fleet hosts: one host that provisions cleanly (a GPU, no reboot), one
whose install fails, one whose driver needs a reboot, one unreachable; one host per rolling batch. Each host's
setupkit is a fake in its own /srv/setupkit-host (a real install needs root, a GPU and reboots).

The reboot is never real: setupkit_reboot_command and setupkit_boot_time_command are extra variables (nothing
outranks them) naming a script in the host's own folder that writes a new fake boot id; every run first checks
that they are set for every host and that nothing else in the playbooks can reboot."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.fleet import sshfleet

pytestmark = pytest.mark.slow

OK, FAILS, REBOOTS, DOWN = "prov-ok", "prov-fails", "prov-reboots", "prov-down"
REACHABLE = (OK, FAILS, REBOOTS)
HOSTS = (*REACHABLE, DOWN)
# What each reachable host is: its GPUs, whether its driver needs a reboot, whether its install fails.
PROFILES = {OK: {"gpus": 1, "reboot": False, "fails": False},
            FAILS: {"gpus": 0, "reboot": False, "fails": True},
            REBOOTS: {"gpus": 1, "reboot": True, "fails": False}}
HOST = sshfleet.HOST_MOUNT
REBOOT_SCRIPT = HOST / "fake-reboot"
BOOT_ID = HOST / "boot_id"

FAKE_SETUPKIT = '''#!{python}
"""A fake setupkit on one ssh host, its state in /srv/setupkit-host (that host's own folder). fake.json says how
many GPUs the host has, whether its driver step needs a reboot (the driver loads only after one) and whether its
install fails (exit 4, a log in SETUPKIT_INSTALL_LOG_DIR). Every call is appended to calls.log."""
import json, os, pathlib, socket, sys, time
HERE = pathlib.Path("/srv/setupkit-host")
host = json.loads((HERE / "fake.json").read_text())
with (HERE / "calls.log").open("a") as calls:
    calls.write(" ".join(sys.argv[1:]) + "\\n")
installed = (HERE / "installed").exists()
loaded = installed and (not host["reboot"] or (HERE / "rebooted").exists())
stamp = {{"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": socket.gethostname(),
         "setupkit": "0.1.0", "run_id": os.environ.get("SETUPKIT_RUN_ID")}}
verb, dry = sys.argv[1], "--dry-run" in sys.argv


def write_log(text):
    folder = pathlib.Path(os.environ["SETUPKIT_INSTALL_LOG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / time.strftime("install-%Y%m%dT%H%M%S.log", time.gmtime())
    log.write_text(text)
    return log


def plan(steps, blocked=None, reboot_required=False):
    print(json.dumps({{"schema": "setupkit-install/1", "reboot_required": reboot_required, "blocked": blocked,
                      "steps": steps, "stamp": stamp}}))


if verb == "doctor":
    facts = {{"gpu.count": host["gpus"], "gpu.names": ["Fake GPU"] * host["gpus"], "os.pretty_name": "Fake OS",
             "driver.loaded": loaded, "driver.version": "580.95.05" if loaded else None}}
    print(json.dumps({{"schema": "setupkit-doctor/1", "status": "pass", "facts": facts, "findings": [],
                      "stamp": stamp}}))
elif host["fails"]:
    step = {{"id": "tensorflow", "title": "Install TensorFlow", "status": "todo", "changes": True, "ran": False,
            "reason": "", "commands": ["pip install tensorflow"], "files": [], "reboot": False}}
    if dry:
        plan([step])
    else:
        log = write_log("$ pip install tensorflow\\nERROR: No matching distribution found for tensorflow\\n")
        print(f"setupkit: step tensorflow failed (exit 1); log: {{log}}", file=sys.stderr)
        sys.exit(4)
else:
    # Like the real planner: a driver installed but not loaded yet blocks the plan until the host reboots.
    blocked = "the driver is installed but not loaded: reboot first" if installed and not loaded else None
    if blocked and not dry:
        print("setupkit: " + blocked, file=sys.stderr)
        sys.exit(3)
    ran = not dry and not installed
    if ran:
        (HERE / "installed").touch()
        write_log("$ apt-get install -y nvidia-driver-580\\n")
    driver = {{"id": "driver", "title": "Install the driver", "status": "done" if installed or ran else "todo",
              "changes": True, "ran": ran, "reason": "", "commands": [], "files": [], "reboot": host["reboot"]}}
    plan([driver], blocked, bool(blocked) or ((driver["status"] == "todo" or ran) and host["reboot"]))
'''

# nvidia-smi answers once the fake driver is loaded (installed, and rebooted where it needed a reboot).
FAKE_NVIDIA_SMI = '''#!{python}
import json, pathlib, sys
HERE = pathlib.Path("/srv/setupkit-host")
host = json.loads((HERE / "fake.json").read_text())
if not (HERE / "installed").exists() or (host["reboot"] and not (HERE / "rebooted").exists()):
    sys.exit("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
print("GPU 0: Fake GPU (UUID: GPU-00000000-0000-0000-0000-000000000000)")
'''

# The fake reboot: a new boot id (what setupkit_boot_time_command reads), the host marked rebooted. Nothing else.
FAKE_REBOOT = f"""#!/bin/sh
echo reboot >> {HOST}/calls.log
touch {HOST}/rebooted
cat /proc/sys/kernel/random/uuid > {BOOT_ID}
"""

REBOOT_VARS = {"setupkit_reboot_command": str(REBOOT_SCRIPT), "setupkit_boot_time_command": f"cat {BOOT_ID}"}


def write_program(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def task_files(playbooks: Path) -> list[Path]:
    return [*playbooks.glob("*.yml"), *playbooks.glob("roles/*/tasks/*.yml"), *playbooks.glob("examples/*.yml")]


def tasks_in(node):
    """Every task (a mapping with a module) in a parsed playbook or task file, blocks and plays opened."""
    if isinstance(node, list):
        for item in node:
            yield from tasks_in(item)
    elif isinstance(node, dict):
        nested = [node[key] for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always")
                  if key in node]
        if not nested:
            yield node
        for part in nested:
            yield from tasks_in(part)


def assert_nothing_else_can_reboot(playbooks: Path) -> None:
    """The one reboot in the playbooks is reboot.yml's ansible.builtin.reboot, whose command is the variable;
    no command, shell or raw task names a program that reboots or powers off."""
    reboots = []
    for path in task_files(playbooks):
        for task in tasks_in(yaml.safe_load(path.read_text())):
            modules = [key for key in task if key.split(".")[-1] in ("reboot", "command", "shell", "raw", "systemd",
                                                                       "systemd_service", "service")]
            for module in modules:
                text = json.dumps(task[module])
                if module.split(".")[-1] == "reboot":
                    reboots.append((path.relative_to(playbooks).as_posix(), task[module]))
                else:
                    for word in ("reboot", "shutdown", "poweroff", "halt", "kexec", "systemctl", "init 6"):
                        assert word not in text, f"{path}: {task.get('name')} runs {word}"
    assert len(reboots) == 1, reboots
    where, arguments = reboots[0]
    assert where == "roles/setupkit/tasks/reboot.yml"
    assert arguments["reboot_command"] == "{{ setupkit_reboot_command | default(omit) }}"
    assert arguments["boot_time_command"] == "{{ setupkit_boot_time_command | default(omit) }}"


def resolved(hosts, extra: dict, variable: str, env: dict[str, str]) -> dict[str, str]:
    """{host: value} of one variable as Ansible resolves it for each host of the inventory with these extra vars."""
    argv = ["ansible", "all", "-i", str(hosts.inventory), "-o", "-m", "ansible.builtin.debug", "-a", f"var={variable}",
            "-e", json.dumps(extra)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    found = {}
    for line in result.stdout.splitlines():
        host, _, document = line.partition(" | SUCCESS => ")
        found[host] = json.loads(document)[variable]
    return found


def assert_reboot_is_fake(hosts, extra: dict, playbooks: Path, env: dict[str, str]) -> None:
    """Before every run: for every host Ansible resolves the reboot and boot-time commands to the fake in that
    host's own folder, each host sees that fake there, and nothing else in the playbooks can reboot."""
    assert resolved(hosts, extra, "setupkit_reboot_command", env) == {name: str(REBOOT_SCRIPT) for name in HOSTS}
    assert resolved(hosts, extra, "setupkit_boot_time_command", env) == {name: f"cat {BOOT_ID}" for name in HOSTS}
    assert "ansible_connection" not in hosts.inventory.read_text()
    for name in REACHABLE:
        assert (hosts.host_dir(name) / REBOOT_SCRIPT.name).read_text() == FAKE_REBOOT
        seen = hosts.ssh(name, f"test -x {REBOOT_SCRIPT} && cat {REBOOT_SCRIPT}")
        assert seen.returncode == 0 and seen.stdout == FAKE_REBOOT, seen.stderr
    assert_nothing_else_can_reboot(playbooks)


@pytest.fixture(scope="module")
def provision(ssh_fleet, fleet, tmp_path_factory):
    """The fleet set up for provision.yml; returns an object whose run(*options, **extra) -> (result, seconds)."""
    hosts = ssh_fleet(list(REACHABLE), unreachable=(DOWN,))
    tmp = tmp_path_factory.mktemp("provision-fleet")
    for name in REACHABLE:
        folder = hosts.host_dir(name)
        (folder / "fake.json").write_text(json.dumps(PROFILES[name]))
        write_program(folder / "bin" / "setupkit", FAKE_SETUPKIT.format(python=sys.executable))
        write_program(folder / REBOOT_SCRIPT.name, FAKE_REBOOT)
        (folder / BOOT_ID.name).write_text(f"first-boot-of-{name}\n")
        if PROFILES[name]["gpus"]:
            # A GPU host's nvidia-smi on its PATH: a read-only overlay of /usr/local/bin inside that host's mount
            # namespace only (its mounts are private: the machine's own /usr/local/bin is untouched).
            write_program(folder / "gpu-bin" / "nvidia-smi", FAKE_NVIDIA_SMI.format(python=sys.executable))
            mounted = hosts.ssh(name, f"mount -t overlay overlay -o lowerdir={folder / 'gpu-bin'}:/usr/local/bin "
                                      f"/usr/local/bin && command -v nvidia-smi")
            if mounted.returncode != 0:
                pytest.skip(f"no overlay mount inside the host's namespace: {mounted.stderr.strip()}")
            assert mounted.stdout.strip() == "/usr/local/bin/nvidia-smi"
    host_vars = {"setupkit_bin": str(HOST / "bin" / "setupkit"), "setupkit_install_package": "false"}
    hosts.write_inventory({name: dict(host_vars) for name in HOSTS})
    extra = {"setupkit_reports_dir": str(tmp / "reports"), "setupkit_become": False,
             "setupkit_install_log_dir": str(HOST / "log"), "setupkit_lock_wait": 5,
             "setupkit_serial": 1, "setupkit_max_fail_percentage": 50, **REBOOT_VARS}

    runs: list[str] = []

    def run(*options: str, **more):
        variables = {**extra, **more}
        env = fleet.env(tmp)
        assert_reboot_is_fake(hosts, variables, fleet.PLAYBOOKS, env)
        started = time.monotonic()
        result = hosts.run_playbook(fleet.PLAYBOOKS / "provision.yml", tmp, variables, env, options=options)
        seconds = time.monotonic() - started
        label = " ".join([*options, *(f"{k}={v}" for k, v in more.items())])
        runs.append(label)
        log = tmp / f"provision-run-{len(runs)}.log"
        log.write_text(result.stdout + result.stderr)
        print(f"\n--- provision.yml {label}: rc {result.returncode} in {seconds:.1f}s (output: {log})")
        table = tmp / "reports" / "fleet.txt"
        print(table.read_text() if table.exists() else "(no fleet.txt)")
        return result, seconds

    def calls(name: str) -> list[str]:
        log = hosts.host_dir(name) / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def boot_id(name: str) -> str:
        return (hosts.host_dir(name) / BOOT_ID.name).read_text().strip()

    return type("ProvisionFleet", (), {"run": staticmethod(run), "calls": staticmethod(calls),
                                       "boot_id": staticmethod(boot_id), "hosts": hosts, "tmp": tmp,
                                       "reports": tmp / "reports"})


@pytest.fixture(scope="module")
def first_run(provision):
    return provision.run()


def output_of(result) -> str:
    return result.stdout[-20000:] + result.stderr[-5000:]


def fleet_rows(provision) -> dict[str, dict]:
    document = json.loads((provision.reports / "fleet.json").read_text())
    assert document["schema"] == "setupkit-fleet/1" and document["playbook"] == "provision"
    return {row["host"]: row for row in document["hosts"]}


def test_only_the_fake_reboot_can_run(fleet):
    assert_nothing_else_can_reboot(fleet.PLAYBOOKS)


def test_provision_over_ssh_accounts_for_every_host(first_run, provision, fleet):
    result, _ = first_run
    recap = fleet.parse_recap(result.stdout)
    assert set(recap) >= set(HOSTS), output_of(result)
    assert result.returncode == 4, output_of(result)  # an unreachable host (4) outranks a failed one (2)
    assert recap[OK]["failed"] == 0 and recap[REBOOTS]["failed"] == 0, output_of(result)
    assert recap[OK]["changed"] >= 1 and recap[REBOOTS]["changed"] >= 2  # the install, and the reboot
    assert recap[FAILS]["failed"] == 1 and recap[FAILS]["rescued"] == 1, output_of(result)
    assert recap[DOWN]["unreachable"] == 1, output_of(result)
    # One host per batch (serial 1), and the host after the failing one was provisioned all the same.
    assert result.stdout.count("PLAY [Provision the hosts a rolling batch at a time]") == len(HOSTS)
    assert f"{REBOOTS}: driver 580.95.05 loaded, nvidia-smi answers" in result.stdout

    document = json.loads((provision.reports / "fleet.json").read_text())
    rows = fleet_rows(provision)
    assert list(rows) == list(HOSTS)
    assert {host: row["result"] for host, row in rows.items()} == {
        OK: "ok", FAILS: "failed", REBOOTS: "ok", DOWN: "unreachable"}
    for host in (OK, REBOOTS):
        row = rows[host]
        assert row["error"] is None and row["status"] == "pass" and row["report"] == f"{host}.json"
        assert row["stamp"]["host"] == host and row["stamp"]["run_id"] == document["run_id"]
        assert row["facts"]["driver.version"] == "580.95.05"
    assert "setupkit install exited 4" in rows[FAILS]["error"]
    assert "step tensorflow failed (exit 1)" in rows[FAILS]["error"]
    where = f"Its plan and log are in {provision.reports}/{FAILS}/ (install-plan.json, install-*.log)"
    assert where in rows[FAILS]["error"]
    assert rows[DOWN]["report"] is None and "Failed to connect to the host via ssh" in rows[DOWN]["error"]

    table = (provision.reports / "fleet.txt").read_text().splitlines()
    assert [line.split()[0] for line in table[2:6]] == list(HOSTS)
    assert any(line.startswith(f"{FAILS} FAILED: ") and "exited 4" in line for line in table)
    assert any(line.startswith(f"{DOWN} UNREACHABLE: ") for line in table)
    assert table[-1].endswith("4 hosts: 2 ok, 1 failed, 1 unreachable")


def test_the_failing_hosts_plan_and_log_came_back(first_run, provision):
    folder = provision.reports / FAILS
    plan = json.loads((folder / "install-plan.json").read_text())
    assert [step["id"] for step in plan["steps"]] == ["tensorflow"]
    [log] = folder.glob("install-*.log")
    assert "No matching distribution found for tensorflow" in log.read_text()
    assert not (folder / "install.json").exists()  # the failed install printed no document
    assert sorted(fleet_rows(provision)[FAILS]["files"]) == sorted([f"{FAILS}/install-plan.json",
                                                                     f"{FAILS}/{log.name}"])
    assert provision.calls(FAILS) == ["doctor --json", "install --dry-run --json",
                                      "install --lock-wait 5 --yes --json"]


def test_the_reboot_host_rebooted_once_between_two_install_rounds(first_run, provision):
    assert provision.boot_id(REBOOTS) != f"first-boot-of-{REBOOTS}"
    assert provision.boot_id(OK) == f"first-boot-of-{OK}"
    assert provision.calls(REBOOTS) == ["doctor --json",
                                        "install --gpu --dry-run --json", "install --gpu --lock-wait 5 --yes --json",
                                        "reboot",
                                        "install --gpu --dry-run --json",
                                        "doctor --json"]
    assert provision.calls(OK) == ["doctor --json", "install --gpu --dry-run --json",
                                   "install --gpu --lock-wait 5 --yes --json", "install --gpu --dry-run --json",
                                   "doctor --json"]
    # The second round's plan, fetched back, has nothing left to do.
    plan = json.loads((provision.reports / REBOOTS / "install-plan.json").read_text())
    assert plan["reboot_required"] is False and [s["status"] for s in plan["steps"]] == ["done"]


def test_a_second_run_changes_nothing_on_the_provisioned_hosts(first_run, provision, fleet):
    boot = provision.boot_id(REBOOTS)
    result, _ = provision.run()
    recap = fleet.parse_recap(result.stdout)
    assert recap[OK]["changed"] == 0 and recap[REBOOTS]["changed"] == 0, output_of(result)
    assert recap[OK]["failed"] == 0 and recap[REBOOTS]["failed"] == 0, output_of(result)
    assert recap[FAILS]["failed"] == 1 and recap[DOWN]["unreachable"] == 1
    assert provision.boot_id(REBOOTS) == boot and provision.calls(REBOOTS).count("reboot") == 1
    assert [row["result"] for row in fleet_rows(provision).values()] == ["ok", "failed", "ok", "unreachable"]


def installs(provision, name: str) -> list[str]:
    return [call for call in provision.calls(name) if call.startswith("install") and "--dry-run" not in call]


def test_check_mode_runs_and_changes_nothing(first_run, provision, fleet):
    before = {name: installs(provision, name) for name in REACHABLE}
    boots = {name: provision.boot_id(name) for name in REACHABLE}
    result, _ = provision.run("--check")
    output = output_of(result)
    recap = fleet.parse_recap(result.stdout)
    assert set(recap) >= set(HOSTS) and "Traceback" not in output, output
    assert result.returncode == 4, output
    assert {name: installs(provision, name) for name in REACHABLE} == before  # no install ran
    assert {name: provision.boot_id(name) for name in REACHABLE} == boots  # nothing rebooted
    assert recap[OK]["changed"] == 0 and recap[REBOOTS]["changed"] == 0, output
    # The failing host still has its step todo: check mode says what a real run would do (its one "change"),
    # and runs no install that could fail.
    assert f"{FAILS}: check mode: setupkit install would run tensorflow" in result.stdout
    assert recap[FAILS]["changed"] == 1 and recap[FAILS]["failed"] == 0, output
    assert recap[DOWN]["unreachable"] == 1
    assert [row["result"] for row in fleet_rows(provision).values()] == ["ok", "ok", "ok", "unreachable"]


def test_the_rollout_stops_once_too_many_hosts_failed(first_run, provision, fleet):
    # 1 failed of 4 is 25%: with 20% allowed, no host after the failing one is started (the unreachable one
    # stays unreachable).
    before = provision.calls(REBOOTS)
    result, _ = provision.run(setupkit_max_fail_percentage=20)
    output = output_of(result)
    recap = fleet.parse_recap(result.stdout)
    assert result.returncode == 4, output
    assert recap[OK]["failed"] == 0 and recap[FAILS]["failed"] == 1 and recap[REBOOTS]["failed"] == 1, output
    assert recap[DOWN]["unreachable"] == 1
    assert provision.calls(REBOOTS) == before  # never started
    rows = fleet_rows(provision)
    assert [row["result"] for row in rows.values()] == ["ok", "failed", "failed", "unreachable"]
    assert "the rollout stopped after 1 of 4 hosts failed" in rows[REBOOTS]["error"]
