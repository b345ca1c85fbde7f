"""setupkit_source as a wheel on the control node and as a package spec from a local index; and the run Vagrant
makes (its machine "default" with a local connection, limited as the Vagrantfile limits it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, fleet):
    tmp = tmp_path_factory.mktemp("wheel")
    checkout = fleet.frozen_checkout(tmp)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "--wheel-dir", str(tmp / "dist"), str(checkout)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return next((tmp / "dist").glob("setupkit-*.whl"))


def doctor_report(tmp):
    return json.loads((tmp / "reports" / "localhost.json").read_text())


def test_a_wheel_on_the_control_node_installs_and_a_rerun_changes_nothing(wheel, fleet, tmp_path):
    extra = fleet.local_install_vars(tmp_path, wheel)
    first = fleet.run_playbook("doctor.yml", tmp_path, extra)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "setupkit-home" / wheel.name).is_file()
    assert doctor_report(tmp_path)["schema"] == "setupkit-doctor/1"
    second = fleet.run_playbook("doctor.yml", tmp_path, extra)
    assert fleet.parse_recap(second.stdout)["localhost"]["changed"] == 0, fleet.recap_line(second.stdout)


def test_a_package_spec_installs_from_a_local_index_and_a_rerun_changes_nothing(wheel, fleet, tmp_path):
    extra = {**fleet.local_install_vars(tmp_path, wheel), "setupkit_source": "setupkit==0.1.0",
             "setupkit_pip_extra_args": f"--no-index --find-links {wheel.parent}"}
    result = fleet.run_playbook("doctor.yml", tmp_path, extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "setupkit-home" / "venv" / "bin" / "setupkit").is_file()
    assert doctor_report(tmp_path)["schema"] == "setupkit-doctor/1"
    second = fleet.run_playbook("doctor.yml", tmp_path, extra)
    assert fleet.parse_recap(second.stdout)["localhost"]["changed"] == 0, fleet.recap_line(second.stdout)


def test_the_vagrant_run_prints_the_fleet_table(fake_setupkit, fleet, tmp_path):
    """ansible_local's inventory names the guest "default" with a local connection; the Vagrantfile's limit must
    let the fleet table's play on localhost run."""
    setupkit, _, env = fake_setupkit(gpus=0)
    inventory = tmp_path / "vagrant_ansible_local_inventory"
    inventory.write_text("default ansible_connection=local\n")
    extra = {"setupkit_install_package": False, "setupkit_bin": str(setupkit), "setupkit_become": False,
             "setupkit_reports_dir": str(tmp_path / "reports")}
    result = fleet.run_playbook("doctor.yml", tmp_path, extra, env=env, inventory=str(inventory),
                                options=("--limit", "all,localhost"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(fleet.parse_recap(result.stdout)) == {"default", "localhost"}
    table = (tmp_path / "reports" / "fleet.txt").read_text().splitlines()
    assert table[2].startswith("default ") and "Fake OS" in table[2]
