"""After a provision: the driver is loaded, nvidia-smi answers, the doctor finds nothing failing, and the smoke
model trains on the GPU. GPU checks skip (with the reason) on hosts without an NVIDIA GPU."""

from __future__ import annotations

import json
import shlex


def run_json(host, command: str) -> tuple[int, dict]:
    result = host.run(command)
    try:
        document = json.loads(result.stdout)
    except ValueError as err:
        raise AssertionError(f"`{command}` printed no JSON (exit {result.rc}): {result.stderr.strip()[-500:]}") from err
    return result.rc, document


def test_nvidia_kernel_module_is_loaded(host, nvidia_gpu):
    modules = host.file("/proc/modules").content_string.splitlines()
    assert any(line.split()[0] == "nvidia" for line in modules if line.strip()), (
        f"NVIDIA GPU(s) {', '.join(nvidia_gpu)} but the nvidia module is not in /proc/modules: "
        "run `setupkit doctor` on the host for the reason (nouveau, Secure Boot, a missing reboot)")


def test_nvidia_smi_answers(host, nvidia_gpu):
    result = host.run("nvidia-smi")
    assert result.rc == 0, f"nvidia-smi exit {result.rc}: {(result.stderr or result.stdout).strip()[-500:]}"


def test_doctor_finds_no_failing_check(host, setupkit):
    rc, report = run_json(host, f"{setupkit} doctor --json")
    assert report.get("schema") == "setupkit-doctor/1"
    failing = [f for f in report.get("findings", []) if f.get("status") == "fail"]
    assert not failing, "doctor finds failing checks:\n" + "\n".join(
        f"  {f.get('id')}: {f.get('title')} -- fix: {f.get('fix')}" for f in failing)
    assert rc == 0


def test_smoke_test_trains_on_the_gpu(host, nvidia_gpu, setupkit, request):
    args = request.config.getoption("--smoke-args")
    timeout = request.config.getoption("--smoke-timeout")
    rc, report = run_json(host, f"timeout {timeout} {setupkit} smoke-test --json --require-gpu "
                                f"{' '.join(shlex.quote(a) for a in shlex.split(args))}")
    assert report.get("schema") == "setupkit-smoke-test/1"
    assert report.get("status") == "pass" and rc == 0, (
        f"smoke test {report.get('status')} (exit {rc}) on {report.get('backend')} {report.get('devices')}: "
        f"loss {report.get('loss_first')} -> {report.get('loss_last')}")
