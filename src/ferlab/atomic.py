"""Atomic file writes: a file is either its old self or its complete new self, never partial.

Everything ferlab writes goes through :func:`atomic_path`: the content is written to a
temporary file in the destination folder, flushed to disk, then renamed over the destination.
A full disk, a crash or an exception mid-write leaves the old file untouched and no 0-byte or
half-written file behind.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator

# mkstemp creates files readable by their owner only; a written file should get the mode any
# other program's new file would (0666 less the umask), or keep the mode of the file it replaces.
_UMASK = os.umask(0)
os.umask(_UMASK)


def _final_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on clean exit it replaces ``path``.

    The temporary name keeps ``path``'s suffix (or ``suffix``) because some writers (numpy,
    matplotlib, PIL) pick the format from it.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp",
                                    dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OSError(f"writing {path.name} produced no data")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_with(path, writer: Callable[[Path], object]) -> Path:
    """``writer(tmp)`` writes the whole file; it then replaces ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_bytes(path, data: bytes) -> Path:
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))
