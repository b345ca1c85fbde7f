"""A stand-in for TensorFlow's ./configure: the real prompt texts of a 2.20-era or a 2.15-era configure.

It reads answers the way configure.py does (an environment variable first, else the prompt; empty means the
default), records what it was told in configure_answers.json (environment variable -> value) and writes
.tf_configure.bazelrc as configure.py would. ERA and EXTRA_PROMPT are filled in by the tests' tree builder.
"""
import json
import os
import sys

ERA = "@ERA@"
EXTRA_PROMPT = "@EXTRA_PROMPT@"
HERE = os.path.dirname(os.path.abspath(__file__))
answers = {}
bazelrc = []


def ask(var, question, default):
    value = os.environ.get(var)
    if value is None:
        try:
            value = input(question)
        except EOFError:
            value = ""
        print("\n")
    answers[var] = value
    return value or default


def ask_bool(var, question, default):
    value = os.environ.get(var)
    if value is None:
        try:
            value = input(question).strip().lower()
        except EOFError:
            value = ""
    answers[var] = value
    if value in ("1", "t", "true", "y", "yes"):
        return True
    if value in ("0", "f", "false", "n", "no"):
        return False
    return default


def python_paths():
    python = ask("PYTHON_BIN_PATH", "Please specify the location of python. [Default is /usr/bin/python3]: ",
                 "/usr/bin/python3")
    if os.environ.get("USE_DEFAULT_PYTHON_LIB_PATH") == "1":
        answers["USE_DEFAULT_PYTHON_LIB_PATH"] = "1"
        lib = "/usr/lib/python3/dist-packages"
    else:
        print("Found possible Python library paths:\n  /usr/lib/python3/dist-packages\n"
              "  /usr/local/lib/python3/dist-packages")
        lib = input("Please input the desired Python library path to use.  "
                    "Default is [/usr/lib/python3/dist-packages]\n")
        answers["PYTHON_LIB_PATH"] = lib
        lib = lib or "/usr/lib/python3/dist-packages"
    bazelrc.append(f'build --action_env PYTHON_BIN_PATH="{python}"')
    bazelrc.append(f'build --action_env PYTHON_LIB_PATH="{lib}"')
    bazelrc.append(f'build --python_path="{python}"')


CAPABILITIES = ('Please specify a list of comma-separated CUDA compute capabilities you want to build with.\n'
                'You can find the compute capability of your device at: https://developer.nvidia.com/cuda-gpus. '
                'Each capability can be specified as "x.y" or "compute_xy" to include both virtual and binary GPU '
                'code, or as "sm_xy" to only include the binary code.\nPlease note that each additional compute '
                'capability significantly increases your build time and binary size, and that TensorFlow only '
                'supports compute capabilities >= 3.5 [Default is: 3.5,7.0]: ')


def cuda_hermetic():
    ask("HERMETIC_CUDA_VERSION", "Please specify the hermetic CUDA version you want to use or leave empty to use "
        "the default version. ", None)
    ask("HERMETIC_CUDNN_VERSION", "Please specify the hermetic cuDNN version you want to use or leave empty to use "
        "the default version. ", None)
    caps = ask("HERMETIC_CUDA_COMPUTE_CAPABILITIES", CAPABILITIES, "3.5,7.0")
    bazelrc.append(f'build:cuda --repo_env HERMETIC_CUDA_COMPUTE_CAPABILITIES="{caps}"')
    for name in ("CUDA", "CUDNN", "NCCL"):
        ask(f"LOCAL_{name}_PATH", f"Please specify the local {name} path you want to use or leave empty to use the "
            "default version. ", None)
    cuda_compiler(True)


def cuda_local():
    ask_bool("TF_NEED_TENSORRT", "Do you wish to build TensorFlow with TensorRT support? [y/N]: ", False)
    print("Found CUDA 12.2 in:\n    /usr/local/cuda-12.2/targets/x86_64-linux/lib\n"
          "    /usr/local/cuda-12.2/targets/x86_64-linux/include\nFound cuDNN 8 in:\n    /usr/lib/x86_64-linux-gnu\n")
    caps = ask("TF_CUDA_COMPUTE_CAPABILITIES", CAPABILITIES, "3.5,7.0")
    bazelrc.append(f'build --action_env TF_CUDA_COMPUTE_CAPABILITIES="{caps}"')
    cuda_compiler(False)


def cuda_compiler(clang_default):
    tag = "[Y/n]" if clang_default else "[y/N]"
    if ask_bool("TF_CUDA_CLANG", f"Do you want to use clang as CUDA compiler? {tag}: ", clang_default):
        path = ask("CLANG_CUDA_COMPILER_PATH", "Please specify clang path that to be used as host compiler. "
                   "[Default is /usr/lib/llvm-18/bin/clang]: ", "/usr/lib/llvm-18/bin/clang")
        bazelrc.append(f'build --action_env CLANG_CUDA_COMPILER_PATH="{path}"')
        bazelrc.append("build --config=cuda_clang")
    else:
        path = ask("GCC_HOST_COMPILER_PATH", "Please specify which gcc should be used by nvcc as the host compiler. "
                   "[Default is /usr/bin/gcc]: ", "/usr/bin/gcc")
        bazelrc.append(f'build --action_env GCC_HOST_COMPILER_PATH="{path}"')
        bazelrc.append("build --config=cuda")


def cpu_compiler():
    if ask_bool("TF_NEED_CLANG", "Do you want to use Clang to build TensorFlow? [Y/n]: ", True):
        for _ in range(10):  # configure.py's prompt_loop_or_load_from_env: up to 10 tries
            path = ask("CLANG_COMPILER_PATH", "Please specify the path to clang executable. [Default is "
                       "/usr/lib/llvm-16/bin/clang]: ", "/usr/lib/llvm-16/bin/clang")
            if not os.environ.get("FAKE_CONFIGURE_REJECT_CLANG"):
                break
            print(f"Invalid clang path. {path} cannot be found. Note that TensorFlow now requires clang to compile. "
                  "You may override this behavior by setting TF_NEED_CLANG=0")
        else:
            sys.exit("UserInputError: Invalid CLANG_COMPILER_PATH setting was provided 10 times in a row.")
        print("You have Clang 18.1.8 installed.\n")
        bazelrc.append(f'build --action_env CLANG_COMPILER_PATH="{path}"')
        bazelrc.append(f"build --repo_env=CC={path}")


def main():
    print("You have bazel 7.4.1 installed.")
    python_paths()
    if EXTRA_PROMPT:
        input(EXTRA_PROMPT)
    ask_bool("TF_NEED_ROCM", "Do you wish to build TensorFlow with ROCm support? [y/N]: ", False)
    if ask_bool("TF_NEED_CUDA", "Do you wish to build TensorFlow with CUDA support? [y/N]: ", False):
        cuda_hermetic() if ERA == "2.20" else cuda_local()
    else:
        cpu_compiler()
    flags = ask("CC_OPT_FLAGS", 'Please specify optimization flags to use during compilation when bazel option '
                '"--config=opt" is specified [Default is -Wno-sign-compare]: ', "-Wno-sign-compare")
    for flag in flags.split():
        bazelrc.append(f"build:opt --copt={flag}")
        bazelrc.append(f"build:opt --host_copt={flag}")
    ask_bool("TF_SET_ANDROID_WORKSPACE", "Would you like to interactively configure ./WORKSPACE for Android "
             "builds? [y/N]: ", False)
    with open(os.path.join(HERE, ".tf_configure.bazelrc"), "w") as handle:
        handle.write("\n".join(bazelrc) + "\n")
    with open(os.path.join(HERE, "configure_answers.json"), "w") as handle:
        json.dump(answers, handle, indent=1)
    print("Preconfigured Bazel build configs. You can use any of the below by adding \"--config=<>\" to your "
          "build command. See .bazelrc for more details.")


main()
