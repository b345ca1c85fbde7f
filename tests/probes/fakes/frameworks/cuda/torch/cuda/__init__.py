import os
import warnings

from torch.cuda import nccl

__all__ = ["nccl"]
OLD_DRIVER = os.environ.get("FAKE_TORCH_CUDA") == "old-driver"


def is_available():
    if OLD_DRIVER:
        warnings.warn("CUDA initialization: The NVIDIA driver on your system is too old (found version 12080). "
                      "Please update your GPU driver by downloading and installing a new version from the URL: "
                      "http://www.nvidia.com/Download/index.aspx", UserWarning, stacklevel=2)
        return False
    return True


def device_count():
    return 0 if OLD_DRIVER else 1


def get_device_name(index=None):
    if OLD_DRIVER:
        raise RuntimeError("Found no NVIDIA driver on your system.")
    return "NVIDIA H100 80GB HBM3"


def get_arch_list():
    return ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]
