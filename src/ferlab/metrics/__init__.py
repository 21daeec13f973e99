"""FER metrics: numbers for "fractured and entangled" where the paper shows pictures.

Every term is a property of the *function* a network computes (:mod:`ferlab.metrics.terms`):
it looks at non-linear neurons' maps and at what shifting one neuron's pre-activation does
to the image, never at raw weights, so permuting neurons, flipping odd neurons' signs,
rescaling or rotating identity (cache) neurons, adding dead neurons or padding the layerized
architecture differently leaves it unchanged. A genome is measured as its layerized network.

``fer_score = S · symmetry_blindness + (1 − S) · change_overlap``, S = image_symmetry:

* ``symmetry_blindness`` — do features respect the picture's mirror axis (symmetric or
  antisymmetric maps) or mix both halves? Counted only as far as the picture itself is
  mirror-regular (S = |2A − 1| of the image), so a network drawing a dolphin is not blamed
  for asymmetric features.
* ``change_overlap`` — do different neurons' shifts change different parts of the picture
  (factored) or all the same pixels (entangled)?

It is in [0, 1], higher = more fractured/entangled. Of the terms tried, these two separate
evolved from SGD networks on every visible image pair and across images; the roughness of
features and of shift changes, the spread of one shift's change and the literature measures
(:mod:`ferlab.metrics.literature`: the peer's mean finite difference, layer effective rank,
spectral clusterability) either fail across images or only count how much of the
architecture a network uses (layerized genomes leave most neurons empty), which is not a
property of the function. ``benchmarks/fer_separation.py`` prints them all with their AUCs.

Controls (:mod:`ferlab.metrics.controls`): a network whose image is (near-)constant is
refused (:class:`ConstantImageError`); scores are read beside the mean score of random
LeCun-normal networks of the same architecture (:class:`BaselineCache`). A random network
scores high: its features ignore the picture's symmetry and each neuron moves most of the
picture, which is what "entangled" means; an evolved network should score well below it and
an SGD replica near it.

Human-label agreement (:mod:`ferlab.metrics.labels`): :func:`label_auc`, :func:`logo_auc`.
"""
from ferlab.metrics.controls import (BaselineCache, ConstantImageError, check_image,
                                     random_network)
from ferlab.metrics.labels import (DEFAULT_SIMILARITY, SIMILARITIES, UNFITTED, baseline_similarity,
                                   change_shape_similarity, downstream_overlap, effect_similarity,
                                   image_downstream_similarity, label_auc, label_pairs,
                                   link_changes, logo_auc, node_changes, roc_auc, with_context)
from ferlab.metrics.score import (METRIC_NOTES, SCORE_TERMS, as_dense, fer_metrics, fer_score,
                                  term_values)

__all__ = ["fer_metrics", "fer_score", "term_values", "as_dense", "SCORE_TERMS", "METRIC_NOTES",
           "BaselineCache", "ConstantImageError", "check_image", "random_network",
           "label_auc", "logo_auc", "label_pairs", "roc_auc", "SIMILARITIES", "DEFAULT_SIMILARITY", "UNFITTED",
           "baseline_similarity", "downstream_overlap", "image_downstream_similarity",
           "effect_similarity", "change_shape_similarity", "with_context", "link_changes",
           "node_changes"]
