"""The streaming .npz writer: what np.load reads back, bad chunks refused, nothing half-written."""
from __future__ import annotations

import numpy as np
import pytest

from ferlab.io import write_npz


@pytest.mark.parametrize("level", [None, 1])
def test_streamed_npz_loads_like_savez(tmp_path, level):
    rng = np.random.default_rng(0)
    big = rng.random((7, 2, 3, 3), dtype=np.float32)
    labels = np.array(["k0[0,0] #0", "k1[2,3] #77 w=+0.5"])
    with write_npz(tmp_path / "s.npz", level=level) as npz:
        with npz.array("frames", big.shape, np.float32) as w:
            for a in (0, 3, 4):  # uneven chunks
                w.write(big[a:{0: 3, 3: 4, 4: 7}[a]])
        npz.add("deltas", np.linspace(-1, 1, 5))
        npz.add("labels", labels)
        npz.add("scalar", np.float64(2.5))
    np.savez(tmp_path / "ref.npz", frames=big, deltas=np.linspace(-1, 1, 5), labels=labels,
             scalar=np.float64(2.5))
    with np.load(tmp_path / "s.npz") as got, np.load(tmp_path / "ref.npz") as ref:
        assert got.files == ref.files
        for name in ref.files:
            assert got[name].dtype == ref[name].dtype and got[name].shape == ref[name].shape
            np.testing.assert_array_equal(got[name], ref[name])


@pytest.mark.parametrize("chunks, message", [
    ([np.zeros((2, 3), np.float64)], "does not fit"),
    ([np.zeros((2, 4), np.float32)], "does not fit"),
    ([np.zeros((3, 3), np.float32), np.zeros((2, 3), np.float32)], "more than the declared 4"),
    ([np.zeros((3, 3), np.float32)], "3 of the declared 4"),
])
def test_wrong_chunks_are_refused_and_leave_the_old_file(tmp_path, chunks, message):
    path = tmp_path / "s.npz"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=message):
        with write_npz(path) as npz:
            with npz.array("frames", (4, 3), np.float32) as w:
                for c in chunks:
                    w.write(c)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def test_a_failing_disk_write_surfaces_in_the_callers_thread(tmp_path, monkeypatch):
    import zipfile

    write = zipfile._ZipWriteFile.write

    def full(self, data):
        if isinstance(data, memoryview):  # the array bytes, written by the writer thread
            raise OSError(28, "No space left on device")
        return write(self, data)

    monkeypatch.setattr(zipfile._ZipWriteFile, "write", full)
    with pytest.raises(OSError, match="No space"):
        with write_npz(tmp_path / "s.npz") as npz:
            with npz.array("x", (100, 3), np.float32) as w:
                for _ in range(100):
                    w.write(np.zeros((1, 3), np.float32))
    assert list(tmp_path.iterdir()) == []
