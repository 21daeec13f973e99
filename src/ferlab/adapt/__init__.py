"""Where the next step can take a network: neighbourhood, learning and continual probes.

The FER paper claims that how a network represents its picture decides what one step in
weight space, or a little more training, can turn it into. These probes measure that:

    from ferlab.adapt import neighbourhood, learning_probe, continual_probe, make_variants
    nb = neighbourhood(net, radii=(0.05, 0.1, 0.2), n=32, res=64)   # coherent fraction, diversity
    vs = make_variants(net, genome=cppnx_genome, labels=["Mouth open close"], res=64)
    rows = learning_probe({"evolved": [net], "sgd": sgd_nets}, vs)
    cont = continual_probe(net, vs[0].image, other.image)

Every probe takes dense networks of one architecture (genomes are layerized first), is pure
(networks and images in, plain results out) and deterministic per seed.
"""
from ferlab.adapt.continual import ContinualResult, continual, continual_probe, plasticity
from ferlab.adapt.images import CoherenceRule, coherence, descriptor, roughness
from ferlab.adapt.learning import FINETUNE, FinetuneResult, finetune, learning_probe, summarise
from ferlab.adapt.nets import as_network, check_same_arch, random_network
from ferlab.adapt.neighbourhood import NeighbourhoodResult, neighbourhood
from ferlab.adapt.variants import (GEOMETRIC, PHOTOMETRIC, Variant, VariantError, genome_variant,
                                   make_variants, transfer_variant, transformed_image)

__all__ = [
    "CoherenceRule", "ContinualResult", "FINETUNE", "FinetuneResult", "GEOMETRIC",
    "NeighbourhoodResult", "PHOTOMETRIC", "Variant", "VariantError", "as_network",
    "check_same_arch", "coherence", "continual", "continual_probe", "descriptor",
    "finetune", "genome_variant", "learning_probe",
    "make_variants", "neighbourhood", "plasticity", "random_network",
    "roughness", "summarise", "transfer_variant", "transformed_image",
]
