"""`setupkit snapshot --deep`: the deep probe's run travels in the bundle, and `doctor --snapshot --deep` judges
it on another machine exactly as `doctor --deep` judged it live."""

from __future__ import annotations

import json
from pathlib import Path

FAKES = Path(__file__).resolve().parents[1] / "doctor" / "fakes"


def deep_facts(document: dict) -> dict:
    return {name: value for name, value in document["facts"].items() if name.startswith("tfprobe.")}


def test_a_crash_recorded_by_snapshot_deep_is_judged_offline(run_setupkit, tmp_path):
    python = str(FAKES / "python-sigill")
    bundle = tmp_path / "deep-snapshot"
    taken = run_setupkit("snapshot", "--deep", "--deep-python", python, "-o", str(bundle))
    assert taken.returncode == 0, taken.stderr
    assert "tensorflow" in json.loads((bundle / "probes.json").read_text())

    live = run_setupkit("doctor", "--deep", "--deep-python", python, "--only", "tensorflow.import", "--json")
    offline = run_setupkit("doctor", "--snapshot", str(bundle), "--deep", "--only", "tensorflow.import", "--json")
    live_doc, offline_doc = json.loads(live.stdout), json.loads(offline.stdout)
    assert deep_facts(offline_doc)["tfprobe.status"] == "crashed"
    assert deep_facts(offline_doc) == deep_facts(live_doc)
    assert [f["status"] for f in offline_doc["findings"]] == [f["status"] for f in live_doc["findings"]] == ["fail"]
    assert offline.returncode == live.returncode == 1


def test_a_snapshot_without_deep_says_how_to_take_one(run_setupkit, tmp_path):
    bundle = tmp_path / "plain-snapshot"
    assert run_setupkit("snapshot", "-o", str(bundle)).returncode == 0
    assert not (bundle / "probes.json").exists()
    offline = run_setupkit("doctor", "--snapshot", str(bundle), "--deep", "--only", "tensorflow.import", "--json")
    document = json.loads(offline.stdout)
    assert deep_facts(document)["tfprobe.status"] == "not-recorded"
    (finding,) = document["findings"]
    assert finding["status"] == "unknown" and "setupkit snapshot --deep" in finding["message"]


def test_bad_deep_options_stop_the_snapshot_before_it_reads_anything(run_setupkit, tmp_path):
    bundle = tmp_path / "never"
    bad_timeout = run_setupkit("snapshot", "--deep", "--deep-timeout", "nan", "-o", str(bundle))
    assert bad_timeout.returncode == 2 and bad_timeout.stderr.count("\n") <= 2, bad_timeout.stderr
    assert "--deep-timeout nan" in bad_timeout.stderr and "fix: give one, e.g. 120" in bad_timeout.stderr
    no_python = run_setupkit("snapshot", "--deep", "--deep-python", str(tmp_path / "no-such-python"), "-o",
                             str(bundle))
    assert no_python.returncode == 3 and "--deep-python" in no_python.stderr, no_python.stderr
    assert not bundle.exists()


FRAMEWORK_FAKES = Path(__file__).resolve().parents[1] / "probes" / "fakes" / "frameworks"
FRAMEWORK_CHECKS = ("torch.imports", "torch.gpu-visible", "jax.imports", "jax.gpu-visible")


def framework_facts(document: dict) -> dict:
    return {name: value for name, value in document["facts"].items()
            if name.startswith(("torchprobe.", "jaxprobe."))}


def test_snapshot_deep_carries_pytorch_and_jax_and_doctor_reproduces_them(run_setupkit, tmp_path, monkeypatch):
    # Fake CUDA builds of torch and jax (tests/probes/fakes/frameworks/cuda): what an H100 host's would answer.
    monkeypatch.setenv("PYTHONPATH", str(FRAMEWORK_FAKES / "cuda"))
    python = str(FAKES / "python-no-site")
    bundle = tmp_path / "deep-snapshot"
    taken = run_setupkit("snapshot", "--deep", "--deep-python", python, "-o", str(bundle))
    assert taken.returncode == 0, taken.stderr
    recorded = json.loads((bundle / "probes.json").read_text())
    assert set(recorded) == {"tensorflow", "torch", "jax"}
    assert recorded["torch"]["stdout"].startswith("SETUPKIT-TORCHPROBE {")

    live = run_setupkit("doctor", "--deep", "--deep-python", python, "--json")
    monkeypatch.delenv("PYTHONPATH")  # offline, nothing of the fakes is importable: the recorded runs answer
    offline = run_setupkit("doctor", "--snapshot", str(bundle), "--deep", "--json")
    live_doc, offline_doc = json.loads(live.stdout), json.loads(offline.stdout)
    assert framework_facts(offline_doc) == framework_facts(live_doc)
    assert offline_doc["facts"]["torchprobe.devices"] == ["NVIDIA H100 80GB HBM3"]
    assert offline_doc["facts"]["jaxprobe.gpus"] == ["NVIDIA H100 80GB HBM3"]

    def verdicts(document: dict) -> dict:
        return {f["id"]: f["status"] for f in document["findings"] if f["id"] in FRAMEWORK_CHECKS}

    assert verdicts(offline_doc) == verdicts(live_doc)
    assert verdicts(offline_doc)["torch.imports"] == verdicts(offline_doc)["jax.imports"] == "pass"


def test_a_snapshot_without_deep_leaves_the_framework_checks_unknown(run_setupkit, tmp_path):
    bundle = tmp_path / "plain-snapshot"
    assert run_setupkit("snapshot", "-o", str(bundle)).returncode == 0
    offline = run_setupkit("doctor", "--snapshot", str(bundle), "--deep", "--only", "torch.imports", "--only",
                           "jax.imports", "--json")
    document = json.loads(offline.stdout)
    assert document["facts"]["torchprobe.status"] == document["facts"]["jaxprobe.status"] == "not-recorded"
    assert [finding["status"] for finding in document["findings"]] == ["unknown", "unknown"]
