"""The live host source: programs run with a timeout and a missing program is "not installed", never an error."""

from __future__ import annotations

import os
import time

from setupkit.host.live import LiveHost, run_program


def fake_program(folder, name, body):
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_a_program_that_hangs_is_cut_by_its_timeout(tmp_path, monkeypatch):
    fake_program(tmp_path, "nvidia-smi", "exec /bin/sleep 30")
    monkeypatch.setenv("PATH", str(tmp_path))
    started = time.monotonic()
    result = LiveHost().run(["nvidia-smi"], timeout=0.5)
    assert result.timed_out and result.returncode is None
    assert time.monotonic() - started < 5


def test_a_hanging_program_with_children_does_not_hold_the_caller(tmp_path, monkeypatch):
    # The child keeps stdout open; killing only the parent would leave communicate() waiting.
    fake_program(tmp_path, "mokutil", "/bin/sleep 30 & /bin/sleep 30")
    monkeypatch.setenv("PATH", str(tmp_path))
    started = time.monotonic()
    assert run_program(("mokutil", "--sb-state"), 0.5).timed_out
    assert time.monotonic() - started < 5


def test_a_grandchild_in_its_own_session_holding_the_pipes_does_not_hold_the_caller(tmp_path, monkeypatch):
    fake_program(tmp_path, "nvcc", "/usr/bin/setsid /bin/sleep 6 & exec /bin/sleep 30")
    monkeypatch.setenv("PATH", str(tmp_path))
    started = time.monotonic()
    assert run_program(("nvcc", "--version"), 0.5).timed_out
    assert time.monotonic() - started < 4


def test_a_missing_program_is_not_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = LiveHost().run(["nvcc", "--version"])
    assert result.not_installed and result.returncode == 127


def test_output_and_exit_code_come_back_in_the_c_locale(tmp_path, monkeypatch):
    fake_program(tmp_path, "nvcc", 'echo "LC_ALL=$LC_ALL"; echo oops >&2; exit 3')
    monkeypatch.setenv("PATH", str(tmp_path))
    result = LiveHost().run(["nvcc", "--version"])
    assert (result.returncode, result.stdout, result.stderr) == (3, "LC_ALL=C\n", "oops\n")


def test_device_nodes_and_folders_are_not_read_as_files():
    host = LiveHost()
    assert host.read_bytes("/dev/null") is None
    assert host.read_bytes("/proc") is None
    assert host.exists("/dev/null")
    assert host.read_text("/proc/self/status").startswith("Name:")


def test_environment_reports_only_its_keys(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-report")
    env = LiveHost().env()
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and "AWS_SECRET_ACCESS_KEY" not in env


def test_a_python_marked_externally_managed_outside_a_venv_is_reported(tmp_path, monkeypatch):
    import sys

    from setupkit.host import live

    monkeypatch.setattr(live.sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setattr(sys, "prefix", sys.base_prefix)
    assert live.externally_managed() is False
    (tmp_path / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=use a venv\n")
    assert live.externally_managed() is True
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))  # a venv is never managed
    assert live.externally_managed() is False


def test_python_is_the_running_interpreter():
    import sys

    info = LiveHost().python()
    assert info.executable == sys.executable
    assert info.version == ".".join(map(str, sys.version_info[:3]))
    assert info.bits == 64 and info.packages.get("setupkit") == "0.1.0"
    assert info.pip_version == info.packages.get("pip")
    assert os.path.exists(info.executable)


def test_a_file_that_is_not_executable_is_126_and_undecodable_output_is_replaced(tmp_path, monkeypatch):
    plain = tmp_path / "nvcc"
    plain.write_text("#!/bin/sh\necho hi\n")
    assert LiveHost().run([str(plain), "--version"]).returncode == 126
    fake_program(tmp_path, "nvidia-smi", r"printf 'GPU \377\376 name\n'")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert LiveHost().run(["nvidia-smi"]).stdout == "GPU \ufffd\ufffd name\n"


def test_a_program_killed_by_a_signal_is_not_ok_and_says_which(tmp_path, monkeypatch):
    fake_program(tmp_path, "nvidia-smi", "kill -SEGV $$")
    monkeypatch.setenv("PATH", str(tmp_path))
    result = LiveHost().run(["nvidia-smi"])
    assert result.returncode == -11 and not result.ok and not result.timed_out
