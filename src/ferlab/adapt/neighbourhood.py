"""The teaser strips, quantified: what lies a filter-normalised step away from a network.

For each radius r and each of ``n`` seeded filter-normalised directions d
(:func:`ferlab.sweep.filter_normalised`, Li et al. 2018: every neuron's incoming weights move
by r times their own norm, so radii compare across networks of different scale), the
neighbour is w + r·d; its image is rendered (all neighbours of a radius in one jitted, vmapped
call) and judged by :func:`ferlab.adapt.images.coherence`. Per radius we report the fraction
of coherent neighbours and the diversity of the coherent ones (mean pairwise descriptor
distance), plus the diversity of all neighbours for reference. Direction i is the same seed
at every radius, so one row of the strip follows one direction outwards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ferlab.adapt.images import CoherenceRule, coherence, descriptor, diversity
from ferlab.adapt.nets import as_network
from ferlab.engine import render_dense_batch

RADII = (0.02, 0.05, 0.1, 0.2, 0.5)


@dataclass(frozen=True)
class NeighbourhoodResult:
    name: str
    radii: tuple[float, ...]
    coherent_fraction: np.ndarray  # (R,)
    diversity: np.ndarray  # (R,) among coherent neighbours (NaN if < 2)
    diversity_all: np.ndarray  # (R,) among all neighbours
    similarity: np.ndarray  # (R, n) cosine to the original's descriptor
    coherent: np.ndarray  # (R, n) bool
    original: np.ndarray = field(repr=False)  # (res, res, 3)
    examples: np.ndarray = field(repr=False)  # (R, keep, res, res, 3): first directions' images
    settings: dict = field(default_factory=dict)
    wall_seconds: float = 0.0

    def rows(self) -> list[dict]:
        return [{"network": self.name, "radius": r, "coherent_fraction": float(self.coherent_fraction[i]),
                 "diversity": float(self.diversity[i]), "diversity_all": float(self.diversity_all[i]),
                 "mean_similarity": float(self.similarity[i].mean())}
                for i, r in enumerate(self.radii)]


def neighbourhood(net, radii=RADII, n: int = 32, res: int = 64, seed: int = 0,
                  rule: CoherenceRule = CoherenceRule(),
                  keep: int = 6) -> NeighbourhoodResult:
    """Probe ``n`` filter-normalised directions (seeds seed..seed+n−1) at each radius."""
    t0 = time.perf_counter()
    net = as_network(net)
    radii = tuple(float(r) for r in radii)
    if not radii or any(not np.isfinite(r) or r < 0 for r in radii):
        raise ValueError(f"radii must be non-negative numbers, got {radii}")
    if int(n) < 1:
        raise ValueError(f"need at least one direction, got n={n}")
    n = int(n)
    from ferlab.sweep import filter_normalised

    base = [np.asarray(k, np.float64) for k in net.kernels]
    cuts = np.cumsum([k.size for k in base])[:-1]
    dirs = [[d.reshape(k.shape) for d, k in zip(np.split(filter_normalised(net, seed + i), cuts), base)]
            for i in range(n)]
    original = render_dense_batch(net.arch, [k[None] for k in base], res)[0]
    frac, div, div_all, sims, cohs, examples = [], [], [], [], [], []
    for r in radii:
        stacks = [np.stack([base[k] + r * d[k] for d in dirs]) for k in range(len(base))]
        imgs = render_dense_batch(net.arch, stacks, res)
        c = coherence(original, imgs, rule)
        desc = descriptor(imgs, rule.grid)
        ok = c["coherent"]
        frac.append(ok.mean())
        div.append(diversity(desc[ok]))
        div_all.append(diversity(desc))
        sims.append(c["similarity"])
        cohs.append(ok)
        examples.append(imgs[:keep])
    return NeighbourhoodResult(
        str(net.meta.get("name", "network")), radii, np.array(frac), np.array(div),
        np.array(div_all), np.array(sims), np.array(cohs), original, np.stack(examples),
        {"n": n, "res": res, "seed": seed, "rule": rule.__dict__},
        time.perf_counter() - t0)
