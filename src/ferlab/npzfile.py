"""Open ``.npz`` files from users with bounded memory and time.

``np.load`` trusts the file: a truncated zip raises ``BadZipFile``, an array header may claim
37 GiB (``MemoryError``), and a few MB of deflated zeros inflate to gigabytes. Here every
member's zip entry and ``.npy`` header are checked against limits before any array is read.
"""
from __future__ import annotations

import io
import zipfile
from math import prod
from pathlib import Path

import numpy as np

#: Most bytes the arrays of one .npz may hold once loaded (and inflated): room for the
#: largest dense network (dense.MAX_PARAMS float32 kernels and int32 origins) or its checkpoint.
MAX_NPZ_BYTES = 1 << 29
#: Most arrays in one .npz.
MAX_NPZ_MEMBERS = 10_000
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class NpzError(ValueError):
    """A file that is not a readable, reasonably sized .npz; the message says why."""


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unknown .npy version {version}")
    if dtype.hasobject:
        raise ValueError(f"{info.filename} holds Python objects, which ferlab never loads")
    return tuple(shape), dtype


def _source(source):
    """(what zipfile/np.load open, a name for messages): a path, or .npz bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), ".npz data"
    path = Path(source)
    if path.is_dir():
        raise NpzError(f"{path} is a folder, not an .npz file")
    return path, path.name


def check_npz(source, max_bytes: int = MAX_NPZ_BYTES) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Every array's (shape, dtype) from its header, reading no array data; NpzError unless
    ``source`` (a path or the file's bytes) is a complete .npz whose arrays fit in ``max_bytes``."""
    path, name = _source(source)
    headers = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_NPZ_MEMBERS:
                raise NpzError(f"{name} holds {len(members)} arrays; the limit is {MAX_NPZ_MEMBERS}")
            total = 0
            for info in members:
                if info.flag_bits & 0x1 or info.compress_type not in _METHODS:
                    raise NpzError(f"{name}: {info.filename} is encrypted or uses an unsupported "
                                   "compression method")
                shape, dtype = _member_header(zf, info)
                claimed = prod(shape) * dtype.itemsize
                # The zip entry's size bounds what inflating can produce; the header's shape
                # must fit inside it, or the array data is missing.
                if claimed > info.file_size:
                    raise NpzError(f"{name}: {info.filename} claims {claimed} bytes of data but "
                                   f"holds {info.file_size}: truncated or forged")
                total += info.file_size
                if total > max_bytes:
                    raise NpzError(f"{name} holds more than {max_bytes} bytes of arrays; "
                                   f"the limit is {max_bytes}")
                headers[info.filename.removesuffix(".npy")] = (shape, dtype)
    except NpzError:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            RuntimeError, NotImplementedError, SyntaxError) as e:
        raise NpzError(f"cannot read {name} as .npz: {str(e)[:120] or type(e).__name__}") from None
    return headers


class CheckedNpz:
    """A checked .npz (see :func:`check_npz`): ``headers`` gives every array's shape and
    dtype, and an array is read (inflated) only when asked for, so a caller can refuse a file
    whose shapes are wrong before reading any data."""

    def __init__(self, source, max_bytes: int = MAX_NPZ_BYTES):
        self.headers = check_npz(source, max_bytes)
        path, self.name = _source(source)
        self._z = np.load(path, allow_pickle=False)

    def __contains__(self, key: str) -> bool:
        return key in self.headers

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._z[key]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, MemoryError) as e:
            raise NpzError(f"cannot read {key} of {self.name}: {str(e)[:120] or type(e).__name__}") from None

    def __enter__(self) -> "CheckedNpz":
        return self

    def __exit__(self, *exc) -> None:
        self._z.close()


def load_npz(source, max_bytes: int = MAX_NPZ_BYTES) -> dict[str, np.ndarray]:
    """Every array of a checked .npz (a path or the file's bytes), read into memory (no pickles)."""
    with CheckedNpz(source, max_bytes) as z:
        return {k: z[k] for k in z.headers}
