"""Is a replica still learning the target's picture? Failure modes read off the images.

A run can end in a state no gradient leads out of: every output clipped (a flat white or flat
red picture: ``dead``), or every pixel's saturation clipped to 0 (the shape in grey:
``colour-lost``); or it can blow up (``diverged``). All are told from the rendered image
against the target, so the test is the same for any recipe, architecture or target.
"""
from __future__ import annotations

import numpy as np

#: Everything ``train`` can end with; the first is the only success.
STATUSES = ("converged", "below-target", "dead", "colour-lost", "diverged")
#: Statuses after which the next seed is tried (when attempts remain).
RESTARTABLE = ("dead", "colour-lost", "diverged")

#: A channel is constant when it varies by less than one byte level over the image...
FLAT = 1.0 / 255.0
#: ... and varies when its standard deviation is several levels.
VARIES = 4.0 / 255.0

CHANNELS = ("red", "green", "blue", "red-green", "green-blue")


def _channels(rgb: np.ndarray) -> np.ndarray:
    """(P, 3) RGB -> (P, 5): R, G, B and the two opponent (colour) differences."""
    rgb = np.asarray(rgb, np.float64).reshape(-1, 3)
    return np.concatenate([rgb, rgb[:, :2] - rgb[:, 1:]], axis=1)


def diagnose(image, target, best_mse: float | None = None) -> tuple[str, str] | None:
    """('dead' | 'colour-lost' | 'diverged', reason) when ``image`` fails ``target``, else None
    (the first that applies, in that order).

    dead: the image is one flat colour while the target is not. colour-lost: a channel
    (R, G, B, R−G or G−B) that varies in the target is constant in the image. diverged: the
    image is further from the target than a flat picture of the target's mean colour, after
    the run had been closer (``best_mse``, its best so far): it has blown up.
    """
    image = np.asarray(image, np.float64).reshape(-1, 3)
    target = np.asarray(target, np.float64).reshape(-1, 3)
    out, want = _channels(image).std(axis=0), _channels(target).std(axis=0)
    varies, flat = want > VARIES, out < FLAT
    if varies.any() and flat[:3].all():
        return "dead", "the image is one flat colour (every output clipped: zero gradient)"
    lost = [c for c, v, f in zip(CHANNELS, varies, flat) if v and f]
    if lost:
        return "colour-lost", f"constant {', '.join(lost)} where the target varies"
    mse, flat_mse = np.mean((image - target) ** 2), np.mean(target.var(axis=0))
    if best_mse is not None and best_mse < flat_mse < mse:
        return "diverged", (f"full-image MSE {mse:.3g} is worse than the target's mean colour's "
                            f"({flat_mse:.3g})")
    return None
