"""Which genome node each neuron of a dense network computes, found by comparing their maps.

For dense networks of a genome's layerized shape trained or loaded from elsewhere (the
paper's own .npz orders columns its own way): the origin map of :func:`ferlab.layerize.layerize`
only covers networks ferlab built itself.
"""
from __future__ import annotations

import numpy as np

from ferlab.dense import DenseCPPN
from ferlab.engine import render_genome
from ferlab.genome import Genome
from ferlab.layerize import with_colour_outputs


def match_neurons(net: DenseCPPN, genome: Genome, res: int = 64, tol: float = 1e-3):
    """Match each hidden neuron of a dense network to the genome node whose map it equals.

    Works for any dense network of the genome's layerized shape (e.g. the paper's own .npz,
    whose column order may differ from ours): a neuron matches node n when their activation
    maps agree within ``tol`` (max abs over a ``res``² grid). Returns, per layer (0 = inputs,
    1..depth = hidden), a tuple with the matched node id or None for each neuron.
    """
    layers = net.render(res, features=True, dtype=np.float64).layers
    maps = _node_maps(genome, res)
    ids = list(maps)
    stack = np.stack([maps[i].ravel() for i in ids])  # (n_nodes, P)
    acts = {n.id: n.activation for n in genome.nodes}
    col_kind = net.arch.column_activations()
    out = []
    for depth, layer in enumerate(layers[:-1]):
        flat = layer.reshape(layer.shape[0], -1)
        err = np.abs(flat[:, None, :] - stack[None, :, :]).max(axis=2)  # (neurons, nodes)
        # A computing neuron must share its node's activation: an unused gaussian slot is
        # constant 1 and would otherwise "match" the bias input.
        if depth > 0:
            for i in range(net.arch.n_cache, flat.shape[0]):
                err[i, [acts.get(n, "identity") != col_kind[i] for n in ids]] = np.inf
        best = err.argmin(axis=1)
        out.append(tuple(ids[b] if err[i, b] <= tol else None for i, b in enumerate(best)))
    return tuple(out)


def _node_maps(genome: Genome, res: int):
    g, _ = with_colour_outputs(genome)
    return render_genome(g, res, nodes=True).node_maps


def trace_weight(net: DenseCPPN, genome: Genome, layer: int, row: int, col: int,
                 matches=None) -> int | str:
    """The genome link a dense weight stands for, traced through neuron maps.

    Returns the link index, or 'cache' (a copy neuron), 'zero' (no link: the weight only adds
    structure the genome lacks), 'output', or 'unmatched' when a neuron matches no node.
    Kernel ``layer`` maps neurons of layer ``layer`` (0 = inputs) to layer ``layer + 1``.
    """
    matches = matches or match_neurons(net, genome)
    if layer == net.arch.depth:
        return "output"
    src = matches[layer][row]
    dst = matches[layer + 1][col]
    if src is None or dst is None:
        return "unmatched"
    if layer + 1 <= net.arch.depth and col < net.arch.n_cache:
        return "cache"
    for i, l in enumerate(genome.links):
        if l.source == src and l.target == dst:
            return i
    return "zero"
