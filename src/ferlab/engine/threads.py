"""The engine's workers: a small thread pool, one helper process, BLAS kept to one thread.

numpy releases the GIL inside each call, so PNG encodes spread over a few threads. A
population render is hundreds of numpy calls of a few tens of microseconds, and handing the
GIL over between two threads at that grain cost as much as it saved (1.1x on 2 cores), so its
pixel tiles go to a helper process instead (:func:`process_worker`). OpenBLAS's threads spin
on the many tiny products and double the CPU time, so processes that render opt in to
:func:`limit_blas_threads`.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import numpy as np

#: Threads in the render pool: one per core, at most four.
THREADS = max(1, min(4, os.cpu_count() or 1))

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_process: ProcessPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The process's render pool (created on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="ferlab-render")
        return _pool


def submit(fn: Callable, *args) -> Future:
    return pool().submit(fn, *args)


def _process_init(parent: int) -> None:
    limit_blas_threads(1)

    def watch() -> None:
        # A helper must not outlive its parent: a killed server's helper would otherwise wait
        # on its task queue forever (it holds that queue's write end itself, so never sees EOF).
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="ferlab-parent-watch", daemon=True).start()


def process_worker() -> ProcessPoolExecutor | None:
    """The helper process if one was started (:func:`start_process_worker`), else None.

    Never started implicitly: a spawned child re-runs the parent's main script, which a
    user's unguarded script would not survive, and forking a process that already runs
    threads (JAX's, a server's) can copy a held lock into the child. Long-running apps
    (``ferlab serve``) start it once; everything else renders in-process.
    """
    return _process


def start_process_worker() -> bool:
    """Start the helper process (0.2 s; spawned, BLAS single-threaded, gone with its parent)
    and wait until it answers; True if one runs. Not on a single core, where it could only slow renders."""
    global _process
    if THREADS < 2:
        return False
    with _lock:
        if _process is None:
            _process = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_process_init, initargs=(os.getpid(),))
        worker = _process
    try:
        worker.submit(int).result()
    except Exception:  # could not start (no /dev/shm, a sandbox): render in-process
        stop_process_worker()
        return False
    return True


def stop_process_worker() -> None:
    """Stop the helper process (also after it broke); renders go back in-process."""
    global _process
    with _lock:
        worker, _process = _process, None
    if worker is not None:
        worker.shutdown(wait=False, cancel_futures=True)


def helper_submit(fn: Callable, *args) -> Future | None:
    """``fn(*args)`` on the helper process, or None where none runs (or it broke): the caller
    then does the work itself. ``fn`` and the arguments must pickle."""
    worker = _process
    if worker is None:
        return None
    try:
        return worker.submit(fn, *args)
    except (BrokenProcessPool, RuntimeError):  # broken, or the interpreter shutting down
        stop_process_worker()
        return None


def helper_result(future: Future | None, fallback: Callable[[], object]):
    """A :func:`helper_submit` future's value; ``fallback()`` where there was none, or where
    the helper died (killed, out of memory) before answering: it is then dropped."""
    if future is None:
        return fallback()
    try:
        return future.result()
    except BrokenProcessPool:
        stop_process_worker()
        return fallback()


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
