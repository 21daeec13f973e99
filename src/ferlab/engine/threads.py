"""The engine's worker threads and BLAS's own: one small pool, BLAS kept to one thread.

numpy releases the GIL inside each call, so pixel tiles (and PNG encodes) spread over a
few threads; OpenBLAS's threads meanwhile spin on the many tiny products and double the CPU
time, so processes that render opt in to :func:`limit_blas_threads`.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np

#: Threads in the render pool: one per core, at most four.
THREADS = max(1, min(4, os.cpu_count() or 1))

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The process's render pool (created on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="ferlab-render")
        return _pool


def submit(fn: Callable, *args) -> Future:
    return pool().submit(fn, *args)


def limit_blas_threads(n: int = 1) -> bool:
    """Make numpy's BLAS use ``n`` threads; True if it could be told.

    Measured: 210 ms vs 95 ms of CPU per 100-node screen with OpenBLAS's default threads;
    ``ferlab render`` 1.8x slower. Process-wide, so callers opt in (the CLI and web app do).
    """
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n, user_api="blas")
        return True
    except ImportError:
        pass
    import ctypes
    import glob

    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*")):
        try:
            lib = ctypes.CDLL(path)  # already loaded by numpy: this returns the same library
        except OSError:
            continue
        for sym in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                    "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn(ctypes.c_int(int(n)))
                return True
    return False
