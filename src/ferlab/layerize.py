"""Genome -> the minimal dense CPPN the FER paper uses, exactly, with where each weight came from.

The paper's rules: inputs are layer 0; a node's layer is one more than its deepest source; a
value needed in a later layer is copied forward by an identity "cache" neuron in every layer in
between; outputs are carried to the last layer. Each activation group's width is its largest
count in any one layer (cache included). A greyscale genome first gets identity nodes hue and
saturation fed from ``ink`` with weight 0, so every dense network outputs (h, s, v).

Only nodes that can reach an output are kept: the rest cannot change the picture.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ferlab.canvas import INPUT_LABELS
from ferlab.dense import CACHE, GREY, OUTPUT, ZERO, Arch, DenseCPPN
from ferlab.genome import COLOUR_OUTPUTS, GeneId, Genome, Link, Node
from ferlab.graph import ancestors

#: Ids for the hue/saturation nodes added to a greyscale genome (branch -1: never in a file).
GREY_HUE: GeneId = (-1, 1)
GREY_SAT: GeneId = (-1, 2)


def with_colour_outputs(genome: Genome) -> tuple[Genome, set[int]]:
    """A greyscale genome plus hue/saturation identity nodes fed from ink with weight 0."""
    outs = genome.output_ids()
    if "ink" not in outs:
        return genome, set()
    ink = outs["ink"]
    nodes = tuple(replace(n, label="brightness") if n.id == ink else n for n in genome.nodes)
    nodes += (Node(GREY_HUE, "out", "identity", "hue"), Node(GREY_SAT, "out", "identity", "saturation"))
    n = len(genome.links)
    links = genome.links + (Link((-1, 3), ink, GREY_HUE, 0.0), Link((-1, 4), ink, GREY_SAT, 0.0))
    return replace(genome, nodes=nodes, links=links), {n, n + 1}


def layerize(genome: Genome) -> DenseCPPN:
    """The genome as a DenseCPPN whose image equals the genome's (up to float rounding).

    The result's ``origin`` maps every dense weight to its genome link index (or ZERO, CACHE,
    OUTPUT, GREY); ``neurons`` names the genome node each neuron carries, per layer.
    """
    genome.validate()
    n_links = len(genome.links)
    g, grey_links = with_colour_outputs(genome)
    depth = g.depths()
    outs = g.output_ids()
    out_ids = [outs[k] for k in COLOUR_OUTPUTS]
    last = max(depth[o] for o in out_ids)
    acts = {n.id: n.activation for n in g.nodes}
    order = {n.id: i for i, n in enumerate(g.nodes)}

    # Keep the ancestors of the outputs (and always the inputs).
    incoming = g.sources()
    keep = ancestors(g, out_ids) | set(g.input_ids().values())

    # The last layer that reads each kept value (outputs are read by the output kernel).
    last_read = {nid: depth[nid] for nid in keep}
    for i, l in enumerate(g.links):
        if l.source in keep and l.target in keep:
            last_read[l.source] = max(last_read[l.source], depth[l.target] - 1)
    for o in out_ids:
        last_read[o] = last

    # Per layer: cache entries (values carried through) and node entries grouped by activation.
    layer_cache: list[list[GeneId]] = [[] for _ in range(last + 1)]
    layer_nodes: list[dict[str, list[GeneId]]] = [{} for _ in range(last + 1)]
    for nid in sorted(keep, key=lambda x: (depth[x], order[x])):
        d = depth[nid]
        if d > 0:
            layer_nodes[d].setdefault(acts[nid], []).append(nid)
        for layer in range(d + 1, last_read[nid] + 1):
            layer_cache[layer].append(nid)
    n_cache = max(len(c) for c in layer_cache[1:])
    act_names = sorted({a for ln in layer_nodes for a in ln})
    widths = {a: max(len(ln.get(a, [])) for ln in layer_nodes[1:]) for a in act_names}
    groups = ([("cache", n_cache)] if n_cache else []) + [(a, widths[a]) for a in act_names if widths[a]]
    arch = Arch(last, tuple(groups))
    arch.check()  # the limits DenseCPPN.load applies: never build what could not be read back
    width = arch.width
    offsets, off = {}, n_cache
    for a in act_names:
        offsets[a] = off
        off += widths[a]

    # Column of each value in each layer: layer 0 is the inputs x, y, d, bias.
    inputs = g.input_ids()
    pos: list[dict[GeneId, int]] = [{inputs[k]: i for i, k in enumerate(INPUT_LABELS)}]
    neurons: list[tuple] = [tuple(inputs[k] for k in INPUT_LABELS)]
    for layer in range(1, last + 1):
        p: dict[GeneId, int] = {}
        col_node: list = [None] * width
        for i, nid in enumerate(layer_cache[layer]):
            p[nid] = i
            col_node[i] = nid
        for a, ids in layer_nodes[layer].items():
            for i, nid in enumerate(ids):
                p[nid] = offsets[a] + i
                col_node[offsets[a] + i] = nid
        pos.append(p)
        neurons.append(tuple(col_node))

    shapes = arch.kernel_shapes()
    kernels = [np.zeros(s, np.float64) for s in shapes]
    origin = [np.full(s, ZERO, np.int64) for s in shapes]
    for layer in range(1, last + 1):
        k, src_pos, dst_pos = layer - 1, pos[layer - 1], pos[layer]
        for nid in layer_cache[layer]:
            kernels[k][src_pos[nid], dst_pos[nid]] = 1.0
            origin[k][src_pos[nid], dst_pos[nid]] = CACHE
        for ids in layer_nodes[layer].values():
            for nid in ids:
                for li in incoming[nid]:
                    link = g.links[li]
                    r, c = src_pos[link.source], dst_pos[nid]
                    kernels[k][r, c] += link.weight
                    if origin[k][r, c] == ZERO:  # a duplicated link keeps its first index
                        origin[k][r, c] = GREY if li in grey_links else li
    for j, o in enumerate(out_ids):
        kernels[-1][pos[last][o], j] = 1.0
        origin[-1][pos[last][o], j] = OUTPUT
    assert all(int(o.max()) < n_links for o in origin)
    meta = {"name": genome.meta.get("name", "genome"), "layerized": "true"}
    return DenseCPPN(arch, tuple(kernels), tuple(origin),
                     tuple(neurons) + (tuple(out_ids),), meta)


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
    """Each node's map (nodes that reach an output), read off the genome's own layerized
    network: exact (1e-12, tests/test_engine.py) and without the engine, which sits above."""
    net = layerize(genome)
    layers = net.render(res, features=True, dtype=np.float64).layers
    maps = {}
    for ids, layer in zip(net.neurons, layers):
        for nid, m in zip(ids, layer):
            if nid is not None and nid not in maps:  # first appearance: where it is computed
                maps[nid] = m
    return maps


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
