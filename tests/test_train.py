"""SGD replicas: recipes, loss, resume, divergence, targets, CLI (small images, few steps)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ferlab.cli import main
from ferlab.dense import Arch, ArchError, DenseCPPN
from ferlab.train import (PAPER, RECIPES, Recipe, TrainingDiverged, TrainingInterrupted,
                          grid_inputs, load_checkpoint, load_target, make_optimizer, mse_loss,
                          resolve_arch, train)

SKULL_ARCH = "12;cache:15,gaussian:4,identity:2,sin:1"


@pytest.fixture(scope="module")
def skull(shared):
    from ferlab.picbreeder import load_genome

    return load_genome(shared / "picbreeder" / "fer" / "skull.zip")


@pytest.fixture(scope="module")
def skull_path(shared):
    return shared / "picbreeder" / "fer" / "skull.zip"


# -- the paper's recipe, from its config ---------------------------------------------------
def test_paper_recipe_is_the_papers():
    r = RECIPES["paper"]
    assert r is PAPER
    assert (r.optimizer, r.lr, r.grad_norm, r.steps, r.res) == ("adam", 3e-3, "unit", 100_000, 256)
    assert r.schedule == "constant" and r.batch is None
    assert [(s.scale, s.batch) for s in r.stages] == [(1, None)]  # full 256² images throughout
    assert r.stage_batch(r.stages[0]) is None
    assert (r.b1, r.b2, r.eps, r.init) == (0.9, 0.999, 1e-8, "lecun_normal")


def test_paper_optimizer_normalises_each_gradient():
    import jax.numpy as jnp

    opt = make_optimizer(PAPER)
    params = (jnp.zeros((2, 3)), jnp.zeros(4))
    g = (jnp.arange(6.0).reshape(2, 3) - 2.5, jnp.array([1.0, -2.0, 3.0, 0.5]))
    state = opt.init(params)
    u1, _ = opt.update(g, state, params)
    u2, _ = opt.update(tuple(1e4 * x for x in g), state, params)
    for a, b in zip(u1, u2):  # unit-norm gradients: the scale of the gradient does not matter
        np.testing.assert_allclose(a, b, rtol=1e-5)
    # Adam's first step moves every weight by lr against its gradient's sign.
    np.testing.assert_allclose(np.abs(np.asarray(u1[1])), 3e-3, rtol=1e-4)
    assert float(u1[1][0]) < 0 < float(u1[1][1])


def test_fast_recipe_scales_with_steps_and_res():
    fast = RECIPES["fast"]
    r = fast.with_overrides(steps=1000, res=64, batch=256)
    assert r.stage_bounds()[-1][1] == 1000 and r.res == 64
    assert all(r.stage_batch(s) == 256 for _, _, s in r.stage_bounds())
    with pytest.raises(ValueError, match="steps"):
        fast.with_overrides(steps=0)
    with pytest.raises(ValueError, match="learning rate"):
        fast.with_overrides(lr=float("nan"))


# -- the loss is the paper's ---------------------------------------------------------------
def test_loss_is_mse_on_rgb_of_the_full_image(shared):
    """Our jax loss equals a plain numpy MSE of the rendered RGB, and for the paper's own SGD
    network it equals the loss its training ended at (sgd_skull_losses.npy)."""
    import jax.numpy as jnp
    from PIL import Image

    net = DenseCPPN.load(shared / "reference" / "sgd_skull.npz")
    target = load_target(shared / "picbreeder" / "fer" / "skull.zip").image_at(256)
    ours = float(mse_loss(net.arch, [jnp.asarray(k) for k in net.kernels],
                          jnp.asarray(grid_inputs(256)), jnp.asarray(target.reshape(-1, 3))))
    rendered = net.render(256, dtype=np.float64).image
    plain = float(np.mean((rendered - target) ** 2))
    assert ours == pytest.approx(plain, rel=1e-4)
    paper_final = float(np.load(shared / "reference" / "sgd_skull_losses.npy")[-1000:].mean())
    assert ours == pytest.approx(paper_final, rel=0.1)
    # ... and the reference PNG agrees (bytes truncate, so only roughly).
    png = np.asarray(Image.open(shared / "reference" / "picbreeder_skull.png").convert("RGB")) / 255
    assert np.mean((png - target) ** 2) < 1e-4


# -- training ------------------------------------------------------------------------------
def test_loss_falls_and_snapshots_are_the_papers_steps(skull):
    r = train(skull, "paper", steps=450, res=32, seed=1, progress=False)
    assert r.arch == Arch.parse(SKULL_ARCH) and r.net.arch == r.arch
    assert r.losses.shape == (450,)
    assert r.losses[0] > 0.05  # a random network is far from the skull
    assert r.final_mse < 0.02 and r.final_mse < r.losses[0] / 5
    assert sorted(r.snapshots) == [0, 100, 200, 400, 450]
    assert r.snapshots[450].shape == (32, 32, 3) and r.snapshots[450].dtype == np.uint8
    # final_mse is the trained network's own full-image MSE, recomputed independently.
    img = r.net.render(32, dtype=np.float64).image
    assert np.mean((img - r.target) ** 2) == pytest.approx(r.final_mse, rel=1e-3)


def test_seeded_init_is_lecun_normal_and_deterministic(skull):
    from ferlab.train import init_kernels

    a = Arch.parse(SKULL_ARCH)
    k1, k2, k3 = init_kernels(a, 3), init_kernels(a, 3), init_kernels(a, 4)
    assert all(np.array_equal(x, y) for x, y in zip(k1, k2))
    assert not np.array_equal(k1[1], k3[1])
    w = np.asarray(k1[1])  # (22, 22): std 1/sqrt(22), truncated at 2 sigma
    assert abs(w.std() * np.sqrt(22) - 1) < 0.15 and np.abs(w).max() <= 2 / np.sqrt(22) * 1.14


def test_resume_ends_with_the_same_weights(skull, tmp_path):
    rec = RECIPES["fast"].with_overrides(steps=200, res=32, batch=128)
    rec = Recipe(**{**rec.__dict__, "chunk": 50, "eval_every": 100})
    full = train(skull, rec, seed=7, progress=False)

    def stop_at_100(step, losses):
        if step == 100:
            raise KeyboardInterrupt

    ck = tmp_path / "ck.npz"
    with pytest.raises(TrainingInterrupted) as info:
        train(skull, rec, seed=7, progress=False, checkpoint=ck, checkpoint_every=1000,
              callback=stop_at_100)
    assert info.value.step == 100 and load_checkpoint(ck).step == 100
    resumed = train(skull, rec, seed=7, progress=False, checkpoint=ck, resume=True)
    assert resumed.steps == 200
    for a, b in zip(full.net.kernels, resumed.net.kernels):
        assert np.max(np.abs(a - b)) <= 1e-6
    np.testing.assert_allclose(full.losses, resumed.losses, atol=1e-7)
    assert sorted(resumed.snapshots) == [0, 100, 200]
    # A different seed is a different run: refuse to mix them.
    with pytest.raises(ValueError, match="seed"):
        train(skull, rec, seed=8, progress=False, checkpoint=ck, resume=True)


def test_divergence_stops_and_keeps_last_good_checkpoint(skull, tmp_path):
    # Warm up towards an absurd learning rate: fine for a few steps, then the weights blow up.
    rec = Recipe(name="boom", steps=400, lr=3e3, res=32, schedule="cosine", warmup=1.0,
                 final_lr=1.0, grad_norm="unit", chunk=10, eval_every=10)
    ck = tmp_path / "ck.npz"
    with pytest.raises(TrainingDiverged, match="diverged at step") as info:
        train(skull, rec, progress=False, checkpoint=ck, checkpoint_every=10)
    assert str(ck) in str(info.value)
    good = load_checkpoint(ck)
    # The checkpoint is the last one before the failing chunk, and it is sound.
    assert good.step == info.value.step // 10 * 10
    assert all(np.all(np.isfinite(k)) for k in good.kernels)
    assert np.all(np.isfinite(good.losses)) and len(good.losses) == good.step


# -- targets and architectures -------------------------------------------------------------
def test_image_targets_are_resampled_without_alpha(tmp_path):
    from PIL import Image

    rgba = np.zeros((40, 50, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 255, 128, 0, 7
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(rgba[..., :3]).save(tmp_path / "b.jpg", quality=95)
    for name in ("a.png", "b.jpg"):
        t = load_target(tmp_path / name)
        img = t.image_at(32)
        assert img.shape == (32, 32, 3) and t.kind == "image"
        np.testing.assert_allclose(img.mean(axis=(0, 1)), [1.0, 128 / 255, 0.0], atol=0.02)
    assert str(load_target(tmp_path / "a.png").arch) == SKULL_ARCH
    with pytest.raises(ValueError, match="empty"):
        load_target(np.zeros((0, 0, 3)))


def test_architectures(skull, shared):
    t = load_target(skull)
    assert str(resolve_arch(t)) == SKULL_ARCH
    assert str(resolve_arch(t, activation="relu")) == "12;relu:22"
    assert str(resolve_arch(t, "3;sin:4,gaussian:2")) == "3;sin:4,gaussian:2"
    dense = load_target(shared / "reference" / "sgd_butterfly.npz")
    assert str(resolve_arch(dense)) == "16;cache:17,gaussian:4,sigmoid:1,sin:1"
    with pytest.raises(ArchError):
        resolve_arch(t, "12;cache:0")
    with pytest.raises(ArchError, match="cannot hold"):
        train(skull, "paper", steps=1, res=8, arch="11;cache:15,gaussian:4,identity:2,sin:1",
              init="target", progress=False)


def test_init_from_target_starts_at_its_picture(skull):
    r = train(skull, "paper", steps=20, res=32, init="target", progress=False)
    assert r.evals[0, 1] < 1e-6  # the layerized genome draws the genome


# -- command line --------------------------------------------------------------------------
def _bad_png(path):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("case", ["missing", "text", "zero", "malformed-arch", "width-0",
                                  "activation", "too-small-for-init", "resume-nothing"])
def test_cli_bad_input_is_one_line_exit_2(case, skull_path, tmp_path, capsys):
    out = tmp_path / "out"
    target, extra = str(skull_path), []
    if case == "missing":
        target = str(tmp_path / "nope.png")
    elif case == "text":
        (tmp_path / "t.png").write_text("not an image")
        target = str(tmp_path / "t.png")
    elif case == "zero":
        _bad_png(tmp_path / "z.png")
        target = str(tmp_path / "z.png")
    elif case == "malformed-arch":
        extra = ["--arch", "12;cache=15"]
    elif case == "width-0":
        extra = ["--arch", "12;cache:0"]
    elif case == "activation":
        extra = ["--activation", "swish"]
    elif case == "too-small-for-init":
        extra = ["--arch", "12;cache:4,gaussian:4", "--init", "target"]
    elif case == "resume-nothing":
        extra = ["--resume"]
    rc = main(["train", target, "-o", str(out), "--steps", "5", "--res", "8", "-q", *extra])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("ferlab train: error:") and "\n" not in err and "Traceback" not in err
    assert not out.exists()  # nothing written for bad input


def test_cli_writes_everything_and_resumes_after_ctrl_c(skull_path, tmp_path, capsys, monkeypatch):
    import ferlab.train.loop as loop

    out = tmp_path / "run"
    args = ["train", str(skull_path), "-o", str(out), "--recipe", "fast", "--steps", "200",
            "--res", "32", "--batch", "512", "--seed", "3", "--checkpoint-every", "50", "-q"]
    real = loop._progress

    class CtrlC:  # the user presses Ctrl-C once 100 steps are done
        def __init__(self, *a):
            self.bar, self.n = real(*a), a[1]

        def update(self, k):
            self.n += k
            if self.n >= 100:
                raise KeyboardInterrupt

        def __getattr__(self, name):
            return getattr(self.bar, name)

    monkeypatch.setattr(loop, "_progress", CtrlC)
    assert main(args) == 130
    err = capsys.readouterr().err
    assert "--resume" in err and load_checkpoint(out / "checkpoint.npz").step == 100
    monkeypatch.setattr(loop, "_progress", real)
    assert main(["train", str(skull_path), "-o", str(out), "--resume", "-q"]) == 0
    for name in ("net.npz", "final.png", "losses.npy", "losses.png", "snapshots.png", "summary.json"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"recipe", "seed", "steps", "wall_seconds", "final_mse"} <= set(summary)
    assert (summary["recipe"], summary["seed"], summary["steps"]) == ("fast", 3, 200)
    assert len(np.load(out / "losses.npy")) == 200
    net = DenseCPPN.load(out / "net.npz")
    target = load_target(skull_path).image_at(32)
    mse = np.mean((net.render(32, dtype=np.float64).image - target) ** 2)
    assert mse == pytest.approx(summary["final_mse"], rel=1e-3)
    assert summary["final_mse"] < 0.05
