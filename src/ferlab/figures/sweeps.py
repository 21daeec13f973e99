"""Sweep sheets: one row of frames per swept weight (or direction), the original in the middle.

Frames are composed into one mosaic; row labels carry the link id, weight and CPPN-X label
text. PNG sheets are drawn with numpy and Pillow (:func:`sweep_sheet_image`): importing pyplot
and saving through matplotlib took longer than rendering the frames. PDFs and the report's
embedded figures go through matplotlib (:func:`sweep_figure`), drawn with a single ``imshow``
(hundreds of axes would take seconds to save).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

GAP = 2
FIGURE_SUFFIXES = (".png", ".pdf")
#: A sheet taller than this many rows is not a readable figure (save the frames as .npz).
MAX_FIGURE_ROWS = 400
#: Inches per frame (frame plus gap) in a sweep sheet.
TILE_INCHES = 0.55


def native_dpi(res: int, tile_inches: float = TILE_INCHES) -> float:
    """The dpi at which res² frames are drawn pixel for pixel."""
    return (res + GAP) / tile_inches


def mosaic(frames: np.ndarray, gap: int = GAP, fill: float = 1.0) -> np.ndarray:
    """(rows, cols, H, W, 3) frames -> one (rows·(H+gap)−gap, cols·(W+gap)−gap, 3) image."""
    rows, cols, h, w, _ = frames.shape
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), fill, np.float32)
    for r in range(rows):
        for c in range(cols):
            out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = frames[r, c]
    return out


#: Smallest drawn tile edge in a PNG sheet: small frames are enlarged by a whole factor.
MIN_TILE_PX = 64
#: The base column's outline in PNG and matplotlib sheets.
BASE_COLOUR = (214, 39, 40)


def _check_rows(rows: int) -> None:
    if rows > MAX_FIGURE_ROWS:
        raise ValueError(f"{rows} sweep rows are too many for one figure (limit {MAX_FIGURE_ROWS}): "
                         "choose fewer weights or save the frames as .npz")


def _short(text: str, max_label: int, ellipsis: str = "…") -> str:
    return text if len(text) <= max_label else text[:max_label - len(ellipsis)] + ellipsis


def sweep_sheet_image(sheet, title: str | None = None, max_label: int = 46) -> np.ndarray:
    """A sweep sheet as one (H, W, 3) uint8 image: the title, offsets above the columns, a
    label left of each row, the unperturbed column outlined. No matplotlib."""
    from PIL import Image, ImageDraw, ImageFont

    from ferlab.colour import to_bytes

    frames = sheet.frames
    rows, cols, h, w, _ = frames.shape
    _check_rows(rows)
    scale = max(1, -(-MIN_TILE_PX // max(h, w)))
    tiles = to_bytes(np.clip(frames, 0, 1))
    if scale > 1:
        tiles = tiles.repeat(scale, axis=2).repeat(scale, axis=3)
    th, tw = h * scale, w * scale
    font = ImageFont.load_default(size=11)
    # The default font has no Greek or dashes: ASCII keeps every glyph drawable.
    labels = [_short(s, max_label, "...").encode("ascii", "replace").decode() for s in sheet.labels]
    heads = [f"d={d:+g}" for d in sheet.deltas]
    name = title or f"{sheet.meta.get('name', '')}: {rows} sweeps"
    name = name.encode("ascii", "replace").decode()
    pad, line = 6, 14
    label_w = int(max((font.getlength(s) for s in labels), default=0)) + 2 * pad
    top = 2 * line + pad
    x0, y0 = label_w, top
    width = max(x0 + cols * (tw + GAP) - GAP + pad, int(font.getlength(name)) + 2 * pad)
    height = y0 + rows * (th + GAP) - GAP + pad
    canvas = np.full((height, width, 3), 255, np.uint8)
    for r in range(rows):
        for c in range(cols):
            y, x = y0 + r * (th + GAP), x0 + c * (tw + GAP)
            canvas[y:y + th, x:x + tw] = tiles[r, c]
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    draw.text((pad, 2), name, fill="black", font=font)
    for c, text in enumerate(heads):
        cx = x0 + c * (tw + GAP) + tw / 2
        draw.text((cx, y0 - 3), text, fill="black", font=font, anchor="md")
    for r, text in enumerate(labels):
        cy = y0 + r * (th + GAP) + th / 2
        draw.text((label_w - pad, cy), text, fill="black", font=font, anchor="rm")
    base = sheet.base_index
    if base is not None:
        # Outline the unperturbed column: the eye compares every frame against it.
        x = x0 + base * (tw + GAP)
        draw.rectangle((x - 1, y0 - 1, x + tw, y0 + rows * (th + GAP) - GAP), outline=BASE_COLOUR)
    return np.asarray(img)


def save_sweep_sheet(sheet, path, title: str | None = None) -> Path:
    """Write a sweep sheet as PNG (Pillow, no matplotlib) or PDF (matplotlib), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise ValueError(f"cannot export a figure as {suffix or 'no suffix'!r}: use .png or .pdf")
    if suffix == ".png":
        from ferlab.io import save_png

        return save_png(sweep_sheet_image(sheet, title), path)
    return save_figure(sweep_figure(sheet, title), path)


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def sweep_figure(sheet, title: str | None = None, tile_inches: float = TILE_INCHES, max_label: int = 46):
    """A sweep sheet as a matplotlib Figure (rows = swept weights, columns = offsets δ)."""
    plt = _plt()
    frames = np.clip(sheet.frames, 0, 1)
    rows, cols, h, w, _ = frames.shape
    _check_rows(rows)
    img = mosaic(frames)
    label_w = 0.065 * min(max_label, max((len(s) for s in sheet.labels), default=8)) + 0.3
    fig_w = cols * tile_inches + label_w + 0.2
    fig_h = rows * tile_inches + 0.7
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=100)
    ax = fig.add_axes([label_w / fig_w, 0.15 / fig_h, cols * tile_inches / fig_w, rows * tile_inches / fig_h])
    ax.imshow(img, interpolation="nearest", aspect="auto")
    ax.set_yticks([r * (h + GAP) + h / 2 for r in range(rows)],
                  [_short(s, max_label) for s in sheet.labels], fontsize=6)
    ax.set_xticks([c * (w + GAP) + w / 2 for c in range(cols)],
                  [f"δ={d:+g}" for d in sheet.deltas], fontsize=6)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    base = sheet.base_index
    if base is not None:
        from matplotlib.patches import Rectangle

        # Outline the unperturbed column: the eye compares every frame against it.
        ax.add_patch(Rectangle((base * (w + GAP) - 1, -1), w + 1, img.shape[0] + 1, fill=False,
                               edgecolor=tuple(v / 255 for v in BASE_COLOUR), linewidth=0.8))
    name = title or f"{sheet.meta.get('name', '')} — {rows} sweeps"
    fig.text(0.01, 1 - 0.12 / fig_h, name, fontsize=8, va="top")
    return fig


def save_figure(fig, path) -> Path:
    """Save as PNG or PDF by the path's suffix (anything else is a one-line error); closes it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        _plt().close(fig)
        raise ValueError(f"cannot export a figure as {suffix or 'no suffix'!r}: use .png or .pdf")
    try:
        from ferlab.atomic import write_with

        write_with(path, lambda t: fig.savefig(t, dpi=150 if suffix == ".png" else None))
    finally:
        _plt().close(fig)
    return path


def figure_png(fig, dpi: float = 100) -> bytes:
    """Lossless PNG bytes of a figure (for embedding), RGB and optimised; closes it.

    Figures are opaque, so dropping matplotlib's alpha channel loses nothing.
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        _plt().close(fig)
    out = io.BytesIO()
    Image.open(io.BytesIO(buf.getvalue())).convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()


__all__ = ["mosaic", "sweep_figure", "sweep_sheet_image", "save_sweep_sheet", "save_figure",
           "figure_png"]
