"""A torch that answers as PyTorch 2.13's cu130 wheel does on a host with one H100 (same module names, same return
shapes), for the GPU side of the deep probe on a machine without a GPU.

FAKE_TORCH_CUDA=old-driver answers as that wheel does on driver 570: is_available() is False, with torch's
warning, and no device is seen.
"""

from torch import backends, cuda, version

__version__ = "2.13.0+cu130"
__all__ = ["backends", "cuda", "version"]
