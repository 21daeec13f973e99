"""The hostile corpus for the web app: every case a 4xx with a one-line message, stored data
unchanged, and the server still answering; plus a real server (127.0.0.1 only) under a
bounded slow-header flood."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request

import pytest

pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from ferlab.genome import MAX_GENE_ID  # noqa: E402
from ferlab.picbreeder import genome_to_xml  # noqa: E402
from ferlab.web import create_app  # noqa: E402
from ferlab.web.guard import Guard  # noqa: E402
from hostile_inputs import chain, json_bytes, npz_claiming, small_json, small_xml, zipped  # noqa: E402

BASE = "http://127.0.0.1:8765"
IMPORT = "/api/sessions/import"


@pytest.fixture
def client(tmp_path):
    app = create_app(tmp_path / "web.db")
    with TestClient(app, base_url=BASE) as c:
        c.store = app.state.store
        yield c
    app.state.store.close()


def _error(resp, status, fragment=""):
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and fragment.lower() in detail.lower(), detail


def _link0(**change):
    data = small_json()
    data["links"][0] = {**data["links"][0], **change}
    return data


BAD_GENOMES = {
    "branch 2^63-2": (small_xml().replace('branch="1"', f'branch="{2**63 - 2}"').encode(), "out of range"),
    "id 2^62": (small_xml().replace('id="0"', f'id="{MAX_GENE_ID}"', 1).encode(), "out of range"),
    "encrypted zip": (zipped(small_xml().encode(), flag=1), "encrypted"),
    "AES zip": (zipped(small_xml().encode(), method=99), "compression method"),
    "implode zip": (zipped(small_xml().encode(), method=6), "compression method"),
    "400-digit weight": (small_xml().replace("<weight>0.5</weight>", f"<weight>{'9' * 400}</weight>").encode(),
                         "weight"),
    "400-digit JSON weight": (json.dumps(_link0(weight=int("9" * 400))).encode(), ""),
    "JSON bookends of 2": (json_bytes(_link0(bookends=[0.0, 1.0])), "bookends"),
    "JSON bookends of 4": (json_bytes(_link0(bookends=[0.0, 1.0, 0.1, 5.0])), "bookends"),
    "JSON button colour of 4": (json_bytes({**small_json(), "buttons": [{"id": 1, "text": "t", "color": [1, 2, 3, 4]}]}),
                                "colour"),
    "JSON colour 300": (json_bytes({**small_json(), "buttons": [{"id": 1, "text": "t", "color": [300, 0, 0]}]}),
                        "colour"),
    "JSON weight 1e300": (json_bytes(_link0(weight=1e300)), "weight"),
    "JSON colour label 2^64": (json_bytes(_link0(color_label=2**64)), "color-label"),
}


@pytest.mark.parametrize("case", list(BAD_GENOMES))
def test_bad_genomes_are_4xx_and_store_nothing(client, case):
    body, fragment = BAD_GENOMES[case]
    before = client.store.counts()
    _error(client.post(IMPORT, content=body), 400, fragment)
    assert client.store.counts() == before
    assert client.post("/api/sessions", json={}).status_code == 201  # later sessions unaffected


def test_a_stored_out_of_range_branch_does_not_break_new_sessions(client):
    with client.store.write() as db:  # as an older ferlab could have stored it
        db.execute("INSERT INTO branches(branch, created) VALUES(?, 0)", (2**63 - 1,))
    for _ in range(2):
        r = client.post("/api/sessions", json={})
        assert r.status_code == 201, r.text
        assert r.json()["branch"] < MAX_GENE_ID
    r = client.post(IMPORT, content=small_xml().encode(), headers={"Content-Type": "application/xml"})
    assert r.status_code == 201, r.text


def test_a_page_on_another_origin_cannot_write(client):
    before = client.store.counts()
    body = small_xml().encode()
    # What fetch(url, {mode: "no-cors", method: "POST", body}) sends from another site:
    for headers, status, fragment in [
        ({"Origin": "http://evil.example", "Content-Type": "text/plain"}, 403, "cross-origin"),
        ({"Origin": "http://127.0.0.1:9999", "Content-Type": "application/octet-stream"}, 403, "cross-origin"),
        ({"Origin": "null", "Content-Type": "application/octet-stream"}, 403, "cross-origin"),
        ({"Sec-Fetch-Site": "cross-site"}, 403, "cross-site"),
        ({"Content-Type": "text/plain"}, 415, "text/plain"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, 415, "multipart"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415, "urlencoded"),
    ]:
        _error(client.post(IMPORT, content=body, headers=headers), status, fragment)
    _error(client.post("/api/sessions", content=b"{}", headers={"Content-Type": "text/plain"}), 415, "json")
    _error(client.post("/api/sessions", json={}, headers={"Origin": "http://evil.example"}), 403, "cross-origin")
    assert client.store.counts() == before
    ok = client.post(IMPORT, content=body, headers={"Origin": BASE, "Content-Type": "application/octet-stream"})
    assert ok.status_code == 201, ok.text


def test_a_wrong_host_is_refused(client):
    before = client.store.counts()
    for path in ("/api/health", "/", "/api/gallery"):
        _error(client.get(path, headers={"Host": "rebind.attacker.example"}), 400, "host")
    _error(client.post("/api/sessions", json={}, headers={"Host": "rebind.attacker.example:8765"}), 400, "host")
    assert client.store.counts() == before
    for host in ("localhost:8765", "[::1]:8765", "127.0.0.1"):
        assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_bodies_are_limited_on_the_stream_for_every_route(client):
    st = client.post("/api/sessions", json={}).json()
    before = client.store.counts()

    def chunks(n):  # chunked: no Content-Length to trust
        for _ in range(n):
            yield b" " * 65536

    for path in ("/api/sessions", f"/api/sessions/{st['session']}/evolve", f"/api/sessions/{st['session']}/back",
                 f"/api/genomes/{st['screen']['genomes'][0]['key']}/render"):
        _error(client.post(path, content=chunks(8), headers={"Content-Type": "application/json"}), 413, "limit")
    _error(client.post(IMPORT, content=chunks(80)), 413, "limit")
    assert client.store.counts() == before


def test_security_headers_and_no_external_docs(client):
    for path in ("/", "/api/health", "/static/app.js"):
        r = client.get(path)
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "http" not in csp
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert client.get("/api/docs").status_code == 404
    assert client.get("/api/openapi.json").status_code == 200


def test_renders_past_the_cpu_budget_are_refused(client):
    r = client.post(IMPORT, content=genome_to_xml(chain(720)).encode())
    assert r.status_code == 201, r.text
    key = r.json()["screen"]["genomes"][0]["key"]
    _error(client.get(f"/api/genomes/{key}/image.png?res=2048"), 422, "limit")
    _error(client.get(f"/api/genomes/{key}/nodes?res=128"), 422, "limit")
    assert client.get(f"/api/genomes/{key}/image.png?res=64").status_code == 200
    assert client.get("/api/health").json() == {"ok": True}


def test_the_guard_limits_concurrent_work():
    """Two requests, one slot: the second waits, then gets 503; health never waits."""
    release = asyncio.Event()

    async def slow_app(scope, receive, send):
        if scope["path"] == "/slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = Guard(slow_app, max_active=1, queue_timeout=0.2)

    async def call(path):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(msg):
            sent.append(msg)

        scope = {"type": "http", "method": "GET", "path": path,
                 "headers": [(b"host", b"127.0.0.1:8765")]}
        await guard(scope, receive, send)
        return sent[0]["status"]

    async def scenario():
        first = asyncio.create_task(call("/slow"))
        await asyncio.sleep(0.05)
        second = await call("/slow")
        health = await call("/api/health")
        release.set()
        return await first, second, health

    assert asyncio.run(scenario()) == (200, 503, 200)


# ------------------------------------------------------------------------ a real server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_slow_header_flood_does_not_stop_health(tmp_path):
    """64 connections that never finish their headers, against a server that allows 24:
    /api/health still answers, and the flood's connections are closed by the deadline."""
    import uvicorn

    from ferlab.web.server import guarded_protocol

    port = _free_port()
    app = create_app(tmp_path / "flood.db")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical",
                            http=guarded_protocol(header_timeout=2.0, max_connections=24))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    socks = []
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        for _ in range(64):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(s)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as r:
            assert json.loads(r.read()) == {"ok": True}
        # Past the header deadline every flood connection has been closed by the server.
        time.sleep(3.0)
        closed = 0
        for s in socks:
            s.settimeout(2)
            try:
                closed += s.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except socket.timeout:  # still open: the deadline did not fire
                pass
        assert closed == len(socks)
    finally:
        for s in socks:
            s.close()
        server.should_exit = True
        thread.join(timeout=10)
        app.state.store.close()


def test_forged_network_files_are_4xx(client):
    before = client.store.counts()
    for body, fragment in [(npz_claiming((10_000_000_000,)), "claims"), (npz_claiming((3,), "|O"), "objects")]:
        _error(client.post("/api/nets/import", content=body), 400, fragment)
    _error(client.post("/api/nets/import", content=b"x", headers={"Origin": "http://evil.example"}), 403, "cross-origin")
    assert client.store.counts() == before
