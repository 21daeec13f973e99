"""The renderer against the paper's own pictures, and its conventions."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ferlab.canvas import Canvas
from ferlab.colour import to_bytes
from ferlab.genome import GenomeError
from ferlab.picbreeder import load_genome
from ferlab.render import compile_genome, render_genome, weights_fn
from genomes import tiny


def _ref(shared, name):
    return np.asarray(Image.open(shared / "reference" / f"picbreeder_{name}.png").convert("RGB"), float)


@pytest.mark.parametrize("name", ["skull", "butterfly"])
def test_renders_match_the_papers_pngs(shared, name):
    img = to_bytes(render_genome(load_genome(shared / "picbreeder" / "fer" / f"{name}.zip"), 256).image)
    ref = _ref(shared, name)
    diff = img.astype(float) - ref
    mad = np.abs(diff).mean()
    psnr = 10 * np.log10(255.0 ** 2 / (diff ** 2).mean())
    assert mad < 1.0 and psnr >= 40.0, (mad, psnr)


def test_a_wrong_d_scaling_would_be_caught(shared, monkeypatch):
    """The acceptance threshold separates right from wrong conventions (d scaled by sqrt 2)."""
    import ferlab.canvas
    monkeypatch.setattr(ferlab.canvas, "D_SCALE", np.sqrt(2))
    img = to_bytes(render_genome(load_genome(shared / "picbreeder" / "fer" / "skull.zip"), 256).image)
    assert np.abs(img.astype(float) - _ref(shared, "skull")).mean() > 3.0


@pytest.mark.parametrize("name,cppnx", [("skull", "576_Skull"), ("butterfly", "4376_ButterflyColor")])
def test_cppnx_renders_the_same_as_fer(shared, name, cppnx):
    a = render_genome(load_genome(shared / "picbreeder" / "fer" / f"{name}.zip"), 64).image
    b = render_genome(load_genome(shared / "picbreeder" / "cppnx" / f"{cppnx}.xml"), 64).image
    assert np.abs(a - b).max() < 1e-12


def test_window_zooms_into_the_plane(shared):
    g = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    full = render_genome(g, 129).image  # odd size: the grid contains 0
    quarter = render_genome(g, Canvas(65, 65, (0.0, 1.0, 0.0, 1.0))).image
    np.testing.assert_allclose(quarter, full[64:, 64:], atol=1e-12)
    wide = render_genome(g, (40, 60)).image
    assert wide.shape == (40, 60, 3)


def test_node_maps_are_the_network_neurons(shared):
    g = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    r = render_genome(g, 32, nodes=True)
    assert set(r.node_maps) == {n.id for n in g.nodes}
    ink = r.node_maps[g.output_ids()["ink"]]
    np.testing.assert_allclose(r.image[..., 0], np.clip(np.abs(ink), 0, 1))
    x = r.node_maps[g.input_ids()["x"]]
    np.testing.assert_allclose(x[0], np.linspace(-1, 1, 32))
    assert r.image.min() >= 0 and r.image.max() <= 1


def test_greyscale_and_colour_conventions():
    # ink = -x: value is |x|, grey.
    img = render_genome(tiny([("x", "ink", -1.0)]), 5).image
    np.testing.assert_allclose(img[0, :, 0], [1, 0.5, 0, 0.5, 1])
    assert np.all(img[..., 0] == img[..., 2])
    # hue 0 (red), full saturation and value; hue = (h + 1) mod 1 so h = -1 is red too.
    colour = tiny([("bias", "saturation", 1.0), ("bias", "brightness", 1.0), ("bias", "hue", -1.0)],
                  outs=("hue", "saturation", "brightness"))
    np.testing.assert_allclose(render_genome(colour, 3).image[1, 1], [1, 0, 0])
    third = tiny([("bias", "saturation", 1.0), ("bias", "brightness", 1.0), ("bias", "hue", 1 / 3)],
                 outs=("hue", "saturation", "brightness"))
    np.testing.assert_allclose(render_genome(third, 3).image[1, 1], [0, 1, 0], atol=1e-9)


def test_activations_follow_picbreeder():
    for act, z, want in [("gaussian", 0.0, 1.0), ("gaussian", 10.0, -1.0), ("sigmoid", 0.0, 0.0),
                         ("sigmoid", 50.0, 1.0), ("sin", np.pi / 2, 1.0), ("cos", 0.0, 1.0)]:
        g = tiny([("bias", "h0", z), ("h0", "ink", 1.0)], acts={"h0": act})
        got = render_genome(g, 2, nodes=True).node_maps[(1, 4)][0, 0]
        assert got == pytest.approx(want, abs=1e-9), act


def test_jitted_batched_render_equals_numpy(shared):
    import jax
    import jax.numpy as jnp
    g = load_genome(shared / "picbreeder" / "fer" / "butterfly.zip")
    f = weights_fn(g, 48)
    w = np.asarray(g.weights)
    batch = np.stack([w, w * 0.9, w + 0.1])
    imgs = np.asarray(jax.vmap(f)(jnp.asarray(batch, jnp.float32)))
    for i in range(3):
        ref = render_genome(g.with_weights(batch[i]), 48).image
        assert np.abs(imgs[i] - ref).max() < 1e-3


@pytest.mark.parametrize("links,acts,msg", [
    ([("x", "h0", 1.0), ("h0", "ink", float("nan"))], {}, "non-finite weight"),
    ([("x", "h0", 1.0), ("h0", "ink", 1.0)], {"h0": "swish"}, "unknown activation 'swish'"),
])
def test_bad_genomes_are_rejected_by_name(links, acts, msg):
    with pytest.raises(GenomeError, match=msg):
        render_genome(tiny(links, acts), 8)


def test_a_cycle_is_named():
    from dataclasses import replace
    from ferlab.genome import Link
    g = tiny([("x", "h0", 1.0), ("h0", "h1", 1.0), ("h1", "ink", 1.0)])
    h0, h1 = g.nodes[4].id, g.nodes[5].id
    g = replace(g, links=g.links + (Link((3, 3), h1, h0, 1.0),))
    with pytest.raises(GenomeError, match=r"cycle through node\(s\) 1:4, 1:5"):
        compile_genome(g)
