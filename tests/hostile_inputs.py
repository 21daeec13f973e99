"""Builders of hostile inputs shared by the hostile-corpus tests (CLI and web)."""
from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ferlab.genome import Genome, Link, Node
from ferlab.picbreeder import genome_to_json, genome_to_xml
from genomes import tiny


def chain(n: int, act: str = "sin") -> Genome:
    """x -> h0 -> h1 -> ... -> ink: depth n + 1, the worst case for level-by-level engines."""
    ins = [Node((1, i), "in", "identity", lab) for i, lab in enumerate(("x", "y", "d", "bias"))]
    hidden = [Node((1, 10 + i), "hidden", act) for i in range(n)]
    out = [Node((1, 9), "out", "identity", "ink")]
    links = [Link((2, 0), (1, 0), (1, 10), 1.0)]
    links += [Link((2, i + 1), (1, 10 + i), (1, 11 + i), 1.0) for i in range(n - 1)]
    links.append(Link((2, n + 5), (1, 10 + n - 1), (1, 9), 1.0))
    return Genome(tuple(ins + hidden + out), tuple(links))


def small_xml() -> str:
    return genome_to_xml(tiny([("x", "h0", 0.5), ("h0", "ink", 1.0), ("y", "ink", -1.0)]))


def small_json() -> dict:
    return genome_to_json(tiny([("x", "h0", 0.5), ("h0", "ink", 1.0), ("y", "ink", -1.0)]))


def zipped(data: bytes, flag: int | None = None, method: int | None = None) -> bytes:
    """A one-member zip, with its general-purpose flag (1 = encrypted) or compression method
    (99 = AES, 6 = implode) patched in both the local and the central header."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("genome.xml", data)
    raw = bytearray(buf.getvalue())
    central = raw.rfind(b"PK\x01\x02")
    if flag is not None:
        struct.pack_into("<H", raw, 6, flag)
        struct.pack_into("<H", raw, central + 8, flag)
    if method is not None:
        struct.pack_into("<H", raw, 8, method)
        struct.pack_into("<H", raw, central + 10, method)
    return bytes(raw)


def npy_claiming(shape, dtype="<f4") -> bytes:
    """A .npy whose header claims ``shape`` but holds 16 bytes of data."""
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    text = repr(header).encode("latin-1")
    pad = 64 - (10 + len(text) + 1) % 64
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + pad + 1) + text + b" " * pad
            + b"\n" + b"\0" * 16)


def npz_claiming(shape, dtype="<f4") -> bytes:
    """An .npz whose one array ('arch') claims ``shape`` (see :func:`npy_claiming`)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("arch.npy", npy_claiming(shape, dtype))
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (its pixel data is a stub)."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def fingerprint(folder: Path) -> dict[str, str]:
    """name -> sha256 of every file under ``folder``: compare before and after a failure."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def json_bytes(obj) -> bytes:
    return json.dumps(obj).encode()


def np_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()
