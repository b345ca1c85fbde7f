"""Every Debian package a scenario plan names, resolved against the real archive of that scenario's release
(``apt-get install`` resolved, not run, by an apt of its own: indexes signature-checked, the whole dependency
closure on a bare system of that release, as ``apt-get -s install`` marks it): a driver
branch the release does not carry, a package renamed or gone, or headers of a kernel the archive dropped fail
here, not on the host.

Packages from NVIDIA's CUDA repository or a Launchpad PPA cannot be resolved from here: each plan lists them as
unchecked, with the reason, never as passed. Offline these tests skip and say why; ``.ci/run`` reaches the archives
and runs them. What a plan names is read from the planner each time, for the option sets the scenario tests use."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from setupkit.errors import SetupkitError
from setupkit.install.model import DONE, TODO, Plan, Step
from setupkit.install.options import PlanOptions
from setupkit.install.planner import build_plan
from tests.helpers.apt_archive import (
    DEBIAN,
    AptResolution,
    AptRoot,
    Archives,
    Release,
    missing_tools,
    parse_resolution,
    release_of,
)
from tests.helpers.install import ubuntu_gpu_facts
from tests.helpers.network import url_unreachable
from tests.helpers.scenarios import snapshot_facts, snapshot_names

OPTION_SETS = {
    "gpu": PlanOptions(gpu=True), "gpu+with-toolkit": PlanOptions(gpu=True, with_toolkit=True),
    "gpu+driver-580": PlanOptions(gpu=True, driver_branch=580),
    "gpu+upgrade-tensorflow": PlanOptions(gpu=True, upgrade_tensorflow=True), "cpu": PlanOptions(),
}
"""The option sets the scenario tests plan with; one a host refuses (its own tests check the refusal) is left out."""

NVIDIA_REPOSITORY = re.compile(r"^(cuda|cuda-.+|libcudnn.*|cudnn.*|nvidia-driver-pinning-.+|libnccl.*"
                               r"|nvidia-open(-\d+)?|libnvidia-container.*|nvidia-container-toolkit.*)$")
"""Names only NVIDIA's CUDA repository (developer.download.nvidia.com) publishes."""
DRIVER_PACKAGE = re.compile(r"^(nvidia-|libnvidia-|xserver-xorg-video-nvidia)")
NVIDIA_URL = "https://developer.download.nvidia.com/compute/cuda/repos/"
ARCHIVE, KERNEL, NVIDIA, PPA = "archive", "kernel", "nvidia", "ppa"
"""Where a planned package comes from: the distribution's archive; the archive too, but it is the running kernel's
headers (tested on their own: the archive drops old kernels' headers); NVIDIA's repository; a PPA."""
APT_OPTIONS_WITH_VALUE = {"-o", "--option", "-t", "--target-release", "-c", "--config-file"}


@dataclass(frozen=True)
class Planned:
    step: str
    status: str
    request: str
    """As the plan writes it: a name, or name=version."""
    origin: str
    note: str = ""
    """Where an unchecked package comes from (a PPA, the NVIDIA pinning package)."""

    @property
    def name(self) -> str:
        return self.request.partition("=")[0]


def apt_installs(argv: Sequence[str]) -> list[str]:
    """The packages (name or name=version) an ``apt-get install`` / ``apt install`` command names; [] for any
    other command."""
    tools = [i for i, word in enumerate(argv) if word.rsplit("/", 1)[-1] in ("apt-get", "apt")]
    if not tools:
        return []
    words, skip_value = [], False
    for word in argv[tools[0] + 1:]:
        if skip_value:
            skip_value = False
        elif word in APT_OPTIONS_WITH_VALUE:
            skip_value = True
        elif not word.startswith("-"):
            words.append(word)
    if not words or words[0] != "install":
        return []
    return [word for word in words[1:] if "/" not in word]  # ./file.deb is a local file, not a package name


def added_ppa(step: Step) -> str | None:
    for argv in step.commands:
        if argv and argv[0] == "add-apt-repository":
            return next((word for word in argv if word.startswith("ppa:")), None)
    return None


def planned_packages(plan: Plan, kernel_release: str | None) -> list[Planned]:
    """Every package the todo and done steps install, with where it comes from. A skip step's commands never run."""
    found, pinning = [], None
    for step in plan.steps:
        if step.status not in (TODO, DONE):
            continue
        ppa = added_ppa(step)
        for argv in step.commands:
            for request in apt_installs(argv):
                name = request.partition("=")[0]
                if NVIDIA_REPOSITORY.match(name):
                    pinning = name if name.startswith("nvidia-driver-pinning-") else pinning
                    found.append(Planned(step.id, step.status, request, NVIDIA))
                elif pinning and DRIVER_PACKAGE.match(name):
                    # the pinning package holds the driver packages to NVIDIA's repository and its branch
                    found.append(Planned(step.id, step.status, request, NVIDIA, f"held there by {pinning}"))
                elif ppa and DRIVER_PACKAGE.match(name):
                    found.append(Planned(step.id, step.status, request, PPA, ppa))
                elif kernel_release and name == f"linux-headers-{kernel_release}":
                    found.append(Planned(step.id, step.status, request, KERNEL))
                else:
                    found.append(Planned(step.id, step.status, request, ARCHIVE))
    return found


@dataclass(frozen=True)
class Case:
    """The packages one scenario's plans name, for the option sets that plan exactly these."""

    scenario: str
    options: tuple[str, ...]
    release: Release | None
    packages: tuple[Planned, ...]

    @property
    def id(self) -> str:
        return f"{self.scenario}:{','.join(self.options)}"

    def requests(self, origin: str, status: str | None = None) -> list[str]:
        return [p.request for p in self.packages if p.origin == origin and status in (None, p.status)]


def debian_family_scenarios() -> list[str]:
    return [name for name in snapshot_names() if snapshot_facts(name).get("os.family") == "debian"]


def plan_cases() -> list[Case]:
    cases = []
    for name in debian_family_scenarios():
        facts = snapshot_facts(name)
        labels: dict[tuple[Planned, ...], list[str]] = {}
        for label, options in OPTION_SETS.items():
            try:
                plan = build_plan(facts, options)
            except SetupkitError:
                continue
            packages = tuple(planned_packages(plan, facts.get("kernel.release")))
            if packages:
                labels.setdefault(packages, []).append(label)
        cases += [Case(name, tuple(options), release_of(facts), packages) for packages, options in labels.items()]
    return cases


CASES = plan_cases()


def kernel_cases() -> list[Case]:
    """One case per scenario whose plans install the running kernel's headers."""
    seen: dict[str, Case] = {}
    for case in CASES:
        if case.requests(KERNEL) and case.scenario not in seen:
            seen[case.scenario] = case
    return list(seen.values())


@pytest.fixture(scope="session")
def apt_archives(tmp_path_factory) -> Iterator[Archives]:
    """The session's apt roots (about 100 MB of indexes and caches on disk), removed at its end."""
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("apt-archives")
    yield Archives(folder)
    shutil.rmtree(folder, ignore_errors=True)


def archive_of(apt_archives: Archives, case: Case):
    if case.release is None:
        facts = snapshot_facts(case.scenario)
        pytest.skip(f"{case.scenario}: no archive is known for {facts.get('os.id')} {facts.get('os.codename')}")
    return apt_archives.root(case.release)


def assert_resolves(resolution: AptResolution, requests: list[str], what: str) -> None:
    assert resolution.ok, f"{what}: apt-get install {' '.join(requests)} fails:\n" + "\n".join(resolution.errors)
    unmet = [request for request in requests if resolution.package_for(request) is None]
    assert not unmet, f"{what}: apt would not install {unmet}"
    for request in requests:
        name, _, version = request.partition("=")
        if version:
            assert resolution.installs[name] == version, f"{what}: {request} resolves to {resolution.installs[name]}"


@pytest.mark.network
@pytest.mark.parametrize("case", [case for case in CASES if case.requests(ARCHIVE)], ids=lambda case: case.id)
def test_every_planned_archive_package_resolves(case, apt_archives):
    archive = archive_of(apt_archives, case)
    # the todo steps' packages are installed on one system, so together; the done steps' are in place together
    for status in (TODO, DONE):
        requests = case.requests(ARCHIVE, status)
        if requests:
            assert_resolves(archive.resolve(requests), requests, f"{case.id} ({status} steps)")


@pytest.mark.network
@pytest.mark.parametrize("case", kernel_cases(), ids=lambda case: case.scenario)
def test_the_running_kernels_headers_are_in_the_archive(case, apt_archives):
    archive = archive_of(apt_archives, case)
    planned = next(p for p in case.packages if p.origin == KERNEL)
    if archive.resolve([planned.request]).ok:
        return
    release = planned.request.removeprefix("linux-headers-")
    flavour = release.split("-", 2)[-1]
    where = ", ".join(suite for _, suite in case.release.suites())
    gone = (f"{case.scenario}: {planned.request} (headers of the running kernel {release}) is not in the "
            f"{case.release.title} indexes ({where}), which list {kept_headers(archive, flavour)}: the archive "
            f"has dropped that kernel. Its current headers for the flavour are {current_headers(archive, flavour)}")
    if planned.status == DONE:
        pytest.skip(f"{gone}. The step is done: the host has them installed already")
    pytest.fail(f"{gone}. `apt-get install -y {planned.request}` fails there with 'Unable to locate package': "
                f"the host needs the current kernel (and a reboot) before headers for it can be installed")


def headers_pattern(flavour: str) -> re.Pattern[str]:
    return re.compile(rf"^linux-headers-(\d[\d.]*-\d+)-{re.escape(flavour)}$")


def kept_headers(archive, flavour: str) -> str:
    """How many kernels' headers of this flavour the indexes still list, oldest and newest."""
    pattern = headers_pattern(flavour)
    kept = sorted((name for name in archive.names("linux-headers-") if pattern.match(name)),
                  key=lambda name: [int(part) for part in re.findall(r"\d+", name)])
    return f"the headers of {len(kept)} kernels ({kept[0]} to {kept[-1]})" if kept else "none of this flavour"


def current_headers(archive, flavour: str) -> str:
    """The headers package the flavour's meta-package (linux-headers-generic, linux-headers-amd64) installs
    today, with its version."""
    meta = f"linux-headers-{flavour}"
    resolution = archive.resolve([meta])
    if not resolution.ok:
        return f"unknown ({meta} does not resolve either: {resolution.errors})"
    pattern = headers_pattern(flavour)
    headers = [f"{name} {version}" for name, version in resolution.installs.items() if pattern.match(name)]
    return f"{', '.join(headers) or 'none'} (through {meta} {resolution.installs[meta]}, which resolves)"


@pytest.mark.network
@pytest.mark.parametrize("case", [case for case in CASES if case.requests(NVIDIA) + case.requests(PPA)],
                         ids=lambda case: case.id)
def test_packages_from_outside_the_archive_are_listed_unchecked(case):
    """Listed, never passed: this test checks none of them."""
    nvidia = [p for p in case.packages if p.origin == NVIDIA]
    ppas = [p for p in case.packages if p.origin == PPA]
    lines = []
    if nvidia:
        reach = url_unreachable(NVIDIA_URL, "NVIDIA's repository") or "this test does not add NVIDIA's repository"
        names = ", ".join(f"{p.request}{f' ({p.note})' if p.note else ''}" for p in nvidia)
        lines.append(f"from NVIDIA's repository: {names}: {reach}")
    for ppa in sorted({p.note for p in ppas}):
        names = ", ".join(p.request for p in ppas if p.note == ppa)
        lines.append(f"from {ppa}: {names}: Launchpad PPAs are not added by this test")
    pytest.skip(f"unchecked in {case.id}: " + "; ".join(lines))


@pytest.mark.network
def test_the_checker_fails_for_a_package_that_does_not_exist(apt_archives):
    """The counter-check: a driver branch nobody published and a version that never existed fail, and a real
    package resolves with its dependency closure."""
    archive = apt_archives.root(Release("ubuntu", "jammy"))
    missing = archive.resolve(["nvidia-driver-999"])
    assert not missing.ok and any("Unable to locate package nvidia-driver-999" in e for e in missing.errors)
    with pytest.raises(AssertionError, match="nvidia-driver-999"):
        assert_resolves(missing, ["nvidia-driver-999"], "counter-check")
    wrong_version = archive.resolve(["python3-pip=0.0-0"])
    assert not wrong_version.ok and any("'0.0-0' for 'python3-pip' was not found" in e for e in wrong_version.errors)
    real = archive.resolve(["python3-pip"])
    assert_resolves(real, ["python3-pip"], "control")
    assert {"python3-pip", "python3", "libc6"} <= set(real.installs)  # the closure, down to the C library


@pytest.mark.network
def test_the_download_list_names_what_the_simulation_installs(apt_archives):
    """resolve() reads --print-uris; `apt-get -s install` marks the same packages, at the same versions."""
    archive = apt_archives.root(Release("ubuntu", "jammy"))
    listed, simulated = archive.resolve(["nvidia-driver-580-open"]), archive.simulate(["nvidia-driver-580-open"])
    assert listed.ok and simulated.ok and len(listed.installs) > 100 and listed.download > 100_000_000
    assert listed.installs == simulated.installs


@pytest.mark.network
def test_an_index_whose_signature_does_not_verify_fails(apt_archives, tmp_path):
    """Signatures are checked: Debian's smallest index (bookworm-updates, some 60 kB) against a keyring with no
    key fails the test, it does not skip it."""
    apt_archives.root(Release("debian", "bookworm"))  # skips where Debian's archive cannot be reached
    empty = tmp_path / "no-keys.gpg"
    empty.write_bytes(b"")
    root = AptRoot(tmp_path / "unsigned", [f"deb [signed-by={empty}] {DEBIAN} bookworm-updates main"])
    with pytest.raises(pytest.fail.Exception, match="NO_PUBKEY|not signed"):
        root.update()


@pytest.mark.network
def test_a_debian_12_gpu_desktop_plan_resolves(apt_archives):
    """No scenario plans a driver on Debian: a Debian 12 desktop on today's kernel does, with its headers."""
    archive = apt_archives.root(Release("debian", "bookworm"))
    headers = [name for name in archive.resolve(["linux-headers-amd64"]).installs
               if re.fullmatch(r"linux-headers-\d[\d.]*-\d+-amd64", name)]
    assert headers, "linux-headers-amd64 pulls no linux-headers-<release>-amd64"
    release = headers[0].removeprefix("linux-headers-")
    facts = ubuntu_gpu_facts(**{"os.id": "debian", "os.version_id": "12", "os.codename": "bookworm",
                                "os.pretty_name": "Debian GNU/Linux 12 (bookworm)", "kernel.release": release,
                                "pip.version": None, "python.version": "3.11.2"})
    packages = planned_packages(build_plan(facts, PlanOptions(gpu=True, with_toolkit=True)), release)
    requests = [p.request for p in packages if p.origin in (ARCHIVE, KERNEL)]
    assert "python3-pip" in requests and f"linux-headers-{release}" in requests
    assert_resolves(archive.resolve(requests), requests, "Debian 12 GPU desktop")
    # its driver packages come from NVIDIA's repository, held there by the pinning package
    assert {p.origin for p in packages if DRIVER_PACKAGE.match(p.name)} == {NVIDIA}


# -- what the tests above are given, without the network ---------------------------------------------------------

def test_every_debian_family_plan_that_runs_apt_get_install_has_a_case():
    # the network tests above are only as good as what they are given: read afresh, and read crudely here
    cases = plan_cases()
    crude = {name for name in debian_family_scenarios() for options in OPTION_SETS.values()
             for step in planned_steps(name, options) if step.status in (TODO, DONE)
             for argv in step.commands if argv[:1] == ["apt-get"] and "install" in argv}
    assert {case.scenario for case in cases} == crude
    assert len({case.id for case in cases}) == len(cases)
    assert any(case.requests(ARCHIVE) for case in cases) and any(case.requests(KERNEL) for case in cases)


def planned_steps(name: str, options: PlanOptions) -> list[Step]:
    try:
        return build_plan(snapshot_facts(name), options).steps
    except SetupkitError:
        return []


def test_apt_installs_reads_packages_and_pins_only():
    argv = ["apt-get", "install", "-y", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confold",
            "libcudnn8=8.9.7.29-1+cuda11.8", "python3-pip", "./local.deb"]
    assert apt_installs(argv) == ["libcudnn8=8.9.7.29-1+cuda11.8", "python3-pip"]
    assert apt_installs(["env", "DEBIAN_FRONTEND=noninteractive", "/usr/bin/apt", "install", "dkms"]) == ["dkms"]
    assert apt_installs(["apt-get", "update"]) == [] and apt_installs(["dpkg", "-i", "x.deb"]) == []


def test_planned_packages_say_where_each_comes_from():
    steps = [Step("headers", "", TODO, commands=[["apt-get", "install", "-y", "linux-headers-6.8.0-88-generic"]]),
             Step("driver", "", TODO, commands=[["add-apt-repository", "-y", "ppa:graphics-drivers/ppa"],
                                                ["apt-get", "install", "-y", "nvidia-460", "dkms"]]),
             Step("pinned", "", DONE, commands=[["apt-get", "install", "-y", "nvidia-driver-pinning-580"],
                                                ["apt-get", "install", "-y", "nvidia-driver"]]),
             Step("cudnn", "", TODO, commands=[["apt-get", "install", "-y", "libcudnn8=8.9.7.29-1+cuda11.8"]]),
             Step("ignored", "", "skip", commands=[["apt-get", "install", "-y", "nvidia-driver-999"]])]
    found = planned_packages(Plan(steps, "gpu", {}), "6.8.0-88-generic")
    assert [(p.request, p.origin, p.note) for p in found] == [
        ("linux-headers-6.8.0-88-generic", KERNEL, ""), ("nvidia-460", PPA, "ppa:graphics-drivers/ppa"),
        ("dkms", ARCHIVE, ""), ("nvidia-driver-pinning-580", NVIDIA, ""),
        ("nvidia-driver", NVIDIA, "held there by nvidia-driver-pinning-580"),
        ("libcudnn8=8.9.7.29-1+cuda11.8", NVIDIA, "")]


def test_a_download_list_is_read_from_apts_output():
    stdout = ("'http://archive.ubuntu.com/ubuntu/pool/main/x/xfonts-base/xfonts-base_1.0.5%2bnmu1_all.deb' "
              "xfonts-base_1%3a1.0.5+nmu1_all.deb 5941436 MD5Sum:fe9641d80cfab0e8d8af9619031278b7\n"
              "'http://archive.ubuntu.com/ubuntu/pool/main/g/glibc/libc6_2.39-0ubuntu8.12_amd64.deb' "
              "libc6_2.39-0ubuntu8.12_amd64.deb 3264258 MD5Sum:f22073d00b15eaa97d99aca299d26d28\n")
    found = parse_resolution(0, stdout, "")
    assert found.ok and found.installs == {"xfonts-base": "1:1.0.5+nmu1", "libc6": "2.39-0ubuntu8.12"}
    assert found.download == 5941436 + 3264258
    missing = parse_resolution(100, "", "E: Unable to locate package nvidia-driver-999\n")
    assert not missing.ok and missing.errors == ["E: Unable to locate package nvidia-driver-999"]


def test_a_simulation_is_read_from_apts_output():
    stdout = ("Note, selecting 'python3-pip' instead of 'pip3'\n"
              "Inst python3-pip (22.0.2+dfsg-1ubuntu0.7 Ubuntu:22.04/jammy-updates [all])\n"
              "Inst libc6 [2.35-0ubuntu3] (2.35-0ubuntu3.11 Ubuntu:22.04/jammy-updates [amd64])\n"
              "Conf python3-pip (22.0.2+dfsg-1ubuntu0.7 Ubuntu:22.04/jammy-updates [all])\n")
    found = parse_resolution(0, stdout, "")
    assert found.ok and found.installs == {"python3-pip": "22.0.2+dfsg-1ubuntu0.7", "libc6": "2.35-0ubuntu3.11"}
    assert found.package_for("pip3") == "python3-pip" and found.package_for("dkms") is None
    broken = parse_resolution(100, " nvidia-driver-580 : Depends: nvidia-kernel-common-580 but it is not going to be "
                                   "installed\n", "E: Unable to correct problems, you have held broken packages.\n")
    assert not broken.ok and len(broken.errors) == 2
