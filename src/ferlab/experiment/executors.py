"""Where cells run: a local process pool, or Ray (a local Ray, or an existing cluster).

Both take tasks ``(cell dict, genome bytes)`` and yield result rows as cells finish, keeping
a bounded number in flight so that Ctrl-C loses at most those. Both run :func:`run_cell` in
worker processes with the same environment (WORKER_ENV), so they give the same table.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ferlab.experiment.cell import one_line, run_cell, worker_env


DIED = "worker process died while this cell ran (out of memory or killed)"


def failed_row(cell: dict, error: str) -> dict:
    """The row of a cell that never returned (its worker died)."""
    return {"hash": cell["hash"], "genome": cell["genome"], "seed": cell["seed"],
            "vary": cell.get("vary", {}), "status": "failed", "error": error, "figures": {},
            "timings": {}, "files": {}}


def _bounded(tasks, slots: int, submit, wait_some):
    """Keep ``slots`` tasks in flight; yield rows as they finish.

    ``submit(task) -> handle``; ``wait_some({handle: cell}) -> [(handle, row)]`` (at least
    one finished).
    """
    it = iter(tasks)
    pending: dict = {}
    while True:
        while len(pending) < slots:
            task = next(it, None)
            if task is None:
                break
            pending[submit(task)] = task[0]
        if not pending:
            return
        for handle, row in wait_some(pending):
            pending.pop(handle)
            yield row


def _pool_worker_init(env: dict) -> None:
    os.environ.update(env)  # before this process imports JAX
    # Ctrl-C belongs to the driver: it stops the pool itself; a worker killed by the
    # terminal's SIGINT mid-cell would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessPool:
    """``workers`` local processes (spawned: JAX does not survive fork). ``compile_cache``:
    a folder for JAX's persistent compilation cache (see cell.worker_env)."""

    name = "process pool"

    def __init__(self, workers: int = 1, compile_cache=None):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.env = worker_env(compile_cache)
        self.slots = workers
        self._ex = None

    def __enter__(self):
        self._start()
        return self

    def _start(self):
        self._ex = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_pool_worker_init, initargs=(self.env,))

    def __exit__(self, exc_type, *exc):
        if exc_type is None and self._ex is not None:
            self._ex.shutdown(wait=True)
            self._ex = None
        self.stop()

    def run(self, tasks):
        def submit(task):
            return self._ex.submit(run_cell, *task)

        def wait_some(pending):
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            out, broken = [], False
            for fut in done:
                try:
                    out.append((fut, fut.result()))
                except BrokenProcessPool:
                    broken = True
                except Exception as e:  # noqa: BLE001 - e.g. a task that cannot be pickled
                    out.append((fut, failed_row(pending[fut], one_line(e))))
            if broken:  # every cell in flight is lost with the pool: record them, start afresh
                self.stop()
                self._start()
                got = {f for f, _ in out}
                out += [(f, failed_row(cell, DIED)) for f, cell in pending.items() if f not in got]
            return out

        yield from _bounded(tasks, self.slots, submit, wait_some)

    def stop(self) -> None:
        """Drop queued cells and end the workers now (cells in flight are not recorded)."""
        ex, self._ex = self._ex, None
        if ex is None:
            return
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)


#: A local Ray is ours alone: it listens on the loopback address only (Ray 2.60 ignores
#: ``_node_ip_address`` for a local start and binds GCS, raylet and workers to every
#: interface; its "no cluster" mode, the Windows/macOS default chosen by the first variable,
#: uses 127.0.0.1 for all of them), and its workers run at normal priority like the process
#: pool's (Ray's default of nice 15 starves them on a busy machine).
LOCAL_RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_worker_niceness": "0"}


def _local_ray_env(on: bool, _saved={}) -> None:
    """Set LOCAL_RAY_ENV (or restore what was there). Ray reads these when ``ray`` is
    imported and in the processes it starts, so the imported constant is set too."""
    if on:
        for k, v in LOCAL_RAY_ENV.items():
            _saved.setdefault(k, os.environ.get(k))
            os.environ[k] = v
    else:
        for k in list(_saved):
            old = _saved.pop(k)
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old
    try:
        from ray._private import ray_constants
    except ImportError:
        return
    v = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    ray_constants.ENABLE_RAY_CLUSTER = (not ray_constants.IS_WINDOWS_OR_OSX if v is None
                                        else v.lower() in ("1", "true"))


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Ray retries an unreachable cluster forever, logging every few seconds: try the TCP
    port once first so a wrong address is one line."""
    import socket

    hostport = address.split("://", 1)[-1]
    if hostport == "auto" or ":" not in hostport:
        return
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as e:
        raise ValueError(f"no Ray cluster answers at {address}: {e}") from None


class RayExecutor:
    """Cells as Ray tasks (one CPU each). ``address=None``: start a private local Ray with
    ``workers`` CPUs on 127.0.0.1, no dashboard, temp files in a folder removed at the end;
    otherwise join the cluster at ``address`` (``HOST:PORT``, ``auto`` or ``ray://HOST:PORT``).
    ``compile_cache``: a folder every worker can write (its own disk is fine), or None."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, compile_cache=None):
        self.address, self.workers = address, workers
        self.env = worker_env(compile_cache)
        self._tmp = None
        self._pending = set()

    def __enter__(self):
        if self.address is None:
            _local_ray_env(True)
        try:
            import ray
        except ImportError:
            raise ValueError("Ray is not installed: pip install 'ferlab[ray]'") from None
        self._ray = ray
        runtime_env = {"env_vars": self.env}
        kw = dict(include_dashboard=False, log_to_driver=False, runtime_env=runtime_env,
                  configure_logging=True, logging_level="ERROR")
        try:
            if self.address is None:
                # Ray's socket paths must stay short (unix sockets: 107 bytes), so its temp
                # folder lives under the system temp dir and is removed on exit.
                self._tmp = tempfile.mkdtemp(prefix="ferlab-ray-")
                ray.init(num_cpus=self.workers or os.cpu_count() or 1, _temp_dir=self._tmp, **kw)
            else:
                _check_reachable(self.address)
                kw.pop("include_dashboard")
                ray.init(address=self.address, **kw)
        except Exception as e:  # noqa: BLE001 - connection refused, bad address, ...
            self._cleanup()
            where = "a local Ray" if self.address is None else f"the Ray cluster at {self.address}"
            raise ValueError(f"cannot start {where}: {one_line(e)}") from None
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_cell)
        return self

    def __exit__(self, *exc):
        self.stop()
        self._cleanup()

    def _cleanup(self):
        try:
            if getattr(self, "_ray", None) is not None and self._ray.is_initialized():
                self._ray.shutdown()
        finally:
            if self.address is None:
                _local_ray_env(False)
            if self._tmp:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None

    def run(self, tasks):
        ray = self._ray

        def submit(task):
            ref = self._remote.remote(*task)
            self._pending.add(ref)
            return ref

        def wait_some(pending):
            ready, _ = ray.wait(list(pending), num_returns=1)
            out = []
            for ref in ready:
                self._pending.discard(ref)
                try:
                    out.append((ref, ray.get(ref)))
                except Exception as e:  # noqa: BLE001 - worker died, node lost, ...
                    out.append((ref, failed_row(pending[ref], f"ray: {one_line(e)}")))
            return out

        yield from _bounded(tasks, self.slots, submit, wait_some)

    def stop(self) -> None:
        pending, self._pending = self._pending, set()
        for ref in pending:
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass
