"""What stands between the network and the app: one ASGI middleware, every route behind it.

- ``Host`` must name an address the server is meant to answer on: a DNS-rebinding page (its
  own name resolving to 127.0.0.1) otherwise drives the whole API from the user's browser.
- Writes from browsers must be same-origin: a request whose ``Origin`` (or
  ``Sec-Fetch-Site``) shows another site is refused, and bodies must carry the content type
  the route expects, never one a page can send cross-origin without a preflight.
- Bodies are read here, on the stream, up to a per-route limit and within a time limit, so a
  chunked or slow body costs at most the limit; the app then reads the buffered copy.
- At most ``max_active`` requests do work at once; the rest wait briefly, then get 503.
  ``/api/health`` and static files never wait.
- Every response gets security headers (CSP without any external source, no sniffing, no framing).
"""
from __future__ import annotations

import asyncio
import json
from typing import Iterable
from urllib.parse import urlsplit

#: Content types a cross-origin page can POST without a CORS preflight.
_SIMPLE_TYPES = ("text/plain", "multipart/form-data", "application/x-www-form-urlencoded")
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
     b"script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
     b"form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

#: Hosts a loopback-bound server answers to.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _host_only(netloc: str) -> str:
    """'localhost:8765' -> 'localhost'; '[::1]:80' -> '::1'."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1:netloc.find("]")] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


class Guard:
    """ASGI middleware; see the module docstring. ``allowed_hosts=None`` accepts any Host
    (a server bound to every interface cannot know its names), still same-origin only."""

    def __init__(self, app, allowed_hosts: Iterable[str] | None = LOOPBACK_HOSTS,
                 body_limits: dict[str, int] | None = None, default_body_limit: int = 256 * 1024,
                 raw_body_paths: Iterable[str] = (), body_timeout: float = 30.0,
                 max_active: int = 8, queue_timeout: float = 20.0,
                 unqueued: Iterable[str] = ("/", "/api/health"), unqueued_prefix: str = "/static/"):
        self.app = app
        self.allowed = None if allowed_hosts is None else {h.lower().strip("[]") for h in allowed_hosts}
        self.body_limits = dict(body_limits or {})
        self.default_body_limit = default_body_limit
        self.raw_body_paths = tuple(raw_body_paths)
        self.body_timeout = body_timeout
        self.queue_timeout = queue_timeout
        self.max_active = max_active
        self.unqueued = frozenset(unqueued)
        self.unqueued_prefix = unqueued_prefix
        self._slots: asyncio.Semaphore | None = None

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    async def _reply(send, status: int, detail: str, extra=()) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                *SECURITY_HEADERS, *extra]})
        await send({"type": "http.response.body", "body": body})

    def _refusal(self, scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self.allowed is not None and _host_only(host) not in self.allowed:
            return 400, f"Host {host[:80]!r} is not served here"
        method = scope["method"]
        if method in _UNSAFE:
            origin = headers.get("origin")
            if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower()):
                return 403, "cross-origin requests are refused"
            if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return 403, "cross-site requests are refused"
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if scope["path"] in self.raw_body_paths:
                if ctype in _SIMPLE_TYPES:
                    return 415, f"Content-Type {ctype} is not accepted: send application/octet-stream"
            elif ctype and ctype != "application/json":
                return 415, f"Content-Type {ctype[:60]} is not accepted: send application/json"
        return None

    def _limit(self, path: str) -> int:
        return self.body_limits.get(path, self.default_body_limit)

    async def _read_body(self, receive, limit: int) -> bytes | int:
        """The whole body, or the HTTP status that ends the request (413 too big, 408 slow)."""
        chunks, size = [], 0

        async def read():
            nonlocal size
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    return 400
                chunk = msg.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return 413
                chunks.append(chunk)
                if not msg.get("more_body", False):
                    return None

        try:
            status = await asyncio.wait_for(read(), self.body_timeout)
        except asyncio.TimeoutError:
            return 408
        return status if status is not None else b"".join(chunks)

    # -- ASGI ------------------------------------------------------------------------------
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self._refusal(scope)
        if refusal is not None:
            return await self._reply(send, *refusal, extra=[(b"connection", b"close")])

        path = scope["path"]
        limit = self._limit(path)
        body = await self._read_body(receive, limit)
        if isinstance(body, int):
            detail = {413: f"request body is larger than the {limit}-byte limit",
                      408: f"request body took longer than {self.body_timeout:g} s",
                      400: "client went away"}[body]
            return await self._reply(send, body, detail, extra=[(b"connection", b"close")])

        sent = False

        async def replay():
            nonlocal sent
            if sent:  # the app reads again only to wait for a disconnect
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send_with_headers(msg):
            if msg["type"] == "http.response.start":
                names = {k.lower() for k, _ in msg.get("headers", [])}
                msg = {**msg, "headers": [*msg.get("headers", []),
                                          *(h for h in SECURITY_HEADERS if h[0] not in names)]}
            await send(msg)

        if path in self.unqueued or path.startswith(self.unqueued_prefix):
            return await self.app(scope, replay, send_with_headers)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_active)
        try:
            await asyncio.wait_for(self._slots.acquire(), self.queue_timeout)
        except asyncio.TimeoutError:
            return await self._reply(send, 503, "server busy: try again shortly",
                                     extra=[(b"retry-after", b"5")])
        try:
            await self.app(scope, replay, send_with_headers)
        finally:
            self._slots.release()
