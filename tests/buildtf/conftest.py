"""Fake TensorFlow trees, a fake bazel on an isolated PATH, and a per-test time limit for build-tf's tests."""

from __future__ import annotations

import json
import signal
import stat
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

HERE = Path(__file__).resolve().parent
TEST_SECONDS = 60
UNKNOWN_QUESTION = "Do you want to enable the frobnicator? [y/N]: "

BASE_FACTS = {"cpu.flags": ["fpu", "sse4_1", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw",
                            "avx512dq", "avx512vl"],
              "cpu.count": 16, "host.memory_mib": 16 * 1024, "gpu.compute_capabilities": None}


@pytest.fixture(autouse=True)
def time_limit():
    """No build-tf test may hang: SIGALRM turns a stuck one into a failure."""
    def expire(signum, frame):
        raise TimeoutError(f"test ran past {TEST_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _script(path: Path, text: str) -> Path:
    path.write_text(f"#!{sys.executable}\n" + text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_tree(root: Path, era: str = "2.20", extra_prompt: str = "") -> Path:
    """A TensorFlow checkout as build-tf sees it: the version file, .bazelversion and ./configure."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tensorflow" / "tools" / "pip_package").mkdir(parents=True)
    if era == "2.20":
        (root / "tensorflow" / "tf_version.bzl").write_text('"""TF version."""\nTF_VERSION = "2.20.0"\n')
        (root / ".bazelversion").write_text("7.4.1\n# NOTE: keep in sync with the CI images\n")
    else:
        (root / "tensorflow" / "tools" / "pip_package" / "setup.py").write_text("_VERSION = '2.15.0'\n")
        (root / ".bazelversion").write_text("6.1.0\n")
    text = (HERE / "fake_configure.py").read_text().replace("@ERA@", era).replace("@EXTRA_PROMPT@", extra_prompt)
    _script(root / "configure", text)
    return root


def make_bin(folder: Path, bazel: bool = True) -> Path:
    """An isolated PATH folder: the fake bazel, and stand-in clang and gcc (configure only needs their paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    if bazel:
        _script(folder / "bazel", (HERE / "fake_bazel.py").read_text())
    for compiler in ("clang", "gcc"):
        _script(folder / compiler, "print('fake compiler')\n")
    return folder


def bazel_calls(folder: Path) -> list[dict]:
    record = folder / "bazel_argv.jsonl"
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def configure_answers(tree: Path) -> dict:
    return json.loads((tree / "configure_answers.json").read_text())


@pytest.fixture
def fake_bin(tmp_path, monkeypatch) -> Path:
    """The fake bin folder, alone on PATH for this test."""
    folder = make_bin(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(folder))
    return folder


def cli_env(bin_folder: Path, **extra: str) -> dict[str, str]:
    return {"PATH": str(bin_folder), "HOME": str(bin_folder.parent / "home"), **extra}


def live_machine(facts: dict | None = None, python: str | None = None):
    """The machine a plan is for: this one's toolchain and Python (as the probes find them on the PATH the test
    set, the fake bin folder), with BASE_FACTS and ``facts`` over them."""
    from setupkit.buildtf.run import read_machine
    from setupkit.host.live import LiveHost
    from setupkit.probes import python_env, toolchain

    host = LiveHost()
    found = {**python_env.probe(host, {}), **toolchain.probe(host, {}), **BASE_FACTS, **(facts or {})}
    return read_machine(host, found, python, None)


class RecordingUi:
    """The run's Ui, kept in lists for the tests to read."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.build_lines: list[str] = []
        self.bazelrc_text: str | None = None
        self.plan = None

    def planned(self, plan) -> None:
        self.plan = plan

    def info(self, text: str) -> None:
        self.lines.append(text)

    def bazelrc(self, text: str) -> None:
        self.bazelrc_text = text

    def build_line(self, line: str) -> None:
        self.build_lines.append(line)

    def build_started(self, argv: list[str]) -> None:
        self.lines.append("$ " + " ".join(argv))

    def build_finished(self) -> None:
        pass


@pytest.fixture
def kit():
    """The helpers above, for test modules (pytest imports them in importlib mode, so not by name)."""
    return SimpleNamespace(make_tree=make_tree, make_bin=make_bin, bazel_calls=bazel_calls,
                           configure_answers=configure_answers, cli_env=cli_env, RecordingUi=RecordingUi,
                           facts=lambda **changes: {**BASE_FACTS, **changes}, machine=live_machine,
                           UNKNOWN_QUESTION=UNKNOWN_QUESTION)
