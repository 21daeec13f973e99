"""Output decoding: a CPPN's raw (h, s, v) outputs to RGB in [0, 1].

hue = (h + 1) mod 1, saturation = clip(s, 0, 1), value = clip(|v|, 0, 1), then standard
HSV -> RGB. Written against ``xp`` so training (JAX) differentiates through the same code.
"""
from __future__ import annotations

import numpy as np


def hsv_to_rgb(h, s, v, xp=np):
    """Standard HSV -> RGB for arrays of hue, saturation, value in [0, 1]; returns (..., 3)."""
    h6 = h * 6.0
    i = xp.floor(h6)
    f = h6 - i
    i = xp.mod(i, 6.0)
    p = v * (1.0 - s)
    q = v * (1.0 - s * f)
    t = v * (1.0 - s * (1.0 - f))
    sectors = [i == k for k in range(6)]
    r = xp.select(sectors, [v, q, p, p, t, v])
    g = xp.select(sectors, [t, v, v, q, p, p])
    b = xp.select(sectors, [p, p, t, v, v, q])
    return xp.stack([r, g, b], axis=-1)


def to_rgb(h, s, v, xp=np):
    """Raw network outputs -> RGB in [0, 1], shape (..., 3)."""
    hue = xp.mod(h + 1.0, 1.0)
    sat = xp.clip(s, 0.0, 1.0)
    val = xp.clip(xp.abs(v), 0.0, 1.0)
    return hsv_to_rgb(hue, sat, val, xp)


def ink_to_rgb(ink, xp=np):
    """A greyscale genome's ink is the value, with hue = saturation = 0."""
    val = xp.clip(xp.abs(ink), 0.0, 1.0)
    # A broadcast, not a stack: XLA fuses a stack with the whole graph behind it, per channel.
    return val[..., None] * xp.ones(3, dtype=val.dtype)


def to_bytes(rgb) -> np.ndarray:
    """RGB floats in [0, 1] -> uint8 by truncation, as matplotlib wrote the reference PNGs."""
    arr = np.asarray(rgb, dtype=np.float64)
    return np.clip(arr * 255.0, 0, 255).astype(np.uint8)
