"""Weight sweeps: genome links vs their layerized dense weights, the paper's mouth weight,
the cached dense tail vs plain re-rendering, random directions, and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from ferlab import sweep as S
from ferlab.cli import main
from ferlab.dense import DenseCPPN
from ferlab.files import load_any
from ferlab.layerize import layerize
from ferlab.picbreeder import load_genome
from ferlab.render import render_genome


@pytest.fixture(scope="module")
def skull(shared):
    return load_genome(shared / "picbreeder/fer/skull.zip")


@pytest.fixture(scope="module")
def skull_cppnx(shared):
    return load_genome(shared / "picbreeder/cppnx/576_Skull.xml")


@pytest.fixture(scope="module")
def sgd_skull(shared):
    return load_any(shared / "reference/sgd_skull.npz")


def test_deltas_grid_has_the_original_in_the_middle():
    d = S.deltas()
    assert list(d) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert list(S.deltas(2.0, 3)) == [-2.0, 0.0, 2.0]
    for bad in ((0.0, 5), (1.0, 0), (float("nan"), 5)):
        with pytest.raises(ValueError):
            S.deltas(*bad)


def test_genome_link_and_layerized_weight_give_the_same_frames(skull):
    sheet = S.sweep_genome(skull, res=24)
    assert sheet.frames.shape == (57, 5, 24, 24, 3)
    net = layerize(skull)
    dense = S.sweep(net, res=24)  # a layerized net sweeps its link-carrying weights
    assert len(dense.rows) == 57
    for r, row in enumerate(dense.rows):
        link = row["origin"]
        assert isinstance(link, int)
        assert abs(row["weight"] - skull.links[link].weight) < 1e-5
        np.testing.assert_allclose(dense.frames[r], sheet.frames[link], atol=2e-4)
    # The unperturbed column is the genome's own image.
    ref = render_genome(skull, 24).image
    np.testing.assert_allclose(sheet.frames[:, sheet.base_index], np.broadcast_to(ref, (57, 24, 24, 3)), atol=2e-4)


def test_sweep_frames_match_rerendering_with_the_changed_weight(skull):
    links = [0, 13, 56]
    sheet = S.sweep_genome(skull, links, offsets=[-1.0, 0.7], res=24)
    for r, i in enumerate(links):
        for j, d in enumerate(sheet.deltas):
            w = list(skull.weights)
            w[i] += d
            ref = render_genome(skull.with_weights(w), 24).image
            np.testing.assert_allclose(sheet.frames[r, j], ref, atol=2e-4)


def test_genome_sweep_frames_equal_the_jax_vmap_frames(skull):
    # Sweeps left jit(vmap) for the grouped numpy renderer; both must draw the same frames.
    from ferlab.engine import batch_weights_fn

    links = [0, 21, 56]
    sheet = S.sweep_genome(skull, links, res=32)
    fn, _ = batch_weights_fn(skull, 32)
    batch = np.repeat(np.asarray(skull.weights, np.float32)[None], len(links) * 5, axis=0)
    for r, i in enumerate(links):
        batch[r * 5:(r + 1) * 5, i] += sheet.deltas.astype(np.float32)
    ref = np.asarray(fn(batch)).reshape(sheet.frames.shape)
    assert np.abs(sheet.frames - ref).max() < 1e-4
    assert np.abs(sheet.frames[:, 0] - sheet.frames[:, -1]).max() > 0.1  # the sweep moves the image


def test_callers_take_a_network_as_they_take_its_genome_or_dense_net(skull, sgd_skull):
    # Sweeps, metrics, figures and targets ask the Network protocol, not the class they hold.
    from ferlab.figures.pca import layer_maps
    from ferlab.metrics import as_dense
    from ferlab.network import as_network
    from ferlab.train.targets import load_target

    for obj, kw in ((skull, {"links": [3, 40]}), (sgd_skull, {"flat": [4371]})):
        net = as_network(obj)
        a, b = S.sweep(obj, res=12, **kw), S.sweep(net, res=12, **kw)
        np.testing.assert_array_equal(a.frames, b.frames)
        assert a.labels == b.labels
        np.testing.assert_array_equal(S.filter_normalised(obj, 3), S.filter_normalised(net, 3))
        np.testing.assert_array_equal(S.sweep_random(obj, 1, res=12).frames,
                                      S.sweep_random(net, 1, res=12).frames)
        assert [n for n, _ in layer_maps(obj, 12)] == [n for n, _ in layer_maps(net, 12)]
        assert as_dense(net).arch.n_params == as_dense(obj).arch.n_params
        np.testing.assert_array_equal(load_target(net).image_at(12), load_target(obj).image_at(12))
    assert [n for n, _ in layer_maps(skull, 12)][0] == "depth 1"  # inputs are not a layer
    assert len(layer_maps(sgd_skull, 12)) == sgd_skull.arch.depth  # hidden layers only
    with pytest.raises(TypeError, match="cannot train towards"):
        load_target(object())


def test_png_sheet_places_every_frame_and_outlines_the_original(skull):
    from ferlab.colour import to_bytes
    from ferlab.figures.sweeps import BASE_COLOUR, GAP, MAX_FIGURE_ROWS, sweep_sheet_image

    sheet = S.sweep_genome(skull, [0, 13, 56], res=16)
    img = sweep_sheet_image(sheet)
    assert img.dtype == np.uint8 and img.ndim == 3
    tiles = to_bytes(sheet.frames).repeat(4, axis=2).repeat(4, axis=3)  # 16 px frames drawn at 64
    # Locate the first frame exactly, then every other one sits on the grid from it.
    hits = [(y, x) for y in range(img.shape[0] - 64) for x in range(img.shape[1] - 64)
            if np.array_equal(img[y:y + 64, x:x + 64], tiles[0, 0])]
    assert len(hits) == 1
    y0, x0 = hits[0]
    for r in range(3):
        for c in range(5):
            y, x = y0 + r * (64 + GAP), x0 + c * (64 + GAP)
            assert np.array_equal(img[y:y + 64, x:x + 64], tiles[r, c]), (r, c)
    base_x = x0 + sheet.base_index * (64 + GAP) - 1
    assert (img[y0 + 10:y0 + 3 * 66 - 10, base_x] == BASE_COLOUR).all()
    assert (img[:y0, :] < 128).any() and (img[:, :x0] < 128).any()  # headings and row labels
    big = S.SweepSheet(np.zeros((MAX_FIGURE_ROWS + 1, 1, 2, 2, 3), np.float32), np.zeros(1), ("x",) * 401)
    with pytest.raises(ValueError, match="too many"):
        sweep_sheet_image(big)


def test_cli_png_sweep_of_a_genome_loads_neither_jax_nor_matplotlib(shared, tmp_path):
    # The whole command's speed depends on it (benchmarks/sweep_speed.py): both imports cost seconds.
    import subprocess
    import sys

    out = tmp_path / "s.png"
    code = ("import sys; from ferlab.cli import main; "
            f"assert main(['sweep', {str(shared / 'picbreeder/fer/skull.zip')!r}, '--res', '16', '-o', {str(out)!r}]) == 0; "
            "print(sorted(m for m in ('jax', 'matplotlib') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[]"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("low_rank", [False, True])
def test_dense_cached_tail_matches_full_render(sgd_skull, low_rank, monkeypatch):
    if low_rank:  # the path big sweeps take: exact low-rank propagation of the change
        monkeypatch.setattr(S.dense, "RANK_MIN_FRAMES", 0)
    net = sgd_skull
    picks = [(0, 2, 5), (1, 21, 0), (6, 3, 17), (11, 20, 21), (12, 4, 2)]  # incl. output kernel
    if low_rank:  # one compilation per kernel there: keep to short tails (deep ones: below)
        picks = [(7, 3, 17), (9, 0, 20), (11, 20, 21), (12, 4, 2)]
    sheet = S.sweep_dense(net, weights=picks, offsets=[-1.0, 0.0, 0.5], res=24)
    for r, (k, i, j) in enumerate(picks):
        for c, d in enumerate(sheet.deltas):
            ks = [np.array(x) for x in net.kernels]
            ks[k][i, j] += d
            ref = net.with_kernels(ks).render(24).image
            np.testing.assert_allclose(sheet.frames[r, c], ref, atol=1e-4)


@pytest.mark.parametrize("arch", ["1;gaussian:2,sin:1", "3;cache:2,sigmoid:2", "4;tanh:3"])
def test_every_weight_of_small_networks_matches_full_render(arch, monkeypatch):
    from ferlab.dense import Arch

    a = Arch.parse(arch)
    rng = np.random.default_rng(0)
    net = DenseCPPN(a, tuple(rng.normal(0, 1, s).astype(np.float32) for s in a.kernel_shapes()))
    monkeypatch.setattr(S.dense, "RANK_MIN_FRAMES", 0)  # rank path where it applies, else the loop
    sheet = S.sweep_dense(net, all_weights=True, offsets=[-0.7, 1.0], res=12)
    assert len(sheet.rows) == a.n_params
    for r, row in enumerate(sheet.rows):
        ks = [np.array(k) for k in net.kernels]
        ks[row["kernel"]][row["row"], row["col"]] += 1.0
        np.testing.assert_allclose(sheet.frames[r, 1], net.with_kernels(ks).render(12).image, atol=1e-4)


def test_chunked_sweep_equals_unchunked(sgd_skull, monkeypatch):
    picks = [(3, 1, 1), (3, 2, 2), (3, 5, 9), (4, 0, 0), (12, 1, 1)]
    whole = S.sweep_dense(sgd_skull, weights=picks, res=24).frames
    monkeypatch.setattr(S.frames, "CHUNK_FLOATS", 24 * 24 * 3 * 22 * 4)  # about one weight per chunk
    parts = S.sweep_dense(sgd_skull, weights=picks, res=24).frames
    np.testing.assert_allclose(parts, whole, atol=1e-6)


def test_paper_weight_4371_is_the_mouth_link_and_moves_the_mouth(shared, skull_cppnx):
    net = DenseCPPN.load(shared / "reference/picbreeder_skull.npz")
    assert net.arch.flat_to_lrc(4371) == (7, 15, 15)
    sheet = S.sweep_dense(net, flat=[4371], res=64, genome=skull_cppnx)
    link = sheet.rows[0]["origin"]
    assert skull_cppnx.links[link].id == (576, 224)
    assert "576:224" in sheet.labels[0] and "Mouth open close:=4" in sheet.labels[0]
    b = sheet.base_index
    h = w = 64
    ys, xs = np.mgrid[0:h, 0:w]
    for j in (0, len(sheet.deltas) - 1):  # δ = −1 and +1
        change = np.abs(sheet.frames[0, j] - sheet.frames[0, b]).sum(axis=-1)
        assert change.max() > 0.3, "the sweep must visibly change the picture"
        total = change.sum()
        # Where the pixels change: centroid in the lower middle of the face (the mouth sits at
        # rows ~60–80 %, columns ~30–70 % of the reference picture), little above the eyes.
        cy, cx = (ys * change).sum() / total / h, (xs * change).sum() / total / w
        assert 0.6 <= cy <= 0.85 and 0.4 <= cx <= 0.6, (cy, cx)
        mouth = change[int(0.58 * h):int(0.84 * h), int(0.27 * w):int(0.73 * w)].sum() / total
        assert mouth > 2 * (0.26 * 0.46), mouth  # at least twice the box's share of the area
        assert change[: h // 2].sum() / total < 0.15


def test_random_direction_is_seeded_unit_and_respects_nonzero(sgd_skull, skull):
    a, b = S.random_direction(sgd_skull, 3), S.random_direction(sgd_skull, 3)
    np.testing.assert_array_equal(a, b)
    assert abs(np.linalg.norm(a) - 1) < 1e-12
    assert not np.allclose(a, S.random_direction(sgd_skull, 4))
    net = layerize(skull)
    d = S.random_direction(net, 0, nonzero=True)
    w = S.flat_weights(net)
    assert np.all(d[w == 0] == 0) and np.count_nonzero(d) == np.count_nonzero(w)


def test_filter_normalised_directions_match_each_filters_size(sgd_skull, skull):
    d = S.filter_normalised(sgd_skull, np.random.default_rng(7))
    np.testing.assert_array_equal(d, S.filter_normalised(sgd_skull, 7))
    a = 0
    for kern in sgd_skull.kernels:
        part = d[a:a + kern.size].reshape(kern.shape)
        np.testing.assert_allclose(np.linalg.norm(part, axis=0), np.linalg.norm(np.asarray(kern, np.float64), axis=0),
                                   rtol=1e-6)
        a += kern.size
    # Rescaling one neuron's incoming weights rescales its filter's step the same way.
    ks = [np.array(k, np.float64) for k in sgd_skull.kernels]
    ks[3][:, 5] *= 10
    d10 = S.filter_normalised(sgd_skull.with_kernels(ks), 7)
    off = sum(k.size for k in sgd_skull.kernels[:3])
    col = lambda v: v[off:off + ks[3].size].reshape(ks[3].shape)[:, 5]  # noqa: E731
    np.testing.assert_allclose(col(d10), 10 * col(d), rtol=1e-6)
    # Absent neurons (all-zero filters) are never moved; genome filters are a node's in-links.
    net = layerize(skull)
    dn, a, empty = S.filter_normalised(net, 0), 0, 0
    for kern in net.kernels:
        part = dn[a:a + kern.size].reshape(kern.shape)
        dead = ~np.asarray(kern).any(axis=0)
        assert not part[:, dead].any()
        empty += int(dead.sum())
        a += kern.size
    assert empty > 0
    dg = S.filter_normalised(skull, 0)
    wg = np.asarray(skull.weights, np.float64)
    for node in {l.target for l in skull.links}:
        idx = [i for i, l in enumerate(skull.links) if l.target == node]
        assert np.linalg.norm(dg[idx]) == pytest.approx(np.linalg.norm(wg[idx]))
    sheet = S.sweep_random(sgd_skull, 1, seed=2, res=16)
    assert "filter-normalised" in sheet.labels[0] and sheet.rows[0]["kind"] == "filter"
    with pytest.raises(ValueError, match="direction kind"):
        S.sweep_random(sgd_skull, 1, kind="sideways")


def test_direction_sweeps_match_rerendering(skull, sgd_skull):
    d = S.random_direction(skull, 1)
    frames = S.sweep_direction(skull, d, [0.0, 0.8], res=24)
    np.testing.assert_allclose(frames[0], render_genome(skull, 24).image, atol=2e-4)
    ref = render_genome(skull.with_weights(np.asarray(skull.weights) + 0.8 * d), 24).image
    np.testing.assert_allclose(frames[1], ref, atol=2e-4)
    dd = S.random_direction(sgd_skull, 2)
    frames = S.sweep_direction(sgd_skull, dd, [-0.5], res=24)
    ks, a = [], 0
    for k in sgd_skull.kernels:
        ks.append(np.asarray(k, np.float64) - 0.5 * dd[a:a + k.size].reshape(k.shape))
        a += k.size
    np.testing.assert_allclose(frames[0], sgd_skull.with_kernels(ks).render(24).image, atol=1e-4)
    sheet = S.sweep_random(sgd_skull, 2, seed=5, res=24)
    assert sheet.frames.shape == (2, 5, 24, 24, 3) and "seed 6" in sheet.labels[1]


def test_bad_selections_are_clear_errors(skull, sgd_skull):
    with pytest.raises(ValueError, match="no link '9:9'"):
        S.sweep_genome(skull, ["9:9"])
    with pytest.raises(IndexError, match="out of range"):
        S.sweep_dense(sgd_skull, flat=[10**6])
    with pytest.raises(IndexError, match="outside kernels"):
        S.sweep_dense(sgd_skull, weights=["0,9,0"])
    with pytest.raises(ValueError, match="kernel,row,col"):
        S.sweep_dense(sgd_skull, weights=["a,b"])
    with pytest.raises(ValueError, match="not by link id"):
        S.sweep(sgd_skull, links=["576:224"])
    with pytest.raises(ValueError, match="direction has shape"):
        S.sweep_direction(sgd_skull, np.ones(3))


def test_cli_sweep_writes_figures_and_fails_cleanly(shared, tmp_path, capsys):
    g = str(shared / "picbreeder/cppnx/576_Skull.xml")
    png, pdf, npz = tmp_path / "s.png", tmp_path / "s.pdf", tmp_path / "s.npz"
    assert main(["sweep", g, "--links", "576:224,576:31", "--res", "24", "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["sweep", str(shared / "reference/picbreeder_skull.npz"), "--flat", "4371",
                 "--genome", g, "--res", "24", "-o", str(pdf)]) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert main(["sweep", str(shared / "reference/sgd_skull.npz"), "--random", "2", "--count", "3",
                 "--res", "24", "-o", str(npz)]) == 0
    with np.load(npz) as z:
        assert z["frames"].shape == (2, 3, 24, 24, 3)
    capsys.readouterr()
    before = png.read_bytes()
    for argv in (["sweep", g, "--links", "1:1", "-o", str(png)],
                 ["sweep", str(shared / "reference/sgd_skull.npz"), "-o", str(png)],
                 ["sweep", g, "-o", str(tmp_path / "s.gif")],
                 ["sweep", str(tmp_path / "missing.zip"), "-o", str(png)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("ferlab sweep: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert png.read_bytes() == before
    assert not (tmp_path / "s.gif").exists()


def test_streamed_npz_equals_the_in_memory_sheet(sgd_skull, shared, tmp_path, monkeypatch):
    # Several weights per kernel column, so the low-rank tail batches frames of one column.
    picks = [(9, r, 3) for r in range(6)] + [(9, 2, 17), (10, 4, 15), (10, 5, 15), (11, 0, 21), (12, 7, 1)]
    monkeypatch.setattr(S.dense, "RANK_MIN_FRAMES", 0)
    out = tmp_path / "s.npz"
    argv = ["sweep", str(shared / "reference/sgd_skull.npz"), "--res", "20", "--count", "3", "--span", "0.8",
            "-o", str(out), "--weights", *[",".join(map(str, t)) for t in picks]]
    assert main(argv) == 0
    sheet = S.sweep_dense(sgd_skull, weights=picks, offsets=S.deltas(0.8, 3), res=20)
    with np.load(out) as z:
        assert z.files == ["frames", "deltas", "labels"]
        assert z["frames"].dtype == np.float32 and z["frames"].shape == (len(picks), 3, 20, 20, 3)
        np.testing.assert_array_equal(z["frames"], sheet.frames)
        np.testing.assert_array_equal(z["deltas"], sheet.deltas)
        assert z["labels"].tolist() == list(sheet.labels)
    for r in (0, 5, 8):  # and the batched tail is right, not only consistent
        k, i, j = picks[r]
        ks = [np.array(x) for x in sgd_skull.kernels]
        ks[k][i, j] += 0.8
        np.testing.assert_allclose(sheet.frames[r, 2], sgd_skull.with_kernels(ks).render(20).image, atol=1e-4)


@pytest.mark.parametrize("failure", [KeyboardInterrupt, MemoryError])
def test_a_sweep_failing_mid_stream_leaves_no_file_and_keeps_an_old_one(shared, tmp_path, monkeypatch,
                                                                       failure, capsys):
    frames = S.DenseSweeper.frames

    def dies_after_one_chunk(self, lrcs, offsets):
        for n, item in enumerate(frames(self, lrcs, offsets)):
            if n == 1:
                raise failure()
            yield item

    monkeypatch.setattr(S.DenseSweeper, "frames", dies_after_one_chunk)
    monkeypatch.setattr(S.frames, "CHUNK_FLOATS", 12 * 12 * 3 * 22 * 4 * 2)  # two weights a chunk
    net = str(shared / "reference/sgd_skull.npz")
    new, old = tmp_path / "new.npz", tmp_path / "old.npz"
    old.write_bytes(b"previous frames")
    for out in (new, old):
        code = main(["sweep", net, "--flat", "1", "2", "3", "4", "5", "6", "--res", "12", "-o", str(out)])
        assert code == (130 if failure is KeyboardInterrupt else 2)
    assert capsys.readouterr().err.count("\n") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.npz"]
    assert old.read_bytes() == b"previous frames"

