"""FER terms defined on the function a network computes, not on its parametrisation.

The units of a CPPN's representation are its **non-linear neurons**. Identity ("cache")
neurons only carry linear combinations of earlier values forward, so how the layerizer pads
them, how their weights are scaled, or how they are rotated among themselves changes no
image and no non-linear neuron's input. Every term here looks only at

* the maps of the non-linear neurons (their outputs over the pixel grid), and
* the image change when one non-linear neuron's *pre-activation* is shifted by δ (as if its
  bias moved), for δ = ±1,

and keeps only the neurons that matter: those whose shift changes some pixel channel by at
least ACTIVE_THRESHOLD (a neuron nothing reads is not part of the function). That makes each
term invariant to neuron permutations, sign flips of odd activations (the δ grid is
symmetric and maps enter only through sign-free statistics), positive rescaling through
identity neurons, any invertible mixing of identity neurons, added dead neurons and the
layerizer's padding; ``tests/test_metrics.py`` checks each of these on real networks.

Roughness is measured at one resolution (``res``): compare networks at the same one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferlab.activations import apply
from ferlab.canvas import as_canvas
from ferlab.dense import DenseCPPN, rgb_from_outputs

#: A change is visible when some pixel channel moves by at least this much (≈ 4/255).
ACTIVE_THRESHOLD = 1.0 / 64
#: Pre-activation shifts: symmetric, so a sign-flipped odd neuron sees the same set of shifts.
NEURON_OFFSETS = (-1.0, 1.0)
#: White noise has gradient energy ≈ 4 × its energy (two directions, each difference of
#: two independent values): roughness terms divide by it to land in about [0, 1].
WHITE_NOISE_ROUGHNESS = 4.0
#: Maps whose standard deviation is below this are constant (dead or saturated neurons).
CONSTANT_STD = 1e-4


def energy(d) -> np.ndarray:
    """Squared L2 norm over the trailing (H, W, C) axes."""
    return (d * d).sum(axis=(-3, -2, -1))


def gradient_energy(d) -> np.ndarray:
    """Σ of squared finite differences of d along rows and columns, over (…, H, W, C)."""
    gx = np.diff(d, axis=-2)
    gy = np.diff(d, axis=-3)
    return (gx * gx).sum(axis=(-3, -2, -1)) + (gy * gy).sum(axis=(-3, -2, -1))


@dataclass(frozen=True)
class Probe:
    """One network looked at on one grid: its image, non-linear neuron maps and shifts.

    ``maps``: (n, H, W) outputs of the non-linear neurons that matter; ``changes``:
    (n, len(offsets), H, W, 3) image change when that neuron's pre-activation is shifted;
    ``where``: (layer, column) of each, layers 1-based.
    """

    image: np.ndarray
    maps: np.ndarray
    changes: np.ndarray
    where: tuple
    n_nonlinear: int  # non-linear neurons in the architecture, used or not


def _forward_from(arch, kernels, h, start):
    """Run layers start+1.. (h is layer ``start``'s output, batched (..., P, W)) to RGB."""
    spans = arch.spans()
    for kern in kernels[start:-1]:
        z = h @ kern
        h = np.concatenate([apply(act, z[..., a:b], np) for act, a, b in spans], axis=-1)
    return rgb_from_outputs((h @ kernels[-1]).reshape(-1, 3), np).reshape(h.shape[:-1] + (3,))


def probe(net: DenseCPPN, res: int = 32, offsets=NEURON_OFFSETS) -> Probe:
    """Shift every non-linear neuron's pre-activation and keep those that change the image."""
    canvas = as_canvas(res)
    shape = canvas.shape
    x = canvas.planes(np.float32).reshape(4, -1).T
    # C order: numpy's stacked matmul falls off BLAS (30x slower) for a Fortran-ordered kernel.
    kernels = [np.ascontiguousarray(k, np.float32) for k in net.kernels]
    acts = net.arch.column_activations()
    nl = [j for j, a in enumerate(acts) if a != "identity"]
    hs, zs = [x], [None]
    for kern in kernels[:-1]:
        zs.append(hs[-1] @ kern)
        hs.append(np.concatenate([apply(a, zs[-1][:, s:e], np) for a, s, e in net.arch.spans()], axis=1))
    base = rgb_from_outputs(hs[-1] @ kernels[-1], np)
    offs = np.asarray(offsets, np.float32)
    maps, changes, where = [], [], []
    for layer in range(1, net.arch.depth + 1):
        if not nl:
            break
        h = np.repeat(hs[layer][None], len(nl) * len(offs), axis=0)  # (B, P, W)
        for i, j in enumerate(nl):
            rows = slice(i * len(offs), (i + 1) * len(offs))
            h[rows, :, j] = apply(acts[j], zs[layer][None, :, j] + offs[:, None], np)
        d = (_forward_from(net.arch, kernels, h, layer) - base[None]).reshape(
            (len(nl), len(offs)) + shape + (3,))
        for i, j in enumerate(nl):
            if np.abs(d[i]).max() >= ACTIVE_THRESHOLD:
                maps.append(hs[layer][:, j].reshape(shape))
                changes.append(d[i])
                where.append((layer, j))
    empty = np.zeros((0,) + shape)
    return Probe(base.reshape(shape + (3,)), np.array(maps) if maps else empty,
                 np.array(changes) if changes else np.zeros((0, len(offs)) + shape + (3,)),
                 tuple(where), len(nl) * net.arch.depth)


def _standardise(maps):
    maps = np.asarray(maps, np.float64)
    flat = maps.reshape(len(maps), -1)
    sd = flat.std(axis=1)
    keep = sd > CONSTANT_STD
    f = (flat[keep] - flat[keep].mean(axis=1, keepdims=True)) / sd[keep, None]
    return f.reshape((len(f),) + maps.shape[1:])


def change_roughness(p: Probe) -> float:
    """Fracture of what one neuron does: mean over neurons of R / 4, R = Σ‖∇Δ‖² / Σ‖Δ‖².

    Δ is the image change when the neuron's pre-activation shifts by δ (sums over the δ
    grid). A coherent, regional change (the mouth opens) is smooth, R ≪ 4; a change that
    scatters speckles over the picture approaches white noise, R ≈ 4.
    """
    if not len(p.changes):
        return 0.0
    d = p.changes
    e = energy(d).sum(axis=1)
    g = gradient_energy(d).sum(axis=1)
    return float(np.mean(g / np.maximum(e, 1e-300)) / WHITE_NOISE_ROUGHNESS)


def feature_roughness(p: Probe) -> float:
    """Fracture of the features themselves: mean over non-constant neuron maps of R / 4,
    R = ‖∇f‖² / ‖f − mean f‖² (scale- and sign-free)."""
    f = _standardise(p.maps)
    if not len(f):
        return 0.0
    f = f[..., None]
    return float(np.mean(gradient_energy(f) / np.maximum(energy(f), 1e-300)) / WHITE_NOISE_ROUGHNESS)


def touched(p: Probe) -> np.ndarray:
    """(n, H·W) bool: the pixels each neuron's largest shifts (both signs) visibly change."""
    big = np.abs(p.changes[:, [0, -1]]).max(axis=(1, 4))
    return (big >= ACTIVE_THRESHOLD).reshape(len(big), -1)


def change_spread(p: Probe) -> float:
    """Share of the picture one neuron's shift touches, mean over neurons (see touched)."""
    return float(touched(p).mean()) if len(p.changes) else 0.0


def change_overlap(p: Probe) -> float:
    """Entanglement: how much two neurons' effects land on the same pixels.

    Mean over pairs of neurons of the Jaccard overlap |T_a ∩ T_b| / |T_a ∪ T_b| of the pixel
    sets their shifts visibly change (:func:`touched`). In a factored network different
    neurons draw different parts (the mouth, the outline), so their effects overlap little;
    in an entangled one every neuron moves every part of the picture, overlap → 1.
    """
    t = touched(p).astype(np.float64)
    n = len(t)
    if n < 2:
        return 0.0
    inter = t @ t.T
    size = t.sum(axis=1)
    union = size[:, None] + size[None, :] - inter
    iu = np.triu_indices(n, 1)
    return float(np.mean(np.where(union[iu] > 0, inter[iu] / np.maximum(union[iu], 1), 0.0)))


def antisymmetric_share(maps) -> np.ndarray:
    """A = ‖(f − mirror f)/2‖² / ‖f‖² per centred map f (..., H, W[, C]); mirror = left–right.

    A = 0: mirror-symmetric; A = 1: antisymmetric; a constant map counts as symmetric.
    """
    f = np.asarray(maps, np.float64)
    if f.ndim == 2:
        f = f[None]
    if f.ndim == 3:
        f = f[..., None]
    f = f - f.mean(axis=(-3, -2), keepdims=True)
    e = energy(f)
    a = energy((f - f[..., :, ::-1, :]) * 0.5)
    return np.where(e > 0, a / np.maximum(e, 1e-300), 0.0)


def image_symmetry(p: Probe) -> float:
    """How mirror-regular the picture is: S = |2A − 1| of the image (1: symmetric or
    antisymmetric about the vertical axis, 0: no left–right regularity)."""
    return float(np.abs(2.0 * antisymmetric_share(p.image[None])[0] - 1.0))


def symmetry_blindness(p: Probe) -> float:
    """How blind the features are to the mirror axis: mean over neuron maps of 1 − |2A − 1|.

    A neuron that respects the axis draws a symmetric map (|x|-like, A ≈ 0) or an
    antisymmetric one (x-like, A ≈ 1); one that ignores it mixes both (A ≈ ½, blindness ≈ 1).
    Sign-free, so odd sign flips do not change it. Only meaningful to the extent that the
    picture has the regularity itself: fer_score weighs it by :func:`image_symmetry`.
    """
    if not len(p.maps):
        return 0.0
    return float(np.mean(1.0 - np.abs(2.0 * antisymmetric_share(p.maps) - 1.0)))
