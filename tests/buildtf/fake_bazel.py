"""A stand-in for bazel: records its argv, prints "[N / 10]" progress, and leaves a wheel where Bazel does.

FAKE_BAZEL_FAIL=1 makes the build fail (exit 1); FAKE_BAZEL_SLEEP=S makes it wait S seconds mid-build, and a
SIGINT then leaves an 'interrupted' file beside this script (Bazel exits 8 when interrupted).
"""
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PIP_PACKAGE = os.path.join("bazel-bin", "tensorflow", "tools", "pip_package")
PACKAGER = """#!%s
import os, sys
os.makedirs(sys.argv[1], exist_ok=True)
open(os.path.join(sys.argv[1], "tensorflow-2.15.0-cp311-cp311-linux_x86_64.whl"), "wb").write(b"PK fake")
print("Output wheel file is in: " + sys.argv[1])
"""


def on_interrupt(signum, frame):
    open(os.path.join(HERE, "interrupted"), "w").write("SIGINT\n")
    print("ERROR: build interrupted", flush=True)
    sys.exit(8)


def leave_outputs(args):
    if "//tensorflow/tools/pip_package:wheel" in args:
        name = next(a.rsplit("=", 1)[1] for a in args if a.startswith("--repo_env=WHEEL_NAME="))
        house = os.path.join(PIP_PACKAGE, "wheel_house")
        os.makedirs(house, exist_ok=True)
        open(os.path.join(house, f"{name}-2.20.0-cp311-cp311-linux_x86_64.whl"), "wb").write(b"PK fake")
    else:
        os.makedirs(PIP_PACKAGE, exist_ok=True)
        script = os.path.join(PIP_PACKAGE, "build_pip_package")
        open(script, "w").write(PACKAGER % sys.executable)
        os.chmod(script, 0o755)


def main():
    args = sys.argv[1:]
    with open(os.path.join(HERE, "bazel_argv.jsonl"), "a") as record:
        record.write(json.dumps({"argv": args, "cwd": os.getcwd()}) + "\n")
    signal.signal(signal.SIGINT, on_interrupt)
    print("INFO: Analyzed target //tensorflow/tools/pip_package (512 packages loaded).", flush=True)
    for done in range(1, 11):
        print(f"[{done} / 10] Compiling tensorflow/core/kernels/op_{done}.cc; 1s local, 2 actions running",
              flush=True)
        if done == 3 and os.environ.get("FAKE_BAZEL_SLEEP"):
            time.sleep(float(os.environ["FAKE_BAZEL_SLEEP"]))
        if done == 5 and os.environ.get("FAKE_BAZEL_FAIL"):
            print("ERROR: /src/tensorflow/core/kernels/BUILD:42:1: C++ compilation of rule "
                  "'//tensorflow/core/kernels:op_5' failed (Exit 1)", flush=True)
            sys.exit(1)
    leave_outputs(args)
    print("INFO: Build completed successfully, 10 total actions", flush=True)


main()
