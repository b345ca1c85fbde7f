"""Hostile host data: whatever a snapshot or a live host hands the probes (odd digits, NaN, huge numbers, lists
where strings belong, escape sequences, garbage files), the probes give typed facts or unknown, doctor judges,
the planner plans or refuses in one line, and nothing host-derived steers the operator's terminal.

The sweep mutates the real H100 capture (and two built scenarios) one value at a time: in-process for speed,
through a host that answers the mutated value over the real snapshot, then a few mutated copies on disk through
the real CLI.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from setupkit.doctor import report
from setupkit.doctor.catalog import load_catalog
from setupkit.doctor.engine import run_checks, select
from setupkit.errors import SetupkitError
from setupkit.facts import FACTS
from setupkit.host.base import DEFAULT_TIMEOUT, CommandResult, Host
from setupkit.host.snapshot import SnapshotHost
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from setupkit.install.report import render_plan
from setupkit.probes import collect_facts, cpu, cuda, cudnn, driver, gpu, kernel, machine, os_release
from setupkit.probes.text import find_package, version_key, version_text
from setupkit.versions import major_minor

REPO = Path(__file__).resolve().parents[2]
H100 = REPO / "tests" / "snapshots" / "h100-ubuntu2404-vm"
TWO_GPUS = REPO / "tests" / "snapshots" / "ubuntu2204-two-gpus-cuda118"
NOUVEAU = REPO / "tests" / "snapshots" / "ubuntu1604-gtx-nouveau"

ESCAPES = "\x1b]0;pwned\x07\x1b[2J[bold red]x\r\x1b[1A:thumbs_up:"
ODD_DIGITS = ("²", "¹²", "١٢.٣", "9" * 5000)
ODD_VALUES: tuple[Any, ...] = (*ODD_DIGITS, "", "x" * 10_000, ESCAPES, ["a"], {"a": 1}, -1, 10**30, math.nan,
                               math.inf, None, True)
GARBAGE_FILES: tuple[bytes, ...] = (
    "²\n".encode(), "١٢.٣\n".encode(), b"9" * 5000 + b"\n", bytes(range(256)) * 4, ESCAPES.encode() + b"\n",
    b"A" * 200_000, b"[" * 100_000, b"\x00\x00\n", b"\r\n \t\r\n", b"\x1c\x1d\x1e\x85\n",
    b"NVRM version: NVIDIA UNIX x86_64 Kernel Module  " + "١٢.٣".encode() + b"  Sat\n",
    b"ID=ubuntu\nVERSION_ID=\"" + "٢٤.٠٤".encode() + b"\"\nPRETTY_NAME=\"" + ESCAPES.encode() + b"\"\n",
    b"ID=ubuntu\nVERSION_ID=\"24.04\"\nPRETTY_NAME=\"" + ESCAPES.encode() + b"\"\n",
    b"processor\t: 0\nsiblings\t: \xc2\xb2\nflags\t\t: avx\nMemTotal: \xc2\xb2 kB\n",
    b"#define CUDNN_MAJOR " + "٩".encode() + b"\n#define CUDNN_MINOR 1\n#define CUDNN_PATCHLEVEL 0\n",
    b'{"cuda": {"version": ["13.0"]}}', b'{"cuda": {"version": NaN}}',
)
KEY_FILES = (
    "/proc/driver/nvidia/version", "/etc/os-release", "/proc/cpuinfo", "/proc/modules", "/etc/lsb-release",
    "/etc/debian_version", "/proc/version", "/proc/sys/kernel/osrelease", "/proc/meminfo",
    "/sys/class/dmi/id/chassis_type", "/sys/module/nvidia/version", "/usr/local/cuda-13.0/version.json",
    "/usr/include/x86_64-linux-gnu/cudnn_version.h", "/proc/driver/nvidia/gpus/0000:00:06.0/information",
    "/sys/bus/pci/devices/0000:00:06.0/device", "/proc/cmdline",
)
CONTROL = [chr(code) for code in range(0x20) if chr(code) != "\n"] + ["\x7f", "\x9b"]


class Mutated(Host):
    """The real snapshot ``inner``, except for the answers given here (any type: that is the point)."""

    def __init__(self, inner: Host, files: dict[str, bytes] | None = None, nvml: Any = None, env: Any = None,
                 python: Any = None, commands: dict[tuple[str, ...], CommandResult] | None = None):
        self.inner, self.files, self.commands = inner, files or {}, commands or {}
        self.answers = {"nvml": nvml, "env": env, "python": python}

    def read_bytes(self, path: str) -> bytes | None:
        return self.files[path] if path in self.files else self.inner.read_bytes(path)

    def list_dir(self, path: str) -> list[str] | None:
        return self.inner.list_dir(path)

    def read_link(self, path: str) -> str | None:
        return self.inner.read_link(path)

    def exists(self, path: str) -> bool:
        return path in self.files or self.inner.exists(path)

    def is_dir(self, path: str) -> bool:
        return self.inner.is_dir(path)

    def run(self, argv, timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        return self.commands.get(tuple(argv)) or self.inner.run(argv, timeout)

    def run_probe(self, name, argv, timeout, env=None) -> CommandResult | None:
        return self.inner.run_probe(name, argv, timeout, env)

    def nvml(self) -> Any:
        return self.inner.nvml() if self.answers["nvml"] is None else self.answers["nvml"]

    def env(self) -> Any:
        return self.inner.env() if self.answers["env"] is None else self.answers["env"]

    def python(self) -> Any:
        return self.inner.python() if self.answers["python"] is None else self.answers["python"]


class Judge:
    """Facts -> checks -> report -> plans -> plan reports, asserting the contract at each stage. The stages after
    the probes are pure over the facts, so facts already judged are not judged again."""

    def __init__(self) -> None:
        self.checks = select(load_catalog())
        self.seen: set[str] = set()

    def __call__(self, host: Host, label: str) -> None:
        facts = collect_facts(host)
        assert set(facts) == set(FACTS), label
        key = json.dumps(facts, sort_keys=True, allow_nan=False)  # no NaN or Infinity ever becomes a fact
        if key in self.seen:
            return
        self.seen.add(key)
        out = io.StringIO()
        console = Console(file=out, width=100, color_system=None)
        report.render(console, run_checks(self.checks, facts), facts, "snapshot x", verbose=True)
        for options in (PlanOptions(gpu=True), PlanOptions()):
            try:
                render_plan(build_plan(facts, options), console)
            except SetupkitError as error:
                assert error.exit_code in (2, 3), (label, error)
        shown = out.getvalue()
        assert not [c for c in CONTROL if c in shown], (label, [c for c in CONTROL if c in shown])


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge()


def paths_in(document: Any, path: tuple = ()) -> list[tuple]:
    """Every position in a JSON document, containers included, the document itself first."""
    found = [path]
    items = (document.items() if isinstance(document, dict)
             else enumerate(document) if isinstance(document, list) else ())
    for key, value in items:
        found += paths_in(value, (*path, key))
    return found


def replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    document = copy.deepcopy(document)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


# -- the sweep -------------------------------------------------------------------------------------------------


def test_every_nvml_value_replaced_by_an_odd_one(judge):
    with SnapshotHost(H100) as base:
        answer = base.nvml()
        for path in paths_in(answer):
            for odd in ODD_VALUES:
                judge(Mutated(base, nvml=replaced(answer, path, odd)), f"nvml.json {path} = {odd!r:.40}")


def test_every_env_and_python_value_replaced_by_an_odd_one(judge):
    with SnapshotHost(H100) as base:
        env, python = base.env(), base.python()
        read = ("pip", "nvidia-cudnn-cu13", "nvidia-cuda-runtime", "tensorflow")
        for odd in ODD_VALUES:
            judge(Mutated(base, env={key: odd for key in env}), f"env.json every value = {odd!r:.40}")
            judge(Mutated(base, env=odd), f"env.json = {odd!r:.40}")
            for field in ("executable", "version", "bits", "pip_version", "packages", "externally_managed"):
                mutated = Mutated(base, python=dataclasses.replace(python, **{field: odd}))
                judge(mutated, f"python.{field} = {odd!r:.40}")
            for name in read:
                packages = dict(python.packages, **{name: odd})
                mutated = Mutated(base, python=dataclasses.replace(python, packages=packages))
                judge(mutated, f"package {name} = {odd!r:.40}")
            judge(Mutated(base, python=odd), f"python.json = {odd!r:.40}")


def test_every_command_output_replaced_by_an_odd_one(judge):
    with SnapshotHost(H100) as base:
        for argv in (("nvidia-smi",), ("nvcc", "--version"), ("uname", "-r"), ("mokutil", "--sb-state")):
            result = base.run(list(argv))
            for odd in ODD_VALUES:
                for field in ("stdout", "stderr", "returncode"):
                    changed = {argv: dataclasses.replace(result, **{field: odd})}
                    judge(Mutated(base, commands=changed), f"{' '.join(argv)} {field} = {odd!r:.40}")


@pytest.mark.parametrize("snapshot", [H100, TWO_GPUS, NOUVEAU], ids=lambda path: path.name)
def test_key_files_replaced_by_garbage(judge, snapshot):
    with SnapshotHost(snapshot) as base:
        pci = base.list_dir("/sys/bus/pci/devices") or []
        files = KEY_FILES + tuple(f"/sys/bus/pci/devices/{address}/{name}" for address in pci[:1]
                                  for name in ("vendor", "class"))
        for path in files:
            for garbage in GARBAGE_FILES:
                judge(Mutated(base, files={path: garbage}), f"{snapshot.name}:{path} = {garbage[:40]!r}")


@pytest.mark.parametrize("snapshot", [TWO_GPUS, NOUVEAU], ids=lambda path: path.name)
def test_scenario_nvml_documents_replaced_by_odd_ones(judge, snapshot):
    with SnapshotHost(snapshot) as base:
        answer = base.nvml()
        for path in paths_in(answer)[:12]:
            for odd in ODD_VALUES:
                judge(Mutated(base, nvml=replaced(answer, path, odd)), f"{snapshot.name} nvml {path} = {odd!r:.40}")


# -- the same through the real loader and CLI ------------------------------------------------------------------


def mutated_copy(tmp_path: Path, name: str, json_changes: dict[str, tuple[tuple, Any]] | None = None,
                 file_changes: dict[str, bytes | str] | None = None) -> Path:
    folder = tmp_path / name
    shutil.copytree(H100, folder, symlinks=True)
    for document, (path, value) in (json_changes or {}).items():
        data = json.loads((folder / document).read_text())
        (folder / document).write_text(json.dumps(replaced(data, path, value)))
    for host_path, content in (file_changes or {}).items():
        target = folder / "files" / host_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


DISK_MUTATIONS = {
    "gpu-name-a-list": {"nvml.json": (("devices", 0, "name"), ["a"])},
    "memory-a-string": {"nvml.json": (("devices", 0, "memory_total"), "²")},
    "cuda-int-huge": {"nvml.json": (("cuda_driver_version",), 10**30)},
    "python-version-arabic": {"python.json": (("version",), "١٢.٣")},
    "pip-version-a-list": {"python.json": (("pip_version",), ["24.0"])},
    "env-escapes": {"env.json": (("CUDA_VISIBLE_DEVICES",), ESCAPES)},
    "nvcc-output-an-object": {"commands.json": ((2, "stdout"), {"release": "13.0"})},
}


@pytest.mark.parametrize("name", sorted(DISK_MUTATIONS))
def test_mutated_copies_through_the_snapshot_loader(tmp_path, judge, name):
    """The loader may refuse a mutation (a SnapshotError, exit 3); whatever it lets through, the probes take."""
    folder = mutated_copy(tmp_path, name, json_changes=DISK_MUTATIONS[name])
    try:
        host = SnapshotHost(folder)
    except SetupkitError as error:
        assert error.exit_code == 3 and "\n" not in error.message
        return
    with host:
        judge(host, name)


def assert_one_line_or_report(done, allowed=(0, 1, 3)):
    assert done.returncode in allowed, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert not [c for c in CONTROL if c in done.stdout + done.stderr]
    if done.returncode == 3:  # only the snapshot loader may refuse a mutation, in one line naming the snapshot
        assert len(done.stderr.splitlines()) <= 2 and done.stderr.startswith("setupkit: snapshot "), done.stderr


@pytest.mark.parametrize("name", ["gpu-name-a-list", "python-version-arabic", "env-escapes"])
def test_mutated_copies_through_the_cli(tmp_path, run_setupkit, name):
    folder = mutated_copy(tmp_path, name, json_changes=DISK_MUTATIONS[name],
                          file_changes={"/etc/os-release": f'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="{ESCAPES}"\n',
                                        "/proc/driver/nvidia/version": "NVRM version: ².١\n"})
    assert_one_line_or_report(run_setupkit("doctor", "--snapshot", str(folder), timeout=60))
    assert_one_line_or_report(run_setupkit("install", "--gpu", "--dry-run", "--snapshot", str(folder), timeout=60))


# -- the classes, one by one -----------------------------------------------------------------------------------


@pytest.mark.parametrize("odd", ODD_DIGITS)
def test_odd_digits_in_files_are_unknown_numbers(odd):
    assert cpu.cpu_count(cpu.parse_cpuinfo(f"processor\t: 0\nsiblings\t: {odd}\n")) == 1  # the one processor seen
    assert machine.parse_chassis_type(f"{odd}\n") is None
    assert machine.parse_mem_total_mib(f"MemTotal:       {odd} kB\n") is None
    assert os_release.debian_version_id(f"{odd}\n") is None
    assert driver.parse_module_version(f"{odd}\n") is None
    assert driver.parse_nvrm_version(f"NVRM version: NVIDIA UNIX x86_64 Kernel Module  {odd}  Sat Aug 19\n") is None
    assert driver.parse_smi_cuda_version(f"| Driver Version: 580.159.04   CUDA Version: {odd} |") is None
    assert cuda.parse_nvcc_version(f"Cuda compilation tools, release {odd}, V{odd}") is None
    assert cudnn.parse_cudnn_header(f"#define CUDNN_MAJOR {odd}\n#define CUDNN_MINOR 1\n#define CUDNN_PATCHLEVEL 0\n") \
        is None
    assert major_minor(odd) is None and version_text(odd) is None
    assert version_key(f"535.{odd}") == (535,) + (0,) * odd.count(".") + (0,)


def test_good_numbers_still_read():
    assert cpu.cpu_count(cpu.parse_cpuinfo("processor\t: 0\nsiblings\t: 16\nphysical id\t: 0\n")) == 16
    assert machine.parse_chassis_type("10\n") == 10 and machine.parse_mem_total_mib("MemTotal: 16318412 kB\n") == 15935
    assert driver.parse_module_version("535.104.05\n") == "535.104.05"
    assert os_release.debian_version_id("12.11\n") == "12"


@pytest.mark.parametrize("value", [True, 13000.0, "13000", -13000, 0, 10**30, math.nan, None, [13000]])
def test_nvml_cuda_driver_version_only_from_a_plausible_int(value):
    assert driver.cuda_version_from_int(value) is None
    assert driver.cuda_version_from_int(12020) == "12.2"


def device(**fields: Any) -> dict[str, Any]:
    return {"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-1", "memory_total": 85520809984,
            "memory_used": 503316480, "compute_capability": [9, 0], **fields}


@pytest.mark.parametrize("field, value, fact, expected", [
    ("memory_total", math.nan, "gpu.memory_total_mib", [None]),
    ("memory_total", math.inf, "gpu.memory_total_mib", [None]),
    ("memory_total", -1, "gpu.memory_total_mib", [None]),
    ("memory_total", 1e308, "gpu.memory_total_mib", [None]),
    ("memory_used", True, "gpu.memory_used_mib", [None]),
    ("memory_used", "503316480", "gpu.memory_used_mib", [None]),
    ("compute_capability", ["9", "0"], "gpu.compute_capabilities", [None]),
    ("compute_capability", [9, 1000], "gpu.compute_capabilities", [None]),
    ("compute_capability", [True, 0], "gpu.compute_capabilities", [None]),
    ("name", ["NVIDIA H100"], "gpu.names", [None]),
    ("name", 12345, "gpu.names", [None]),
    ("uuid", {"id": 1}, "gpu.uuids", [None]),
    ("pci_bus_id", 12345, "gpu.pci_ids", None),
])
def test_nvml_fields_of_the_wrong_form_are_unknown(field, value, fact, expected):
    assert gpu.facts_from_nvml([device(**{field: value})], None)[fact] == expected


def test_nvml_process_fields_of_the_wrong_form_are_unknown():
    found = gpu.facts_from_nvml([device(index=True, processes=[{"pid": "12", "name": ["x"], "used_memory": math.nan},
                                                               "not an object"])], None)
    assert found["gpu.processes"] == [{"gpu": None, "pid": None, "name": None, "used_mib": None}]


@pytest.mark.parametrize("answer, error", [
    ("not an object", "NVMLError_ProbeFailed"), (["a"], "NVMLError_ProbeFailed"),
    ({"error": ["x"]}, "NVMLError_ProbeFailed"),
    ({"error": 12}, "NVMLError_ProbeFailed"), ({"error": ""}, None), ({"error": None, "devices": "x"}, None),
])
def test_an_nvml_answer_of_the_wrong_form(make_host, answer, error):
    host = make_host(nvml={})
    facts = collect_facts(Mutated(host, nvml=answer))
    assert facts["driver.nvml_error"] == error
    assert facts["gpu.names"] is None or facts["gpu.names"] == []


def test_a_deeply_nested_version_json_is_no_version():
    assert cuda.parse_version_json("[" * 100_000) is None
    assert cuda.parse_version_json('{"cuda": {"version": NaN}}') is None
    assert cuda.parse_version_json('{"cuda": {"version": "12.2.2"}}') == "12.2"


@pytest.mark.parametrize("packages", ["²", ["pip"], None, 12, {"pip": ["24.0"]}, {"pip": "²"}, {3: "24.0"}])
def test_installed_packages_of_the_wrong_form_count_as_absent(packages):
    assert find_package(packages, ("pip",)) is None
    assert find_package({"Pip": " 24.0 "}, ("pip",)) == ("pip", "24.0")


@pytest.mark.parametrize("release", ["6.8.0 45", ESCAPES, "x" * 10_000, "6" * 200, "../../etc", "6.8/../x", "-rf",
                                     "6.8\x00", "²", "٦.٨"])
def test_a_kernel_release_that_is_no_release_is_unknown(release):
    assert kernel.parse_release(release) is None
    if " " not in release:  # /proc/version ends the release at a blank
        assert kernel.parse_proc_version(f"Linux version {release} (root@x) #1 SMP") is None
    assert kernel.parse_release("5.15.153.1-microsoft-standard-WSL2\n") == "5.15.153.1-microsoft-standard-WSL2"


# -- a GPU NVML could not open -----------------------------------------------------------------------------------


def test_a_gpu_nvml_could_not_open_is_named_in_the_report_and_its_checks_say_unknown(tmp_path, run_setupkit):
    folder = mutated_copy(tmp_path, "unopened", json_changes={
        "nvml.json": (("devices",), [{"index": 0, "error": "could not open this GPU"}])})
    with SnapshotHost(folder) as host:
        facts = collect_facts(host)
    assert facts["gpu.count"] == 1 and facts["gpu.names"] == [None]
    assert facts["gpu.errors"] == ["could not open this GPU"]
    assert report.gpu_summary(facts) == "GPU 0: could not be opened (could not open this GPU)"
    findings = {f.id: f for f in run_checks(select(load_catalog()), facts)}
    assert findings["gpu.memory-held"].status == "unknown"
    done = run_setupkit("doctor", "--snapshot", str(folder), timeout=60)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr
    header = " ".join(" ".join(done.stdout.split("\n\n")[0].splitlines()[1:]).split())  # as wrapped at 100 columns
    assert header.endswith(" · GPU 0: could not be opened (could not open this GPU)"), header


def test_the_header_names_each_gpu_and_counts_alike_ones():
    facts = {"gpu.names": ["NVIDIA A100", "NVIDIA A100", None, None],
             "gpu.errors": [None, None, "could not open this GPU", None]}
    assert report.gpu_summary(facts) == ("2 x NVIDIA A100, GPU 2: could not be opened (could not open this GPU), "
                                         "GPU 3: name unknown")
    assert report.gpu_summary({"gpu.names": "NVIDIA A100"}) is None


# -- escape sequences and markup from a snapshot ---------------------------------------------------------------


@pytest.fixture
def escaping_snapshot(tmp_path) -> Path:
    return mutated_copy(tmp_path, "escapes",
                        json_changes={"nvml.json": (("devices", 0, "name"), "NVIDIA H100\r\x1b[2J")},
                        file_changes={"/etc/os-release": 'ID=ubuntu\nVERSION_ID="24.04"\n'
                                                         'PRETTY_NAME="\x1b]0;pwned\x07[bold red]x :thumbs_up:"\n'})


def test_doctor_shows_escapes_as_codes_and_markup_as_typed(run_setupkit, escaping_snapshot):
    done = run_setupkit("doctor", "--snapshot", str(escaping_snapshot), timeout=60)
    assert done.returncode in (0, 1), done.stderr
    header = " ".join(" ".join(done.stdout.split("\n\n")[0].splitlines()[1:]).split())  # as wrapped at 100 columns
    assert header.startswith("\\x1b]0;pwned\\x07[bold red]x :thumbs_up: · "), header
    assert header.endswith(" · NVIDIA H100\\x0d\\x1b[2J"), header
    assert not [c for c in CONTROL if c in done.stdout]


def test_install_shows_escapes_as_codes_and_markup_as_typed(run_setupkit, escaping_snapshot):
    done = run_setupkit("install", "--gpu", "--dry-run", "--snapshot", str(escaping_snapshot), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("setupkit install: GPU path for \\x1b]0;pwned\\x07[bold red]x :thumbs_up: (apt-get)")
    assert not [c for c in CONTROL if c in done.stdout]


def test_the_json_report_keeps_the_value_as_it_is(run_setupkit, escaping_snapshot):
    done = run_setupkit("doctor", "--json", "--snapshot", str(escaping_snapshot), timeout=60)
    facts = json.loads(done.stdout)["facts"]
    assert facts["os.pretty_name"] == "\x1b]0;pwned\x07[bold red]x :thumbs_up:"
    assert facts["gpu.names"] == ["NVIDIA H100\r\x1b[2J"]
    assert "\x1b" not in done.stdout  # JSON escapes it: \u001b


# -- bounded time: a file of the size a host hands over (8 MB) never costs the square of its length ------------

_PATHOLOGICAL = '''
import json, sys, time
from setupkit.probes import cudnn, driver, machine, os_release
MB = 1024 * 1024
cases = {
    "cudnn header of newlines": lambda: cudnn.parse_cudnn_header("\\n" * (2 * MB)),
    "NVRM line of repeated words": lambda: driver.parse_nvrm_version("NVRM version: " + "Kernel Module " * 150_000),
    "DMI names repeating the Hyper-V words": lambda: machine.dmi_virtualization("microsoft corporation " * 100_000,
                                                                                "x"),
    "os-release of one long line": lambda: os_release.parse_os_release("A=" + "b" * (2 * MB)),
    "os-release of many lines": lambda: os_release.parse_os_release("A=b\\n" * MB),
}
took = {}
for name, parse in cases.items():
    start = time.monotonic()
    parse()
    took[name] = time.monotonic() - start
print(json.dumps(took))
'''


def test_pathological_files_parse_in_bounded_time():
    """Each case took minutes or hours before (regex backtracking, shlex on a long line); a regression must not
    hang the suite, so the cases run in a child with a timeout."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _PATHOLOGICAL], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    took = json.loads(done.stdout)
    assert all(seconds < 3 for seconds in took.values()), took


def test_one_line_shows_codes_and_cuts_what_no_line_needs():
    from setupkit.bounded import one_line

    assert one_line("a\nb\x1b[2J\r") == "a\\nb\\x1b[2J\\x0d"
    assert one_line("x" * 5000, limit=10) == "xxxxxxxxxx... (5,000 characters)"
    assert one_line(["a"]) == "['a']"
