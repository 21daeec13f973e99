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

It is in [0, 1], higher = more fractured/entangled. Which terms separate evolved from SGD
networks across images, not just within a pair (``benchmarks/fer_separation.py`` prints
every term with its pooled AUC on the visible pairs):

* separate: ``symmetry_blindness`` alone, and ``fer_score``; ``change_overlap`` and
  ``change_spread`` win every pair but overlap across images;
* do not separate: the roughness of features and of shift changes (they follow the
  picture's own detail, not how it is built), and the picture's own symmetry;
* literature and peer measures (:mod:`ferlab.metrics.literature`: mean |finite difference|
  of all feature maps, layer effective rank, spectral clusterability) separate the visible
  pairs too, but they read every neuron, cache ones included, so they move under
  reparametrisations that keep the function, and largely count how much of the
  architecture is used (a layerized genome leaves most columns empty); the finite
  difference also puts random networks among the evolved ones. Linear CKA compares two
  networks, not one, and is printed per pair. A DCI-style score with the CPPN-X labels as
  factors is not computed: it needs labelled links in every network measured, and an SGD
  replica has none.

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
