"""Adaptability probes: coherence, variants, fine-tuning, continual, CLI, report."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from ferlab import load_genome
from ferlab.adapt import (FINETUNE, VariantError, as_network, coherence, continual, descriptor,
                          finetune, learning_probe, make_variants,
                          neighbourhood, plasticity, random_network, roughness, summarise)
from ferlab.metrics.literature import effective_rank
from ferlab.adapt.images import mse
from ferlab.cli import main
from ferlab.dense import ArchError, DenseCPPN

RES = 32
RECIPE = dataclasses.replace(FINETUNE, res=RES, steps=30, chunk=10)


@pytest.fixture(scope="module")
def skull(shared):
    return load_genome(shared / "picbreeder/cppnx/576_Skull.xml")


@pytest.fixture(scope="module")
def evolved(skull):
    return as_network(skull)


@pytest.fixture(scope="module")
def sgd(shared):
    return DenseCPPN.load(shared / "reference/sgd_skull.npz")


# -- images ---------------------------------------------------------------------------------
def test_coherence_separates_pictures_from_noise_and_blanks(evolved):
    img = evolved.render(RES).image
    rng = np.random.default_rng(0)
    noise = rng.random((RES, RES, 3))
    grey = np.full((RES, RES, 3), 0.5)
    assert roughness(noise)[0] > 0.6 and roughness(img)[0] < 0.3
    d = descriptor(np.stack([img, 0.5 * img + 0.2]))
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(d[0], d[1], atol=1e-6)  # blind to contrast and offset
    c = coherence(img, np.stack([img, noise, grey, img[:, ::-1]]))
    assert c["coherent"].tolist()[:3] == [True, False, False]
    assert c["similarity"][0] == pytest.approx(1.0)


def test_render_dense_batch_equals_each_networks_render(evolved, sgd):
    from ferlab.engine import render_dense_batch

    stacks = [np.stack([a, b]) for a, b in zip(sgd.kernels, random_network(sgd.arch, 1).kernels)]
    imgs = render_dense_batch(sgd.arch, stacks, RES, chunk=4)
    np.testing.assert_allclose(imgs[0], sgd.render(RES).image, atol=2e-4)
    np.testing.assert_allclose(imgs[1], random_network(sgd.arch, 1).render(RES).image, atol=2e-4)


# -- neighbourhood --------------------------------------------------------------------------
def test_neighbourhood_is_deterministic_and_degrades_with_radius(evolved):
    a = neighbourhood(evolved, radii=(0.0, 0.02, 3.0), n=6, res=RES, seed=1)
    b = neighbourhood(evolved, radii=(0.0, 0.02, 3.0), n=6, res=RES, seed=1)
    np.testing.assert_array_equal(a.similarity, b.similarity)
    np.testing.assert_array_equal(a.examples, b.examples)
    assert a.coherent_fraction[0] == 1.0 and a.diversity[0] == pytest.approx(0.0, abs=1e-6)
    assert a.coherent_fraction[2] < a.coherent_fraction[1]
    c = neighbourhood(evolved, radii=(0.02,), n=6, res=RES, seed=2)
    assert not np.array_equal(c.similarity[0], a.similarity[1])
    with pytest.raises(ValueError, match="radii"):
        neighbourhood(evolved, radii=(-0.1,), n=2, res=RES)


# -- variants -------------------------------------------------------------------------------
def test_variants_differ_from_the_original_by_their_stated_amount(skull, evolved):
    vs = {v.name: v for v in make_variants(evolved, res=RES, genome=skull, labels=["Mouth open close"],
                                           delta=0.5, photometric=("invert",))}
    orig = vs["original"].image
    np.testing.assert_allclose(orig, evolved.render(RES, dtype=np.float64).image, atol=1e-6)
    # Exact transforms: the mirrored network is the mirrored picture; inverted value is 1 - v.
    np.testing.assert_allclose(vs["mirror"].image, orig[:, ::-1], atol=1e-5)
    np.testing.assert_allclose(vs["invert"].image, 1.0 - orig, atol=1e-5)
    for v in vs.values():
        assert v.distance == pytest.approx(mse(v.image, orig), rel=1e-6, abs=1e-12)
        if v.kind != "identity":
            assert v.distance > 1e-3, v.name
    assert vs["Mouth open close +0.5"].note.startswith("link ")


def test_variants_a_genome_cannot_make_are_one_line_errors(shared, skull, evolved):
    fer = load_genome(shared / "picbreeder/fer/skull.zip")  # no CPPN-X labels
    cases = [(dict(genome=skull, labels=["Wings top"]), "no link of the genome is labelled 'Wings top'"),
             (dict(genome=fer, labels=["Mouth open close"]), "no CPPN-X link labels"),
             (dict(labels=["Face width"]), "need the CPPN-X genome"),
             (dict(geometric=(), photometric=("hue",)), "is the original picture"),
             (dict(geometric=("flip",)), "unknown geometric variant")]
    for kw, msg in cases:
        with pytest.raises(VariantError, match=msg) as e:
            make_variants(evolved, res=RES, **kw)
        assert "\n" not in str(e.value)


# -- learning and continual -----------------------------------------------------------------
def test_finetune_to_its_own_image_needs_zero_steps_and_is_deterministic(evolved, sgd):
    for net in (evolved, sgd, random_network(sgd.arch, 0)):
        r = finetune(net, net.render(RES).image, RECIPE)
        assert r.steps_to_target == 0 and r.start_mse < 1e-8
    img = make_variants(sgd, res=RES, geometric=("shift",), photometric=())[1].image
    a, b = finetune(sgd, img, RECIPE), finetune(sgd, img, RECIPE)
    np.testing.assert_array_equal(a.curve, b.curve)
    assert a.curve[-1, 1] < 0.5 * a.curve[0, 1]  # it learns
    with pytest.raises(ValueError, match="trains at 32x32"):
        finetune(sgd, np.zeros((16, 16, 3)), RECIPE)


def test_learning_probe_refuses_mismatched_architectures(shared, evolved):
    other = DenseCPPN.load(shared / "reference/picbreeder_butterfly.npz")
    vs = make_variants(evolved, res=RES, geometric=(), photometric=("invert",))
    with pytest.raises(ArchError, match="different architectures") as e:
        learning_probe({"a": [evolved], "b": [other]}, vs, RECIPE)
    assert "\n" not in str(e.value)


def test_summary_counts_unreached_runs_as_the_budget():
    rows = [{"group": "g", "variant": "v", "variant_distance": 0.1, "steps": s, "seconds": t,
             "final_mse": f} for s, t, f in ((10, 0.5, 1e-3), (None, None, 3e-3))]
    (s,) = summarise(rows, budget=30)
    assert (s["n"], s["reached"], s["steps_mean"], s["steps_std"]) == (2, 1, 20.0, 10.0)
    assert s["seconds_mean"] == 0.5 and s["final_mse_mean"] == pytest.approx(2e-3)


def test_continual_forgetting_and_plasticity(sgd):
    a = sgd.render(RES).image
    b = make_variants(sgd, res=RES, geometric=("mirror",), photometric=())[1].image
    r = continual(sgd, a, b, RECIPE)
    assert r.learn_a_steps == 0
    # Forgetting is measured, not assumed: learning B moved the network off A by what it says.
    assert r.forgetting == pytest.approx(r.mse_a_after_b - r.mse_a_learned)
    assert r.mse_a_after_b > r.mse_a_learned and r.mse_a_relearned < r.mse_a_after_b
    again = continual(sgd, a, b, RECIPE)
    assert again.row() == r.row()
    same = continual(sgd, a, a, RECIPE)
    assert abs(same.forgetting) < 1e-3 and same.relearn_steps == 0


def test_plasticity_diagnostics():
    m = np.zeros((40, 5))
    m[:20, 0], m[20:, 1], m[::2, 2] = 1.0, 1.0, 1.0
    assert 1.0 < effective_rank(m) <= 3.0 and effective_rank(np.ones((10, 4))) == 0.0
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((50, 4)))
    assert effective_rank(q - q.mean(0)) == pytest.approx(4.0, rel=0.05)
    net = random_network("3;identity:2,sin:2", 0)
    ks = [np.array(k) for k in net.kernels]
    ks[1][:, 0] = 0.0  # layer 2's first unit gets no input: a constant map
    p = plasticity(net.with_kernels(ks), res=16)
    assert p["dead_fraction"] == pytest.approx(1 / 12)
    assert plasticity(net, res=16)["dead_fraction"] == 0.0


# -- command and report ---------------------------------------------------------------------
def test_cli_adapt_bad_input_is_one_line_and_keeps_files(shared, tmp_path, capsys):
    skull_x = str(shared / "picbreeder/cppnx/576_Skull.xml")
    out = tmp_path / "adapt.html"
    out.write_text("keep me")
    cases = [[skull_x, str(shared / "reference/picbreeder_butterfly.npz")],
             [skull_x, "--label", "Wings top"],
             [skull_x, "--probes", "neighbourhood,dreams"],
             [skull_x, "--steps", "0"],
             [skull_x, "--continual-b", "nonesuch", "--probes", "continual"],
             [skull_x, "--json", str(tmp_path / "no" / "rows.json")],
             [str(tmp_path / "missing.xml")]]
    for extra in cases:
        capsys.readouterr()
        assert main(["adapt", *extra, "-o", str(out), "--res", "16"]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert err.startswith("ferlab adapt: error:") and "\n" not in err, err
    assert out.read_text() == "keep me"
    assert main(["adapt", skull_x, "-o", str(tmp_path / "a.png")]) == 2


def test_cli_adapt_writes_a_self_contained_report(shared, tmp_path):
    out, js = tmp_path / "adapt.html", tmp_path / "rows.json"
    rc = main(["adapt", str(shared / "picbreeder/cppnx/576_Skull.xml"), str(shared / "reference/sgd_skull.npz"),
               "-o", str(out), "--label", "Mouth open close", "--res", "16", "--steps", "10",
               "--neighbours", "3", "--radii", "0.02,0.2", "--random", "1", "--json", str(js)])
    assert rc == 0
    page = out.read_text()
    for sec in ("neighbourhood", "variants", "learning", "continual", "settings"):
        assert f'<section id="{sec}">' in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    rows = json.loads(js.read_text())
    # 3 networks (evolved, SGD, 1 random) × 8 variants (original, ±label, 4 geometric, invert)
    assert len(rows["learning"]) == 3 * 8 and len(rows["continual"]) == 3
    assert {r["group"] for r in rows["learning"]} == {"evolved", "trained", "random"}
    assert [r["steps"] for r in rows["learning"] if r["variant"] == "original" and r["group"] != "random"] == [0, 0]
