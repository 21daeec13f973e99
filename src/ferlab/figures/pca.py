"""The paper's "PCA transformed" view: each layer's feature maps rotated onto principal axes.

For one layer, pixels are samples and neurons are features: X (pixels × neurons), centred per
neuron; its principal components, ordered by explained variance, become maps again. A
factored layer puts nearly all variance in one or two clean maps; an entangled one spreads it
over many mixed, patchy maps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferlab.figures.features import CELL_INCHES, CMAP  # one scale and size for every map figure
from ferlab.network import as_network

GAP = 2


@dataclass(frozen=True)
class LayerPCA:
    name: str
    components: np.ndarray  # (k, H, W) projections onto the principal axes, by variance
    explained: np.ndarray  # (k,) fraction of the layer's variance per component


def layer_maps(obj, res: int = 48) -> list[tuple[str, np.ndarray]]:
    """(name, maps (n, H, W)) for every hidden layer (dense) or every depth level (genome)."""
    net = as_network(obj)
    layers = net.features(res)
    if net.kind == "genome":  # a genome's output nodes share depth levels with hidden ones
        return [(name, maps) for name, maps in layers if name != "depth 0"]
    return layers[1:-1]  # neither the inputs nor the raw outputs


def pca(maps: np.ndarray, n_components: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Principal-component maps of a stack of maps (n, H, W) -> ((k, H, W), explained (k,)).

    Each component map is the projection of every pixel's neuron vector onto one principal
    axis. Signs are fixed so each map's largest-magnitude pixel is positive (deterministic).
    """
    n, h, w = maps.shape
    x = maps.reshape(n, -1).T.astype(np.float64)  # (pixels, neurons)
    x = x - x.mean(axis=0, keepdims=True)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    var = s * s
    total = var.sum()
    k = len(s) if n_components is None else min(int(n_components), len(s))
    comps = (u[:, :k] * s[:k]).T
    for i in range(k):
        if comps[i, np.argmax(np.abs(comps[i]))] < 0:
            comps[i] = -comps[i]
    explained = var[:k] / total if total > 0 else np.zeros(k)
    return comps.reshape(k, h, w), explained


def layer_pca(obj, res: int = 48, n_components: int | None = 8) -> list[LayerPCA]:
    """PCA of every layer of a genome or dense network."""
    return [LayerPCA(name, *pca(m, n_components)) for name, m in layer_maps(obj, res)]


def pca_figure(obj, res: int = 48, n_components: int = 8, title: str | None = None):
    """Rows = layers (first at the bottom, as the feature figure), columns = components."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    layers = layer_pca(obj, res, n_components)
    cols = max((len(l.components) for l in layers), default=1)
    rows = len(layers)
    mos = np.full((rows * (res + GAP) - GAP, cols * (res + GAP) - GAP), np.nan)
    notes = []
    for r, lp in enumerate(reversed(layers)):
        for c, comp in enumerate(lp.components):
            if lp.explained[c] < 1e-6:
                continue  # a constant direction: nothing to show
            scale = np.abs(comp).max()
            y, x = r * (res + GAP), c * (res + GAP)
            mos[y:y + res, x:x + res] = comp / scale if scale > 0 else comp
            notes.append((x + res / 2, y + res - 1, f"{100 * lp.explained[c]:.0f}%"))
    cell = CELL_INCHES
    fig_w = cols * cell + 1.2
    fig_h = rows * cell + 0.8
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=110)
    ax = fig.add_axes([0.95 / fig_w, 0.2 / fig_h, cols * cell / fig_w, rows * cell / fig_h])
    cmap = matplotlib.colormaps[CMAP].with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(mos), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    for x, y, t in notes:
        ax.text(x, y, t, fontsize=3.5, ha="center", va="bottom", color="0.1")
    ax.set_yticks([r * (res + GAP) + res / 2 for r in range(rows)], [l.name for l in reversed(layers)], fontsize=6)
    ax.set_xticks([c * (res + GAP) + res / 2 for c in range(cols)], [f"PC{c + 1}" for c in range(cols)], fontsize=6)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    name = title or getattr(obj, "meta", {}).get("name", "network")
    fig.text(0.01, 1 - 0.1 / fig_h, f"{name}: PCA of each layer's feature maps (% = variance)",
             fontsize=7, va="top")
    return fig


__all__ = ["LayerPCA", "layer_maps", "pca", "layer_pca", "pca_figure"]
