"""Install and measure: real venvs, the real benchmark call, pip replaced where it would need the network."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from setupkit import process
from setupkit.buildtf import measure
from setupkit.buildtf.plan import BuildOptions, make_plan
from setupkit.buildtf.run import execute
from setupkit.errors import ActionFailed, PreconditionError

FAKE_BENCH = '''
import argparse, json, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--json", action="store_true")
parser.add_argument("--steps", type=int)
parser.add_argument("--batch-size", type=int)
args = parser.parse_args()
marker = os.path.join(sys.prefix, "installed.txt")
installed = open(marker).read() if os.path.exists(marker) else ""
built = "wheel_house" in installed or "tensorflow_cpu-" in installed
# The first run in each venv is slowed down, as a busy machine would: the best of the repeats must count.
order = os.path.join(os.path.dirname(sys.prefix), "bench_order.txt")
first = not os.path.exists(order) or sys.prefix not in open(order).read()
open(order, "a").write(sys.prefix + "\\n")
slow = 0.5 if first else 1.0
print("2026-01-01 I tensorflow/core/platform/cpu_feature_guard.cc:210] noise before the JSON")
print(json.dumps({"train_images_per_sec": (130.0 if built else 100.0) * slow,
                  "infer_images_per_sec": (250.0 if built else 100.0) * slow,
                  "steps": args.steps, "batch_size": args.batch_size, "prefix": sys.prefix,
                  "script_dir": os.path.dirname(os.path.abspath(__file__))}))
'''


class FakePip(measure.BenchmarkRunner):
    """Real commands, except `pip install`: it leaves a marker in the venv (or fails, for the stock wheel)."""

    stock_fails = False
    calls: list[list[str]] = []

    def run(self, argv, timeout):
        if argv[1:4] != ["-m", "pip", "install"]:
            return super().run(argv, timeout)
        FakePip.calls.append(argv)
        requirement = argv[-1]
        if self.stock_fails and requirement.startswith("tensorflow-cpu=="):
            return process.Completed(tuple(argv), 1, "", f"ERROR: No matching distribution found for {requirement}")
        Path(argv[0]).parent.parent.joinpath("installed.txt").write_text(requirement)
        return process.Completed(tuple(argv), 0, "Successfully installed", "")


def plan_with_install(kit, tmp_path, **options):
    tree = kit.make_tree(tmp_path / "tf")
    bench = tmp_path / "bench" / "standalone_bench.py"
    bench.parent.mkdir()
    bench.write_text(FAKE_BENCH)
    return make_plan(BuildOptions(source=tree, min_free_gb=0, log=tmp_path / "build.log", venv=tmp_path / "native",
                                  stock_venv=tmp_path / "stock", bench_script=bench, bench_steps=7,
                                  bench_batch_size=16, **options), kit.machine())


def test_built_and_stock_wheels_are_measured_side_by_side(kit, tmp_path, fake_bin):
    FakePip.calls, FakePip.stock_fails = [], False
    plan = plan_with_install(kit, tmp_path)
    result = execute(plan, kit.RecordingUi(), runner_factory=FakePip, with_pip=False)
    wheel = str(result.wheel)
    assert FakePip.calls == [
        [str(tmp_path / "native/bin/python"), "-m", "pip", "install", "--upgrade", wheel],
        [str(tmp_path / "stock/bin/python"), "-m", "pip", "install", "--upgrade", "tensorflow-cpu==2.20.0"]]
    bench = result.benchmark
    assert result.installed and (tmp_path / "native/pyvenv.cfg").is_file() and (tmp_path / "stock/pyvenv.cfg").is_file()
    assert bench["built"]["train_images_per_sec"] == 130.0 and bench["stock"]["infer_images_per_sec"] == 100.0
    assert bench["ratio"] == {"train": 1.3, "infer": 2.5}  # the best of two runs each, not the slowed first
    assert (tmp_path / "bench_order.txt").read_text().split() == [str(tmp_path / name) for name in
                                                                  ("native", "stock", "native", "stock")]
    first = bench["built"]["raw"]["runs"][0]
    assert (first["steps"], first["batch_size"], first["prefix"]) == (7, 16, str(tmp_path / "native"))
    assert first["script_dir"] != str(tmp_path / "bench")  # run from a temp copy, not from setupkit's tree


def test_stock_wheel_that_cannot_be_installed_leaves_the_built_figures(kit, tmp_path, fake_bin):
    FakePip.calls, FakePip.stock_fails = [], True
    plan = plan_with_install(kit, tmp_path)
    ui = kit.RecordingUi()
    result = execute(plan, ui, runner_factory=FakePip, with_pip=False)
    bench = result.benchmark
    assert bench["built"]["infer_images_per_sec"] == 250.0
    assert bench["stock"] is None and bench["ratio"] is None
    assert bench["stock_error"] == ("pip could not install tensorflow-cpu==2.20.0 (ERROR: No matching distribution "
                                    "found for tensorflow-cpu==2.20.0)")


def test_a_folder_that_is_not_a_venv_is_refused(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    try:
        measure.ensure_venv(sys.executable, tmp_path / "precious", measure.BenchmarkRunner(_NullLog()),
                            with_pip=False)
    except Exception as error:  # noqa: BLE001 - the type and code are asserted below
        assert getattr(error, "exit_code", None) == 3 and "is not a virtual environment" in str(error)
    else:
        raise AssertionError("a non-venv folder was accepted")


class _NullLog:
    path = Path("/dev/null")

    def section(self, title):
        pass

    def write(self, text):
        pass


def _real_wheel(folder: Path) -> Path:
    """A minimal valid wheel, so that the real pip has something to install without the network."""
    wheel = folder / "tensorflow_cpu-2.20.0-py3-none-any.whl"
    info = "tensorflow_cpu-2.20.0.dist-info"
    files = {f"{info}/METADATA": "Metadata-Version: 2.1\nName: tensorflow-cpu\nVersion: 2.20.0\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
             "fake_tf_marker.py": "BUILT = True\n"}
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def test_real_venv_and_real_pip_install_the_wheel(tmp_path):
    """One real `python -m venv` with pip (~10 s) and a real `pip install` of a local wheel."""
    runner = measure.BenchmarkRunner(_NullLog())
    venv = tmp_path / "venv"
    assert measure.ensure_venv(sys.executable, venv, runner) is True
    assert measure.ensure_venv(sys.executable, venv, runner) is False  # reused, not recreated
    done = measure.pip_install(venv, str(_real_wheel(tmp_path)), runner)
    assert done.returncode == 0, done.stderr
    check = subprocess.run([str(venv / "bin/python"), "-c", "import fake_tf_marker, json; print(fake_tf_marker.BUILT)"],
                           capture_output=True, text=True, timeout=30)
    assert check.stdout.strip() == "True"
    outside = subprocess.run([sys.executable, "-c", "import fake_tf_marker"], capture_output=True, timeout=30)
    assert outside.returncode != 0  # the system Python was left alone


def test_parse_bench_output_takes_the_json_line():
    assert measure.parse_bench_output('noise\n{"train_images_per_sec": 1, "infer_images_per_sec": 2.5}\n') == \
        measure.Figures(1.0, 2.5, {"train_images_per_sec": 1, "infer_images_per_sec": 2.5})
    assert measure.parse_bench_output('{"train_images_per_sec": 1}\n') is None
    assert measure.parse_bench_output("Traceback ...\n") is None


def _figures(train, infer):
    return measure.Figures(train, infer, {})


def test_a_ratio_within_the_runs_own_spread_is_called_noise():
    built = measure.best([_figures(786.3, 1428.5), _figures(900.9, 2253.9), _figures(856.6, 1430.8)])
    stock = measure.best([_figures(1436.0, 2513.4), _figures(867.7, 2830.9), _figures(954.4, 2341.0)])
    assert (built.train_images_per_sec, stock.infer_images_per_sec) == (900.9, 2830.9)
    assert built.raw["spread"] == {"train": 0.127, "infer": 0.366}
    ratio = measure.ratios(built, stock)
    assert ratio == {"train": 0.627, "infer": 0.796}
    assert measure.verdicts(ratio, built, stock) == {"train": "within run-to-run noise (40%)",
                                                     "infer": "within run-to-run noise (37%)"}
    steady_built = measure.best([_figures(130, 250), _figures(128, 245)])
    steady_stock = measure.best([_figures(100, 100), _figures(99, 101)])
    assert measure.verdicts(measure.ratios(steady_built, steady_stock), steady_built, steady_stock) == {
        "train": "faster", "infer": "faster"}


@pytest.mark.parametrize("make, says", [
    (lambda path: path.write_text("notes"), "is a regular file, not a virtual environment"),
    (lambda path: os.mkfifo(path), "is a FIFO, not a virtual environment"),
])
def test_a_venv_path_that_is_a_file_or_a_fifo_is_refused(tmp_path, make, says):
    make(tmp_path / "target")
    with pytest.raises(PreconditionError) as refused:
        measure.ensure_venv(sys.executable, tmp_path / "target", measure.BenchmarkRunner(_NullLog()),
                            with_pip=False)
    assert says in refused.value.message


def test_a_benchmark_that_hangs_is_cut_at_its_timeout_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(measure, "BENCH_TIMEOUT", 1.0)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    script = tmp_path / "standalone_bench.py"
    script.write_text("import time\nprint('warming up', flush=True)\ntime.sleep(60)\n")
    started = time.monotonic()
    with pytest.raises(ActionFailed) as failed:
        measure.run_bench(venv, script, 1, 1, measure.BenchmarkRunner(_NullLog()))
    assert time.monotonic() - started < 15
    assert f"the benchmark failed in {venv} (timed out after 1s)" in failed.value.message
