"""Pictures for the web app: PNG thumbnails, large renders, node maps, sweep strips.

PNGs come from :func:`ferlab.io.encode_png` (fast enough for fifteen per Evolve click).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ferlab.engine import render_batch, render_genome, thumbnails
from ferlab.engine.threads import THREADS, submit
from ferlab.genome import GeneId, Genome, GenomeError
from ferlab.io import encode_png

#: The sweep strip's weight offsets, as in the paper's single-link sweeps.
SWEEP_DELTAS = (-1.0, -0.5, 0.0, 0.5, 1.0)


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


def thumbnail_pngs(genomes, res: int = 128) -> list[bytes]:
    """One PNG per genome, rendered together."""
    return encode_pngs(thumbnails(genomes, res))


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
    frames = thumbnails(variants, res)  # one batch: nodes upstream of the link are shared
    gap = np.full((res, 2, 3), 255, np.uint8)
    parts = []
    for k, f in enumerate(frames):
        parts.append(f)
        if k + 1 < len(frames):
            parts.append(gap)
    return encode_png(np.concatenate(parts, axis=1))


__all__ = ["SWEEP_DELTAS", "encode_png", "encode_pngs", "node_map_pngs", "render_batch", "render_png",
           "sweep_strip", "thumbnail_pngs", "with_link_weights"]
