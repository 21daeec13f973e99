"""The contract every backend passes: the same image as the float64 numpy reference.

Same precision, same image: the float64 genome plan and its layerized dense network agree to
1e-12. float32 backends (numpy, JAX, both population strategies, dense) sit within float32
rounding of it: 2e-5 on 99.9% of values, 1e-4 everywhere. Deep genomes amplify rounding: the
plain float32 numpy plan itself is 1.4e-5 off on PlaneOnRunway, so 1e-5 everywhere is not a
float32 bound.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferlab.dense import DenseCPPN, forward, rgb_from_outputs
from ferlab.engine import (batch_weights_fn, render, render_genome, render_population,
                           render_weight_variants, weights_fn)
from ferlab.genome import GenomeError
from ferlab.layerize import layerize
from ferlab.network import DenseNetwork, GenomeNetwork, Network, as_network, load_network
from ferlab.picbreeder import load_genome
from genomes import genomes, tiny

from conftest import CPPNX_NAMES

RES = 40


def close_f32(img, ref, what=""):
    err = np.abs(np.asarray(img, np.float64) - ref)
    assert err.max() < 1e-4 and np.quantile(err, 0.999) < 2e-5, (what, err.max(), np.quantile(err, 0.999))


@pytest.fixture(scope="module")
def real(shared):
    """The ten real genomes: the paper's two and the eight CPPN-X files."""
    paths = [shared / "picbreeder" / "fer" / f"{n}.zip" for n in ("skull", "butterfly")]
    paths += [shared / "picbreeder" / "cppnx" / f"{n}.xml" for n in CPPNX_NAMES]
    gs = [load_genome(p) for p in paths]
    return gs, [render_genome(g, RES).image for g in gs]


def test_float64_genome_and_its_dense_network_agree(real):
    gs, refs = real
    for g, ref in zip(gs, refs):
        np.testing.assert_allclose(layerize(g).render(RES, dtype=np.float64).image, ref, atol=1e-12)


def test_float32_numpy_and_dense_backends_match(real):
    gs, refs = real
    for g, ref in zip(gs, refs):
        close_f32(render_genome(g, RES, dtype=np.float32).image, ref, "numpy f32")
        close_f32(layerize(g).render(RES).image, ref, "dense f32")


def test_jax_backend_matches(real):
    gs, refs = real
    for g, ref in list(zip(gs, refs))[:3]:  # a compile each: three genomes are enough
        close_f32(weights_fn(g, RES)(np.asarray(g.weights, np.float32)), ref, "jax")


def test_jax_backend_matches_on_the_other_genomes(real):
    """The rest, which bring cos and sigmoid (XLA CPU renders take sin/cos as polynomials)."""
    gs, refs = real
    for g, ref in list(zip(gs, refs))[3:]:
        close_f32(weights_fn(g, RES)(np.asarray(g.weights, np.float32)), ref, "jax")


def test_jitted_render_composes_with_jit_vmap_and_grad(real):
    import jax
    import jax.numpy as jnp

    g = real[0][1]  # the butterfly: colour, sin
    f, (batched, _) = weights_fn(g, 16), batch_weights_fn(g, 16)
    ws = jnp.asarray(np.asarray(g.weights)[None] * np.array([[1.0], [0.9]]), jnp.float32)
    want = np.asarray(batched(ws))
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(f))(ws)), want, atol=1e-6)
    np.testing.assert_allclose(np.asarray(f(ws[1])), want[1], atol=1e-6)
    grad = jax.grad(lambda w: f(w).mean())(ws[0])
    assert grad.shape == (len(g.links),) and np.isfinite(np.asarray(grad)).all()


def test_polynomial_sin_and_cos_match_float64():
    import jax
    import jax.numpy as jnp

    from ferlab.activations import cos_poly, sin_poly

    rng = np.random.default_rng(0)
    z = np.concatenate([rng.uniform(-lim, lim, 20000) for lim in (1.0, 10.0, 1e3, 1e6)]
                       + [np.arange(-64, 65) * np.pi / 4]).astype(np.float32)
    for poly, exact in ((sin_poly, np.sin), (cos_poly, np.cos)):
        got = np.asarray(jax.jit(lambda v: poly(v, jnp))(z), np.float64)
        # numpy's own float32 sin is 7e-8 off; the polynomial may be a little worse, no more.
        assert np.abs(got - exact(z.astype(np.float64))).max() < 2e-7, poly.__name__
        huge = np.asarray(jax.jit(lambda v: poly(v, jnp))(np.float32([3e9, -1e30, 1e38])))
        assert np.all(np.abs(huge) <= 1.0)  # beyond float32's meaning, still a sine's range
        assert np.isnan(np.asarray(poly(jnp.float32([np.inf, np.nan]), jnp))).all()
        # Other dtypes take the exact function.
        assert poly(np.float64([0.5]), np) == exact(0.5)


def test_colour_formula_agrees_in_jax_numpy_float32_and_float64():
    import jax.numpy as jnp

    from ferlab.colour import to_rgb

    rng = np.random.default_rng(1)
    h, s, v = (rng.uniform(-3, 3, (64, 64)).astype(np.float32) for _ in range(3))
    h[0, :8] = [-1.0, 0.0, 1.0, -0.5, 0.5, 1 / 6, -1e-9, 2.0]  # sector edges and the wrap
    ref = to_rgb(*(a.astype(np.float64) for a in (h, s, v)))
    assert ref.shape == (64, 64, 3) and ref.dtype == np.float64
    f32 = to_rgb(h, s, v)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, ref, atol=1e-6)
    np.testing.assert_allclose(np.asarray(to_rgb(*(jnp.asarray(a) for a in (h, s, v)), jnp)), ref, atol=1e-6)
    # the standard conversion at the primaries: hue 0, 1/3, 2/3 -> red, green, blue
    prim = to_rgb(np.array([-1.0, -2 / 3, -1 / 3]), np.ones(3), np.ones(3))
    np.testing.assert_allclose(prim, np.eye(3), atol=1e-12)


def test_weight_variants_match_jax_vmap_and_single_renders(real):
    g = real[0][0]  # the skull
    rng = np.random.default_rng(0)
    ws = np.asarray(g.weights) + rng.normal(0, 1, (6, len(g.links))) * (rng.random((6, len(g.links))) < 0.2)
    frames = render_weight_variants(g, ws, 24)
    fn, _ = batch_weights_fn(g, 24)
    vmapped = np.asarray(fn(ws.astype(np.float32)))
    for f, v, w in zip(frames, vmapped, ws):
        ref = render_genome(g.with_weights(w), 24).image
        # Perturbed weights push some nodes into steeper regions: float32 bound only.
        assert np.abs(f - ref).max() < 1e-4 and np.abs(v - ref).max() < 1e-4
        assert np.abs(f - ref).mean() < 2e-6
    with pytest.raises(ValueError, match="weights must be"):
        render_weight_variants(g, ws[:, :-1], 24)


@pytest.mark.parametrize("strategy", ["grouped", "padded"])
def test_population_strategies_match_each_genome_alone(real, strategy):
    gs, refs = real
    imgs = render_population(gs, RES, dtype=np.float32, strategy=strategy)
    assert imgs.shape == (len(gs), RES, RES, 3) and imgs.dtype == np.float32
    for img, ref, g in zip(imgs, refs, gs):
        close_f32(img, ref, (strategy, g.meta.get("name")))
    u8 = render_population(gs, RES, strategy=strategy)
    assert u8.dtype == np.uint8
    # Truncation: flat regions sit on byte boundaries (0.6·255 = 153), where float32 rounding
    # may land one level lower than float64; never more.
    diff = np.abs(u8.astype(int) - np.clip(np.stack(refs) * 255, 0, 255).astype(int))
    assert diff.max() <= 1
    assert np.abs(u8.astype(int) - np.clip(imgs * np.float32(255), 0, 255).astype(int)).max() <= 1


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(genomes(), min_size=1, max_size=12))
def test_grouped_population_matches_on_random_genomes(gs):
    imgs = render_population(gs, 16, dtype=np.float32)
    for img, g in zip(imgs, gs):
        close_f32(img, render_genome(g, 16).image)


@pytest.fixture
def helper_process():
    from ferlab.engine import threads

    if not threads.start_process_worker():
        pytest.skip("one core: no helper process")
    yield threads
    threads.stop_process_worker()


def test_the_helper_process_renders_its_half_of_the_pixels_the_same(real, helper_process):
    from ferlab.engine.population.grouped import render_grouped

    real = real[0]
    whole = render_grouped(real, 48, None, 1, np.float32)
    for dtype in (np.float32, np.uint8):
        got = render_grouped(real, 48, None, 2, dtype, split=True)
        ref = whole if dtype == np.float32 else (whole * 255).astype(np.uint8)
        assert np.abs(got.astype(np.float64) - ref).max() <= (1e-5 if dtype == np.float32 else 1)
    # a window and a non-square canvas: the half is cut in pixel order, rows of any width
    whole = render_grouped(real, (40, 17), (-0.5, 1.0, -1.0, 0.2), 1, np.float32)
    got = render_grouped(real, (40, 17), (-0.5, 1.0, -1.0, 0.2), 2, np.float32, split=True)
    assert np.abs(got - whole).max() <= 1e-5


def test_a_dead_helper_process_costs_time_not_images(real, helper_process):
    from ferlab.engine.population.grouped import render_grouped

    real = real[0]
    whole = render_grouped(real, 48, None, 1, np.float32)
    worker = helper_process.process_worker()
    for p in list(worker._processes.values()):
        p.kill()
        p.join()
    got = render_grouped(real, 48, None, 2, np.float32, split=True)
    assert np.abs(got - whole).max() <= 1e-5
    assert helper_process.process_worker() is None  # dropped: renders are in-process again
    got = render_grouped(real, 48, None, 2, np.float32, split=True)
    assert np.abs(got - whole).max() <= 1e-5


def test_a_killed_parent_takes_its_helper_process_with_it(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "serve_like.py"
    script.write_text(
        "import time\n"
        "if __name__ == '__main__':\n"
        "    from ferlab.engine import threads\n"
        "    assert threads.start_process_worker()\n"
        "    print(*threads.process_worker()._processes, flush=True)\n"
        "    time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        helper = int(parent.stdout.readline())
        os.kill(helper, 0)  # alive
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            return
        try:  # reap it if it happens to be our child (it is not: it was the parent's)
            os.waitpid(helper, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    os.kill(helper, signal.SIGKILL)
    raise AssertionError("the helper process outlived its killed parent")


def test_scratch_buffers_pass_between_threads_and_big_ones_are_let_go():
    import threading

    from ferlab.engine.population.grouped import _Scratch, _workspace

    scratch, seen = _Scratch(keep_bytes=4000), []

    def render(rows):
        with scratch.use():
            buf = _workspace("values", (rows, 10))
            buf[:] = rows  # written through: a real view of the kept buffer
            seen.append((buf.base if buf.base is not None else buf, float(buf.sum())))

    for rows in (20, 10, 90):  # each on a new thread, one after another
        t = threading.Thread(target=render, args=(rows,))
        t.start()
        t.join()
    (a, sa), (b, sb), (c, sc) = seen
    assert (sa, sb, sc) == (4000.0, 1000.0, 81000.0)
    assert b is a  # the second thread got the first one's warm buffer
    assert c is not a and c.size >= 900  # grown for 90 rows: 3600 bytes, kept
    render(200)  # 8000 bytes: over keep_bytes, let go after use
    with scratch.use():
        assert _workspace("values", (1, 1)).base.size < 2000


def test_population_rejects_bad_input_and_handles_empty():
    bad = tiny().with_weights([float("nan")])
    with pytest.raises(GenomeError, match="non-finite"):
        render_population([tiny(), bad], 8)
    assert render_population([], 8).shape == (0, 8, 8, 3)
    with pytest.raises(ValueError, match="strategy"):
        render_population([tiny()], 8, strategy="magic")
    # Unchecked rendering (children of valid parents) still stops on a cycle instead of looping.
    loop = tiny((("x", "h0", 1.0), ("h0", "h1", 1.0), ("h1", "h0", 0.5), ("h1", "ink", 1.0)))
    with pytest.raises(GenomeError, match="cycle"):
        render_population([tiny(), loop], 8, validate=False)


def test_dense_backends_match(shared):
    import jax
    import jax.numpy as jnp

    net = DenseCPPN.load(shared / "reference" / "sgd_skull.npz")
    ref = net.render(RES, dtype=np.float64).image
    close_f32(net.render(RES).image, ref, "dense numpy f32")
    x = np.asarray(net.render(RES, features=True, dtype=np.float32).layers[0]).reshape(4, -1).T
    out, _ = jax.jit(lambda k, x: forward(net.arch, k, x, jnp))(
        [jnp.asarray(k, jnp.float32) for k in net.kernels], jnp.asarray(x))
    close_f32(np.asarray(rgb_from_outputs(out, jnp)).reshape(RES, RES, 3), ref, "dense jax")


def test_networks_answer_the_same_questions_for_both_kinds(shared):
    g = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    dense = layerize(g)
    nets = [as_network(g), as_network(dense)]
    assert isinstance(nets[0], GenomeNetwork) and isinstance(nets[1], DenseNetwork)
    assert all(isinstance(n, Network) for n in nets) and as_network(nets[0]) is nets[0]
    images = [n.render(RES) for n in nets]
    np.testing.assert_allclose(images[0], images[1], atol=1e-5)
    np.testing.assert_array_equal(images[0], render(g, RES))
    for net in nets:
        w = net.weights()
        assert w.shape == (net.n_weights,)
        # Changing one weight through the flat vector changes the picture; restoring it restores.
        i = int(np.flatnonzero(w)[0])
        changed = net.with_weights(np.where(np.arange(w.size) == i, w[i] + 2.0, w))
        assert np.abs(changed.render(RES) - images[0]).max() > 1e-3
        np.testing.assert_allclose(net.with_weights(w).render(RES), net.render(RES), atol=1e-6)
        names, maps = zip(*net.features(24))
        assert maps[0].shape == (4, 24, 24)  # x, y, d, bias first
    # Provenance: the dense weight traces back to the genome link it was layerized from.
    li = 5
    link = g.links[li]
    assert "link" in nets[0].provenance(li) and f"{link.id[0]}:{link.id[1]}" in nets[0].provenance(li)
    k, r, c = next((k, *map(int, np.argwhere(o == li)[0])) for k, o in enumerate(dense.origin)
                   if (o == li).any())
    flat = sum(a * b for a, b in dense.arch.kernel_shapes()[:k]) + r * dense.arch.width + c
    assert nets[1].provenance(flat).endswith(f"from link index {li}")
    assert nets[1].weights()[flat] == pytest.approx(dense.kernels[k][r, c])
    with pytest.raises(TypeError, match="not a network"):
        as_network("skull.zip")
    loaded = load_network(shared / "reference" / "sgd_skull.npz")
    assert loaded.kind == "dense" and loaded.name == "sgd_skull"


def test_networks_say_where_they_come_from_without_being_asked_their_kind(shared):
    fer = load_genome(shared / "picbreeder" / "fer" / "skull.zip")  # no CPPN-X labels
    cppnx = load_genome(shared / "picbreeder" / "cppnx" / "576_Skull.xml")
    sgd = DenseCPPN.load(shared / "reference" / "sgd_skull.npz")
    nets = {"fer": as_network(fer), "cppnx": as_network(cppnx),
            "layerized": as_network(layerize(cppnx)), "sgd": as_network(sgd)}
    assert {k: n.from_genome for k, n in nets.items()} == {
        "fer": True, "cppnx": True, "layerized": True, "sgd": False}
    assert {k: n.labelled for k, n in nets.items()} == {
        "fer": False, "cppnx": True, "layerized": False, "sgd": False}
    assert nets["cppnx"].describe() == "genome, 23 nodes, 57 links"
    assert nets["layerized"].describe().endswith(", layerized") and "5478 weights" in nets["sgd"].describe()
    # The dense form: a genome layerized (same image), a dense network itself.
    assert nets["sgd"].to_dense() is sgd
    np.testing.assert_allclose(nets["cppnx"].to_dense().render(RES).image, render(cppnx, RES), atol=1e-5)
    facts = nets["cppnx"].facts()
    assert facts["kind"] == "genome" and facts["labelled_links"] == 57 and facts["depth"] == 11
    assert nets["sgd"].facts()["nonzero_params"] == sum(int((k != 0).sum()) for k in sgd.kernels)


def test_paper_and_kernel_orders_are_distinct_names(shared):
    net = DenseCPPN.load(shared / "reference" / "sgd_skull.npz")
    paper, kernel = net.paper_weights(), net.kernel_weights()
    assert sorted(paper) == sorted(kernel) and not np.array_equal(paper, kernel)
    k, r, c = net.arch.flat_to_lrc(4371)
    assert paper[4371] == net.kernels[k][r, c]
    np.testing.assert_array_equal(net.with_kernel_weights(kernel).kernel_weights(), kernel)


def test_in_place_colour_pass_equals_the_reference_formula():
    from ferlab.colour import to_rgb, to_rgb_inplace

    rng = np.random.default_rng(1)
    hsv = rng.normal(0, 3, (3, 5, 64)).astype(np.float32)
    hsv[0, 0, :8] = [-1e-9, 0.0, 1.0, -1.0, 2.5, -0.5, 1e6, -3.999999]  # hue wrap edges
    hsv[2, 0, :4] = [-2.0, 0.0, 1.0, 5.0]  # value is |v| clipped
    ref = to_rgb(*hsv.astype(np.float64))
    got = np.moveaxis(to_rgb_inplace(*hsv.copy()), 0, -1)
    np.testing.assert_allclose(got, ref, atol=2e-6)
    np.testing.assert_allclose(np.moveaxis(to_rgb_inplace(*hsv.copy(), 255.0), 0, -1), ref * 255, atol=5e-4)
