"""What every sweep shares: the offset grid, the sheet of frames, chunking and progress."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Frames per vectorised call are capped so one chunk holds at most about this many floats
#: of intermediate activations (keeps peak memory in the low hundreds of MB).
CHUNK_FLOATS = 48_000_000
#: Sweeps with at least this many frames use the low-rank tail (one compilation per kernel,
#: much less arithmetic per frame); smaller ones use one loop program for all kernels.
RANK_MIN_FRAMES = 4096
#: Pixel-frames per call on the low-rank path (4 frames at 128²): per frame, calls of 32k-64k
#: measured fastest; twice as many was 1.4x slower, four times 2.3x (the working set leaves
#: the caches).
RANK_COLUMNS = 65_536


def deltas(span: float = 1.0, count: int = 5) -> np.ndarray:
    """``count`` additive offsets evenly spaced over [−span, +span] (0 in the middle when odd)."""
    count = int(count)
    span = float(span)
    if count < 1 or count > 101:
        raise ValueError(f"sweep needs 1..101 frames, got {count}")
    if not np.isfinite(span) or span <= 0:
        raise ValueError(f"sweep span must be a positive number, got {span}")
    if count == 1:
        return np.zeros(1)
    return np.linspace(-span, span, count)


@dataclass(frozen=True)
class SweepSheet:
    """Frames of a sweep: ``frames[row, j]`` is the image with offset ``deltas[j]``."""

    frames: np.ndarray  # (rows, n_deltas, H, W, 3) float32 RGB in [0, 1]
    deltas: np.ndarray  # (n_deltas,)
    labels: tuple[str, ...]  # one human-readable label per row
    rows: tuple[dict, ...] = ()  # per row: what was swept (link index / kernel,row,col / seed)
    meta: dict = field(default_factory=dict)

    @property
    def base_index(self) -> int | None:
        """Column of the unperturbed frame (δ = 0), if the grid has one."""
        hits = np.flatnonzero(np.abs(self.deltas) < 1e-12)
        return int(hits[0]) if hits.size else None



def load_jax():
    """(jax, jax.numpy), imported only when a sweep needs them."""
    import jax
    import jax.numpy as jnp

    return jax, jnp


def chunk_size(pixels: int, per_frame_floats: int) -> int:
    """Frames per vectorised call so that one chunk stays within CHUNK_FLOATS floats."""
    return max(1, int(CHUNK_FLOATS // max(1, pixels * per_frame_floats)))


def progress_bar(total: int, desc: str, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", disable=not show, leave=False)
