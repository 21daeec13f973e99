"""Files at the edge: the one image writer (atomic, through :mod:`ferlab.atomic`).

Genome files (Picbreeder XML, zips, JSON) are read and written by :mod:`ferlab.picbreeder`,
dense networks by :class:`ferlab.dense.DenseCPPN`; :func:`ferlab.files.load_any` opens either.
"""
from ferlab.io.images import encode_png, save_png

__all__ = ["encode_png", "save_png"]
