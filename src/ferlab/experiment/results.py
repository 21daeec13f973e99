"""The results table: one SQLite row per cell (config hash, status, timings, every figure).

Only the driver writes, one transaction per cell, so a run stopped at any moment (Ctrl-C,
SIGKILL, power) keeps every row it finished and no half row. Figures become columns named
``step.figure`` (``metrics.sgd.fer_score``), added as steps first report them, so the file
reads directly in any SQLite tool:

    SELECT genome, avg("metrics.sgd.fer_score") FROM cells WHERE status = 'ok' GROUP BY genome;
"""
from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from ferlab.atomic import write_bytes as atomic_write

TABLE_NAME = "results.sqlite"


class ResultsTable:
    def __init__(self, path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS cells (hash TEXT PRIMARY KEY, genome TEXT, seed INTEGER, "
            "vary TEXT, status TEXT, error TEXT, wall_s REAL, finished TEXT, host TEXT)")
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def columns(self) -> list[str]:
        return [r[1] for r in self.db.execute("PRAGMA table_info(cells)")]

    def put(self, row: dict) -> None:
        """Insert or replace one cell's row (a rerun of a failed cell replaces it)."""
        values = {"hash": row["hash"], "genome": row["genome"], "seed": row["seed"],
                  "vary": json.dumps(row.get("vary") or {}, sort_keys=True),
                  "status": row["status"], "error": row.get("error"), "wall_s": row.get("wall_s"),
                  "finished": row.get("finished"), "host": row.get("host")}
        if row.get("warnings"):
            values["warnings"] = row["warnings"]
        values.update(row.get("timings", {}))
        values.update(row.get("figures", {}))
        with self.db:  # one transaction: the new columns and the row land together or not at all
            have = set(self.columns())
            for name in values:
                if name not in have:
                    # No declared type: SQLite keeps each value as given (number or text).
                    self.db.execute(f"ALTER TABLE cells ADD COLUMN {_q(name)}")
            names = list(values)
            self.db.execute(f"INSERT OR REPLACE INTO cells ({', '.join(map(_q, names))}) "
                            f"VALUES ({', '.join('?' * len(names))})", [values[n] for n in names])

    def statuses(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT hash, status FROM cells"))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_rows(path) -> list[dict]:
    """Rows of an existing table (read-only; a missing file is an error, not an empty table)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results table at {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        cur = db.execute("SELECT * FROM cells ORDER BY genome, seed, vary, hash")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    except sqlite3.DatabaseError as e:
        raise ValueError(f"{path} is not a ferlab results table: {e}") from None
    finally:
        db.close()
    for r in rows:
        r["vary"] = json.loads(r["vary"] or "{}")
    return rows


def write_csv(rows: list[dict], path) -> Path:
    """The same table as CSV (for spreadsheets), written atomically."""
    names: list[str] = []
    for r in rows:
        names += [k for k in r if k not in names]
    buf = io.StringIO()
    w = csv.DictWriter(buf, names, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "vary": json.dumps(r["vary"], sort_keys=True)})
    return atomic_write(path, buf.getvalue().encode())
