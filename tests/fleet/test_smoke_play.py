"""smoke.yml on a host where the smoke test cannot start (no TensorFlow: exit 3 and one line on stderr, no
JSON): the play reports that host as failed with setupkit's own message, and the control node keeps no older
report of it for the table. Run for real with ansible-playbook over a local connection and a fake setupkit."""

from __future__ import annotations

import json
import sys

import pytest

pytestmark = pytest.mark.slow

MESSAGE = ("setupkit: smoke-test needs TensorFlow (or --backend jax|torch with that framework): tensorflow, keras "
           "and numpy are not installed for /opt/setupkit/venv/bin/python")
FIX = "fix: pip install 'setupkit[tf]'"

FAKE = f'''#!{sys.executable}
import json, sys
verb = sys.argv[1]
if verb == "doctor":
    print(json.dumps({{"schema": "setupkit-doctor/1", "status": "pass", "facts": {{"gpu.count": 0}}, "findings": []}}))
elif verb == "smoke-test":
    print({MESSAGE!r}, file=sys.stderr)
    print({FIX!r}, file=sys.stderr)
    sys.exit(3)
'''


def test_smoke_play_reports_a_host_that_cannot_start_with_the_message(tmp_path, fleet):
    setupkit = tmp_path / "setupkit"
    setupkit.write_text(FAKE)
    setupkit.chmod(0o755)
    reports = tmp_path / "reports"
    reports.mkdir()
    stale = reports / "localhost-smoke.json"
    stale.write_text(json.dumps({"schema": "setupkit-smoke-test/1", "status": "pass"}))
    result = fleet.run_playbook("smoke.yml", tmp_path, {"setupkit_install_package": False,
                                                        "setupkit_bin": str(setupkit), "setupkit_become": False,
                                                        "setupkit_reports_dir": str(reports)})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert fleet.parse_recap(result.stdout)["localhost"]["failed"] == 1, fleet.recap_line(result.stdout)
    assert f"localhost: the smoke test could not start (exit 3): {MESSAGE} {FIX}" in output
    assert "non-zero return code" not in output  # the play judged the result; the command task did not die
    assert not stale.exists() and (reports / "localhost.json").exists()
