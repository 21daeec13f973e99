"""Test helpers: hypothesis strategies for random valid genomes, and tiny genome builders."""
from __future__ import annotations

from hypothesis import strategies as st

from ferlab.activations import GENOME_ACTIVATIONS
from ferlab.genome import Genome, Link, Node

INPUTS = ("x", "y", "d", "bias")


@st.composite
def genomes(draw, max_hidden: int = 8, max_links: int = 30):
    """Random DAG genomes: any activations, grey or colour, possibly unconnected nodes."""
    colour = draw(st.booleans())
    outs = ("hue", "saturation", "brightness") if colour else ("ink",)
    n_hidden = draw(st.integers(0, max_hidden))
    branch = draw(st.integers(1, 10_000))
    act = st.sampled_from(GENOME_ACTIVATIONS)
    nodes = [Node((branch, i), "in", "identity", lab) for i, lab in enumerate(INPUTS)]
    nodes += [Node((branch, 10 + i), "hidden", draw(act)) for i in range(n_hidden)]
    nodes += [Node((branch, 100 + i), "out", draw(act), lab) for i, lab in enumerate(outs)]
    # A random order in which links only go forward keeps the graph acyclic.
    order = nodes[:4] + draw(st.permutations(nodes[4:]))
    n = len(order)
    # Each link's target is drawn after its source and past the inputs (the first four), so no
    # draw is ever filtered out: filtering made Hypothesis reject whole lists of genomes.
    chosen = []
    for _ in range(draw(st.integers(0, max_links))):
        a = draw(st.integers(0, n - 2))
        chosen.append((a, draw(st.integers(max(a + 1, 4), n - 1))))
    weight = st.floats(-3, 3, allow_nan=False, width=64)
    links = [Link((branch, 1000 + k), order[a].id, order[b].id, draw(weight)) for k, (a, b) in enumerate(chosen)]
    return Genome(tuple(nodes), tuple(links), meta={"name": "random"})


def tiny(links=(("x", "ink", 1.0),), acts=None, outs=("ink",)) -> Genome:
    """A small genome from (source label, target label, weight) triples; hidden nodes h0.. ."""
    acts = acts or {}
    labels = list(INPUTS) + sorted({t for _, t, _ in links if t not in outs and t not in INPUTS}
                                   | {s for s, _, _ in links if s not in outs and s not in INPUTS})
    ids = {lab: (1, i) for i, lab in enumerate(labels + list(outs))}
    nodes = [Node(ids[l], "in", "identity", l) for l in INPUTS]
    nodes += [Node(ids[l], "hidden", acts.get(l, "gaussian")) for l in labels[4:]]
    nodes += [Node(ids[l], "out", acts.get(l, "identity"), l) for l in outs]
    ls = [Link((2, k), ids[s], ids[t], w) for k, (s, t, w) in enumerate(links)]
    return Genome(tuple(nodes), tuple(ls))
