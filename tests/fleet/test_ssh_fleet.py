"""The ssh fleet harness, then doctor.yml over ssh against it: three sshd hosts (one whose doctor fails) and one
unreachable host, with the assertions on fleet.txt, fleet.json and fleet.html."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import sysconfig
import time

import pytest

from tests.fleet import chromium, sshfleet

REACHABLE = ("fleet-a", "fleet-b", "fleet-c")
HOSTS = (*REACHABLE, "fleet-d")
HOME = sshfleet.HOST_MOUNT / "setupkit-home"
# fleet-b's setupkit answers --help (so it installs) but its doctor dies: a host whose doctor fails.
BROKEN_SETUPKIT = """#!/bin/sh
[ "$1" = --help ] && exit 0
echo "setupkit: the doctor broke on $(hostname)" >&2
exit 4
"""


@pytest.fixture(scope="module")
def trio(ssh_fleet):
    return ssh_fleet(["fleet-a", "fleet-b", "fleet-c"], unreachable=("fleet-d",))


def test_each_host_has_its_own_name_address_and_folder(trio):
    for name in ("fleet-a", "fleet-b", "fleet-c"):
        (trio.host_dir(name) / "marker").write_text(name + "\n")
        result = trio.ssh(name, f"hostname; cat {sshfleet.HOST_MOUNT}/marker; ls {trio.host_dir(name)}/marker")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [name, name, str(trio.host_dir(name) / "marker")]
    addresses = [trio.address(name) for name in trio.names]
    assert len(set(addresses)) == 4 and all(a.startswith("127.0.0.") and a != "127.0.0.1" for a in addresses)
    assert socket.gethostname() not in trio.names  # the host names stayed inside their namespaces


def test_the_unreachable_host_refuses_connections(trio):
    result = trio.ssh("fleet-d", "true", timeout=30)
    assert result.returncode == 255 and "Connection refused" in result.stderr
    assert not sshfleet.address_is_free(trio.address("fleet-d"))  # held: no other fleet starts an sshd there
    assert "fleet-d" in trio.inventory.read_text()


def test_stop_leaves_nothing_running(ssh_fleet):
    extra = ssh_fleet(["fleet-x"])
    host = extra.hosts["fleet-x"]
    process, namespace = host.process, host.namespace
    assert process is not None and process.poll() is None and namespace
    # A session sshd calls setsid(): it leaves the listener's process group, and must end all the same.
    argv = ["ssh", "-p", str(sshfleet.PORT), "-i", str(extra.client_key), *sshfleet.SSH_OPTIONS,
            f"root@{host.address}", "echo started; sleep 300"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as client:
        assert client.stdout is not None and client.stdout.readline() == "started\n"
        extra.stop()
        assert client.wait(timeout=30) != 0
    assert process.poll() is not None
    assert sshfleet.pids_in(namespace) == []
    with pytest.raises(OSError):
        socket.create_connection((host.address, sshfleet.PORT), timeout=1).close()


def make_venv(trio, name: str) -> None:
    """The host's venv, made on the host (its paths are the host's /srv/setupkit-host ones) before the role runs
    (the role keeps a venv it finds): it sees the test environment's packages, so setupkit builds offline."""
    venv = HOME / "venv"
    purelib = sysconfig.get_paths()["purelib"]
    site = f"{venv}/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
    result = trio.ssh(name, f"{sys.executable} -m venv --system-site-packages {venv} && "
                            f"echo {purelib} > {site}/setupkit-tests-environment.pth", timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def doctor_fleet(trio, fleet, tmp_path_factory):
    """The fleet set up for doctor.yml: setupkit built from a frozen checkout into each host's own
    /srv/setupkit-host/setupkit-home (offline: a venv seeing this environment), fleet-a measuring at level 2,
    fleet-b with a broken setupkit. Returns run(*options) -> (result, seconds)."""
    tmp = tmp_path_factory.mktemp("doctor-fleet")
    source = fleet.frozen_checkout(tmp)
    for name in REACHABLE:
        make_venv(trio, name)
    broken = trio.host_dir("fleet-b") / "bin" / "setupkit"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text(BROKEN_SETUPKIT)
    broken.chmod(0o755)
    trio.write_inventory({"fleet-a": {"setupkit_doctor_level": "2"},
                          "fleet-b": {"setupkit_bin": str(sshfleet.HOST_MOUNT / "bin" / "setupkit")}})
    extra = {"setupkit_source": str(source), "setupkit_home": str(HOME), "setupkit_reports_dir": str(tmp / "reports"),
             "setupkit_venv_site_packages": True, "setupkit_pip_extra_args": "--no-build-isolation",
             "setupkit_become": False, "setupkit_system_packages": []}
    # Reports another run left behind: a week-old "warn" for the host that fails now, and a host not targeted.
    (tmp / "reports").mkdir()
    old = {"schema": "setupkit-doctor/1", "status": "warn", "facts": {}, "findings": [],
           "stamp": {"time": "2026-11-24T09:00:00Z", "host": "fleet-b", "setupkit": "0.0.9", "run_id": "last-week"}}
    (tmp / "reports" / "fleet-b.json").write_text(json.dumps(old))
    (tmp / "reports" / "retired-host.json").write_text(json.dumps({**old, "status": "pass"}))

    def run(*options: str):
        started = time.monotonic()
        result = trio.run_playbook(fleet.PLAYBOOKS / "doctor.yml", tmp, extra, fleet.env(tmp), options=options)
        seconds = time.monotonic() - started
        print(f"\n--- doctor.yml {' '.join(options)}: rc {result.returncode} in {seconds:.1f}s")
        print((tmp / "reports" / "fleet.txt").read_text() if (tmp / "reports" / "fleet.txt").exists() else "")
        return result, seconds

    return type("DoctorFleet", (), {"run": staticmethod(run), "reports": tmp / "reports", "tmp": tmp})


@pytest.fixture(scope="module")
def first_run(doctor_fleet):
    return doctor_fleet.run()


def fleet_json(doctor_fleet) -> dict:
    return json.loads((doctor_fleet.reports / "fleet.json").read_text())


def output_of(result) -> str:
    return result.stdout[-20000:] + result.stderr[-5000:]


@pytest.mark.slow
def test_doctor_over_ssh_accounts_for_every_host(first_run, doctor_fleet, fleet):
    result, seconds = first_run
    recap = fleet.parse_recap(result.stdout)
    assert set(recap) >= set(HOSTS), output_of(result)
    # The exit code and the recap tell the truth: one host failed, one was unreachable.
    assert result.returncode == 4, output_of(result)
    assert recap["fleet-a"]["failed"] == 0 and recap["fleet-c"]["failed"] == 0, output_of(result)
    assert recap["fleet-b"]["failed"] == 1 and recap["fleet-b"]["rescued"] == 1
    assert recap["fleet-d"]["unreachable"] == 1

    document = fleet_json(doctor_fleet)
    assert document["schema"] == "setupkit-fleet/1" and document["playbook"] == "doctor" and document["run_id"]
    rows = {row["host"]: row for row in document["hosts"]}
    assert list(rows) == list(HOSTS)  # every targeted host, and only those (not the retired host's old report)
    assert {host: row["result"] for host, row in rows.items()} == {
        "fleet-a": "ok", "fleet-b": "failed", "fleet-c": "ok", "fleet-d": "unreachable"}
    for host in ("fleet-a", "fleet-c"):
        row = rows[host]
        assert row["report"] == f"{host}.json" and row["status"] in ("pass", "warn", "fail") and row["error"] is None
        assert row["stamp"]["host"] == host and row["stamp"]["run_id"] == document["run_id"]
        report = json.loads((doctor_fleet.reports / row["report"]).read_text())
        assert report["stamp"] == row["stamp"]
        assert report["facts"]["python.executable"].startswith(str(HOME / "venv"))
    assert rows["fleet-a"]["measured"]["cpu.matmul"]["unit"] == "GFLOP/s"  # level 2 on fleet-a only
    assert rows["fleet-a"]["outliers"] == rows["fleet-c"]["outliers"] == []  # one machine underneath: no drift
    assert rows["fleet-c"]["measured"] == {}
    # fleet-b's week-old "warn" is not this run's: the row says FAILED and why, with no report and no status.
    failed = rows["fleet-b"]
    assert failed["status"] is None and failed["report"] is None and failed["stamp"] is None
    assert "exit 4" in failed["error"] and "the doctor broke on fleet-b" in failed["error"]
    unreachable = rows["fleet-d"]
    assert unreachable["report"] is None and "Failed to connect to the host via ssh" in unreachable["error"]


@pytest.mark.slow
def test_the_fleet_table_shows_status_failures_and_speeds(first_run, doctor_fleet):
    lines = (doctor_fleet.reports / "fleet.txt").read_text().splitlines()
    header = lines[0]
    assert header.split()[:3] == ["host", "os", "gpus"] and "level-2 speeds" in header
    rows = {line.split()[0]: line for line in lines[2:6]}
    assert list(rows) == list(HOSTS)
    assert "cpu matmul" in rows["fleet-a"] and "GFLOP/s" in rows["fleet-a"]
    assert " FAILED " in rows["fleet-b"] + " " and " UNREACHABLE" in rows["fleet-d"]
    assert any(line.startswith("fleet-b FAILED: ") and "exit 4" in line for line in lines)
    assert any(line.startswith("fleet-d UNREACHABLE: ") for line in lines)
    assert lines[-1].endswith("4 hosts: 2 ok, 1 failed, 1 unreachable")


@pytest.mark.slow
def test_the_html_report_renders_every_host(first_run, doctor_fleet):
    page = (doctor_fleet.reports / "fleet.html").read_text()
    for host in HOSTS:
        assert f'data-host="{host}"' in page and f'id="host-{host}"' in page
    assert "UNREACHABLE" in page and "FAILED" in page and "the doctor broke on fleet-b" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    if chromium.find() is None:
        pytest.skip("chromium is not installed (apt-get install chromium): the page was checked as text only")
    rendered = chromium.open_page(doctor_fleet.reports / "fleet.html", doctor_fleet.tmp / "browser")
    print(f"\nscreenshot: {rendered.screenshot}")
    assert rendered.console == []
    for host in HOSTS:
        assert f'data-host="{host}"' in rendered.dom


@pytest.mark.slow
def test_a_second_run_changes_nothing(first_run, doctor_fleet, fleet):
    result, _ = doctor_fleet.run()
    recap = fleet.parse_recap(result.stdout)
    assert all(recap[host]["changed"] == 0 for host in REACHABLE), output_of(result)
    assert recap["fleet-b"]["failed"] == 1 and recap["fleet-d"]["unreachable"] == 1
    assert [row["result"] for row in fleet_json(doctor_fleet)["hosts"]] == ["ok", "failed", "ok", "unreachable"]


@pytest.mark.slow
def test_check_mode_runs_the_doctor_and_reports(first_run, doctor_fleet, fleet):
    result, _ = doctor_fleet.run("--check")
    recap = fleet.parse_recap(result.stdout)
    assert result.returncode == 4, output_of(result)
    assert all(recap[host]["changed"] == 0 for host in REACHABLE), output_of(result)
    document = fleet_json(doctor_fleet)
    assert [row["result"] for row in document["hosts"]] == ["ok", "failed", "ok", "unreachable"]
    assert document["hosts"][0]["stamp"]["run_id"] == document["run_id"]


@pytest.mark.slow
def test_limit_keeps_the_table(first_run, doctor_fleet, fleet):
    result, _ = doctor_fleet.run("--limit", "fleet-c")
    assert result.returncode == 0, output_of(result)
    assert set(fleet.parse_recap(result.stdout)) == {"fleet-c"}
    document = fleet_json(doctor_fleet)
    assert [(row["host"], row["result"]) for row in document["hosts"]] == [("fleet-c", "ok")]
    table = (doctor_fleet.reports / "fleet.txt").read_text().splitlines()
    assert table[2].startswith("fleet-c ") and table[-1].endswith("1 host: 1 ok")
