"""The deep PyTorch probe's child, run as ``python -c <this file's text>`` in its own process (probes/torch_deep.py,
for `setupkit doctor --deep` and `setupkit snapshot --deep`).

It imports torch (which may crash the interpreter or hang on a driver call), then prints one line,
``SETUPKIT-TORCHPROBE {json}``, on stdout: torch.__version__, torch.version.cuda, the cuDNN and NCCL it loads,
whether CUDA is available, the devices it sees and the architectures it was built for, and the warning torch gave
when CUDA did not start ("The NVIDIA driver on your system is too old"). Each question is asked on its own, so
that one that fails leaves the others answered. It imports nothing from setupkit.
"""

import json
import sys
import warnings

MARKER = "SETUPKIT-TORCHPROBE "


def emit(answer):
    sys.stdout.write(MARKER + json.dumps(answer, default=str) + "\n")
    sys.stdout.flush()


def describe(error):
    return f"{type(error).__name__}: {error}"[:600]


def ask(question, errors):
    """The answer to ``question()``, or None with its error kept (the first one is what the checks show)."""
    try:
        return question()
    except Exception as error:  # noqa: BLE001 - any failure of a question is part of the answer
        errors.append(describe(error))
        return None


def nccl_version(torch):
    found = torch.cuda.nccl.version()
    if isinstance(found, tuple):
        return ".".join(str(part) for part in found if str(part))
    return str(found)  # before PyTorch 1.13: one integer, 2708 for 2.7.8


def cuda_warning(caught):
    """The warning torch gave about CUDA (its driver check: "CUDA initialization: ..."), if any."""
    for warning in caught:
        message = str(warning.message)
        if "CUDA" in message or "cuda" in message or "NVIDIA" in message:
            return message.strip()[:600]
    return None


def cuda_answers(torch):
    errors = []  # type: list[str]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = ask(lambda: bool(torch.cuda.is_available()), errors)
        count = ask(lambda: int(torch.cuda.device_count()), errors) if available else 0
        names = [ask(lambda index=index: str(torch.cuda.get_device_name(index)), errors)
                 for index in range(count or 0)]
    return {
        "cuda_available": available,
        "device_count": count,
        "devices": names,
        "arch_list": ask(lambda: [str(arch) for arch in torch.cuda.get_arch_list()], errors),
        "cuda_error": cuda_warning(caught) or (errors[0] if errors else None),
    }


def main():
    try:
        import torch
    except ImportError as error:
        missing = type(error).__name__ == "ModuleNotFoundError" and getattr(error, "name", None) == "torch"
        emit({"status": "not-installed" if missing else "import-error", "error": describe(error)})
        return
    except Exception as error:  # noqa: BLE001 - torch raises OSError for a library it cannot load
        emit({"status": "import-error", "error": describe(error)})
        return
    ignored = []  # type: list[str]
    version = getattr(torch, "version", None)
    cuda = getattr(version, "cuda", None)
    emit({"status": "ok", "version": str(getattr(torch, "__version__", "")) or None,
          "cuda": None if cuda is None else str(cuda),
          "cudnn": ask(lambda: torch.backends.cudnn.version(), ignored),
          "nccl": ask(lambda: nccl_version(torch), ignored) if cuda is not None else None,
          **cuda_answers(torch)})


main()
