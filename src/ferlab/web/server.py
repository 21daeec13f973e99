"""Run the app under uvicorn so that slow or many clients cannot take the server down.

uvicorn's h11 protocol waits for a request's headers forever, and every waiting connection
holds a file descriptor: 1,100 half-sent requests exhausted them (EMFILE). Here a connection
must finish its headers within ``header_timeout`` seconds, and once ``max_connections`` are
open the oldest connection still waiting for its headers is dropped to make room, so a new
client (e.g. ``/api/health``) always gets through.
"""
from __future__ import annotations

import ipaddress
import resource

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
MAX_CONNECTIONS = 512


def guarded_protocol(header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS):
    """An H11Protocol subclass with a header deadline and a bound on open connections."""

    class GuardedH11(H11Protocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            self._opened = self.loop.time()
            self._header_timer = None
            self._arm()
            if len(self.connections) > max_connections:
                waiting = [c for c in self.connections if c is not self and c._awaiting_headers()]
                if waiting:
                    min(waiting, key=lambda c: c._opened).transport.close()

        def _awaiting_headers(self) -> bool:
            return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

        def _arm(self):
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._opened = self.loop.time()
            self._header_timer = self.loop.call_later(header_timeout, self._header_deadline)

        def _header_deadline(self):
            self._header_timer = None
            if self._awaiting_headers():
                self.transport.close()

        def data_received(self, data):
            super().data_received(data)
            if self._header_timer is not None and self.conn.their_state is not h11.IDLE:
                self._header_timer.cancel()
                self._header_timer = None

        def on_response_complete(self):
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection gets the same deadline

        def connection_lost(self, exc):
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            super().connection_lost(exc)

    return GuardedH11


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> tuple[str, ...] | None:
    """Host header values to accept when bound to ``host``; None (any) for a wildcard bind."""
    if host in ("0.0.0.0", "::", ""):
        return None
    if is_loopback(host):
        return ("127.0.0.1", "localhost", "::1", host.strip("[]"))
    return (host.strip("[]"),)


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one (room for MAX_CONNECTIONS + SQLite)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):
            pass
    return soft


#: Seconds a thread may hold the GIL while another waits (Python's default is 0.005). A click
#: hands work to the engine's helper process, the PNG thread and the checkpoint thread, and
#: each waited up to the full interval while the request thread ran Python: Evolve click p95
#: 51-55 ms at the default, 46-47 ms at this (benchmarks/evolve_click.py, 2 cores).
SWITCH_INTERVAL = 0.0005


def prepare_server_process() -> None:
    """What a long-running server does once before its first request.

    - Starts the engine's helper process (:func:`ferlab.engine.threads.start_process_worker`):
      a big render's second half of pixels goes there.
    - Freezes everything alive at start-up (numpy, FastAPI, the app) out of the garbage
      collector's sight: a full collection otherwise walks all of it, ~10 ms landing inside
      one click in twenty; what requests create is still collected as usual.
    - Shortens the GIL switch interval to :data:`SWITCH_INTERVAL`.
    """
    import gc
    import sys

    from ferlab.engine.threads import start_process_worker

    start_process_worker()
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()


def run(app, host: str, port: int, log_level: str = "warning",
        header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> None:
    import uvicorn

    soft = raise_fd_limit()
    max_connections = max(16, min(max_connections, soft // 2))
    prepare_server_process()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                http=guarded_protocol(header_timeout, max_connections), timeout_keep_alive=5,
                h11_max_incomplete_event_size=64 * 1024)
