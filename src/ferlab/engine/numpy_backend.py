"""The numpy backend: one genome, one weight vector, every node's map (float64 or float32)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferlab.activations import apply
from ferlab.canvas import as_canvas
from ferlab.engine.plan import Plan, compile_genome
from ferlab.genome import GeneId, Genome


def level_matrices(plan: Plan, weights) -> list[np.ndarray]:
    """Per level, the (level width, nodes before it) matrix of summed link weights."""
    mats = []
    for lv in plan.levels:
        m = np.zeros((lv.stop - lv.start, lv.start), dtype=np.result_type(weights, np.float32))
        np.add.at(m, (lv.rows, lv.cols), weights[lv.link_idx])
        mats.append(m)
    return mats


def forward(plan: Plan, weights, planes) -> np.ndarray:
    """All node values, shape (n_nodes, *pixels), for (4, *pixels) input planes."""
    pix_shape = planes.shape[1:]
    flat = planes.reshape(4, -1)
    values = np.empty((len(plan.node_ids), flat.shape[1]), dtype=flat.dtype)
    values[:4] = flat
    for lv, m in zip(plan.levels, level_matrices(plan, np.asarray(weights))):
        z = m.astype(flat.dtype, copy=False) @ values[: lv.start]
        for act, a, b in lv.groups:
            values[lv.start + a: lv.start + b] = apply(act, z[a:b], np)
    return values.reshape((len(plan.node_ids),) + tuple(pix_shape))


@dataclass(frozen=True)
class Render:
    image: np.ndarray  # (H, W, 3) RGB in [0, 1]
    node_maps: dict[GeneId, np.ndarray] | None = None  # node id -> (H, W) activation


def render_genome(genome: Genome, res=256, window=None, nodes: bool = False,
                  dtype=np.float64, plan: Plan | None = None) -> Render:
    """Render a genome at ``res`` (int, (h, w) or a Canvas) over ``window`` of the plane.

    With ``nodes=True`` also return every node's activation map (the CPPN's "neurons").
    """
    canvas = as_canvas(res, window)
    plan = plan or compile_genome(genome)
    weights = np.asarray(genome.weights, dtype=np.float64)
    values = forward(plan, weights.astype(dtype), canvas.planes(dtype))
    image = plan.image(values, np)
    maps = {g: values[i] for i, g in enumerate(plan.node_ids)} if nodes else None
    return Render(image, maps)
