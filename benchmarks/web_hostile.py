"""Does `ferlab serve` keep answering /api/health under hostile load? Prints latencies.

Starts `ferlab serve` on a free 127.0.0.1 port with a temporary database (all traffic stays on
127.0.0.1), then, one scenario at a time, measures /api/health round trips while:

- ``imports``: 4 clients each POST a ~3 MB genome file (parsing is CPU work; it must not
  run on the event loop);
- ``flood``: ``--flood`` connections send half a request header and stall (each must be
  dropped at the header deadline or to make room, never exhaust the server's descriptors);
- ``bodies``: 4 clients each stream a chunked body far past the limit (cut off at the limit).

    .venv/bin/python benchmarks/web_hostile.py [--flood 1100] [--probes 20]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def big_genome_xml(links: int = 12_000) -> bytes:
    """A valid Picbreeder-style XML genome of about 3 MB (many parallel links)."""
    sys.path.insert(0, str(ROOT / "src"))
    from ferlab.genome import Genome, Link, Node
    from ferlab.picbreeder import genome_to_xml

    ins = [Node((1, i), "in", "identity", lab) for i, lab in enumerate(("x", "y", "d", "bias"))]
    hidden = [Node((1, 10 + i), "hidden", "sin") for i in range(1000)]
    out = [Node((1, 9), "out", "identity", "ink")]
    ls = [Link((2, k), (1, k % 4), (1, 10 + k % 1000), 0.1) for k in range(links)]
    return genome_to_xml(Genome(tuple(ins + hidden + out), tuple(ls))).encode()


def health(base: str) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(base + "/api/health", timeout=60) as r:
        r.read()
    return time.perf_counter() - t


def probe(base: str, n: int) -> str:
    times = []
    for _ in range(n):
        times.append(health(base))
        time.sleep(0.05)
    t = np.array(times) * 1000
    return f"health p50 {np.median(t):.0f} ms, max {t.max():.0f} ms over {n} probes"


def post(port: int, path: str, body: bytes) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/octet-stream"})
        return conn.getresponse().status
    finally:
        conn.close()


def stream(port: int, path: str, total: int) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        def chunks():
            for _ in range(total // 65536):
                yield b" " * 65536
        conn.request("POST", path, body=chunks(), headers={"Content-Type": "application/json"},
                     encode_chunked=True)
        return conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        return -1  # the server closed the connection once past the limit
    finally:
        conn.close()


def during(base: str, probes: int, n: int, work) -> tuple[str, list]:
    """Health probes while ``n`` threads each run ``work()``; (probe line, their results)."""
    results = []
    threads = [threading.Thread(target=lambda: results.append(work())) for _ in range(n)]
    for t in threads:
        t.start()
    line = probe(base, probes)
    for t in threads:
        t.join()
    return line, sorted(results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flood", type=int, default=1100, help="half-sent requests (default 1100)")
    ap.add_argument("--probes", type=int, default=20)
    args = ap.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        proc = subprocess.Popen([sys.executable, "-m", "ferlab", "serve", "--db", str(Path(tmp) / "b.db"),
                                 "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    health(base)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
            print(f"idle:    {probe(base, args.probes)}")

            body = big_genome_xml()
            line, statuses = during(base, args.probes, 4, lambda: post(port, "/api/sessions/import", body))
            print(f"imports: {line}  (4 x {len(body) / 1e6:.1f} MB, statuses {statuses})")

            socks = []
            try:
                for _ in range(args.flood):
                    s = socket.create_connection(("127.0.0.1", port), timeout=10)
                    s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                    socks.append(s)
                print(f"flood:   {probe(base, args.probes)}  ({len(socks)} half-sent requests open)")
            except OSError as e:  # this client ran out of descriptors first
                print(f"flood:   stopped opening at {len(socks)} connections ({e}); "
                      f"{probe(base, args.probes)}")
            finally:
                for s in socks:
                    s.close()

            line, statuses = during(base, args.probes, 4, lambda: stream(port, "/api/sessions", 300 << 20))
            print(f"bodies:  {line}  (4 x 300 MB chunked, statuses {statuses})")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
