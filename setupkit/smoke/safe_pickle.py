"""Load a CIFAR-10 Python batch without trusting it.

A pickle can name any callable, and loading it calls that callable (``os.system`` included); even numpy's own
names build whatever a hostile file asks for: ``ndarray((10**10,))`` or ``_reconstruct`` with a huge shape
allocate gigabytes, a zero-stride ``ndarray`` view makes a tiny buffer look like a huge array, and a list
referenced many times through the memo expands when numpy converts it. So nothing here hands a pickle's
arguments to numpy:

1. the file is bounded (a regular file of at most ``MAX_BATCH_BYTES``) and scanned before it is loaded: only the
   opcodes a CIFAR pickle is made of, at most ``MAX_OPCODES`` of them (which bounds every object the load makes),
   containers at most ``MAX_DEPTH`` deep and never shared through the memo (so nothing is bigger than it looks,
   and no hash or comparison recurses deeply: a tuple nested 150,000 deep crashes CPython when hashed);
2. the names it may import are stand-ins that accept exactly the calls numpy's pickles make (an empty
   ``_reconstruct``, ``dtype('u1')``) and check the array's state (version, shape, dtype, byte count) before
   one ``frombuffer`` turns it into an array;
3. the result must be the official structure: a dict of b'data' (uint8, N x 3072), b'labels' (N ints 0-9) and
   optionally b'batch_label' and b'filenames', with N at most ``MAX_RECORDS``. Every value is checked element
   by element, so a shared or nested list is refused at its first wrong element, never expanded.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import reprlib
from pathlib import Path

import numpy as np

from setupkit.bounded import BoundError, read_regular_file
from setupkit.errors import PreconditionError

PIXELS = 32 * 32 * 3
MAX_RECORDS = 10_000
"""An official batch holds exactly 10,000 images; smaller ones (test data, subsets) are allowed, larger never."""
MAX_BATCH_BYTES = 32 * 1024 * 1024
"""An official batch is 31,035,704 bytes: 10,000 x 3072 pixel bytes, the labels and the file names."""
MAX_OPCODES = 4 * MAX_RECORDS + 1_000
"""An official batch is about 30,100 opcodes: a label each, a file name and its memo entry each, a few dozen more."""
MAX_NAME_BYTES = 256

ALLOWED_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2",
    "TUPLE3", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "SHORT_BINSTRING", "BINSTRING", "SHORT_BINBYTES",
    "BINBYTES", "SHORT_BINUNICODE", "BINUNICODE", "BININT", "BININT1", "BININT2", "NONE", "NEWTRUE", "NEWFALSE",
    "GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD", "BINPUT", "LONG_BINPUT", "MEMOIZE", "BINGET", "LONG_BINGET",
})
"""What Python 2's cPickle wrote for the official batches, and what Python 3 writes for the same dict."""
KEYS = frozenset({b"batch_label", b"labels", b"data", b"filenames"})


class RefusedPickle(pickle.UnpicklingError):
    """The pickle holds something a CIFAR-10 batch never contains."""


class _ArrayName:
    """``numpy.ndarray`` as the first argument of ``_reconstruct``; called directly it would build any array."""

    def __call__(self, *args, **kwargs):
        raise RefusedPickle("refusing numpy.ndarray(...) called directly: not part of a CIFAR-10 batch")


_ARRAY_NAME = _ArrayName()


class _Uint8Dtype:
    """``numpy.dtype('u1')``, the only dtype of a CIFAR batch; its pickled state must be the standard one."""

    def __setstate__(self, state) -> None:
        byteorder = state[1] if isinstance(state, tuple) and len(state) == 8 else None
        if not (byteorder in ("|", b"|") and state[0] == 3 and state[2:] == (None, None, None, -1, -1, 0)):
            raise RefusedPickle("refusing a dtype state that is not plain uint8")


class _ArrayState:
    """What ``_reconstruct`` returns: an empty stand-in that becomes a uint8 N x 3072 array only if its state is
    exactly that, with exactly N x 3072 bytes of pixels."""

    array: np.ndarray | None = None

    def __setstate__(self, state) -> None:
        if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
            raise RefusedPickle("refusing an array state that numpy never writes")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _Uint8Dtype) or fortran is not False or not isinstance(raw, bytes):
            raise RefusedPickle("malformed CIFAR-10 batch: b'data' must be a C-ordered uint8 array")
        if not _is_records_shape(shape) or len(raw) != shape[0] * PIXELS:
            raise RefusedPickle(f"malformed CIFAR-10 batch: b'data' must be at most {MAX_RECORDS} rows of {PIXELS} "
                                f"bytes (found shape {_short(shape)} with {len(raw)} bytes)")
        self.array = np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def _is_records_shape(shape) -> bool:
    return (isinstance(shape, tuple) and len(shape) == 2 and all(type(n) is int for n in shape)
            and 1 <= shape[0] <= MAX_RECORDS and shape[1] == PIXELS)


def _reconstruct(subtype, shape, typecode) -> _ArrayState:
    """numpy's ``_reconstruct(ndarray, (0,), b'b')``: an empty array that BUILD then fills. Nothing else."""
    if subtype is not _ARRAY_NAME or shape != (0,) or typecode not in (b"b", "b"):
        raise RefusedPickle(f"refusing _reconstruct{_short((subtype, shape, typecode))}: not part of a CIFAR-10 batch")
    return _ArrayState()


def _dtype(spec, align=False, copy=True) -> _Uint8Dtype:
    if spec not in ("u1", b"u1") or align not in (0, False) or copy not in (1, True):
        raise RefusedPickle(f"refusing dtype{_short((spec, align, copy))}: a CIFAR-10 batch is uint8")
    return _Uint8Dtype()


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _ARRAY_NAME,
    ("numpy", "dtype"): _dtype,
}


class CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedPickle(f"refusing to unpickle {_short(module)}.{_short(name)}: not part of a CIFAR-10 "
                                f"batch") from None


MAX_DEPTH = 3
"""The deepest a CIFAR batch nests containers: the dict, _reconstruct's argument tuple, the shape tuple in it."""
_SCALARS = frozenset({"SHORT_BINSTRING", "BINSTRING", "SHORT_BINBYTES", "BINBYTES", "SHORT_BINUNICODE", "BINUNICODE",
                      "BININT", "BININT1", "BININT2", "NONE", "NEWTRUE", "NEWFALSE", "GLOBAL"})


def scan(raw: bytes) -> None:
    """Refuse, before anything is built, what a CIFAR pickle never holds: another opcode, more opcodes than
    a 10,000-image batch has, containers nested deeper than ``MAX_DEPTH``, or a memo reference to a container
    (the way a small pickle makes one list appear millions of times, or a tuple whose hash takes forever)."""
    depths = _Depths()
    for count, (opcode, arg, _pos) in enumerate(pickletools.genops(io.BytesIO(raw)), start=1):
        if count > MAX_OPCODES:
            raise RefusedPickle(f"more than {MAX_OPCODES:,} pickle opcodes: more than a {MAX_RECORDS:,}-image batch")
        if opcode.name not in ALLOWED_OPCODES:
            raise RefusedPickle(f"refusing pickle opcode {opcode.name}: not part of a CIFAR-10 batch")
        depths.step(opcode.name, arg)


class _Depths:
    """The unpickler's stack, followed by depth only: 0 for a scalar or a name, 1 + its deepest element for a
    container, 1 for what a stand-in returns (pickletools documents each opcode's stack effect)."""

    def __init__(self):
        self.stack: list[int] = []
        self.marks: list[int] = []
        self.memo: dict[int, int] = {}

    def step(self, name: str, arg) -> None:
        if name in _SCALARS:
            self.push(0)
        elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
            self.push(1)
        elif name == "MARK":
            self.marks.append(len(self.stack))
        elif name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"):
            items = self.pop_to_mark() if name == "TUPLE" else self.pop(int(name[-1]))
            self.push(1 + max(items, default=0))
        elif name in ("APPENDS", "SETITEMS"):
            self.fill(self.pop_to_mark())
        elif name in ("APPEND", "SETITEM"):
            self.fill(self.pop(1 if name == "APPEND" else 2))
        elif name in ("STACK_GLOBAL", "REDUCE"):
            self.pop(2)
            self.push(0 if name == "STACK_GLOBAL" else 1)
        elif name == "BUILD":
            self.pop(1)
        elif name in ("BINPUT", "LONG_BINPUT", "MEMOIZE"):
            self.memo[len(self.memo) if arg is None else arg] = self.top()
        elif name in ("BINGET", "LONG_BINGET"):
            if self.memo.get(arg) != 0:
                raise RefusedPickle("refusing a memo reference to a container (only strings and names are shared "
                                    "in a CIFAR-10 batch)")
            self.push(0)

    def push(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise RefusedPickle(f"containers nested more than {MAX_DEPTH} deep: not a CIFAR-10 batch")
        self.stack.append(depth)

    def pop(self, count: int) -> list[int]:
        floor = self.marks[-1] if self.marks else 0
        if len(self.stack) - count < floor:
            raise RefusedPickle("not a well-formed pickle (its stack runs out)")
        items = self.stack[len(self.stack) - count:]
        del self.stack[len(self.stack) - count:]
        return items

    def pop_to_mark(self) -> list[int]:
        if not self.marks:
            raise RefusedPickle("not a well-formed pickle (no MARK)")
        mark = self.marks.pop()
        items = self.stack[mark:]
        del self.stack[mark:]
        return items

    def top(self) -> int:
        depth = self.pop(1)[0]
        self.stack.append(depth)
        return depth

    def fill(self, items: list[int]) -> None:
        """APPEND(S) and SETITEM(S) put ``items`` into the container under them."""
        container = self.pop(1)[0]
        self.push(max(container, 1 + max(items, default=0)))


def load_batch(path: Path) -> tuple[np.ndarray, list[int]]:
    """(uint8 N x 3072 pixel planes, N labels 0-9) of one Python-format batch, every bound checked."""
    raw = _read(path)
    try:
        scan(raw)
        loaded = CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except RefusedPickle as error:
        raise PreconditionError(f"{path}: {error}") from None
    except Exception as error:  # a malformed pickle raises anything from EOFError to ValueError
        raise PreconditionError(f"{path}: not a readable CIFAR-10 batch ({type(error).__name__}: "
                                f"{_short(str(error))})") from None
    return _checked(loaded, path)


def _read(path: Path) -> bytes:
    try:
        return read_regular_file(path, MAX_BATCH_BYTES)
    except BoundError as error:
        raise PreconditionError(f"{path}: not a CIFAR-10 batch: it {error}") from None


def _checked(batch, path: Path) -> tuple[np.ndarray, list[int]]:
    """The official structure, or a one-line refusal naming what is wrong."""
    def malformed(what: str) -> PreconditionError:
        return PreconditionError(f"{path}: malformed CIFAR-10 batch: {what}")

    if type(batch) is not dict:
        raise malformed(f"a {type(batch).__name__}, not a dict")
    if not set(batch) <= KEYS or not {b"data", b"labels"} <= set(batch):
        raise malformed(f"the keys must be b'data', b'labels' (b'batch_label', b'filenames'), not "
                        f"{_short(list(batch))}")
    state = batch[b"data"]
    if not isinstance(state, _ArrayState) or state.array is None:
        raise malformed(f"b'data' must be a uint8 N x {PIXELS} array (found {type(state).__name__})")
    count = len(state.array)
    if not _is_list_of(batch[b"labels"], count, lambda x: type(x) is int and 0 <= x <= 9):
        raise malformed(f"b'labels' must list one integer 0-9 per image ({count} images)")
    if b"filenames" in batch and not _is_list_of(batch[b"filenames"], count, _is_short_bytes):
        raise malformed(f"b'filenames' must list one name per image ({count} images)")
    if b"batch_label" in batch and not _is_short_bytes(batch[b"batch_label"]):
        raise malformed("b'batch_label' must be a short byte string")
    return state.array, batch[b"labels"]


def _is_list_of(value, count: int, element_ok) -> bool:
    return type(value) is list and len(value) == count and all(element_ok(x) for x in value)


def _is_short_bytes(value) -> bool:
    return type(value) in (bytes, str) and len(value) <= MAX_NAME_BYTES


class _ShortRepr(reprlib.Repr):
    """reprlib's bounds, and bytes cut before they are shown (reprlib would build the whole repr first)."""

    def __init__(self):
        super().__init__()
        self.maxlevel, self.maxtuple, self.maxlist, self.maxdict, self.maxstring, self.maxother = 2, 4, 4, 4, 60, 60

    def repr_bytes(self, value: bytes, level: int) -> str:
        return repr(value[:self.maxstring]) + ("..." if len(value) > self.maxstring else "")


def _short(value) -> str:
    """A value for a message, bounded: a hostile pickle chooses what would be printed."""
    if isinstance(value, str):
        return value[:80] + ("..." if len(value) > 80 else "")
    return _ShortRepr().repr(value)
