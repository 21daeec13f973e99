"""Evolution operators (Picbreeder's) and the batched thumbnail renderer."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferlab.evolve import (MUTATIONS, Innovations, add_link, add_node, breed, change_activation,
                           crossover, first_screen, initial_genome, max_branch, mutate,
                           perturb_weights, render_batch, thumbnails)
from ferlab.genome import GenomeError, Link, Node
from ferlab.picbreeder import genome_to_xml, load_genome, parse_genome, same_graph
from ferlab.render import render_genome


def _fresh(colour=False, seed=0, branch=7):
    g, innov = initial_genome(np.random.default_rng(seed), Innovations(branch), colour)
    return g, innov


def _all_gene_ids(g):
    return [n.id for n in g.nodes] + [l.id for l in g.links]


# --------------------------------------------------------------------------- starting genome
@pytest.mark.parametrize("colour", [False, True])
def test_initial_genome_wires_every_input_to_every_output(colour):
    g, innov = _fresh(colour)
    g.validate()
    ins, outs = g.input_ids(), g.output_ids()
    assert sorted(ins) == ["bias", "d", "x", "y"]
    assert sorted(outs) == (["brightness", "hue", "saturation"] if colour else ["ink"])
    assert {(l.source, l.target) for l in g.links} == {(i, o) for i in ins.values() for o in outs.values()}
    assert all(-3.0 <= w <= 3.0 for w in g.weights)
    assert all(gid[0] == 7 for gid in _all_gene_ids(g))
    assert innov.next_id > max(gid[1] for gid in _all_gene_ids(g) + [g.id])


def test_first_screen_is_fifteen_different_genomes_and_reproducible():
    a, ia = first_screen(15, 3, Innovations(1))
    b, ib = first_screen(15, 3, Innovations(1))
    c, _ = first_screen(15, 4, Innovations(1))
    assert len(a) == 15 and ia == ib
    assert all(same_graph(x, y) for x, y in zip(a, b))
    assert not all(same_graph(x, y) for x, y in zip(a, c))
    assert len({tuple(g.weights) for g in a}) == 15


# ------------------------------------------------------------------------------- mutations
def test_perturb_weights_moves_some_links_within_limits():
    g, _ = _fresh(True)
    rng = np.random.default_rng(1)
    moved = []
    for _ in range(200):
        m = perturb_weights(g, rng, 2.0)
        d = np.array(m.weights) - np.array(g.weights)
        assert np.all(np.abs(m.weights) <= 3.0)
        assert (d != 0).any()  # never a silent copy
        moved.append(np.mean(d != 0))
    # Each link moves with probability ~0.2 (a bit more: at least one always moves).
    assert 0.15 < np.mean(moved) < 0.3
    small = perturb_weights(g, np.random.default_rng(2), 0.01)
    assert np.max(np.abs(np.array(small.weights) - g.weights)) < 0.1


def test_add_link_connects_unconnected_nodes_without_cycles():
    g, innov = _fresh(False)
    g, innov = add_node(g, np.random.default_rng(0), innov)
    g, innov = add_node(g, np.random.default_rng(1), innov)
    rng = np.random.default_rng(3)
    for _ in range(30):
        out = add_link(g, rng, innov)
        if out is None:
            break
        g2, innov = out
        assert len(g2.links) == len(g.links) + 1
        new = g2.links[-1]
        assert (new.source, new.target) not in {(l.source, l.target) for l in g.links}
        assert g2.node(new.source).kind != "out" and g2.node(new.target).kind != "in"
        g2.validate()  # raises on a cycle
        g = g2
    # Eventually the DAG is complete and add_link says so instead of breaking it.
    assert add_link(g, rng, innov) is None


def test_add_node_splits_a_link_and_keeps_it():
    g, innov = _fresh(True)
    g2, innov2 = add_node(g, np.random.default_rng(5), innov)
    assert len(g2.nodes) == len(g.nodes) + 1 and len(g2.links) == len(g.links) + 2
    assert g2.links[:len(g.links)] == g.links  # the split link is kept (Picbreeder)
    node = g2.nodes[-1]
    a, b = g2.links[-2:]
    assert a.target == node.id and b.source == node.id
    assert (a.source, b.target) in {(l.source, l.target) for l in g.links}
    assert node.kind == "hidden" and node.activation != "identity"
    assert innov2.next_id == innov.next_id + 3


def test_change_activation_changes_exactly_one_node():
    g, _ = _fresh(True)
    g2 = change_activation(g, np.random.default_rng(0))
    diff = [(a, b) for a, b in zip(g.nodes, g2.nodes) if a != b]
    assert len(diff) == 1
    a, b = diff[0]
    assert a.kind != "in" and a.activation != b.activation and replace(b, activation=a.activation) == a


def test_mutation_kinds_follow_picbreeder_weights():
    g, innov = _fresh(False)
    g, innov = add_node(g, np.random.default_rng(0), innov)
    rng = np.random.default_rng(11)
    counts = Counter(mutate(g, rng, innov)[2] for _ in range(2100))
    total = sum(w for _, w in MUTATIONS)
    for kind, w in MUTATIONS:
        assert counts[kind] == pytest.approx(2100 * w / total, rel=0.25), (kind, counts)


# ------------------------------------------------------------------------------- crossover
def test_crossover_unions_genes_and_averages_shared_weights():
    g, innov = _fresh(False)
    a, innov = add_node(g, np.random.default_rng(1), innov)
    b, innov = add_node(g, np.random.default_rng(2), innov)
    b = perturb_weights(b, np.random.default_rng(3), 1.0)
    c = crossover([a, b], np.random.default_rng(4))
    c.validate()
    assert {n.id for n in c.nodes} == {n.id for n in a.nodes} | {n.id for n in b.nodes}
    assert {l.id for l in c.links} == {l.id for l in a.links} | {l.id for l in b.links}
    wa, wb = {l.id: l.weight for l in a.links}, {l.id: l.weight for l in b.links}
    for l in c.links:
        if l.id in wa and l.id in wb:
            assert l.weight == pytest.approx((wa[l.id] + wb[l.id]) / 2)
        else:
            assert l.weight == wa.get(l.id, wb.get(l.id))


def test_crossover_takes_shared_activation_from_a_parent():
    g, _ = _fresh(False)
    out = g.output_ids()["ink"]
    a = replace(g, nodes=tuple(replace(n, activation="sin") if n.id == out else n for n in g.nodes))
    b = replace(g, nodes=tuple(replace(n, activation="cos") if n.id == out else n for n in g.nodes))
    seen = {crossover([a, b], np.random.default_rng(s)).node(out).activation for s in range(20)}
    assert seen == {"sin", "cos"}


def test_crossover_drops_a_link_that_would_close_a_cycle():
    g, innov = _fresh(False)
    (h1, h2, l1, l2, l3, l4), innov = innov.take(6)
    ink = g.output_ids()["ink"]
    x = g.input_ids()["x"]
    nodes = g.nodes + (Node(h1, "hidden", "sin"), Node(h2, "hidden", "gaussian"))
    base = replace(g, nodes=nodes, links=g.links + (Link(l1, x, h1, 1.0), Link(l2, h1, ink, 1.0),
                                                    Link(l3, x, h2, 1.0), Link(l4, h2, ink, 1.0)))
    (la, lb), innov = innov.take(2)
    a = replace(base, links=base.links + (Link(la, h1, h2, 0.5),))
    b = replace(base, links=base.links + (Link(lb, h2, h1, 0.5),))
    a.validate(), b.validate()
    c = crossover([a, b], np.random.default_rng(0))
    c.validate()
    ids = {l.id for l in c.links}
    assert la in ids and lb not in ids


def test_crossover_rejects_grey_with_colour():
    with pytest.raises(GenomeError, match="colour"):
        crossover([_fresh(False)[0], _fresh(True)[0]], np.random.default_rng(0))


# --------------------------------------------------------------------- breeding, lineage, XML
def test_breeding_is_seeded_and_reproducible():
    screen, innov = first_screen(15, 1, Innovations(3))
    k1, i1 = breed(screen[:2], 15, 99, innov, 1.3)
    k2, i2 = breed(screen[:2], 15, 99, innov, 1.3)
    k3, _ = breed(screen[:2], 15, 100, innov, 1.3)
    assert i1 == i2
    assert all(same_graph(a, b) for a, b in zip(k1, k2))
    assert not all(same_graph(a, b) for a, b in zip(k1, k3))
    assert all(set(k.parents) <= {screen[0].id, screen[1].id} and k.parents for k in k1)


def test_breed_rejects_bad_strength_and_no_parents():
    screen, innov = first_screen(2, 1, Innovations(3))
    with pytest.raises(ValueError, match="strength"):
        breed(screen, 15, 0, innov, 2.5)
    with pytest.raises(ValueError, match="parent"):
        breed([], 15, 0, innov)


def test_breeding_from_the_real_skull_keeps_its_genes_and_ids_unique(shared):
    skull = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    branch = max_branch(skull) + 1
    assert branch == 577
    kids, innov = first_screen(15, 5, Innovations(branch), root=skull)
    assert same_graph(kids[0], skull)
    old = set(_all_gene_ids(skull))
    for k in kids[1:]:
        k.validate()
        assert old <= set(_all_gene_ids(k))  # mutation only adds genes
        assert all(gid[0] == branch for gid in set(_all_gene_ids(k)) - old)
        assert k.parents == (skull.id,) and k.meta["age"] == "75"
        back = parse_genome(genome_to_xml(k).encode())
        assert same_graph(back, k)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), colour=st.booleans(),
       plan=st.lists(st.tuples(st.integers(1, 4), st.floats(0.0, 2.0)), min_size=1, max_size=6))
def test_bred_genomes_are_valid_dags_that_round_trip_through_xml(seed, colour, plan):
    rng = np.random.default_rng(seed)
    screen, innov = first_screen(6, seed, Innovations(int(rng.integers(1, 1000))), colour)
    seen_ids = {gid for g in screen for gid in _all_gene_ids(g)}
    for n_parents, strength in plan:
        idx = rng.choice(len(screen), size=min(n_parents, len(screen)), replace=False)
        before = innov.next_id
        screen, innov = breed([screen[int(i)] for i in idx], 6, int(rng.integers(2**31)), innov, strength)
        for g in screen:
            g.validate()  # unique ids, no dangling ends, no cycles
            g.topological_order()
            assert same_graph(parse_genome(genome_to_xml(g).encode()), g)
            new = set(_all_gene_ids(g)) - seen_ids
            # Genes born this generation come from this generation's counter range.
            assert all(gid[0] == innov.branch and before <= gid[1] < innov.next_id for gid in new)
        # The same id always names the same gene across the lineage.
        for g in screen:
            for l in g.links:
                seen_ids.add(l.id)
            for n in g.nodes:
                seen_ids.add(n.id)
    cross = crossover(screen[:3], rng)
    cross.validate()
    assert same_graph(parse_genome(genome_to_xml(cross).encode()), cross)


def test_link_ids_name_the_same_edge_across_a_lineage():
    screen, innov = first_screen(15, 2, Innovations(9), colour=True)
    edges: dict = {}
    for gen in range(8):
        screen, innov = breed(screen[gen % 3: gen % 3 + 2], 15, gen, innov, 1.0)
        for g in screen:
            for l in g.links:
                assert edges.setdefault(l.id, (l.source, l.target)) == (l.source, l.target)


# -------------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("name", ["skull", "butterfly"])
def test_render_batch_matches_the_reference_renderer(shared, name):
    g = load_genome(shared / "picbreeder" / "fer" / f"{name}.zip")
    ref = render_genome(g, 48).image
    got = render_batch([g, g], 48)
    assert got.shape == (2, 48, 48, 3) and got.dtype == np.float32
    # float32 against float64: the butterfly's hue rings wrap at a few pixels.
    assert np.mean(np.abs(got[0] - ref)) < 1e-4
    assert np.mean(np.abs(got[0] - ref) > 1e-3) < 0.002
    assert np.array_equal(got[0], got[1])


def test_render_batch_of_mixed_children_matches_one_by_one(shared):
    skull = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    kids, innov = first_screen(8, 1, Innovations(577), root=skull, strength=1.5)
    colour, innov = first_screen(4, 2, innov, colour=True)
    batch = kids + colour
    got = render_batch(batch, (24, 40), window=(-0.5, 1.0, -1.0, 0.2), threads=2)
    for g, img in zip(batch, got):
        ref = render_genome(g, (24, 40), window=(-0.5, 1.0, -1.0, 0.2)).image
        assert np.mean(np.abs(img - ref)) < 1e-4
    th = thumbnails(batch[:2], 16)
    assert th.dtype == np.uint8 and th.shape == (2, 16, 16, 3)
    ref = np.clip(render_genome(batch[0], 16).image * 255, 0, 255).astype(np.uint8)
    assert np.mean(np.abs(th[0].astype(int) - ref)) < 0.05


@pytest.mark.parametrize("colour", [False, True])
def test_render_batch_of_grown_siblings_matches_one_by_one(colour):
    # Grown lineages reach every activation and every kind of product the batch renderer
    # plans (shared nodes, one-source scales, gathered and contiguous sources, tiles).
    g, innov = _fresh(colour, seed=3)
    rng = np.random.default_rng(4)
    for _ in range(12):
        kids, innov = breed([g], 6, int(rng.integers(2**31)), innov, 1.5)
        g = max(kids, key=lambda k: (len(k.nodes), len(k.links)))
    kids, innov = breed([g], 8, 5, innov, 1.0)
    assert len({n.activation for k in kids for n in k.nodes if n.kind != "in"}) >= 4
    got = render_batch(kids, 40, threads=2)
    for k, img in zip(kids, got):
        ref = render_genome(k, 40).image
        assert np.mean(np.abs(img - ref)) < 1e-4
        assert np.mean(np.abs(img - ref) > 1e-3) < 0.002


def test_render_batch_validates():
    g, _ = _fresh(False)
    bad = replace(g, links=g.links + (Link((7, 999), g.output_ids()["ink"], (7, 12345), 1.0),))
    with pytest.raises(GenomeError, match="dangling"):
        render_batch([bad], 8)


def test_rebranch_relabels_only_that_branch():
    from ferlab.evolve import rebranch

    screen, innov = first_screen(3, 1, Innovations(5))
    kids, _ = breed(screen, 3, 2, innov)
    k = kids[0]
    moved = rebranch(k, 5, 11)
    moved.validate()
    assert {g[0] for g in _all_gene_ids(moved)} == {11} and moved.id[0] == 11
    assert [g[1] for g in _all_gene_ids(moved)] == [g[1] for g in _all_gene_ids(k)]
    assert np.array_equal(render_batch([moved], 8), render_batch([k], 8))
    assert rebranch(k, 6, 11) == k
