"""FER metrics: Picbreeder < SGD on the paper's networks, determinism, the formulas on known
inputs, and agreement with the CPPN-X human labels."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import CPPNX_NAMES
from ferlab import metrics as M
from ferlab.cli import main
from ferlab.files import load_any
from ferlab.layerize import layerize
from ferlab.picbreeder import load_genome
from ferlab.render import compile_genome

RES, WEIGHTS, DIRS = 24, 256, 6
#: Metrics asserted Picbreeder < SGD. sweep_roughness is in fer_score too, but its butterfly
#: margin is small (2.56 vs 2.64 at 32²), so it is reported, not asserted, here.
RANKED = ("active_fraction", "symmetry_blindness", "direction_symmetry_blindness",
          "layer_dimensionality", "fer_score")


@pytest.fixture(scope="module")
def reference_metrics(shared):
    out = {}
    for kind in ("picbreeder", "sgd"):
        for image in ("skull", "butterfly"):
            net = load_any(shared / f"reference/{kind}_{image}.npz")
            out[kind, image] = M.fer_metrics(net, res=RES, seed=0, max_weights=WEIGHTS, n_directions=DIRS)
    return out


@pytest.mark.parametrize("image", ["skull", "butterfly"])
@pytest.mark.parametrize("metric", RANKED)
def test_picbreeder_is_less_fractured_than_sgd(reference_metrics, image, metric):
    pic, sgd = reference_metrics["picbreeder", image], reference_metrics["sgd", image]
    assert pic[metric] < sgd[metric], (metric, image, pic[metric], sgd[metric])


def test_fer_score_is_the_documented_mean_in_unit_interval(reference_metrics):
    for m in reference_metrics.values():
        terms = [m["active_fraction"], m["symmetry_blindness"], m["direction_symmetry_blindness"],
                 min(1.0, m["sweep_roughness"] / 4), m["layer_dimensionality"]]
        assert m["fer_score"] == pytest.approx(np.mean(terms))
        assert 0.0 <= m["fer_score"] <= 1.0
        assert m["n_swept"] == WEIGHTS


def test_metrics_are_deterministic_with_a_seed(shared, reference_metrics):
    net = load_any(shared / "reference/sgd_skull.npz")
    kw = dict(res=RES, max_weights=WEIGHTS, n_directions=DIRS)
    assert M.fer_metrics(net, seed=0, **kw) == reference_metrics["sgd", "skull"]
    other = M.fer_metrics(net, seed=4, **kw)
    assert other["symmetry_blindness"] != reference_metrics["sgd", "skull"]["symmetry_blindness"]


def test_genome_is_measured_as_its_layerized_network(shared):
    g = load_genome(shared / "picbreeder/fer/skull.zip")
    kw = dict(res=RES, seed=1, max_weights=WEIGHTS, n_directions=2)
    assert M.fer_metrics(g, **kw) == M.fer_metrics(layerize(g), **kw)


def test_symmetry_blindness_on_known_changes():
    rng = np.random.default_rng(0)
    half = rng.standard_normal((8, 16, 8, 3))
    sym = np.concatenate([half, half[:, :, ::-1]], axis=2)
    anti = np.concatenate([half, -half[:, :, ::-1]], axis=2)
    noise = rng.standard_normal((8, 16, 16, 3))
    for d, expect in ((sym, 0.0), (anti, 0.0)):
        b = M.symmetry_blindness(M.antisymmetric_energy(d), M._energy(d))
        np.testing.assert_allclose(b, expect, atol=1e-12)
    b = M.symmetry_blindness(M.antisymmetric_energy(noise), M._energy(noise))
    assert 0.8 < b.mean() <= 1.0


def test_roughness_scale_white_noise_is_about_four_and_smooth_is_small():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((4, 64, 64, 3))
    r = M.gradient_energy(noise) / M._energy(noise)
    assert np.all(np.abs(r - 4) < 0.3)
    y, x = np.mgrid[0:64, 0:64] / 64
    smooth = np.repeat(np.sin(2 * np.pi * x)[None, :, :, None], 3, axis=-1)
    assert (M.gradient_energy(smooth) / M._energy(smooth))[0] < 0.05


def test_participation_ratio_counts_independent_maps():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((3, 4096))
    maps = np.concatenate([base, base + 1e-9 * rng.standard_normal((3, 4096)), np.ones((2, 4096))])
    assert M.participation_ratio(base) == pytest.approx(3, abs=0.1)
    # Copies do not add dimensions (PR of 3 doubled maps is still ~3); constants are dropped.
    assert M.participation_ratio(maps) == pytest.approx(3, abs=0.1)


def test_roc_auc_matches_pair_counting_with_ties():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 5, 200).astype(float)
    pos = rng.random(200) < 0.3 + 0.1 * scores
    p, n = scores[pos], scores[~pos]
    brute = ((p[:, None] > n[None]).sum() + 0.5 * (p[:, None] == n[None]).sum()) / (len(p) * len(n))
    assert M.roc_auc(scores, pos) == pytest.approx(brute)
    assert M.roc_auc([0.1, 0.9], [False, True]) == 1.0
    with pytest.raises(ValueError):
        M.roc_auc([1, 2], [True, True])


@pytest.fixture(scope="module")
def cppnx(shared):
    return [load_genome(shared / f"picbreeder/cppnx/{n}.xml") for n in CPPNX_NAMES]


def test_effect_similarity_beats_the_pixel_baseline_on_human_labels(cppnx):
    base = M.label_auc(cppnx, "baseline", res=64)
    ours = M.label_auc(cppnx, "effect", res=64)
    assert set(ours["per_genome"]) == set(CPPNX_NAMES)
    assert 0.70 < base["pooled"] < 0.76  # the reference point: about 0.73
    assert ours["pooled"] >= base["pooled"] + 0.05
    better = sum(ours["per_genome"][n] > base["per_genome"][n] for n in CPPNX_NAMES)
    assert better >= 7


def test_node_changes_are_unit_maps_of_downstream_nodes_only(cppnx):
    g = cppnx[CPPNX_NAMES.index("745_LetterG")]
    f = M.node_changes(g, res=64)
    assert f.shape[:3] == (len(g.links), 2, len(g.nodes) - 4) and f.shape[3:] == (32, 32)
    norms = np.sqrt((f ** 2).sum(axis=(3, 4)))
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-5)  # every reached node weighs the same
    nodes = compile_genome(g).node_ids[4:]
    children = {n.id: {l.target for l in g.links if l.source == n.id} for n in g.nodes}
    for i, link in enumerate(g.links):
        down, stack = {link.target}, [link.target]
        while stack:
            for c in children[stack.pop()] - down:
                down.add(c)
                stack.append(c)
        reached = {nodes[k] for k in np.flatnonzero(norms[i].max(axis=0) > 0)}
        assert link.target in reached and reached <= down


def test_context_is_half_direct_half_profile_correlation_over_other_links():
    # Links 0 and 1 are not alike directly, but both resemble links 2-3 and not 4-5.
    s = np.array([[1.0, 0.1, 0.9, 0.8, 0.0, 0.1],
                  [0.1, 1.0, 0.8, 0.9, 0.1, 0.0],
                  [0.9, 0.8, 1.0, 0.7, 0.2, 0.0],
                  [0.8, 0.9, 0.7, 1.0, 0.0, 0.2],
                  [0.0, 0.1, 0.2, 0.0, 1.0, 0.6],
                  [0.1, 0.0, 0.0, 0.2, 0.6, 1.0]])
    c = M.with_context(s)
    assert np.allclose(c, c.T) and np.allclose(np.diag(c), 1.0)
    assert c[0, 1] > s[0, 1] + 0.3 and c[0, 4] < s[0, 4]
    for i in range(6):
        for j in range(6):
            if i != j:
                k = [x for x in range(6) if x not in (i, j)]
                r = np.corrcoef(s[i, k], s[j, k])[0, 1]
                assert c[i, j] == pytest.approx(0.5 * s[i, j] + 0.5 * r)


def test_downstream_overlap_is_jaccard_of_reachable_nodes(cppnx):
    g = cppnx[CPPNX_NAMES.index("576_Skull")]
    j = M.downstream_overlap(g)
    assert np.allclose(j, j.T) and np.allclose(np.diag(j), 1.0)
    outs = set(g.output_ids().values())
    # Two links into the same node act through exactly the same nodes.
    for a, la in enumerate(g.links):
        for b, lb in enumerate(g.links):
            if la.target == lb.target:
                assert j[a, b] == 1.0
    into_out = [i for i, l in enumerate(g.links) if l.target in outs]
    assert all(j[i].min() > 0 for i in into_out)  # every link reaches the output


def test_cli_metrics_json_and_errors(shared, capsys, tmp_path):
    net = str(shared / "reference/sgd_skull.npz")
    out = tmp_path / "m.json"
    assert main(["metrics", net, "--json", "--res", str(RES), "--max-weights", str(WEIGHTS), "--directions", "2",
                 "-o", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert 0 <= printed["fer_score"] <= 1 and set(M.SCORE_TERMS) <= set(printed)
    grey = str(shared / "picbreeder/cppnx/542_GhostFaceSpooky.xml")
    skull = str(shared / "picbreeder/cppnx/576_Skull.xml")
    assert main(["metrics", "--label-auc", grey, skull, "--json", "--res", "32"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) == {"per_genome", "pooled"}
    assert set(res["per_genome"]) == {"542_GhostFaceSpooky", "576_Skull"}
    assert 0.5 < res["pooled"] <= 1
    for argv in (["metrics", "--label-auc", str(shared / "picbreeder/fer/skull.zip")],
                 ["metrics", "--label-auc", net],
                 ["metrics"],
                 ["metrics", str(tmp_path / "nope.npz")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("ferlab metrics: error:") and "Traceback" not in err
