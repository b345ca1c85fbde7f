import logging
import os

logger = logging.getLogger(__name__)
_backend_errors = {}


class Device:
    def __init__(self, platform, device_kind):
        self.platform, self.device_kind = platform, device_kind


def backends():
    if os.environ.get("FAKE_JAX_CUDA") == "fallback":
        _backend_errors["cuda"] = ("FAILED_PRECONDITION: Found CUDA driver version 12080, which is older than the "
                                   "CUDA 13000 this plugin was built with")
        logger.warning("CUDA backend failed to initialize: %s.", _backend_errors["cuda"])
        return [Device("cpu", "cpu")]
    return [Device("gpu", "NVIDIA H100 80GB HBM3")]
