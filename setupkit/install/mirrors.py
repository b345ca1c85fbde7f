"""Where a plan downloads from: NVIDIA's CUDA repository and the pip index, moved to the mirrors the person names
(``--cuda-repo-mirror``, ``--pip-index-url``) for hosts that reach only a local copy of them.

The steps are planned with the public URLs; the mirrors are applied to the finished plan, to every command and
every file a step writes, so that no step can keep a public URL by being forgotten here.

A CUDA mirror stands for https://developer.download.nvidia.com/compute/cuda/repos (its folders are the releases:
ubuntu2404/x86_64, rhel9/x86_64, ...). NVIDIA's older machine-learning repository, which only cuDNN 7 and 8.0 for
Ubuntu 14.04 to 18.04 come from, is read from the folder ``machine-learning`` of the same mirror: no release folder
bears that name, and one option then serves every plan.

Moving the downloads is not enough: the repository definition NVIDIA ships names NVIDIA's server again. The
cuda-keyring package installs /etc/apt/sources.list.d/cuda-<release>-x86_64.list ("deb [signed-by=...]
https://developer.download.nvidia.com/compute/cuda/repos/<release>/x86_64/ /"), and the .repo file that dnf's
config-manager copies to /etc/yum.repos.d holds that server in its baseurl and gpgkey. So each is pointed at the
mirror by a ``sed`` right after it is installed; a re-run installs and points it again.
"""

from __future__ import annotations

import re

from setupkit.install.model import FileWrite, Plan
from setupkit.install.steps_stack import REPOS
from setupkit.knowledge import cudnn_packages

MACHINE_LEARNING_FOLDER = "machine-learning"

# The public folder a CUDA mirror stands for, wherever it appears in a word (a URL, a sources line, a script),
# up to a path boundary: ".../cuda/repos/ubuntu2404/x86_64/cuda-keyring_1.1-1_all.deb" is moved, a longer name
# that only starts the same is not.
_BOUNDARY = r"(?=/|\s|$|[\"'])"
_CUDA_REPOS = re.compile(re.escape(REPOS) + _BOUNDARY)
# The downloads that install a repository definition naming NVIDIA's server: the keyring package (its list file
# is named after the release folder) and the .repo file (installed under its own name).
_KEYRING = re.compile(re.escape(REPOS) + r"/([a-z0-9-]+)/x86_64/cuda-keyring_[^/]*\.deb$")
_REPO_FILE = re.compile(re.escape(REPOS) + r"/[a-z0-9-]+/x86_64/(cuda-[a-z0-9-]+\.repo)$")
_PUBLIC_PATTERN = REPOS.replace(".", "\\.")  # the public folder as a sed regular expression (dots literal)
# pip, as a module (-m pip) or a program: pip, pip3, pip3.12, /usr/bin/pip3.
_PIP_PROGRAM = re.compile(r"(^|/)pip[0-9.]*$")


def apply_mirrors(plan: Plan, cuda_repo_mirror: str | None, pip_index_url: str | None) -> None:
    """Move every step's NVIDIA repository URLs to ``cuda_repo_mirror`` and point every pip install at
    ``pip_index_url`` (None: as planned)."""
    if cuda_repo_mirror and _reads_machine_learning(plan):
        plan.warnings.append(f"cuDNN comes from NVIDIA's machine-learning repository here: the plan reads it from "
                             f"{cuda_repo_mirror}/{MACHINE_LEARNING_FOLDER}, which must mirror NVIDIA's "
                             f"compute/machine-learning/repos")
    for step in plan.steps:
        if cuda_repo_mirror:
            step.commands = _sources_repointed(step.commands, cuda_repo_mirror)
            step.commands = [[_cuda_mirrored(word, cuda_repo_mirror) for word in argv] for argv in step.commands]
            step.files = [FileWrite(f.path, _cuda_mirrored(f.content, cuda_repo_mirror)) for f in step.files]
        if pip_index_url:
            step.commands = [with_index(argv, pip_index_url) for argv in step.commands]


def _cuda_mirrored(text: str, mirror: str) -> str:
    text = _CUDA_REPOS.sub(lambda _match: mirror, text)
    machine_learning = re.compile(re.escape(_machine_learning_repos()) + _BOUNDARY)
    return machine_learning.sub(lambda _match: f"{mirror}/{MACHINE_LEARNING_FOLDER}", text)


def _sources_repointed(commands: list[list[str]], mirror: str) -> list[list[str]]:
    """``commands``, each that installs one of NVIDIA's repository definitions followed by the sed that points it
    at ``mirror``: the keyring's list file after its ``dpkg -i``, a .repo file after the command that adds it."""
    found: list[list[str]] = []
    keyring_release = None
    for argv in commands:
        found.append(argv)
        for word in argv:
            keyring = _KEYRING.search(word)
            keyring_release = keyring.group(1) if keyring else keyring_release
        if keyring_release and argv[:2] == ["dpkg", "-i"]:
            found.append(_repoint(mirror, f"/etc/apt/sources.list.d/cuda-{keyring_release}-x86_64.list"))
            keyring_release = None
        repo_file = next((match.group(1) for word in argv if (match := _REPO_FILE.search(word))), None)
        if repo_file:
            found.append(_repoint(mirror, f"/etc/yum.repos.d/{repo_file}"))
    return found


def _repoint(mirror: str, path: str) -> list[str]:
    """sed, rewriting NVIDIA's folder to ``mirror`` in the file ``path``; in sed's replacement ``&`` and ``\\``
    are special, so they are escaped (the URL check lets no ``#``, the delimiter, through)."""
    replacement = mirror.replace("\\", "\\\\").replace("&", "\\&")
    return ["sed", "-i", f"s#{_PUBLIC_PATTERN}#{replacement}#g", path]


def _machine_learning_repos() -> str:
    return cudnn_packages.cudnn_packages().machine_learning_repos


def _reads_machine_learning(plan: Plan) -> bool:
    words = [word for step in plan.steps for argv in step.commands for word in argv]
    words += [f.content for step in plan.steps for f in step.files]
    return any(_machine_learning_repos() in word for word in words)


def pip_install_at(argv: list[str]) -> int | None:
    """The position of ``install`` in a pip command line that installs (``python -m pip install``, ``pip
    install``), None in any other command."""
    for position, word in enumerate(argv[:-1]):
        if _PIP_PROGRAM.search(word):  # ``-m pip`` and a pip program alike; python3-pip, a package, is not one
            return position + 1 if argv[position + 1] == "install" else None
    return None


def with_index(argv: list[str], index_url: str) -> list[str]:
    """A pip install command that reads ``index_url`` as its index. An index of its own (PyTorch's, for its CUDA
    variant) is kept as an extra index beside it: its builds carry a local version (2.9.1+cu126) that pip ranks
    above the plain release of the same number, so the variant the plan chose still wins where both have it."""
    install = pip_install_at(argv)
    if install is None:
        return list(argv)
    words = ["--extra-index-url" if word == "--index-url" else word for word in argv[install + 1:]]
    return [*argv[:install + 1], "--index-url", index_url, *words]
