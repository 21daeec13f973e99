"""An ``.npz`` written member by member, big arrays chunk by chunk, atomically.

``np.savez`` needs every array in memory at once; a sweep of every weight of a dense network
is gigabytes of frames. Here an array's ``.npy`` header is written from its declared shape,
then its bytes as they are produced; ``np.load`` reads the result like any ``.npz``. The file
appears only when complete (:func:`ferlab.atomic.atomic_path`): an error or Ctrl-C leaves no
file, and an existing one untouched.

Members are stored, not deflated, by default: float frames deflate only to about a third, and
at a fraction of the speed the sweep makes them (benchmarks/sweep_speed.py compares).
"""
from __future__ import annotations

import contextlib
import io
import queue
import threading
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from ferlab.atomic import atomic_path


def _npy_header(shape, dtype) -> bytes:
    d = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
         "shape": tuple(int(s) for s in shape)}
    buf = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buf, d)
    except ValueError:  # header over 64 KiB: version 2.0 has a 4-byte length
        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(buf, d)
    return buf.getvalue()


class ArrayStream:
    """One member being written: :meth:`write` C-ordered chunks along the first axis.

    Chunks are handed to a writer thread (at most ``ahead`` queued), so computing the next
    chunk overlaps with checksumming and writing this one; a chunk must not be changed after
    it is written. Closing checks that exactly the declared shape arrived.
    """

    def __init__(self, fh, shape, dtype, ahead: int = 2):
        self.shape, self.dtype = tuple(int(s) for s in shape), np.dtype(dtype)
        self._rows = 0
        self._fh = fh
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, ahead))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="ferlab-npz", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self._fh.write(item)
                except BaseException as e:  # re-raised in the caller's thread
                    self._error = e

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, chunk) -> None:
        self._check()
        chunk = np.asarray(chunk)
        if chunk.dtype != self.dtype or chunk.shape[1:] != self.shape[1:]:
            raise ValueError(f"chunk {chunk.dtype} {chunk.shape} does not fit an array of "
                             f"{self.dtype} {self.shape}")
        if self._rows + len(chunk) > self.shape[0]:
            raise ValueError(f"more than the declared {self.shape[0]} rows written")
        self._rows += len(chunk)
        self._queue.put(memoryview(np.ascontiguousarray(chunk)).cast("B"))

    def close(self, ok: bool = True) -> None:
        """Wait for the writer thread; ``ok`` False (the caller is failing): raise nothing."""
        self._queue.put(None)
        self._thread.join()
        if not ok:
            return
        self._check()
        if self._rows != self.shape[0]:
            raise ValueError(f"{self._rows} of the declared {self.shape[0]} rows written")


class NpzWriter:
    """Members of one ``.npz`` being written; get one from :func:`write_npz`."""

    def __init__(self, zf: zipfile.ZipFile):
        self._zf = zf

    def add(self, name: str, array) -> None:
        """A whole array as member ``name`` (``np.load(...)[name]``)."""
        array = np.asarray(array)
        with self.array(name, array.shape, array.dtype) as w:
            w.write(array.reshape((1,) + array.shape) if array.ndim == 0 else array)

    @contextlib.contextmanager
    def array(self, name: str, shape, dtype, ahead: int = 2) -> Iterator[ArrayStream]:
        """Member ``name`` of ``shape`` and ``dtype``, written chunk by chunk (0-d: one row)."""
        if np.dtype(dtype).hasobject:
            raise ValueError("object arrays are not written")
        with self._zf.open(name + ".npy", "w", force_zip64=True) as fh:
            fh.write(_npy_header(shape, dtype))
            stream = ArrayStream(fh, tuple(shape) or (1,), dtype, ahead)
            try:
                yield stream
            except BaseException:
                stream.close(ok=False)
                raise
            stream.close()


@contextlib.contextmanager
def write_npz(path, level: int | None = None) -> Iterator[NpzWriter]:
    """Write ``path`` as an ``.npz``; it replaces ``path`` only when the block ends cleanly.

    ``level`` None stores members; 0-9 deflates them at that zlib level.
    """
    method = zipfile.ZIP_STORED if level is None else zipfile.ZIP_DEFLATED
    with atomic_path(Path(path)) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=method, compresslevel=level,
                             allowZip64=True) as zf:
            yield NpzWriter(zf)
