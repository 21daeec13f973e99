"""Figures of the adaptability probes: teaser-like neighbourhood strips and summary plots."""
from __future__ import annotations

import textwrap

import numpy as np

from ferlab.figures.sweeps import GAP, _plt, mosaic

GROUP_COLOURS = {"evolved": "#1f77b4", "sgd": "#d62728", "random": "#7f7f7f"}


def _colour(group: str, i: int) -> str:
    return GROUP_COLOURS.get(group, f"C{(i + 3) % 10}")


def neighbourhood_strips(result, rows: int = 4, tile_inches: float = 0.7):
    """Rows = directions, columns = the original then each radius (coherent frames get a
    green outline, the rest red): the paper's teaser, one direction per row."""
    from matplotlib.patches import Rectangle

    plt = _plt()
    ex = np.clip(result.examples[:, :rows], 0, 1)  # (R, rows, H, W, 3)
    n_r, n_d, h, w, _ = ex.shape
    frames = np.concatenate([np.repeat(result.original[None, None], n_d, axis=0),
                             ex.transpose(1, 0, 2, 3, 4)], axis=1)  # (rows, 1 + R, H, W, 3)
    img = mosaic(frames)
    cols = n_r + 1
    fig_w, fig_h = cols * tile_inches + 0.3, n_d * tile_inches + 0.75
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=100)
    ax = fig.add_axes([0.15 / fig_w, 0.1 / fig_h, cols * tile_inches / fig_w, n_d * tile_inches / fig_h])
    ax.imshow(img, interpolation="nearest", aspect="auto")
    ax.set_xticks([c * (w + GAP) + w / 2 for c in range(cols)],
                  ["original"] + [f"r={r:g}\n{100 * f:.0f}% coh." for r, f in
                                  zip(result.radii, result.coherent_fraction)], fontsize=6)
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for ri in range(n_r):
        for di in range(n_d):
            ok = bool(result.coherent[ri, di])
            ax.add_patch(Rectangle(((ri + 1) * (w + GAP) - 0.5, di * (h + GAP) - 0.5), w, h, fill=False,
                                   edgecolor="#2ca02c" if ok else "#d62728", linewidth=0.8))
    fig.text(0.01, 1 - 0.08 / fig_h, f"{result.name}: filter-normalised steps", fontsize=7, va="top")
    return fig


def neighbourhood_curves(results: dict):
    """Coherent fraction and coherent diversity against radius, one line per network."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), dpi=100)
    for i, (name, r) in enumerate(results.items()):
        c = _colour(name.split("-")[0], i)
        axes[0].plot(r.radii, r.coherent_fraction, "o-", color=c, label=name)
        axes[1].plot(r.radii, r.diversity, "o-", color=c, label=name)
    for ax, t in zip(axes, ("coherent fraction", "diversity of coherent neighbours")):
        ax.set_xscale("log")
        ax.set_xlabel("radius (fraction of each neuron's weight norm)")
        ax.set_title(t, fontsize=9)
    axes[0].set_ylim(-0.03, 1.03)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def learning_bars(summary: list[dict], budget: int):
    """Steps to the target MSE (left) and final MSE (right) per variant, mean ± std per group."""
    plt = _plt()
    variants = list(dict.fromkeys(s["variant"] for s in summary))
    groups = list(dict.fromkeys(s["group"] for s in summary))
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 0.8 * len(variants) + 2), 5.5), dpi=100, sharex=True)
    width = 0.8 / max(1, len(groups))
    x = np.arange(len(variants))
    for gi, g in enumerate(groups):
        rows = {s["variant"]: s for s in summary if s["group"] == g}
        sm = [rows[v]["steps_mean"] if v in rows else np.nan for v in variants]
        ss = [rows[v]["steps_std"] if v in rows else 0 for v in variants]
        fm = [rows[v]["final_mse_mean"] if v in rows else np.nan for v in variants]
        fs = [rows[v]["final_mse_std"] if v in rows else 0 for v in variants]
        off = x + (gi - (len(groups) - 1) / 2) * width
        axes[0].bar(off, sm, width, yerr=ss, color=_colour(g, gi), label=g, capsize=2)
        axes[1].bar(off, fm, width, yerr=fs, color=_colour(g, gi), capsize=2)
    axes[0].axhline(budget, color="k", lw=0.6, ls=":")
    axes[0].set_ylabel(f"steps to target\n(budget {budget})", fontsize=8)
    axes[1].set_ylabel("final MSE", fontsize=8)
    axes[1].set_yscale("log")
    axes[1].set_xticks(x, variants, rotation=30, ha="right", fontsize=7)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def variant_strip(variants, tile_inches: float = 0.9):
    """The variant targets side by side, each captioned with its MSE from the original."""
    plt = _plt()
    imgs = np.stack([np.clip(v.image, 0, 1) for v in variants])[None]
    img = mosaic(imgs)
    n, h, w = imgs.shape[1:4]
    fig_w, fig_h = n * tile_inches + 0.2, tile_inches + 0.6
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=100)
    ax = fig.add_axes([0.1 / fig_w, 0.05 / fig_h, n * tile_inches / fig_w, tile_inches / fig_h])
    ax.imshow(img, interpolation="nearest", aspect="auto")
    ax.set_xticks([c * (w + GAP) + w / 2 for c in range(n)],
                  ["\n".join(textwrap.wrap(v.name, 16)[:2]) + f"\nMSE {v.distance:.3f}" for v in variants],
                  fontsize=5.5)
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig
