"""Atomic writes: complete or untouched, and the file modes any other program would give."""
from __future__ import annotations

import os
import stat

import pytest

from ferlab.atomic import write_bytes, write_with


def _mode(p):
    return stat.S_IMODE(p.stat().st_mode)


def test_new_file_gets_the_umask_mode_and_a_replaced_file_keeps_its_mode(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    new = write_bytes(tmp_path / "new.bin", b"abc")
    assert _mode(new) == 0o666 & ~umask  # not mkstemp's owner-only 0600
    old = tmp_path / "old.bin"
    old.write_bytes(b"x")
    old.chmod(0o640)
    write_bytes(old, b"new content")
    assert old.read_bytes() == b"new content" and _mode(old) == 0o640


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    p = tmp_path / "keep.txt"
    p.write_bytes(b"old")

    def boom(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_with(p, boom)
    assert p.read_bytes() == b"old" and [q.name for q in tmp_path.iterdir()] == ["keep.txt"]
