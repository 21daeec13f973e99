"""Files at the edge: atomic writes and the one image writer.

Genome files (Picbreeder XML, zips, JSON) are read and written by :mod:`ferlab.picbreeder`,
dense networks by :class:`ferlab.dense.DenseCPPN`; :func:`ferlab.files.load_any` opens either.
"""
from ferlab.io.atomic import atomic_write_bytes, atomic_write_text
from ferlab.io.images import encode_png, save_png

__all__ = ["atomic_write_bytes", "atomic_write_text", "encode_png", "save_png"]
