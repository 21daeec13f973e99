"""Files at the edge: the one image writer and a streaming ``.npz`` writer (both atomic,
through :mod:`ferlab.atomic`).

Genome files (Picbreeder XML, zips, JSON) are read and written by :mod:`ferlab.picbreeder`,
dense networks by :class:`ferlab.dense.DenseCPPN`; :func:`ferlab.files.load_any` opens either.
"""
from ferlab.io.images import encode_png, save_png
from ferlab.io.npz import NpzWriter, write_npz

__all__ = ["NpzWriter", "encode_png", "save_png", "write_npz"]
