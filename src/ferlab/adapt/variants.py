"""Targets a network might be asked to become: variants of its own picture.

- genome-made: a CPPN-X-labelled link of the evolved genome moved by ±δ (what the genome
  itself can draw one gene away);
- geometric: exact, not resampled — the base network is evaluated at transformed
  coordinates (x, y) -> T⁻¹(x, y), with d = 1.4·√(x² + y²) recomputed there, so the variant
  is the same function seen through T: mirror (x -> −x), shift (right by 10 % of the width),
  scale (0.8 about the centre), rotate (15°);
- photometric: hue shifted by a third of the wheel, HSV value inverted (v -> 1 − v);
- transfer: another network's or genome's picture.

Each :class:`Variant` states its distance from the original (MSE on RGB in [0, 1]), so a
caller can see what was asked; a variant identical to the original (a hue shift of a
greyscale picture) is refused with :class:`VariantError` rather than silently probed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferlab.adapt.images import mse
from ferlab.adapt.nets import as_network
from ferlab.dense import DenseCPPN, forward, rgb_from_outputs
from ferlab.genome import Genome

#: name -> 2×2 matrix A and offset b of the source point: the variant at p shows the base at A·p + b.
GEOMETRIC = {
    "mirror": ((-1.0, 0.0, 0.0, 1.0), (0.0, 0.0)),
    "shift": ((1.0, 0.0, 0.0, 1.0), (-0.2, 0.0)),  # the grid spans 2 units: 10 % is 0.2
    "scale": ((1 / 0.8, 0.0, 0.0, 1 / 0.8), (0.0, 0.0)),
    "rotate": ((np.cos(np.radians(15)), -np.sin(np.radians(15)),
                np.sin(np.radians(15)), np.cos(np.radians(15))), (0.0, 0.0)),
}
PHOTOMETRIC = ("hue", "invert")
#: Variants identical to the original within this MSE are refused (nothing to learn).
MIN_DISTANCE = 1e-6


class VariantError(ValueError):
    """A variant that cannot be made from what was given."""


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # 'identity' | 'genome' | 'geometric' | 'photometric' | 'transfer'
    image: np.ndarray = field(repr=False)  # (res, res, 3) float32 RGB in [0, 1]
    distance: float  # MSE from the original at the same resolution
    note: str = ""


def _image(net: DenseCPPN, res: int) -> np.ndarray:
    return net.render(res, dtype=np.float64).image.astype(np.float32)


def transformed_image(net, name: str, res: int) -> np.ndarray:
    """The base network's picture seen through geometric transform ``name`` (exact)."""
    from ferlab.train import grid_inputs

    if name not in GEOMETRIC:
        raise VariantError(f"unknown geometric variant {name!r}: choose from {', '.join(GEOMETRIC)}")
    net = as_network(net)
    (a, b, c, d), (ox, oy) = GEOMETRIC[name]
    x = grid_inputs(res).astype(np.float64)
    px, py = x[:, 0], x[:, 1]
    sx, sy = a * px + b * py + ox, c * px + d * py + oy
    inputs = np.stack([sx, sy, 1.4 * np.sqrt(sx ** 2 + sy ** 2), np.ones_like(sx)], axis=1)
    out, _ = forward(net.arch, [np.asarray(k, np.float64) for k in net.kernels], inputs, np)
    return rgb_from_outputs(out, np).reshape(res, res, 3).astype(np.float32)


def photometric_image(image: np.ndarray, name: str) -> np.ndarray:
    from matplotlib.colors import hsv_to_rgb, rgb_to_hsv

    hsv = rgb_to_hsv(np.clip(np.asarray(image, np.float64), 0, 1))
    if name == "hue":
        hsv[..., 0] = (hsv[..., 0] + 1 / 3) % 1.0
    elif name == "invert":
        hsv[..., 2] = 1.0 - hsv[..., 2]
    else:
        raise VariantError(f"unknown photometric variant {name!r}: choose from {', '.join(PHOTOMETRIC)}")
    return hsv_to_rgb(hsv).astype(np.float32)


def labelled_links(genome: Genome, label: str) -> list[int]:
    """Indices of the links whose CPPN-X label text is ``label`` (case-insensitive)."""
    texts = {b.id: b.text for b in genome.buttons}
    if not any(l.color_label for l in genome.links):
        raise VariantError("the genome has no CPPN-X link labels: genome-made variants need a "
                           "CPPN-X file")
    want = label.strip().lower()
    idx = [i for i, l in enumerate(genome.links) if texts.get(l.color_label, "").strip().lower() == want]
    if not idx:
        have = sorted({texts[l.color_label] for l in genome.links if l.color_label in texts})
        raise VariantError(f"no link of the genome is labelled {label!r} (labels: {'; '.join(have)})")
    return idx


def genome_variant(genome: Genome, label: str, delta: float, res: int,
                   original: np.ndarray | None = None) -> Variant:
    """The genome with one ``label``-led link moved by ``delta``: the labelled link whose move
    changes the picture most (ties: the first), so the variant shows what the label names."""
    from ferlab.render import render_genome

    if not np.isfinite(delta) or delta == 0:
        raise VariantError(f"delta must be a non-zero number, got {delta}")
    idx = labelled_links(genome, label)
    base = render_genome(genome, res, dtype=np.float64).image if original is None else original
    w0 = np.asarray(genome.weights, np.float64)
    best = None
    for i in idx:
        w = w0.copy()
        w[i] += delta
        img = render_genome(genome.with_weights(w), res, dtype=np.float64).image.astype(np.float32)
        dist = mse(img, base)
        if best is None or dist > best[1]:
            best = (i, dist, img)
    i, dist, img = best
    link = genome.links[i]
    return Variant(f"{label} {delta:+g}", "genome", img, dist,
                   f"link {link.id[0]}:{link.id[1]} weight {link.weight:.3g} -> {link.weight + delta:.3g}")


def transfer_variant(other, res: int, original: np.ndarray) -> Variant:
    """Another network's (or genome's) picture as the target."""
    net = as_network(other)
    img = _image(net, res)
    return Variant(f"transfer: {net.meta.get('name', 'other')}", "transfer", img, mse(img, original))


def make_variants(net, res: int = 64, genome: Genome | None = None, labels=(), delta: float = 1.0,
                  geometric=tuple(GEOMETRIC), photometric=PHOTOMETRIC, transfer=(),
                  identity: bool = True) -> list[Variant]:
    """Every requested variant of ``net``'s picture at ``res`` (the original first, if
    ``identity``). ``genome``: the CPPN-X genome that makes ``labels`` variants (±delta each).
    Raises VariantError for a variant that cannot be made or equals the original."""
    base_net = as_network(net)
    original = _image(base_net, res)
    out = [Variant("original", "identity", original, 0.0)] if identity else []
    if labels and genome is None:
        raise VariantError("label variants need the CPPN-X genome the network came from")
    for label in labels:
        for sign in (1.0, -1.0):
            out.append(genome_variant(genome, label, sign * float(delta), res, original))
    for name in geometric:
        img = transformed_image(base_net, name, res)
        out.append(Variant(name, "geometric", img, mse(img, original)))
    for name in photometric:
        img = photometric_image(original, name)
        out.append(Variant(name, "photometric", img, mse(img, original)))
    for other in transfer:
        out.append(transfer_variant(other, res, original))
    for v in out:
        if v.kind != "identity" and v.distance < MIN_DISTANCE:
            raise VariantError(f"variant {v.name!r} is the original picture (MSE {v.distance:.2g}): "
                               "nothing to learn (e.g. a hue shift of a greyscale picture)")
    return out
