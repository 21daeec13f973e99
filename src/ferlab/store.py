"""SQLite storage for breeding sessions: sessions, screens, genomes, the gallery and lineage.

One connection per thread, WAL mode, and one ``BEGIN IMMEDIATE`` transaction per user action,
so a process killed at any point (SIGKILL included) loses at most the action in flight.
Genomes are kept as ferlab JSON (exact weights) with their 128² PNG thumbnail.

Session ids and genome keys are random tokens: knowing one gives access to that session or
genome and nothing else. Published images get small integer ids (the gallery is public).
All expensive work (breeding, rendering) happens before a transaction opens; a write then
checks, inside the transaction, that the state it was computed from still holds
(compare-and-swap on the session's gene counter), so concurrent requests never interleave.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ferlab.genome import MAX_GENE_ID, Genome
from ferlab.picbreeder import genome_from_json, genome_json_text

SCHEMA_VERSION = 1
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TITLE = 200
MAX_TAGS = 8
MAX_TAG = 32
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9 _-]*$")
#: Gallery orders by name: newest first, oldest first, title A-Z.
GALLERY_SORTS = {"new": "ga.id DESC", "old": "ga.id ASC", "title": "ga.title COLLATE NOCASE ASC, ga.id DESC"}
#: How far up a genome's ancestry publishing looks for the image it descends from.
MAX_LINEAGE_DEPTH = 100_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS branches(branch INTEGER PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    branch INTEGER NOT NULL REFERENCES branches(branch),
    next_id INTEGER NOT NULL,
    colour INTEGER NOT NULL,
    origin_image INTEGER REFERENCES gallery(id),
    current INTEGER REFERENCES screens(id)
);
CREATE TABLE IF NOT EXISTS genomes(
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    session TEXT REFERENCES sessions(id),
    body TEXT NOT NULL,
    n_nodes INTEGER NOT NULL,
    n_links INTEGER NOT NULL,
    thumb BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS genome_parents(
    child INTEGER NOT NULL REFERENCES genomes(id),
    parent INTEGER NOT NULL REFERENCES genomes(id),
    PRIMARY KEY(child, parent)
);
CREATE INDEX IF NOT EXISTS genome_parents_parent ON genome_parents(parent);
CREATE TABLE IF NOT EXISTS screens(
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL REFERENCES sessions(id),
    prev INTEGER REFERENCES screens(id),
    generation INTEGER NOT NULL,
    strength REAL NOT NULL,
    seed INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS screens_session ON screens(session);
CREATE TABLE IF NOT EXISTS screen_genomes(
    screen INTEGER NOT NULL REFERENCES screens(id),
    slot INTEGER NOT NULL,
    genome INTEGER NOT NULL REFERENCES genomes(id),
    PRIMARY KEY(screen, slot)
);
CREATE INDEX IF NOT EXISTS screen_genomes_genome ON screen_genomes(genome);
CREATE TABLE IF NOT EXISTS screen_parents(
    screen INTEGER NOT NULL REFERENCES screens(id),
    genome INTEGER NOT NULL REFERENCES genomes(id),
    PRIMARY KEY(screen, genome)
);
CREATE TABLE IF NOT EXISTS gallery(
    id INTEGER PRIMARY KEY,
    genome INTEGER NOT NULL UNIQUE REFERENCES genomes(id),
    title TEXT NOT NULL,
    parent INTEGER REFERENCES gallery(id),
    session TEXT REFERENCES sessions(id),
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gallery_parent ON gallery(parent);
CREATE TABLE IF NOT EXISTS gallery_tags(
    image INTEGER NOT NULL REFERENCES gallery(id),
    tag TEXT NOT NULL,
    PRIMARY KEY(image, tag)
);
CREATE INDEX IF NOT EXISTS gallery_tags_tag ON gallery_tags(tag);
CREATE TABLE IF NOT EXISTS nets(
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    body BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS search_runs(
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    arm TEXT NOT NULL,
    seed INTEGER NOT NULL,
    evals INTEGER NOT NULL,
    config TEXT NOT NULL,
    summary TEXT NOT NULL,
    history TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS search_elites(
    run INTEGER NOT NULL REFERENCES search_runs(id),
    kind TEXT NOT NULL,
    slot INTEGER NOT NULL,
    genome INTEGER NOT NULL REFERENCES genomes(id),
    cell INTEGER,
    quality REAL,
    novelty REAL,
    distance REAL,
    d0 REAL,
    d1 REAL,
    PRIMARY KEY(run, kind, slot)
);
"""


class StoreError(Exception):
    """A request the stored state refuses (the subclasses say why; apps map them to codes)."""

    def __init__(self, message: str):  # one argument: a stray HTTP code fails loudly
        super().__init__(message)


class NotFound(StoreError):
    """No such object (or not this session's)."""


class Conflict(StoreError):
    """The request contradicts the stored state as it now is."""


class StoreBroken(StoreError):
    """The database itself cannot be used (e.g. another schema version)."""


def _next_branch(db, at_least: int) -> int:
    """One above every stored branch and ``at_least``, counting only branches below
    MAX_GENE_ID: a branch stored by an older ferlab near 2**63 must not stop every new session."""
    row = db.execute("SELECT COALESCE(MAX(branch), 0) FROM branches WHERE branch < ?",
                     (MAX_GENE_ID,)).fetchone()
    branch = max(int(row[0]), int(at_least)) + 1
    if branch >= MAX_GENE_ID:
        raise StoreError(f"gene branch {branch} is out of range (limit {MAX_GENE_ID - 1})")
    return branch


def default_db_path() -> Path:
    """$XDG_DATA_HOME/ferlab/ferlab.db, else ~/.local/share/ferlab/ferlab.db."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ferlab" / "ferlab.db"


def new_token() -> str:
    """An unguessable id (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def clean_tags(tags) -> list[str]:
    """Lower-case, trimmed, de-duplicated tags; StoreError names the first bad one."""
    out: list[str] = []
    for t in tags or ():
        t = " ".join(str(t).lower().split())
        if not t:
            continue
        if len(t) > MAX_TAG or not TAG_RE.match(t):
            raise StoreError(f"tag {t[:40]!r} must be 1-{MAX_TAG} letters, digits, spaces, _ or -")
        if t not in out:
            out.append(t)
    if len(out) > MAX_TAGS:
        raise StoreError(f"{len(out)} tags; the limit is {MAX_TAGS}")
    return out


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def check_token(token: str, what: str) -> str:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise NotFound(f"no such {what}: ids are 16-64 URL-safe characters")
    return token


@dataclass(frozen=True)
class NewGenome:
    """A genome to store: the genome, its thumbnail PNG, and the stored genomes it came from."""

    genome: Genome
    thumb: bytes
    parents: tuple[int, ...] = ()  # genome row ids
    existing: int | None = None  # reuse this stored genome row instead of inserting
    parent_slots: tuple[int, ...] = ()  # earlier items of the same batch that are parents
    body: str | None = None  # genome_json_text(genome) if the caller made it already


#: WAL size past which a committed write hands a checkpoint to a background thread.
#: SQLite's own automatic checkpoint runs inside the committing request: one Evolve click in
#: nine took 9 ms longer (benchmarks/evolve_click.py, store p95 15 ms against 10 ms without).
CHECKPOINT_BYTES = 4 << 20


class Store:
    """The breeding database. Thread-safe: each thread gets its own connection.

    ``checkpoint_bytes``: the WAL size at which a write starts a background checkpoint.
    """

    def __init__(self, path=None, checkpoint_bytes: int = CHECKPOINT_BYTES):
        self.path = Path(path) if path is not None else default_db_path()
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.checkpoint_bytes = int(checkpoint_bytes)
        self._checkpointer: threading.Thread | None = None
        self._closed = False
        if str(self.path) != ":memory:":
            if self.path.is_dir():
                raise StoreBroken(f"database {self.path} is a folder, not a file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._init_schema()
        except sqlite3.Error as e:
            self.close()
            raise StoreBroken(f"cannot use {self.path} as a ferlab database: {e}") from None

    # -- connections -----------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            # Checkpoints run in the background (_after_write); a reset WAL is cut back to
            # nothing so that its size on disk says how much awaits checkpointing.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("PRAGMA journal_size_limit=0")
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
            self._after_write()

    def _after_write(self) -> None:
        if str(self.path) == ":memory:":
            return
        try:
            size = os.path.getsize(f"{self.path}-wal")
        except OSError:
            return
        with self._lock:
            if size < self.checkpoint_bytes or self._closed or (
                    self._checkpointer is not None and self._checkpointer.is_alive()):
                return
            self._checkpointer = threading.Thread(target=self._checkpoint, name="ferlab-checkpoint",
                                                  daemon=True)
            self._checkpointer.start()

    def _checkpoint(self) -> None:
        """Copy the WAL into the database without blocking readers or writers (PASSIVE); what
        a busy reader still holds is copied by a later one. A failure is left to the next."""
        try:
            conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error:
            pass

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            checkpointer = self._checkpointer
        if checkpointer is not None:
            checkpointer.join()
        with self._lock:
            for c in self._conns:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._conns.clear()
        self._local = threading.local()

    def _init_schema(self) -> None:
        conn = self._conn()
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreBroken(f"database {self.path} has schema {row[0]}; this ferlab reads {SCHEMA_VERSION}")

    # -- genomes ---------------------------------------------------------------------------
    def _insert_genomes(self, db, session: str, items: Sequence[NewGenome], now: float) -> list[int]:
        ids = []
        for it in items:
            if it.existing is not None:
                ids.append(it.existing)
                continue
            body = it.body if it.body is not None else genome_json_text(it.genome)
            cur = db.execute(
                "INSERT INTO genomes(key, session, body, n_nodes, n_links, thumb, created)"
                " VALUES(?,?,?,?,?,?,?)",
                (new_token(), session, body, len(it.genome.nodes), len(it.genome.links), it.thumb, now))
            gid = cur.lastrowid
            parents = list(it.parents) + [ids[k] for k in it.parent_slots]
            db.executemany("INSERT OR IGNORE INTO genome_parents(child, parent) VALUES(?,?)",
                           [(gid, p) for p in parents])
            ids.append(gid)
        return ids

    def genome_row(self, key: str) -> sqlite3.Row:
        check_token(key, "genome")
        row = self._conn().execute(
            "SELECT id, key, session, body, n_nodes, n_links, created FROM genomes WHERE key=?",
            (key,)).fetchone()
        if row is None:
            raise NotFound(f"no such genome {key}")
        return row

    def genome(self, key: str) -> tuple[int, Genome]:
        """(row id, genome) for a genome key."""
        row = self.genome_row(key)
        return row["id"], genome_from_json(row["body"])

    def genome_by_id(self, gid: int) -> Genome:
        row = self._conn().execute("SELECT body FROM genomes WHERE id=?", (gid,)).fetchone()
        if row is None:
            raise NotFound(f"no such genome #{gid}")
        return genome_from_json(row["body"])

    def thumb(self, key: str) -> bytes:
        check_token(key, "genome")
        row = self._conn().execute("SELECT thumb FROM genomes WHERE key=?", (key,)).fetchone()
        if row is None:
            raise NotFound(f"no such genome {key}")
        return bytes(row["thumb"])

    def genome_title(self, gid: int) -> str | None:
        pub = self.published_as(gid)
        return pub[1] if pub else None

    def published_as(self, gid: int) -> tuple[int, str] | None:
        """(image id, title) if the genome row ``gid`` is in the gallery."""
        row = self._conn().execute("SELECT id, title FROM gallery WHERE genome=?", (gid,)).fetchone()
        return (row["id"], row["title"]) if row else None

    # -- branches --------------------------------------------------------------------------
    def propose_branch(self, at_least: int = 0) -> int:
        """The branch number a new series would get now (claimed by :meth:`create_session`)."""
        return _next_branch(self._conn(), at_least)

    # -- sessions --------------------------------------------------------------------------
    def create_session(self, at_least: int, next_id: int, colour: bool,
                       make_screen: Callable[[int], Sequence[NewGenome]], seed: int,
                       strength: float, origin_image: int | None = None) -> str:
        """Store a new session with its first screen; returns its id.

        The branch (above every stored one and ``at_least``) is claimed inside the
        transaction, and ``make_screen(branch)`` builds the first screen's genomes for it:
        concurrent starts can never collide, and nothing is re-rendered.
        """
        sid = new_token()
        now = time.time()
        with self.write() as db:
            branch = _next_branch(db, at_least)
            db.execute("INSERT INTO branches(branch, created) VALUES(?,?)", (branch, now))
            db.execute("INSERT INTO sessions(id, created, updated, branch, next_id, colour, origin_image)"
                       " VALUES(?,?,?,?,?,?,?)", (sid, now, now, branch, next_id, int(colour), origin_image))
            gids = self._insert_genomes(db, sid, make_screen(branch), now)
            scr = db.execute("INSERT INTO screens(session, prev, generation, strength, seed, created)"
                             " VALUES(?,?,?,?,?,?)", (sid, None, 0, strength, seed, now)).lastrowid
            db.executemany("INSERT INTO screen_genomes(screen, slot, genome) VALUES(?,?,?)",
                           [(scr, k, g) for k, g in enumerate(gids)])
            db.execute("UPDATE sessions SET current=? WHERE id=?", (scr, sid))
        return sid

    def session_row(self, sid: str, db=None) -> sqlite3.Row:
        check_token(sid, "session")
        row = (db or self._conn()).execute("SELECT * FROM sessions WHERE id=?", (sid,)).fetchone()
        if row is None:
            raise NotFound(f"no such session {sid}")
        return row

    def screen_genomes(self, screen_id: int, db=None) -> list[sqlite3.Row]:
        return (db or self._conn()).execute(
            "SELECT sg.slot, g.id, g.key, g.n_nodes, g.n_links FROM screen_genomes sg"
            " JOIN genomes g ON g.id = sg.genome WHERE sg.screen=? ORDER BY sg.slot",
            (screen_id,)).fetchall()

    def screen_row(self, sid: str, screen_id: int, db=None) -> sqlite3.Row:
        row = (db or self._conn()).execute(
            "SELECT * FROM screens WHERE id=? AND session=?", (int(screen_id), sid)).fetchone()
        if row is None:
            raise NotFound(f"session has no screen {screen_id}")
        return row

    def session_state(self, sid: str) -> dict:
        """Everything the page needs to show a session: current screen and its history."""
        with self.read() as db:
            s = self.session_row(sid, db)
            cur = self.screen_row(sid, s["current"], db)
            history = []
            sid_ = cur["id"]
            while sid_ is not None and len(history) < 100_000:
                r = db.execute("SELECT id, prev, generation FROM screens WHERE id=?", (sid_,)).fetchone()
                parents = db.execute(
                    "SELECT g.key FROM screen_parents sp JOIN genomes g ON g.id = sp.genome"
                    " WHERE sp.screen=? ORDER BY g.id", (r["id"],)).fetchall()
                history.append({"screen": r["id"], "generation": r["generation"],
                                "parents": [p["key"] for p in parents]})
                sid_ = r["prev"]
            history.reverse()
            # Every screen of the session, so the page can draw the tree and redo.
            tree = [{"screen": r["id"], "prev": r["prev"], "generation": r["generation"],
                     "parents": r["parents"].split(",") if r["parents"] else []}
                    for r in db.execute(
                        "SELECT s.id, s.prev, s.generation, (SELECT group_concat(g.key) FROM"
                        " (SELECT g.key FROM screen_parents sp JOIN genomes g ON g.id = sp.genome"
                        "  WHERE sp.screen = s.id ORDER BY g.id) g) AS parents"
                        " FROM screens s WHERE s.session=? ORDER BY s.id LIMIT 5000", (sid,))]
            kids = self.screen_genomes(cur["id"], db)
            published = {r["genome"]: r["id"] for r in db.execute(
                "SELECT g.genome, g.id FROM gallery g JOIN screen_genomes sg ON sg.genome = g.genome"
                " WHERE sg.screen=?", (cur["id"],))}
            return {
                "session": sid,
                "branch": s["branch"],
                "colour": bool(s["colour"]),
                "origin_image": s["origin_image"],
                "updated": s["updated"],
                "screen": {
                    "id": cur["id"], "generation": cur["generation"], "prev": cur["prev"],
                    "strength": cur["strength"], "seed": cur["seed"],
                    "genomes": [{"key": k["key"], "nodes": k["n_nodes"], "links": k["n_links"],
                                 "image": published.get(k["id"])} for k in kids],
                },
                "history": history,
                "tree": tree,
            }

    def sessions_summary(self, sids: Sequence[str]) -> list[dict]:
        """What a session list shows for each existing id: generation, time, first thumbnail.

        Unknown or malformed ids are left out (the list lives in the browser and may be stale).
        """
        out = []
        with self.read() as db:
            for sid in sids:
                if not isinstance(sid, str) or not TOKEN_RE.match(sid):
                    continue
                r = db.execute(
                    "SELECT s.id, s.updated, s.colour, c.generation, (SELECT COUNT(*) FROM screens"
                    " WHERE session = s.id) AS screens, (SELECT g.key FROM screen_genomes sg JOIN genomes g"
                    " ON g.id = sg.genome WHERE sg.screen = c.id ORDER BY sg.slot LIMIT 1) AS key"
                    " FROM sessions s JOIN screens c ON c.id = s.current WHERE s.id=?", (sid,)).fetchone()
                if r is not None:
                    out.append({"session": r["id"], "updated": r["updated"], "colour": bool(r["colour"]),
                                "generation": r["generation"], "screens": r["screens"], "key": r["key"]})
        return out

    def evolve_source(self, sid: str, screen_id: int, keys: Sequence[str]):
        """What breeding needs: (session row, [(genome row id, genome)] of the chosen parents).

        Raises unless every key is a genome shown on that screen of that session.
        """
        with self.read() as db:
            s = self.session_row(sid, db)
            self.screen_row(sid, screen_id, db)
            shown = {r["key"]: r["id"] for r in self.screen_genomes(screen_id, db)}
            out = []
            for k in keys:
                if k not in shown:
                    raise StoreError(f"genome {k} is not on screen {screen_id} of this session")
                row = db.execute("SELECT body FROM genomes WHERE id=?", (shown[k],)).fetchone()
                out.append((shown[k], genome_from_json(row["body"])))
            return s, out

    def add_screen(self, sid: str, prev: int, expect_next_id: int, next_id: int,
                   parents: Sequence[int], children: Sequence[NewGenome], seed: int,
                   strength: float) -> int:
        """Store a bred screen and make it current; Conflict if the session moved meanwhile."""
        now = time.time()
        with self.write() as db:
            s = self.session_row(sid, db)
            if s["next_id"] != expect_next_id:
                raise Conflict("session changed while breeding; try again")
            p = self.screen_row(sid, prev, db)
            gids = self._insert_genomes(db, sid, children, now)
            scr = db.execute("INSERT INTO screens(session, prev, generation, strength, seed, created)"
                             " VALUES(?,?,?,?,?,?)",
                             (sid, prev, p["generation"] + 1, strength, seed, now)).lastrowid
            db.executemany("INSERT INTO screen_genomes(screen, slot, genome) VALUES(?,?,?)",
                           [(scr, k, g) for k, g in enumerate(gids)])
            db.executemany("INSERT OR IGNORE INTO screen_parents(screen, genome) VALUES(?,?)",
                           [(scr, g) for g in parents])
            db.execute("UPDATE sessions SET current=?, next_id=?, updated=? WHERE id=?",
                       (scr, next_id, now, sid))
        return scr

    def go_back(self, sid: str, screen_id: int) -> None:
        """Show an earlier (or any) screen of this session again."""
        with self.write() as db:
            self.session_row(sid, db)
            self.screen_row(sid, screen_id, db)
            db.execute("UPDATE sessions SET current=?, updated=? WHERE id=?", (int(screen_id), time.time(), sid))

    # -- gallery ---------------------------------------------------------------------------
    def publish(self, sid: str, key: str, title: str, tags: Sequence[str] = ()) -> int:
        """Publish a genome shown in this session; returns the new image id."""
        tags = clean_tags(tags)
        title = (title or "").strip()
        if not title:
            raise StoreError("a published image needs a title")
        if len(title) > MAX_TITLE:
            raise StoreError(f"title is {len(title)} characters; the limit is {MAX_TITLE}")
        check_token(key, "genome")
        with self.write() as db:
            self.session_row(sid, db)
            row = db.execute(
                "SELECT g.id FROM genomes g JOIN screen_genomes sg ON sg.genome = g.id"
                " JOIN screens s ON s.id = sg.screen WHERE g.key=? AND s.session=? LIMIT 1",
                (key, sid)).fetchone()
            if row is None:
                raise StoreError(f"genome {key} was not shown in this session")
            gid = row["id"]
            dup = db.execute("SELECT id FROM gallery WHERE genome=?", (gid,)).fetchone()
            if dup is not None:
                raise Conflict(f"this genome is already published as image {dup['id']}")
            parent = db.execute(
                "WITH RECURSIVE anc(g, depth) AS ("
                " SELECT parent, 1 FROM genome_parents WHERE child=?"
                " UNION SELECT gp.parent, anc.depth + 1 FROM genome_parents gp JOIN anc ON gp.child = anc.g"
                "  WHERE anc.depth < ? AND NOT EXISTS (SELECT 1 FROM gallery WHERE genome = anc.g))"
                " SELECT gallery.id FROM anc JOIN gallery ON gallery.genome = anc.g"
                " ORDER BY anc.depth, gallery.id LIMIT 1", (gid, MAX_LINEAGE_DEPTH)).fetchone()
            cur = db.execute("INSERT INTO gallery(genome, title, parent, session, created) VALUES(?,?,?,?,?)",
                             (gid, title, parent[0] if parent else None, sid, time.time()))
            db.executemany("INSERT INTO gallery_tags(image, tag) VALUES(?,?)", [(cur.lastrowid, t) for t in tags])
            return cur.lastrowid

    def _image_dict(self, r) -> dict:
        return {"id": r["id"], "title": r["title"], "parent": r["parent"], "key": r["key"],
                "nodes": r["n_nodes"], "links": r["n_links"], "created": r["created"],
                "tags": r["tags"].split(",") if r["tags"] else []}

    _IMAGE_SQL = ("SELECT ga.id, ga.title, ga.parent, ga.created, g.key, g.n_nodes, g.n_links,"
                  " (SELECT group_concat(tag) FROM (SELECT tag FROM gallery_tags WHERE image = ga.id"
                  "  ORDER BY tag)) AS tags"
                  " FROM gallery ga JOIN genomes g ON g.id = ga.genome")

    def gallery(self, limit: int = 60, offset: int = 0, q: str = "", sort: str = "new", tag: str = "") -> dict:
        """One page of the gallery; ``q`` matches titles and tags (case-insensitive)."""
        if sort not in GALLERY_SORTS:
            raise StoreError(f"sort must be one of {', '.join(GALLERY_SORTS)}")
        where, args = [], []
        q = " ".join((q or "").split())
        if q:
            where.append("(ga.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM gallery_tags t"
                         " WHERE t.image = ga.id AND t.tag LIKE ? ESCAPE '\\'))")
            args += [_like(q), _like(q.lower())]
        if tag:
            where.append("EXISTS (SELECT 1 FROM gallery_tags t WHERE t.image = ga.id AND t.tag = ?)")
            args.append(" ".join(tag.lower().split()))
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        with self.read() as db:
            total = db.execute("SELECT COUNT(*) FROM gallery ga" + cond, args).fetchone()[0]
            rows = db.execute(self._IMAGE_SQL + cond + f" ORDER BY {GALLERY_SORTS[sort]} LIMIT ? OFFSET ?",
                              (*args, int(limit), int(offset))).fetchall()
            return {"total": total, "offset": int(offset), "limit": int(limit),
                    "images": [self._image_dict(r) for r in rows]}

    def image(self, image_id: int) -> dict:
        """One published image with its lineage: ancestors (root first) and descendants."""
        with self.read() as db:
            row = db.execute(self._IMAGE_SQL + " WHERE ga.id=?", (int(image_id),)).fetchone()
            if row is None:
                raise NotFound(f"no such image {image_id}")
            out = self._image_dict(row)
            ancestors, seen, p = [], {row["id"]}, row["parent"]
            while p is not None and p not in seen:
                seen.add(p)
                a = db.execute(self._IMAGE_SQL + " WHERE ga.id=?", (p,)).fetchone()
                if a is None:
                    break
                ancestors.append(self._image_dict(a))
                p = a["parent"]
            ancestors.reverse()
            desc = db.execute(
                "WITH RECURSIVE d(id, depth) AS (SELECT id, 1 FROM gallery WHERE parent=?"
                " UNION SELECT ga.id, d.depth + 1 FROM gallery ga JOIN d ON ga.parent = d.id WHERE d.depth < 1000)"
                " SELECT d.depth, ga.id, ga.title, ga.parent, ga.created, g.key, g.n_nodes, g.n_links,"
                " (SELECT group_concat(tag) FROM (SELECT tag FROM gallery_tags WHERE image = ga.id ORDER BY tag)) AS tags"
                " FROM d JOIN gallery ga ON ga.id = d.id JOIN genomes g ON g.id = ga.genome"
                " ORDER BY d.depth, ga.id LIMIT 500", (row["id"],)).fetchall()
            out["ancestors"] = ancestors
            out["descendants"] = [{**self._image_dict(r), "depth": r["depth"]} for r in desc]
            return out

    def image_genome(self, image_id: int) -> tuple[int, str]:
        row = self._conn().execute(
            "SELECT g.id, g.key FROM gallery ga JOIN genomes g ON g.id = ga.genome WHERE ga.id=?",
            (int(image_id),)).fetchone()
        if row is None:
            raise NotFound(f"no such image {image_id}")
        return row["id"], row["key"]

    # -- dense networks (.npz uploads for the explorer) -------------------------------------
    def add_net(self, name: str, body: bytes) -> str:
        """Keep an uploaded network's .npz bytes; returns its key."""
        key = new_token()
        with self.write() as db:
            db.execute("INSERT INTO nets(key, name, body, created) VALUES(?,?,?,?)",
                       (key, str(name)[:100], bytes(body), time.time()))
        return key

    def net(self, key: str) -> tuple[str, bytes]:
        """(name, .npz bytes) of an uploaded network."""
        check_token(key, "network")
        row = self._conn().execute("SELECT name, body FROM nets WHERE key=?", (key,)).fetchone()
        if row is None:
            raise NotFound(f"no such network {key}")
        return row["name"], bytes(row["body"])

    # -- checks ----------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Integrity and consistency problems (empty when the database is sound)."""
        conn = self._conn()
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in conn.execute("PRAGMA foreign_key_check")]
        q = {
            "session without a current screen": "SELECT id FROM sessions WHERE current IS NULL",
            "current screen of another session": "SELECT s.id FROM sessions s JOIN screens c ON c.id = s.current WHERE c.session != s.id",
            "screen with no genomes": "SELECT id FROM screens WHERE NOT EXISTS (SELECT 1 FROM screen_genomes WHERE screen = screens.id)",
            "screen whose prev is in another session": "SELECT s.id FROM screens s JOIN screens p ON p.id = s.prev WHERE p.session != s.session",
            "generation out of step": "SELECT s.id FROM screens s JOIN screens p ON p.id = s.prev WHERE s.generation != p.generation + 1",
            "session whose counter is behind its genes": "SELECT id FROM sessions WHERE next_id < 1",
            "gallery parent that is not older": "SELECT id FROM gallery WHERE parent IS NOT NULL AND parent >= id",
        }
        for what, sql in q.items():
            bad = conn.execute(sql).fetchall()
            if bad:
                problems.append(f"{what}: {[tuple(r) for r in bad[:5]]}")
        return problems

    def check_genomes(self, limit: int | None = None) -> list[str]:
        """Every stored genome parses and validates (slower: use on test databases)."""
        problems = []
        sql = "SELECT id, body FROM genomes ORDER BY id" + (f" LIMIT {int(limit)}" if limit else "")
        for r in self._conn().execute(sql):
            try:
                genome_from_json(r["body"]).validate()
            except Exception as e:  # noqa: BLE001 - report, don't stop
                problems.append(f"genome #{r['id']}: {e}")
        return problems

    def counts(self) -> dict:
        conn = self._conn()
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("sessions", "screens", "genomes", "gallery", "nets")}

    # -- search runs -----------------------------------------------------------------------
    def add_search_run(self, arm: str, seed: int, evals: int, config: dict, summary: dict,
                       history: list, elites: Sequence[tuple[str, NewGenome, dict]]) -> str:
        """Store a finished search with its elites in one transaction; returns the run key.

        ``elites``: (kind, genome, fields) with kind 'grid' | 'archive' | 'best' and fields
        among cell, quality, novelty, distance, d0, d1 (the two descriptors).
        """
        key = new_token()
        now = time.time()
        with self.write() as db:
            rid = db.execute(
                "INSERT INTO search_runs(key, arm, seed, evals, config, summary, history, created)"
                " VALUES(?,?,?,?,?,?,?,?)",
                (key, arm, int(seed), int(evals), json.dumps(config), json.dumps(summary),
                 json.dumps(history), now)).lastrowid
            gids = self._insert_genomes(db, None, [e[1] for e in elites], now)
            slots: dict[str, int] = {}
            rows = []
            for (kind, _, f), gid in zip(elites, gids):
                slot = slots.get(kind, 0)
                slots[kind] = slot + 1
                rows.append((rid, kind, slot, gid, f.get("cell"), f.get("quality"), f.get("novelty"),
                             f.get("distance"), f.get("d0"), f.get("d1")))
            db.executemany("INSERT INTO search_elites(run, kind, slot, genome, cell, quality, novelty,"
                           " distance, d0, d1) VALUES(?,?,?,?,?,?,?,?,?,?)", rows)
        return key

    def search_genome(self, key: str) -> Genome:
        """A genome some search run archived; NotFound for any other key."""
        row = self.genome_row(key)
        found = self._conn().execute("SELECT 1 FROM search_elites WHERE genome=? LIMIT 1",
                                     (row["id"],)).fetchone()
        if found is None:
            raise NotFound(f"genome {key} is not a search result")
        return genome_from_json(row["body"])

    def search_runs(self, limit: int = 200) -> list[dict]:
        rows = self._conn().execute(
            "SELECT key, arm, seed, evals, summary, created FROM search_runs ORDER BY id DESC LIMIT ?",
            (int(limit),)).fetchall()
        return [{"key": r["key"], "arm": r["arm"], "seed": r["seed"], "evals": r["evals"],
                 "summary": json.loads(r["summary"]), "created": r["created"]} for r in rows]

    def search_run(self, key: str) -> dict:
        """A run with its config, history and elites (genome keys, cells, scores)."""
        check_token(key, "search run")
        with self.read() as db:
            r = db.execute("SELECT * FROM search_runs WHERE key=?", (key,)).fetchone()
            if r is None:
                raise NotFound(f"no such search run {key}")
            elites = db.execute(
                "SELECT e.kind, e.slot, e.cell, e.quality, e.novelty, e.distance, e.d0, e.d1, g.key,"
                " g.n_nodes, g.n_links FROM search_elites e JOIN genomes g ON g.id = e.genome"
                " WHERE e.run=? ORDER BY e.kind, e.slot", (r["id"],)).fetchall()
        return {"key": r["key"], "arm": r["arm"], "seed": r["seed"], "evals": r["evals"],
                "config": json.loads(r["config"]), "summary": json.loads(r["summary"]),
                "history": json.loads(r["history"]), "created": r["created"],
                "elites": [{k: e[k] for k in ("kind", "slot", "cell", "quality", "novelty", "distance",
                                              "d0", "d1")} | {"genome": e["key"], "nodes": e["n_nodes"],
                                                              "links": e["n_links"]} for e in elites]}
