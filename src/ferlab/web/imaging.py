"""Pictures for the web app: PNG thumbnails, large renders, node maps, sweep strips.

PNGs come from :func:`ferlab.io.encode_png` (fast enough for fifteen per Evolve click).
"""
from __future__ import annotations

import io
from dataclasses import replace

import numpy as np

from ferlab.engine import render_batch, render_genome, thumbnails
from ferlab.engine.threads import THREADS, submit
from ferlab.genome import GeneId, Genome, GenomeError
from ferlab.io import encode_png

#: The sweep strip's weight offsets, as in the paper's single-link sweeps.
SWEEP_DELTAS = (-1.0, -0.5, 0.0, 0.5, 1.0)
#: Most frames one scan renders (CPPN-X's default -3..3 by 0.1 is 61).
MAX_SCAN_FRAMES = 241
#: Most frames x pixels x nodes one scan evaluates (the skull's 61 frames at 256² are 9e7).
MAX_SCAN_WORK = 2_500_000_000


def encode_pngs(imgs) -> list[bytes]:
    """PNG bytes for each image, half of them encoded on the render pool meanwhile.

    zlib releases the GIL while it deflates, so the two halves run on two cores.
    """
    if len(imgs) < 4 or THREADS < 2:
        return [encode_png(im) for im in imgs]
    half = len(imgs) // 2
    rest = submit(lambda: [encode_png(im) for im in imgs[half:]])
    first = [encode_png(im) for im in imgs[:half]]
    return first + rest.result()


def thumbnail_pngs(genomes, res: int = 128, validate: bool = True) -> list[bytes]:
    """One PNG per genome, rendered together (``validate=False``: see ``render_population``)."""
    return encode_pngs(thumbnails(genomes, res, validate=validate))


def render_png(genome: Genome, res: int = 512, window=None) -> bytes:
    return encode_png(thumbnails([genome], res, window)[0])


def node_map_pngs(genome: Genome, res: int = 48) -> dict[GeneId, bytes]:
    """Each node's activation map, grey = (value + 1) / 2 clipped, so 0 is mid grey."""
    r = render_genome(genome, res, nodes=True, dtype=np.float32)
    out = {}
    for gid, m in r.node_maps.items():
        g = np.clip((np.asarray(m, np.float32) + 1.0) * 127.5, 0.0, 255.0).astype(np.uint8)
        out[gid] = encode_png(g)
    return out


def with_link_weights(genome: Genome, weights: dict[GeneId, float]) -> Genome:
    """A copy of ``genome`` with some links' weights replaced (ids must exist)."""
    ids = {l.id for l in genome.links}
    for gid, w in weights.items():
        if gid not in ids:
            raise GenomeError(f"genome has no link {gid[0]}:{gid[1]}")
        if not np.isfinite(w):
            raise GenomeError(f"weight for link {gid[0]}:{gid[1]} is not finite")
    links = tuple(replace(l, weight=float(weights[l.id])) if l.id in weights else l for l in genome.links)
    return replace(genome, links=links)


def sweep_strip(genome: Genome, link: GeneId, res: int = 96, deltas=SWEEP_DELTAS) -> bytes:
    """One PNG of the images with link weight w + delta for each delta, side by side."""
    w = next((l.weight for l in genome.links if l.id == link), None)
    if w is None:
        raise GenomeError(f"genome has no link {link[0]}:{link[1]}")
    variants = [with_link_weights(genome, {link: w + d}) for d in deltas]
    return strip_png(thumbnails(variants, res))  # one batch: nodes upstream of the link are shared


def strip_png(frames) -> bytes:
    """(H, W, 3) uint8 frames side by side, 2 px of white between them, as one PNG."""
    gap = np.full((frames[0].shape[0], 2, 3), 255, np.uint8)
    parts = []
    for k, f in enumerate(frames):
        parts.append(f)
        if k + 1 < len(frames):
            parts.append(gap)
    return encode_png(np.concatenate(parts, axis=1))


def scan_values(start: float, end: float, step: float, max_frames: int = MAX_SCAN_FRAMES) -> np.ndarray:
    """CPPN-X's scan: start, start + step, ... up to end (inclusive), at most ``max_frames``."""
    if not all(np.isfinite(v) for v in (start, end, step)):
        raise GenomeError("scan start, end and step must be finite")
    if step <= 0 or end <= start:
        raise GenomeError("a scan needs start < end and a positive step")
    n = int(np.floor((end - start) / step + 1e-9)) + 1
    if n > max_frames:
        raise GenomeError(f"scan of {n} frames; the limit is {max_frames} (use a larger step)")
    return start + step * np.arange(n) if n >= 2 else np.array([start, end], float)


def scan_frames(genome: Genome, link: GeneId, values, res: int = 128) -> list[np.ndarray]:
    """The genome's image with ``link``'s weight set to each value, rendered as one batch."""
    with_link_weights(genome, {link: 0.0})  # names a missing link before any rendering
    work = len(values) * res * res * max(1, len(genome.nodes))
    if work > MAX_SCAN_WORK:
        raise GenomeError(f"a scan of {len(values)} frames at {res}² over {len(genome.nodes)} nodes is too much "
                          "work; use a larger step or a lower resolution")
    return thumbnails([with_link_weights(genome, {link: float(v)}) for v in values], res)


def sprite_png(frames) -> bytes:
    """Frames stacked top to bottom in one PNG: the page plays them from a canvas."""
    return encode_png(np.concatenate(list(frames), axis=0))


def animation(frames, fmt: str = "png", fps: float = 12.0, bounce: bool = True) -> bytes:
    """An animated PNG or WebP that loops forever; ``bounce`` plays back and forth like CPPN-X."""
    from PIL import Image

    frames = list(frames)
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    ims = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    ms = int(round(1000.0 / fps))
    if fmt == "png":
        ims[0].save(buf, format="PNG", save_all=True, append_images=ims[1:], duration=ms, loop=0,
                    compress_level=1)
    elif fmt == "webp":
        ims[0].save(buf, format="WEBP", save_all=True, append_images=ims[1:], duration=ms, loop=0,
                    quality=90, method=0)
    else:
        raise GenomeError(f"animation format must be png or webp, not {fmt!r}")
    return buf.getvalue()


def node_map(genome: Genome, node: GeneId, res: int = 256) -> tuple[bytes, float, float]:
    """One node's activation map as a grey PNG (as :func:`node_map_pngs`), with its min and max."""
    if node not in {n.id for n in genome.nodes}:
        raise GenomeError(f"genome has no node {node[0]}:{node[1]}")
    m = np.asarray(render_genome(genome, res, nodes=True, dtype=np.float32).node_maps[node], np.float32)
    g = np.clip((m + 1.0) * 127.5, 0.0, 255.0).astype(np.uint8)
    return encode_png(g), float(np.min(m)), float(np.max(m))


__all__ = ["MAX_SCAN_FRAMES", "SWEEP_DELTAS", "animation", "encode_png", "encode_pngs", "node_map",
           "node_map_pngs", "render_batch", "render_png", "scan_frames", "scan_values", "sprite_png",
           "strip_png", "sweep_strip", "thumbnail_pngs", "with_link_weights"]
