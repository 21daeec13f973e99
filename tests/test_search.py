"""ferlab.search: every arm runs, is deterministic per seed and resumes exactly; descriptors
and open-endedness measures on images with known answers; archived genomes are valid DAGs
that round-trip through Picbreeder XML; bad settings fail in one line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ferlab.picbreeder import genome_to_json, genome_to_xml, load_genome, parse_genome, same_graph
from ferlab.search import SearchConfig, load_checkpoint, run, run_search, save_checkpoint, start
from ferlab.search import descriptors as D
from ferlab.search.arms.random import random_genome
from ferlab.search.evaluate import render_population
from ferlab.search.measures import covering_radii, mean_nn, mean_pairwise, open_endedness
from ferlab.search.results import elites

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(res=32, batch=32, pop=16, bins=8, k=5)
BUDGET = 6 * 32


@pytest.fixture(scope="module")
def skull32(shared):
    return render_population([load_genome(shared / "picbreeder" / "fer" / "skull.zip")], 32)[0]


def _fingerprint(st) -> dict:
    """Everything a run produced, as comparable plain data."""
    return {
        "history": st.history, "evals": st.evals,
        "quality": st.grid.quality.tolist(), "desc": st.grid.desc.tolist(),
        "grid": [None if g is None else genome_to_json(g) for g in st.grid.genomes],
        "population": [genome_to_json(g) for g in st.population],
        "archive": [genome_to_json(g) for g in st.archive.genomes],
        "archive_emb": np.round(st.archive.embedding, 5).tolist(),
        "best": None if st.best_genome is None else genome_to_json(st.best_genome),
        "rng": st.rng.bit_generator.state,
    }


@pytest.mark.parametrize("arm", ["novelty", "map-elites", "target", "random"])
def test_arm_deterministic_and_resume_equals_uninterrupted(arm, skull32, tmp_path):
    cfg = SearchConfig(arm, seed=3, **SMALL)
    a = run_search(cfg, BUDGET, skull32)
    b = run_search(cfg, BUDGET, skull32)
    assert a.evals == BUDGET and len(a.history) == 6
    assert _fingerprint(a) == _fingerprint(b)
    other = run_search(SearchConfig(arm, seed=4, **SMALL), BUDGET, skull32)
    assert _fingerprint(other)["grid"] != _fingerprint(a)["grid"]

    ck = tmp_path / "ck.npz"
    half = run(start(cfg, skull32), BUDGET // 2, skull32, checkpoint=ck, checkpoint_every=100)
    assert half.evals == BUDGET // 2
    resumed = run(load_checkpoint(ck), BUDGET, skull32)
    assert _fingerprint(resumed) == _fingerprint(a)


def test_learned_embedding_novelty_resumes_exactly(tmp_path):
    cfg = SearchConfig("novelty", seed=1, embedding="ae", ae_every=2, ae_steps=20, **SMALL)
    full = run_search(cfg, BUDGET)
    ck = tmp_path / "ae.npz"
    run(start(cfg), 3 * 32, checkpoint=ck)
    resumed = run(load_checkpoint(ck), BUDGET)
    assert _fingerprint(resumed) == _fingerprint(full)
    assert full.archive.embedding.shape == (len(full.archive), 8)
    # The archive was re-embedded by the refitted autoencoder: not the untrained encoding.
    from ferlab.search import autoencoder
    fresh = autoencoder.encode(autoencoder.init(1)[0], full.archive.raw)
    assert not np.allclose(fresh, full.archive.embedding)


def test_novelty_and_map_elites_cover_more_than_random():
    """Visual coverage (mean pairwise pixel-embedding distance of what each arm illuminated),
    at equal budget, averaged over a fixed seed set."""
    spread, grid = {}, {}
    for arm in ("novelty", "map-elites", "random"):
        runs = [run_search(SearchConfig(arm, seed=s, res=32, batch=64, pop=32, bins=16), 20 * 64)
                for s in (1, 2, 3)]
        spread[arm] = np.mean([mean_pairwise(r.grid.embedding[r.grid.occupied]) for r in runs])
        grid[arm] = np.mean([r.grid.coverage for r in runs])
    for arm in ("novelty", "map-elites"):
        assert spread[arm] > spread["random"], (spread, grid)


def test_target_reduces_its_distance(skull32):
    st = run_search(SearchConfig("target", seed=0, **SMALL), 12 * 32, skull32)
    d = [h["best_distance"] for h in st.history]
    assert all(x >= y for x, y in zip(d, d[1:]))
    assert d[-1] < d[0] - 0.01
    assert st.pop_score[0] == pytest.approx(st.best_distance)
    img = render_population([st.best_genome], 32)[0]
    assert D.target_distance(img[None], skull32)[0] == pytest.approx(st.best_distance, abs=1e-5)


@pytest.mark.parametrize("arm", ["novelty", "map-elites", "target", "random"])
def test_archived_genomes_are_valid_dags_that_round_trip_xml(arm, skull32):
    st = run_search(SearchConfig(arm, seed=5, **SMALL), BUDGET, skull32)
    found = elites(st)
    assert {k for k, _, _ in found} >= {"grid", "best"}
    for _, g, _ in found:
        g.validate()
        back = parse_genome(genome_to_xml(g).encode())
        assert same_graph(g, back)


def test_random_genomes_have_the_asked_size():
    from ferlab.evolve import Innovations
    rng = np.random.default_rng(0)
    g, _ = random_genome(rng, Innovations(1), 12, 6)
    g.validate()
    assert sum(n.kind == "hidden" for n in g.nodes) == 12
    assert len(g.links) >= 4 + 2 * 12  # the starting links plus two per hidden node


# ----------------------------------------------------------------------------- descriptors
def _grid(res=64):
    v = np.linspace(-1, 1, res, dtype=np.float32)
    return np.meshgrid(v, v)


def test_descriptors_on_images_with_known_answers():
    x, y = _grid()
    blank = np.full((64, 64), 0.5, np.float32)
    mirror = np.exp(-4 * (x ** 2 + y ** 2)).astype(np.float32)     # symmetric both ways
    ramp = ((x + 1) / 2 * (y + 1) / 2).astype(np.float32)          # symmetric about neither axis
    noise = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    stripes = ((np.sin(np.pi / 4 * np.arange(64)) + 1) / 2)[None, :].repeat(64, 0).astype(np.float32)
    g = np.stack([blank, mirror, ramp, noise, stripes])
    rgb = np.repeat(g[..., None], 3, axis=-1)
    f = D.describe(rgb)
    assert f["symmetry"][1] > 0.99 and f["symmetry"][2] < 0.6
    assert f["complexity"][0] < 0.05 and f["complexity"][3] > 0.9
    assert f["complexity"][0] < f["complexity"][1] < f["complexity"][3]
    # pi/4 rad per pixel at 64² is pi/2 on the 32² analysis grid: 2 sin(pi/4) / pi of Nyquist.
    assert f["frequency"][4] == pytest.approx(2 * np.sin(np.pi / 4) / np.pi, abs=0.01)
    assert f["frequency"][0] == 0.0
    assert f["quality"][0] == 0.0 and f["quality"][3] < f["quality"][1]
    assert np.all(f["colourfulness"] < 1e-6)
    red = np.zeros((1, 64, 64, 3), np.float32)
    red[..., 0] = 1.0
    # Hasler & Suesstrunk on a flat red: sigma = 0, mu = |(1, 0.5)|, so M = 0.3 * sqrt(1.25).
    assert D.colourfulness(red)[0] == pytest.approx(0.3 * np.sqrt(1.25) / 0.5, rel=1e-5)
    checker = np.where(((np.indices((64, 64)).sum(0) // 8) % 2)[..., None] == 1,
                       np.float32([1, 0, 0]), np.float32([0, 0, 1]))[None]
    assert D.colourfulness(checker)[0] > D.colourfulness(red)[0]
    emb = f["embedding"]
    assert emb.shape == (5, 192)
    assert np.sqrt(((emb[:, None] - emb[None]) ** 2).sum(-1)).max() <= 1.0
    # Pooling equals the plain block mean.
    np.testing.assert_allclose(D.pool(rgb, 8), rgb.reshape(5, 8, 8, 8, 8, 3).mean(axis=(2, 4)), atol=1e-6)


# ------------------------------------------------------------------------------- measures
def test_open_endedness_measures_on_known_geometry():
    line = np.arange(11, dtype=np.float64)[:, None]                 # 0, 1, ..., 10 on a line
    assert mean_nn(line) == pytest.approx(1.0)
    assert mean_pairwise(np.array([[0.0], [3.0]])) == pytest.approx(3.0)
    r = covering_radii(line, 100)
    assert len(r) == 11 and r[0] == pytest.approx(5.0) and r[-1] == 0.0
    assert np.all(np.diff(r) <= 1e-12)
    assert r[1] == pytest.approx(5.0)   # second centre at an end still leaves the far end 5 away
    spread, tight = np.random.default_rng(0).random((50, 4)), np.random.default_rng(0).random((50, 4)) * 0.1
    a, b = open_endedness(spread), open_endedness(tight)
    assert a["mean_pairwise"] == pytest.approx(10 * b["mean_pairwise"])
    assert np.allclose(a["covering_radii"], 10 * np.array(b["covering_radii"]))


def test_picbreeder_reference_measures(shared):
    files = sorted((shared / "picbreeder" / "cppnx").glob("*.xml"))
    genomes = [load_genome(p) for p in files]
    imgs = render_population(genomes, 64)
    emb = D.pixel_embedding(imgs)
    m = open_endedness(emb)
    # Eight different pictures (two of them are ancestor/descendant pairs): clearly spread.
    assert m["n"] == 8 and m["mean_nn"] > 0.02 and m["mean_pairwise"] > m["mean_nn"]


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw, msg", [
    (dict(arm="bogus"), "unknown arm"), (dict(arm="novelty", res=50), "res must"),
    (dict(arm="novelty", measures=("symmetry", "symmetry")), "measures must"),
    (dict(arm="map-elites", embedding="ae"), "novelty only"), (dict(arm="novelty", batch=1), "batch"),
    (dict(arm="target", crossover=2.0), "crossover"), (dict(arm="novelty", seed=-1), "seed"),
])
def test_bad_configs_fail_in_one_line(kw, msg):
    with pytest.raises(ValueError, match=msg) as e:
        SearchConfig(**kw)
    assert "\n" not in str(e.value)


def test_target_arm_needs_a_matching_target(skull32):
    with pytest.raises(ValueError, match="needs a target"):
        start(SearchConfig("target", **SMALL))
    with pytest.raises(ValueError, match=r"\(32, 32, 3\)"):
        start(SearchConfig("target", **SMALL), np.zeros((16, 16, 3)))
    st = start(SearchConfig("novelty", **SMALL), skull32)
    with pytest.raises(ValueError, match="target differs"):
        run(st, 32, 1 - skull32)


def test_damaged_checkpoint_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable search checkpoint"):
        load_checkpoint(bad)
    st = run_search(SearchConfig("random", **SMALL), 32)
    good = save_checkpoint(st, tmp_path / "good.npz")
    assert load_checkpoint(good).evals == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "good.npz"]  # no temp files


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "ferlab", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_cli_run_store_resume_and_errors(tmp_path, shared, capsys):
    db, ck, out = tmp_path / "s.db", tmp_path / "ck.npz", tmp_path / "out"
    skull = str(shared / "picbreeder" / "fer" / "skull.zip")
    common = ["--res", "32", "--batch", "32", "--bins", "8", "--quiet", "--db", str(db)]
    r = _cli("search", "target", "--budget", "64", "--target", skull, "--checkpoint", str(ck),
             "--no-store", *common)
    assert r.returncode == 0, r.stderr
    r = _cli("search", "target", "--budget", "128", "--target", skull, "--checkpoint", str(ck),
             "--resume", "-o", str(out), *common)
    assert r.returncode == 0, r.stderr
    summ = json.loads(r.stdout)
    assert summ["evals"] == 128 and summ["best_distance"] < 0.5
    assert {p.name for p in out.iterdir()} == {"summary.json", "elites.png", "curves.png"}
    from ferlab.store import Store
    s = Store(db)
    runs = s.search_runs()
    assert [x["key"] for x in runs] == [summ["run"]]
    full = s.search_run(summ["run"])
    kinds = {e["kind"] for e in full["elites"]}
    assert kinds == {"grid", "best"} and len(full["history"]) == 4
    s.close()
    for args, msg in [
        (["search", "target", "--budget", "64", *common], "needs a target image"),
        (["search", "novelty", "--budget", "0", *common], "--budget must be"),
        (["search", "novelty", "--resume", *common], "--resume needs --checkpoint"),
        (["search", "novelty", "--measures", "symmetry,nope", *common], "measures must"),
        (["search", "novelty", "--checkpoint", str(ck), "--resume", *common], "--arm novelty differs"),
        (["search", "target", "--checkpoint", str(ck), "--resume", "--seed", "9", *common], "--seed 9 differs"),
        (["search", "novelty", "--target", str(tmp_path / "none.png"), *common], "no such target"),
        (["search", "random", "--budget", "32", *common[:-1], str(tmp_path)], "cannot open the store"),
        (["search", "random", "-o", str(tmp_path / "no" / "out"), *common], "does not exist"),
        (["search", "random", "--checkpoint", str(tmp_path), *common], "is a folder"),
    ]:
        from ferlab.cli import main
        assert main(args) == 2, args
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and msg in lines[0], (args, err)
