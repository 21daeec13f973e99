"""Layerizing genomes into the paper's dense networks, exactly."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from PIL import Image

from conftest import CPPNX_NAMES
from ferlab.colour import to_bytes
from ferlab.dense import CACHE, ZERO, Arch, ArchError, DenseCPPN
from ferlab.layerize import layerize, match_neurons, trace_weight
from ferlab.picbreeder import load_genome
from ferlab.render import render_genome
from genomes import genomes

ARCHS = {"skull": "12;cache:15,gaussian:4,identity:2,sin:1",
         "butterfly": "16;cache:17,gaussian:4,sigmoid:1,sin:1"}


@pytest.mark.parametrize("name", ["skull", "butterfly"])
def test_layerize_gives_the_papers_architecture_and_image(shared, name):
    g = load_genome(shared / "picbreeder" / "fer" / f"{name}.zip")
    net = layerize(g)
    assert str(net.arch) == ARCHS[name]
    genome_img = render_genome(g, 256).image
    assert np.abs(net.render(256).image - genome_img).max() <= 1e-4
    paper = DenseCPPN.load(shared / "reference" / f"picbreeder_{name}.npz")
    assert str(paper.arch) == ARCHS[name]
    assert np.abs(paper.render(256).image - genome_img).max() <= 1e-4


@pytest.mark.parametrize("name", ["skull", "butterfly"])
def test_papers_sgd_network_reproduces_its_png(shared, name):
    net = DenseCPPN.load(shared / "reference" / f"sgd_{name}.npz")
    ref = np.asarray(Image.open(shared / "reference" / f"sgd_{name}.png").convert("RGB"), float)
    assert np.abs(to_bytes(net.render(256).image).astype(float) - ref).mean() < 1.0


@pytest.mark.parametrize("name", CPPNX_NAMES)
def test_every_cppnx_genome_layerizes_exactly(shared, name):
    g = load_genome(shared / "picbreeder" / "cppnx" / f"{name}.xml")
    net = layerize(g)
    assert np.abs(net.render(64).image - render_genome(g, 64).image).max() <= 1e-4
    # Every dense weight that came from a link carries that link's weight; caches carry 1.
    for kern, origin in zip(net.kernels[:-1], net.origin[:-1]):
        links = origin >= 0
        w = np.array([g.links[i].weight for i in origin[links]])
        assert np.allclose(kern[links], w, atol=1e-6)
        assert np.all(kern[origin == CACHE] == 1) and np.all(kern[origin == ZERO] == 0)
    # Every link that can reach an output appears exactly once in the kernels.
    used = np.concatenate([o[o >= 0] for o in net.origin])
    assert len(used) == len(set(used.tolist()))


@settings(max_examples=40, deadline=None)
@given(genomes())
def test_random_genomes_layerize_to_identical_images(g):
    net = layerize(g)
    assert np.abs(net.render(16, dtype=np.float64).image - render_genome(g, 16).image).max() <= 1e-9
    assert len(net.arch.kernel_shapes()) == net.arch.depth + 1


def test_npz_round_trip(tmp_path, shared):
    net = layerize(load_genome(shared / "picbreeder" / "fer" / "skull.zip"))
    back = DenseCPPN.load(net.save(tmp_path / "skull.npz"))
    assert back.arch == net.arch
    assert all(np.array_equal(np.float32(a), b) for a, b in zip(net.kernels, back.kernels))
    assert np.abs(back.render(32).image - net.render(32).image).max() < 1e-5


def test_flat_index_follows_the_papers_string_order():
    arch = Arch.parse(ARCHS["skull"])
    assert arch.flat_to_lrc(4371) == (7, 15, 15)
    assert arch.flat_order()[:6] == [0, 1, 10, 11, 12, 2]
    for i in (0, 87, 88, 1605, 1606, arch.n_params - 1):
        assert arch.lrc_to_flat(*arch.flat_to_lrc(i)) == i
    with pytest.raises(IndexError):
        arch.flat_to_lrc(arch.n_params)


def test_paper_weights_match_flat_index(shared):
    net = DenseCPPN.load(shared / "reference" / "picbreeder_skull.npz")
    flat = net.paper_weights()
    k, r, c = net.arch.flat_to_lrc(4371)
    assert flat[4371] == net.kernels[k][r, c] != 0


def test_paper_mouth_weight_traces_to_its_genome_link(shared):
    g = load_genome(shared / "picbreeder" / "cppnx" / "576_Skull.xml")
    paper = DenseCPPN.load(shared / "reference" / "picbreeder_skull.npz")
    matches = match_neurons(paper, g)
    # Every neuron that computes something (non-zero incoming weights) is matched.
    for k in range(1, paper.arch.depth + 1):
        active = np.abs(paper.kernels[k - 1]).sum(axis=0) > 0
        assert all(matches[k][c] is not None for c in np.flatnonzero(active))
    link = trace_weight(paper, g, *paper.arch.flat_to_lrc(4371), matches=matches)
    assert isinstance(link, int)
    assert g.links[link].weight == pytest.approx(float(paper.kernels[7][15, 15]), abs=1e-6)
    assert g.label_text(g.links[link].color_label).startswith("Mouth open close")
    assert trace_weight(paper, g, 7, 0, 0, matches=matches) == "cache"


@pytest.mark.parametrize("text", ["12", "x;cache:3", "3;swish:4", "0;gaussian:3", "3;gaussian:-1", "2;cache:0"])
def test_bad_arch_strings(text):
    with pytest.raises(ArchError):
        Arch.parse(text)


def test_kernels_must_fit_the_arch():
    arch = Arch.parse("2;gaussian:3")
    with pytest.raises(ArchError, match="kernel_1 has shape"):
        DenseCPPN(arch, (np.zeros((4, 3)), np.zeros((3, 4)), np.zeros((3, 3))))
    with pytest.raises(ArchError, match="non-finite"):
        DenseCPPN(arch, (np.full((4, 3), np.nan), np.zeros((3, 3)), np.zeros((3, 3))))
