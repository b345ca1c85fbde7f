"""`setupkit install --cuda-repo-mirror URL --pip-index-url URL --lock-wait SECONDS`.

The mirrors: every scenario's plan, on each path, downloads nothing from NVIDIA's server once a CUDA mirror is
given (keyrings, .repo files, apt sources, the machine-learning repository), and points the repository
definitions NVIDIA's packages install at the mirror too (the sed each plan runs is run here, on the real text of
those files); every pip install reads the index given. The lock wait: a real lock held by another process (an
flock on setupkit's lock, a POSIX lock on dpkg's, as apt takes it), released after a second, is waited for and the
install goes on; held longer than the bound, the install exits 3 within the bound, naming the holder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from setupkit import exitcodes
from setupkit.errors import PreconditionError, UsageError
from setupkit.install import locks
from setupkit.install.executor import Paths, execute
from setupkit.install.mirrors import with_index
from setupkit.install.model import Plan, Step
from setupkit.install.options import PlanOptions, parse_lock_wait
from tests.helpers.install import PLANNED_SCENARIOS, RecordingRunner, plan_for
from tests.helpers.scenarios import snapshot_path

MIRROR = "https://mirror.example.org/nvidia/cuda"
INDEX = "https://pypi.mirror.example.org/simple"
PUBLIC = "developer.download.nvidia.com"
VARIANTS = [{}, {"with_toolkit": True}, {"frameworks": ("tensorflow", "torch", "jax")}, {"gpu": False}]


def words_of(plan: Plan) -> list[str]:
    """Every word a plan runs and every file it writes."""
    return [word for step in plan.steps for argv in step.commands for word in argv] + [
        f.content for step in plan.steps for f in step.files]


# -- the mirrors -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLANNED_SCENARIOS)
@pytest.mark.parametrize("variant", VARIANTS, ids=["gpu", "with-toolkit", "three-frameworks", "cpu"])
def test_no_scenario_plan_downloads_from_nvidia_once_a_mirror_is_given(name, variant):
    public = plan_for(name, **variant)
    mirrored = plan_for(name, cuda_repo_mirror=MIRROR + "/", pip_index_url=INDEX, **variant)
    assert not [word for word in words_of(mirrored) if PUBLIC in word]
    assert not [text for text in mirrored.warnings if PUBLIC in text]
    repo = public.step("cuda-repo")
    if any(PUBLIC in word for argv in repo.commands for word in argv):  # the plan reads NVIDIA's repository
        downloads = [word for argv in mirrored.step("cuda-repo").commands if argv[0] != "sed" for word in argv
                     if "://" in word]
        assert downloads and all(word.split("=")[-1].startswith(MIRROR + "/") for word in downloads), downloads
    assert [s.id for s in mirrored.steps] == [s.id for s in public.steps]
    assert [s.status for s in mirrored.steps] == [s.status for s in public.steps]


def test_the_mirror_takes_the_machine_learning_repository_into_its_own_folder():
    plan = plan_for("ubuntu1604-gtx-nouveau", cuda_repo_mirror=MIRROR)
    step = plan.step("cuda-repo")
    lists = {f.path: f.content for f in step.files}
    assert lists["/etc/apt/sources.list.d/nvidia-ml.list"] == f"deb {MIRROR}/machine-learning/ubuntu1604/x86_64 /\n"
    assert ["wget", "-q", "-O", "/tmp/nvidia-ml-7fa2af80.pub",
            f"{MIRROR}/machine-learning/ubuntu1604/x86_64/7fa2af80.pub"] in step.commands
    assert any(f"{MIRROR}/machine-learning" in text for text in plan.warnings)


KEYRING_LIST = ("deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] "
                "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/ /\n")
"""What cuda-keyring installs as /etc/apt/sources.list.d/cuda-ubuntu2404-x86_64.list."""
RHEL_REPO = textwrap.dedent("""\
    [cuda-rhel9-x86_64]
    name=cuda-rhel9-x86_64
    baseurl=https://developer.download.nvidia.com/compute/cuda/repos/rhel9/x86_64
    enabled=1
    gpgcheck=1
    gpgkey=https://developer.download.nvidia.com/compute/cuda/repos/rhel9/x86_64/D42D0685.pub
    """)
"""NVIDIA's cuda-rhel9.repo, which dnf config-manager copies to /etc/yum.repos.d."""


@pytest.mark.skipif(shutil.which("sed") is None, reason="sed is not installed")
@pytest.mark.parametrize("name,installs,path,content", [
    ("ubuntu2404-rtx5090-nouveau", ["dpkg", "-i", "/tmp/cuda-keyring_1.1-1_all.deb"],
     "/etc/apt/sources.list.d/cuda-ubuntu2404-x86_64.list", KEYRING_LIST),
    ("rhel9-server-a100", ["dnf", "config-manager", "--add-repo", f"{MIRROR}/rhel9/x86_64/cuda-rhel9.repo"],
     "/etc/yum.repos.d/cuda-rhel9.repo", RHEL_REPO),
])
def test_the_repository_definition_nvidia_ships_is_pointed_at_the_mirror(tmp_path, name, installs, path, content):
    mirror = "http://10.0.0.5:8080/a&b"  # sed's replacement would read & as the match
    commands = plan_for(name, cuda_repo_mirror=mirror, with_toolkit=True).step("cuda-repo").commands
    installs = [mirror.join(word.split(MIRROR)) for word in installs]
    sed = commands[commands.index(installs) + 1]
    assert sed[:2] == ["sed", "-i"] and sed[-1] == path
    copy = tmp_path / Path(path).name
    copy.write_text(content)
    subprocess.run([*sed[:-1], str(copy)], check=True)
    rewritten = copy.read_text()
    assert PUBLIC not in rewritten and rewritten == content.replace(
        "https://developer.download.nvidia.com/compute/cuda/repos", mirror)


@pytest.mark.parametrize("name", PLANNED_SCENARIOS)
def test_every_pip_install_reads_the_index_given(name):
    plan = plan_for(name, pip_index_url=INDEX, frameworks=("tensorflow", "torch", "jax"))
    installs = [argv for step in plan.steps for argv in step.commands if argv[1:4] == ["-m", "pip", "install"]]
    assert installs
    for argv in installs:
        assert argv[4:6] == ["--index-url", INDEX] and argv.count("--index-url") == 1, argv


def test_pytorchs_own_index_stays_beside_the_mirror_as_an_extra_index():
    argv = ["/venv/bin/python", "-m", "pip", "install", "torch==2.14.1", "--index-url",
            "https://download.pytorch.org/whl/cu126"]
    assert with_index(argv, INDEX) == ["/venv/bin/python", "-m", "pip", "install", "--index-url", INDEX,
                                       "torch==2.14.1", "--extra-index-url", "https://download.pytorch.org/whl/cu126"]
    assert with_index(["/usr/bin/pip3", "install", "x"], INDEX) == ["/usr/bin/pip3", "install", "--index-url", INDEX,
                                                                    "x"]
    for untouched in (["python3", "-m", "pip", "uninstall", "-y", "jax"], ["apt-get", "install", "-y", "python3-pip"],
                      ["apt-get", "install", "pip", "x"]):
        assert with_index(untouched, INDEX) == untouched


@pytest.mark.parametrize("url", ["ftp://mirror/cuda", "/srv/mirror", "mirror.example.org", "https://", "https://m/a b",
                                 "https://m/x?y=1", "https://m/x#top", "https://m:99999/x", "https://[::1/x", ""])
@pytest.mark.parametrize("option", ["cuda_repo_mirror", "pip_index_url"])
def test_a_mirror_that_is_not_an_http_url_is_a_usage_error(url, option):
    with pytest.raises(UsageError, match="is not an http\\(s\\) URL") as raised:
        PlanOptions(**{option: url})
    assert raised.value.exit_code == exitcodes.USAGE and raised.value.hint


def test_the_cli_refuses_a_bad_mirror_or_wait_with_exit_2_before_reading_anything(run_setupkit):
    for args in (["--cuda-repo-mirror", "ftp://mirror/cuda"], ["--pip-index-url", "file:///srv/wheels"],
                 ["--lock-wait", "ten"], ["--lock-wait", "-1"], ["--lock-wait", "99999999"]):
        result = run_setupkit("install", "--gpu", "--dry-run", *args)
        lines = result.stderr.splitlines()
        assert result.returncode == exitcodes.USAGE, result.stderr
        assert len(lines) == 2 and lines[0].startswith(f"setupkit: {args[0]} ") and lines[1].startswith("fix: ")


def test_a_dry_run_with_mirrors_shows_the_mirrored_plan(run_setupkit):
    result = run_setupkit("install", "--gpu", "--dry-run", "--json", "--snapshot",
                          str(snapshot_path("ubuntu2404-rtx5090-nouveau")), "--cuda-repo-mirror", MIRROR,
                          "--pip-index-url", INDEX, "--with-toolkit")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert PUBLIC not in json.dumps(doc["steps"])
    repo = next(step for step in doc["steps"] if step["id"] == "cuda-repo")
    assert repo["status"] == "todo" and any(MIRROR in " ".join(argv) for argv in repo["commands"])


def test_lock_wait_takes_whole_seconds_up_to_a_day():
    assert parse_lock_wait("0") == 0 and parse_lock_wait("600") == 600 and parse_lock_wait(86400) == 86400
    for bad in ("1.5", "١٠", "86401", "", "-3", True):
        with pytest.raises(UsageError):
            parse_lock_wait(bad)  # type: ignore[arg-type]


# -- the lock wait -----------------------------------------------------------------------------------------------

HOLDER = '''
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
(fcntl.flock if sys.argv[2] == "flock" else fcntl.lockf)(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[3]))
'''
"""Holds a lock on a file for some seconds: setupkit's way (flock) or dpkg's and apt's (POSIX, fcntl F_SETLK)."""

DRIVER = '''
import json, os, sys
from setupkit.cli import main
from setupkit.install import run
from setupkit.install.model import Plan, Step

def fixed_plan(options):
    steps = [Step(s["id"], "Step " + s["id"], commands=s["commands"]) for s in json.loads(os.environ["TEST_PLAN"])]
    return Plan(steps=steps, path="cpu", distro={"name": "Test Linux", "package_manager": "apt-get"}), {}

run.read_plan = fixed_plan
main(sys.argv[1:])
'''
"""The CLI on a fixed plan, so that its steps run fake programs instead of planning for this machine."""

PLAN = [{"id": "prepare", "commands": [["prepare"]]},
        {"id": "packages", "commands": [["apt-get", "install", "-y", "x"]]}]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="setupkit install runs as root; these tests do too")


@pytest.fixture
def places(tmp_path) -> dict[str, str]:
    root = tmp_path / "places"
    (root / "dpkg").mkdir(parents=True)
    (root / "dpkg" / "lock-frontend").write_text("")
    return {"SETUPKIT_INSTALL_LOCK": str(root / "run" / "install.lock"), "SETUPKIT_INSTALL_LOG_DIR": str(root / "log"),
            "SETUPKIT_INSTALL_STATE": str(root / "lib" / "state.json"),
            "SETUPKIT_DPKG_LOCK": str(root / "dpkg" / "lock-frontend")}


@pytest.fixture
def hold():
    """hold(path, how, seconds) -> the process holding the lock, once it holds it; all stopped at teardown."""
    holders: list[subprocess.Popen] = []

    def start(path: str, how: str, seconds: float) -> subprocess.Popen:
        Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, path, how, str(seconds)], stdout=subprocess.PIPE,
                                text=True)
        holders.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in holders:
        proc.kill()
        proc.wait()


@pytest.fixture
def install(tmp_path, places):
    """install(*args) -> (returncode, stderr, seconds): the CLI on PLAN, fake programs on a PATH of their own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text("#!/bin/sh\necho installed\n")
    (bin_dir / "prepare").write_text("#!/bin/sh\necho prepared\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)

    def run(*args: str) -> tuple[int, str, float]:
        env = dict(os.environ, **places, PATH=str(bin_dir), NO_COLOR="1", TEST_PLAN=json.dumps(PLAN))
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script), "install", "--yes", *args], env=env, text=True,
                                capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        return result.returncode, result.stderr, time.monotonic() - started

    return run


def waiting_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "waiting up to" in line]


@needs_root
def test_the_install_waits_for_another_install_that_ends_within_the_bound(install, places, hold):
    holder = hold(places["SETUPKIT_INSTALL_LOCK"], "flock", 1)
    code, stderr, seconds = install("--lock-wait", "20")
    assert code == 0, stderr
    assert 0.5 < seconds < 15
    [line] = waiting_lines(stderr)
    assert line.startswith("setupkit: another setupkit install holds ") and f"by pid {holder.pid} (" in line


@needs_root
def test_an_install_lock_held_past_the_bound_is_exit_3_within_it_naming_the_holder(install, places, hold):
    holder = hold(places["SETUPKIT_INSTALL_LOCK"], "flock", 60)
    code, stderr, seconds = install("--lock-wait", "2")
    assert code == exitcodes.PRECONDITION, stderr
    assert 1.8 < seconds < 8
    lines = [line for line in stderr.splitlines() if "waiting up to" not in line]
    assert len(lines) == 2 and lines[1].startswith("fix: "), stderr
    assert lines[0] == (f"setupkit: another setupkit install is running (lock {places['SETUPKIT_INSTALL_LOCK']} is "
                        f"held by pid {holder.pid} ({locks_name(holder.pid)}) after waiting 2 s)")
    assert "Traceback" not in stderr


@needs_root
def test_without_lock_wait_a_held_install_lock_is_exit_3_at_once(install, places, hold):
    hold(places["SETUPKIT_INSTALL_LOCK"], "flock", 60)
    code, stderr, seconds = install()
    assert code == exitcodes.PRECONDITION and "another setupkit install is running" in stderr
    assert seconds < 8 and not waiting_lines(stderr) and "--lock-wait" in stderr


@needs_root
def test_an_apt_step_waits_for_the_dpkg_lock_released_within_the_bound(install, places, hold):
    holder = hold(places["SETUPKIT_DPKG_LOCK"], "lockf", 1)
    code, stderr, seconds = install("--lock-wait", "20")
    assert code == 0, stderr
    [line] = waiting_lines(stderr)
    assert line == (f"setupkit: the dpkg lock {places['SETUPKIT_DPKG_LOCK']} is held by pid {holder.pid} "
                    f"({locks_name(holder.pid)}): waiting up to 20 s before step packages")
    log = "".join(p.read_text() for p in Path(places["SETUPKIT_INSTALL_LOG_DIR"]).glob("install-*.log"))
    assert line.removeprefix("setupkit: ") in log and "$ apt-get install -y x" in log


@needs_root
def test_a_dpkg_lock_held_past_the_bound_is_exit_3_naming_the_holder_and_keeping_the_steps_done(install, places,
                                                                                                hold):
    holder = hold(places["SETUPKIT_DPKG_LOCK"], "lockf", 60)
    code, stderr, seconds = install("--lock-wait", "2")
    assert code == exitcodes.PRECONDITION, stderr
    assert 1.8 < seconds < 8
    last = [line for line in stderr.splitlines() if line.startswith("setupkit: ")][-1]
    assert last == (f"setupkit: the dpkg lock {places['SETUPKIT_DPKG_LOCK']} is still held by pid {holder.pid} "
                    f"({locks_name(holder.pid)}) after waiting 2 s before step packages")
    assert stderr.splitlines()[-1].startswith("fix: ") and "the steps done so far are kept" in stderr
    assert set(json.loads(Path(places["SETUPKIT_INSTALL_STATE"]).read_text())["done"]) == {"prepare"}


def locks_name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def test_without_lock_wait_the_dpkg_lock_is_left_to_apt(tmp_path, hold, paths):
    """The default is what it always was: no wait, apt itself says the lock is held."""
    lock = tmp_path / "dpkg" / "lock-frontend"
    hold(str(lock), "lockf", 60)
    plan = Plan(steps=[Step("packages", "Packages", commands=[["apt-get", "install", "-y", "x"]])], path="cpu",
                distro={})
    runner = RecordingRunner()
    execute(plan, runner, Paths(paths.lock, paths.log, paths.state, package_lock=str(lock)))
    assert runner.commands == [["apt-get", "install", "-y", "x"]]


def test_a_host_without_dpkg_has_no_lock_to_wait_for(tmp_path, paths):
    assert locks.package_lock_free(str(tmp_path / "none")) is None
    plan = plan_for("ubuntu2404-rtx5090-nouveau")
    runner = RecordingRunner()
    started = time.monotonic()
    execute(plan, runner, Paths(paths.lock, paths.log, paths.state, package_lock=str(tmp_path / "none")),
            lock_wait=5)
    assert time.monotonic() - started < 4 and ["apt-get", "update"] in runner.commands


def test_the_holder_of_a_posix_lock_is_read_from_proc_locks(tmp_path, hold):
    lock = tmp_path / "lock-frontend"
    holder = hold(str(lock), "lockf", 60)
    assert locks.package_lock_free(str(lock)) is False
    assert locks.holder(str(lock)) == f"pid {holder.pid} ({locks_name(holder.pid)})"
    holder.kill()
    holder.wait()
    assert locks.package_lock_free(str(lock)) is True and locks.holder(str(lock)) == ""


def test_a_wait_is_bounded_and_says_so_once():
    said: list[str] = []
    started = time.monotonic()
    assert locks.wait_for(lambda: False, 1, lambda: said.append("waiting")) is False
    assert 0.9 < time.monotonic() - started < 3 and said == ["waiting"]
    tries = iter([False, False, True])
    assert locks.wait_for(lambda: next(tries), 10, lambda: said.append("again")) is True
    assert locks.wait_for(lambda: False, 0, lambda: said.append("never")) is False and "never" not in said


def test_a_wait_interrupted_raises_at_once(monkeypatch):
    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(locks.time, "sleep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        locks.wait_for(lambda: False, 60, lambda: None)


def test_an_install_lock_held_in_process_names_the_pid_written(tmp_path):
    from setupkit.install.executor import install_lock

    lock = str(tmp_path / "run" / "install.lock")
    with install_lock(lock), pytest.raises(PreconditionError, match=re.escape(f"held by pid {os.getpid()}")):
        with install_lock(lock, wait=1):
            pass
