"""Load a CIFAR-10 Python batch without trusting it.

A pickle can name any callable, and loading it calls that callable (``os.system`` included). The official
batches, written by Python 2's cPickle, name only numpy's array reconstruction: ``_reconstruct``, ``ndarray``
and ``dtype``. This unpickler admits those and refuses everything else before anything runs.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from setupkit.errors import PreconditionError

_RECONSTRUCT = getattr(getattr(np, "_core", None), "multiarray", None) or np.core.multiarray


def _dtype(*args, **kwargs) -> np.dtype:
    """``numpy.dtype``, minus object dtypes: an object array would hand the pickle a way to build objects."""
    made = np.dtype(*args, **kwargs)
    if made.hasobject:
        raise pickle.UnpicklingError("refusing an object dtype: not part of a CIFAR-10 batch")
    return made


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
}


class RefusedPickle(pickle.UnpicklingError):
    """The pickle named a callable that a CIFAR-10 batch never contains."""


class CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedPickle(f"refusing to unpickle {module}.{name}: not part of a CIFAR-10 batch") from None


def load_batch_dict(path: Path) -> dict:
    """The batch's dictionary, loaded with byte-string keys (``encoding='bytes'``, as Python 2 wrote it)."""
    try:
        raw = path.read_bytes()
        loaded = CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except RefusedPickle as error:
        raise PreconditionError(f"{path}: {error}") from None
    except OSError as error:
        raise PreconditionError(f"{path}: cannot read it ({error.strerror})") from None
    except Exception as error:  # a malformed pickle raises anything from EOFError to ValueError
        raise PreconditionError(f"{path}: not a readable CIFAR-10 batch ({type(error).__name__}: {error})") from None
    if not isinstance(loaded, dict):
        raise PreconditionError(f"{path}: not a CIFAR-10 batch (a {type(loaded).__name__}, not a dict)")
    return loaded
