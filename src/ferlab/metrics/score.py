"""``fer_metrics``: every term for one network, and ``fer_score``, one documented formula."""
from __future__ import annotations

from ferlab.dense import DenseCPPN
from ferlab.metrics import terms as T
from ferlab.metrics.controls import BaselineCache, check_image
from ferlab.network import as_network

#: The terms fer_score is made of (see fer_score); the others are reported beside it.
SCORE_TERMS = ("symmetry_blindness", "change_overlap", "image_symmetry")

METRIC_NOTES = {
    "symmetry_blindness": "1-|2A-1| of each neuron map, A = its antisymmetric share (1 = ignores the mirror axis)",
    "change_overlap": "Jaccard overlap of the pixels two neurons' shifts change (1 = every neuron moves everything)",
    "image_symmetry": "|2A-1| of the picture itself: how much the mirror axis is a regularity of it",
    "change_roughness": "gradient/energy of a neuron shift's image change, /4 (1 = white noise; reported)",
    "feature_roughness": "gradient/energy of each neuron map, /4 (reported)",
    "change_spread": "share of the picture one neuron's shift changes (reported)",
    "n_neurons": "non-linear neurons whose shift changes the image (the ones measured)",
    "fer_score": "S*symmetry_blindness + (1-S)*change_overlap, S = image_symmetry; higher = more FER",
    "random_baseline": "mean fer_score of random LeCun-normal networks of this architecture",
}


def as_dense(obj) -> DenseCPPN:
    """A dense network as is; a genome layerized (same weight space as its SGD replica)."""
    return as_network(obj).to_dense()


def fer_score(m: dict) -> float:
    """S · symmetry_blindness + (1 − S) · change_overlap, with S = image_symmetry; in [0, 1].

    The mirror test counts as far as the picture has a mirror regularity to respect; the rest
    of the weight goes to whether neurons' effects are kept apart.
    """
    s = m["image_symmetry"]
    return float(s * m["symmetry_blindness"] + (1.0 - s) * m["change_overlap"])


def term_values(net: DenseCPPN, res: int = 32) -> dict:
    """Every term of :mod:`ferlab.metrics.terms` for one network on a res² grid."""
    p = T.probe(net, res)
    check_image(p.image, str(net.meta.get("name", "network")))
    return {
        "symmetry_blindness": T.symmetry_blindness(p),
        "change_overlap": T.change_overlap(p),
        "image_symmetry": T.image_symmetry(p),
        "change_roughness": T.change_roughness(p),
        "feature_roughness": T.feature_roughness(p),
        "change_spread": T.change_spread(p),
        "n_neurons": len(p.where),
    }


def fer_metrics(obj, res: int = 32, baseline: BaselineCache | None = None) -> dict:
    """Every term for a genome or dense network, and ``fer_score`` (higher = more FER).

    With ``baseline`` the random-init baseline of its architecture (mean and spread over a
    few seeds) is added beside the score. Raises ConstantImageError for a network that draws
    a (near-)constant picture.
    """
    net = as_dense(obj)
    out = term_values(net, res)
    out["fer_score"] = fer_score(out)
    if baseline is not None:
        b = baseline.get(net.arch, res, lambda n: fer_score(term_values(n, res)))
        out["random_baseline"] = b["mean"]
        out["random_baseline_std"] = b["std"]
    return out
