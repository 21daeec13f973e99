"""Load test: concurrent simulated users breeding against a local `ferlab serve`.

Starts the server on a free 127.0.0.1 port with a temporary database (traffic goes to
127.0.0.1 only), runs ``--users`` threads of ``--actions`` actions each (evolve, reload, back,
publish, gallery, thumbnails, large image, explore), bounded by ``--max-seconds``, then
stops the server and checks the database: PRAGMA integrity_check, foreign keys, the store's
consistency checks, every genome valid, and each user's last seen state equal to what was
stored. Reports errors (target 0) and p50/p95 latency per action.

    .venv/bin/python benchmarks/web_load.py [--users 20] [--actions 200] [--max-seconds 900]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Relative weights of what a simulated user does next.
ACTIONS = {"evolve": 30, "state": 12, "thumbs": 14, "back": 6, "publish": 5, "gallery": 8,
           "image": 5, "large": 5, "graph": 5, "sweep": 5, "render": 5}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP connection to 127.0.0.1."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                return r.status, payload
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt:
                    raise


def user(port: int, uid: int, n_actions: int, deadline: float, out: dict, lock: threading.Lock):
    rng = random.Random(uid)
    c = Client(port)
    lat = defaultdict(list)
    errors = []
    published = []

    def do(kind, method, path, body=None, ok=(200, 201)):
        t = time.perf_counter()
        try:
            status, payload = c.call(method, path, body)
        except Exception as e:  # noqa: BLE001 - every failure is counted
            errors.append(f"{kind}: {type(e).__name__}: {e}")
            return None
        lat[kind].append((time.perf_counter() - t) * 1e3)
        if status not in ok:
            errors.append(f"{kind} {path}: HTTP {status} {payload[:200]!r}")
            return None
        return payload

    p = do("start", "POST", "/api/sessions", {"start": "scratch", "colour": uid % 2 == 0, "seed": uid})
    if p is None:
        with lock:
            out["errors"] += errors
        return
    st = json.loads(p)
    kinds, weights = zip(*ACTIONS.items())
    done = 1
    while done < n_actions and time.time() < deadline:
        kind = rng.choices(kinds, weights)[0]
        sid = st["session"]
        keys = [g["key"] for g in st["screen"]["genomes"]]
        if kind == "evolve":
            parents = rng.sample(keys, rng.choice([1, 1, 1, 2, 3]))
            p = do(kind, "POST", f"/api/sessions/{sid}/evolve",
                   {"screen": st["screen"]["id"], "parents": parents, "strength": round(rng.uniform(0.2, 2.0), 2)})
            if p:
                st = json.loads(p)
        elif kind == "state":
            p = do(kind, "GET", f"/api/sessions/{sid}")
            if p:
                st = json.loads(p)
        elif kind == "thumbs":
            for k in rng.sample(keys, 5):
                do(kind, "GET", f"/api/genomes/{k}/thumb.png")
        elif kind == "back":
            if st["history"]:
                target = rng.choice(st["history"])["screen"]
                p = do(kind, "POST", f"/api/sessions/{sid}/back", {"screen": target})
                if p:
                    st = json.loads(p)
        elif kind == "publish":
            free = [g["key"] for g in st["screen"]["genomes"] if not g["image"]]
            if free:
                key = rng.choice(free)
                p = do(kind, "POST", f"/api/sessions/{sid}/publish", {"genome": key, "title": f"user {uid} #{done}"})
                if p:
                    published.append(json.loads(p)["id"])
                    p = do("state", "GET", f"/api/sessions/{sid}")
                    if p:
                        st = json.loads(p)
        elif kind == "gallery":
            do(kind, "GET", "/api/gallery?limit=60")
        elif kind == "image":
            if published:
                do(kind, "GET", f"/api/gallery/{rng.choice(published)}")
        elif kind == "large":
            do(kind, "GET", f"/api/genomes/{rng.choice(keys)}/image.png?res=256&window=-0.5,0.5,-0.5,0.5")
        elif kind == "graph":
            do(kind, "GET", f"/api/genomes/{rng.choice(keys)}/graph")
        elif kind in ("sweep", "render"):
            key = rng.choice(keys)
            p = do("graph", "GET", f"/api/genomes/{key}/graph")
            if p:
                link = rng.choice(json.loads(p)["links"])
                if kind == "sweep":
                    do(kind, "GET", f"/api/genomes/{key}/sweep?link={link['id']}&res=64")
                else:
                    do(kind, "POST", f"/api/genomes/{key}/render",
                       {"weights": {link["id"]: link["weight"] + 0.5}, "res": 128})
        done += 1
    with lock:
        out["errors"] += errors
        out["actions"] += done
        out["published"] += len(published)
        out["final"][st["session"]] = st
        for k, v in lat.items():
            out["lat"][k] += v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--actions", type=int, default=200)
    ap.add_argument("--max-seconds", type=float, default=900.0, help="stop issuing actions after this")
    args = ap.parse_args(argv)
    if not (1 <= args.users <= 200 and 1 <= args.actions <= 10_000):
        ap.error("users must be 1..200 and actions 1..10000")
    tmp = tempfile.TemporaryDirectory()
    db = Path(tmp.name) / "load.db"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ferlab", "serve", "--port", str(port), "--db", str(db)],
                            cwd=ROOT, env={**os.environ, "XDG_DATA_HOME": tmp.name},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    if json.loads(r.read()) == {"ok": True}:
                        break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    print("server did not start:", proc.stderr.read().decode()[-2000:], file=sys.stderr)
                    return 1
                time.sleep(0.1)
        out = {"errors": [], "actions": 0, "published": 0, "final": {}, "lat": defaultdict(list)}
        lock = threading.Lock()
        t0 = time.time()
        stop_at = t0 + args.max_seconds
        threads = [threading.Thread(target=user, args=(port, u, args.actions, stop_at, out, lock))
                   for u in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    from ferlab.store import Store

    store = Store(db)
    problems = store.check() + store.check_genomes()
    for sid, st in out["final"].items():
        if store.session_state(sid) != st:
            problems.append(f"session {sid}: stored state differs from what its user last saw")
    counts = store.counts()
    if counts["gallery"] != out["published"]:
        problems.append(f"gallery has {counts['gallery']} images; users published {out['published']}")
    if counts["sessions"] != args.users:
        problems.append(f"{counts['sessions']} sessions stored for {args.users} users")
    store.close()
    tmp.cleanup()

    all_lat = [x for v in out["lat"].values() for x in v]
    print(f"web load: {args.users} users x {args.actions} actions against 127.0.0.1, "
          f"{os.cpu_count()} CPU(s); {out['actions']} actions, {len(all_lat)} requests in {wall:.1f} s "
          f"({len(all_lat) / wall:.1f} req/s)")
    print(f"{'action':>10} {'n':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for k in sorted(out["lat"]):
        v = out["lat"][k]
        print(f"{k:>10} {len(v):>6} {np.percentile(v, 50):8.1f} {np.percentile(v, 95):8.1f}")
    print(f"{'all':>10} {len(all_lat):>6} {np.percentile(all_lat, 50):8.1f} {np.percentile(all_lat, 95):8.1f}")
    print(f"errors: {len(out['errors'])}")
    for e in out["errors"][:10]:
        print("  ", e)
    print(f"database: {counts}; integrity and consistency: {'ok' if not problems else 'PROBLEMS'}")
    for p in problems[:10]:
        print("  ", p)
    return 0 if not out["errors"] and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
