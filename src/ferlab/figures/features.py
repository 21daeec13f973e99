"""The paper's feature-map figure: every neuron is an image.

Dense network: one row per layer (inputs x, y, d, bias at the bottom, outputs h, s, v at the
top), one tile per neuron, a diverging colormap clipped to [−1, 1], the final image beside.
Genome: one tile per node, rows by depth, labelled with CPPN-X label text where present.

Tiles are composed into one mosaic array and drawn with a single ``imshow``: hundreds of
matplotlib axes would take seconds to save.
"""
from __future__ import annotations

import numpy as np

from ferlab.dense import DenseCPPN
from ferlab.genome import Genome
from ferlab.network import as_network

CMAP = "RdBu"  # the paper's colours: +1 blue, −1 red
GAP = 2
#: Inches per tile (map plus gap): with :func:`native_dpi` one map pixel is one image pixel.
CELL_INCHES = 0.42


def native_dpi(res: int) -> float:
    """The dpi at which a res² tile is drawn pixel for pixel (no resampling, no blow-up)."""
    return (res + GAP) / CELL_INCHES


def _mosaic(rows: list[list[np.ndarray]], tile: int, cols: int, vgap: int = GAP) -> np.ndarray:
    """Place maps (each (tile, tile)) in a grid, top row first; NaN where there is no tile."""
    h = len(rows) * (tile + vgap) - vgap
    w = cols * (tile + GAP) - GAP
    out = np.full((h, w), np.nan)
    for r, maps in enumerate(rows):
        for c, m in enumerate(maps):
            if m is not None:
                y, x = r * (tile + vgap), c * (tile + GAP)
                out[y:y + tile, x:x + tile] = m
    return out


def _figure(mosaic, image, row_names, col_notes, tile, title, annotations=(), vgap=GAP):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n_rows = len(row_names)
    cols = (mosaic.shape[1] + GAP) // (tile + GAP)
    cell = CELL_INCHES
    fig_w = cols * cell + 1.2 + max(2.5, n_rows * cell * 0.45)
    fig_h = n_rows * cell * (tile + vgap) / (tile + GAP) + 0.9
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=110)
    left_frac = (cols * cell + 1.0) / fig_w
    ax = fig.add_axes([0.9 / fig_w, 0.35 / fig_h, left_frac - 1.0 / fig_w, 1 - 0.8 / fig_h])
    cmap = matplotlib.colormaps[CMAP].with_extremes(bad="white")
    im = ax.imshow(np.ma.masked_invalid(np.clip(mosaic, -1, 1)), cmap=cmap, vmin=-1, vmax=1,
                   interpolation="nearest")
    ax.set_yticks([r * (tile + vgap) + tile / 2 for r in range(n_rows)], row_names, fontsize=7)
    ax.set_xticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    for x, y, text in annotations:
        ax.text(x, y, text, fontsize=4.5, ha="center", va="top", color="0.2")
    if col_notes:
        ax.set_title(col_notes, fontsize=7, loc="left")
    side = min(0.95 - left_frac, 0.6 * fig_h / fig_w)
    ax2 = fig.add_axes([left_frac + 0.02, 0.5 - side * fig_w / fig_h / 2, side, side * fig_w / fig_h])
    ax2.imshow(np.clip(image, 0, 1), interpolation="nearest")
    ax2.set_axis_off()
    ax2.set_title(title, fontsize=8)
    cb = fig.colorbar(im, ax=ax2, orientation="horizontal", fraction=0.05, pad=0.04)
    cb.ax.tick_params(labelsize=6)
    return fig


def dense_feature_figure(net: DenseCPPN, res: int = 48, image_res: int = 256, title: str | None = None):
    """One row per layer (inputs bottom, outputs top), one tile per neuron."""
    layers = net.render(res, features=True).layers
    image = net.render(image_res).image
    names = ["inputs"] + [f"layer {i}" for i in range(1, len(layers) - 1)] + ["outputs h,s,v"]
    rows = [list(layer) for layer in layers][::-1]
    mosaic = _mosaic(rows, res, max(len(r) for r in rows))
    groups = " | ".join(f"{n}:{c}" for n, c in net.arch.groups)
    return _figure(mosaic, image, names[::-1], f"{net.arch.depth} hidden layers; columns: {groups}",
                   res, title or net.meta.get("name", "dense CPPN"))


def genome_feature_figure(genome: Genome, res: int = 48, image_res: int = 256, title: str | None = None):
    """One tile per node arranged by depth (inputs bottom), labelled with CPPN-X text."""
    from ferlab.render import render_genome

    maps = render_genome(genome, res, nodes=True, dtype=np.float32).node_maps
    image = render_genome(genome, image_res, dtype=np.float32).image
    depth = genome.depths()
    n_rows = max(depth.values()) + 1
    by_depth: list[list] = [[] for _ in range(n_rows)]
    for node in genome.nodes:
        by_depth[depth[node.id]].append(node)
    rows = [[maps[n.id] for n in by_depth[d]] for d in range(n_rows)][::-1]
    vgap = int(res * 0.5)  # room for the node labels under each tile
    annotations = []
    for r, d in enumerate(range(n_rows - 1, -1, -1)):
        for c, n in enumerate(by_depth[d]):
            text = n.label or n.activation[:4]
            note = genome.label_text(n.color_label) or n.text
            if note:
                text += "\n" + note[:14]
            annotations.append((c * (res + GAP) + res / 2, r * (res + vgap) + res + 0.5, text))
    mosaic = _mosaic(rows, res, max(len(r) for r in rows), vgap)
    names = [f"depth {d}" for d in range(n_rows)][::-1]
    return _figure(mosaic, image, names, f"{len(genome.nodes)} nodes, {len(genome.links)} links",
                   res, title or genome.meta.get("name", "genome"), annotations, vgap)


def feature_figure(obj, res: int = 48, image_res: int = 256, title: str | None = None):
    """The feature-map figure for a Genome, a DenseCPPN or a Network."""
    net = as_network(obj)
    if net.kind == "genome":  # the genome figure labels nodes from the graph itself
        return genome_feature_figure(net.genome, res, image_res, title)
    return dense_feature_figure(net.dense, res, image_res, title)


def save_figure(fig, path) -> None:
    """PNG or PDF by the path's suffix; closes the figure."""
    import matplotlib.pyplot as plt

    from ferlab.atomic import write_with

    try:
        write_with(path, lambda t: fig.savefig(t, dpi=150 if str(path).lower().endswith(".png") else None))
    finally:
        plt.close(fig)


__all__ = ["feature_figure", "dense_feature_figure", "genome_feature_figure", "save_figure"]
