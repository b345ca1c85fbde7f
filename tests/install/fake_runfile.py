"""A fake CUDA runfile for the tests: prints the real prompts of NVIDIA's installers (install.md sections 1
and 2, verbatim) and records what it was asked to do and the answers it got, one JSON line each, to
$FAKE_RUNFILE_RECORD. $FAKE_RUNFILE_MODE picks the behaviour: legacy, unsupported, unexpected, hang,
early-exit, endless-eula (a pager that never ends), flood (prints without end, never asks), modern,
modern-fails."""

import json
import os
import sys
import termios
import time
import tty

RECORD = os.environ["FAKE_RUNFILE_RECORD"]
MODE = os.environ.get("FAKE_RUNFILE_MODE", "legacy")
CUDA = os.environ.get("FAKE_RUNFILE_CUDA", "9.0")
DRIVER = os.environ.get("FAKE_RUNFILE_DRIVER", "384.81")


def record(**entry):
    with open(RECORD, "a") as out:
        out.write(json.dumps(entry) + "\n")


def say(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def ask(prompt, name):
    say(prompt)
    answer = sys.stdin.readline().strip()
    record(prompt=name, answer=answer)
    return answer


def eula_pages(count=3):
    """The EULA, paged the way `more` pages it: a key press turns the page."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        for page in range(count):
            say(f"End User License Agreement, page {page + 1}\n" + "Lorem ipsum legal text.\n" * 5)
            say(f"--More--({(page + 1) * 100 // (count + 1)}%)")
            key = sys.stdin.read(1)
            record(prompt="pager", answer=key)
            say("\r\n")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    say("-" * 60 + "\n")


def summary(toolkit_path):
    say(f"Installing the CUDA Toolkit in {toolkit_path} ...\n")
    say("Missing recommended library: libGLU.so\n\n")
    say("===========\n= Summary =\n===========\n\n")
    say(f"Driver:   Not Selected\nToolkit:  Installed in {toolkit_path}\nSamples:  Not Selected\n\n")
    say(f"Please make sure that\n -   PATH includes {toolkit_path}/bin\n\n")
    say("***WARNING: Incomplete installation! This installation did not install the CUDA Driver. A driver of "
        f"version at least 384.00 is required for CUDA {CUDA} functionality to work.\n")
    say(f"Logfile is /tmp/cuda_install_{os.getpid()}.log\n")


def legacy():
    if MODE == "endless-eula":
        eula_pages(count=10**9)
    if MODE == "flood":
        while True:
            say("Extracting the toolkit ... please wait\n")
    eula_pages()
    if ask("Do you accept the previously read EULA?\naccept/decline/quit: ", "eula") != "accept":
        sys.exit(1)
    if MODE == "unsupported":
        answer = ask("You are attempting to install on an unsupported configuration. Do you wish to continue?\n"
                     "((y)es/(n)o) [ default is no ]: ", "unsupported")
        if answer != "y":
            sys.exit(1)
    if MODE == "unexpected":
        ask("Would you like to enable the experimental frobnicator?\n(y)es/(n)o/(q)uit: ", "unexpected")
        sys.exit(0)
    if MODE == "hang":
        say("Checking the system ...\n")
        time.sleep(60)
    if MODE == "early-exit":
        say("Installation failed. See log at /tmp/cuda_install_4242.log for details.\n")
        sys.exit(3)
    ask(f"Install NVIDIA Accelerated Graphics Driver for Linux-x86_64 {DRIVER}?\n(y)es/(n)o/(q)uit: ", "driver")
    ask(f"Install the CUDA {CUDA} Toolkit?\n(y)es/(n)o/(q)uit: ", "toolkit")
    location = ask(f"Enter Toolkit Location\n [ default is /usr/local/cuda-{CUDA} ]: ", "location")
    location = location or f"/usr/local/cuda-{CUDA}"
    ask("Do you want to install a symbolic link at /usr/local/cuda?\n(y)es/(n)o/(q)uit: ", "symlink")
    ask(f"Install the CUDA {CUDA} Samples?\n(y)es/(n)o/(q)uit: ", "samples")
    summary(location)


def modern():
    if MODE == "modern-fails":
        say("Failed to verify gcc version. See log at /var/log/cuda-installer.log for details.\n")
        sys.exit(0)  # the real installer may exit 0 on failure: the output is what tells
    path = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--toolkitpath=")), None)
    say(f"Toolkit:  Installed in {path}/\n")


record(argv=sys.argv[1:], mode=MODE)
modern() if MODE.startswith("modern") else legacy()
