"""SGD replicas: recipes, loss, resume, divergence, targets, CLI (small images, few steps)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ferlab.cli import main
from ferlab.dense import Arch, ArchError, DenseCPPN
from ferlab.train import (PAPER, RECIPES, Recipe, TrainingInterrupted,
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
    assert (r.leak, r.retry_lr) == (0.0, 1.0)  # the exact gradient; restarts only reseed


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
    r = train(skull, rec, progress=False, checkpoint=ck, checkpoint_every=10, max_attempts=1)
    assert r.status == "diverged" and r.attempts[0]["status"] == "diverged"
    assert "NaN/inf at step" in r.attempts[0]["reason"]
    at = int(r.attempts[0]["reason"].split("at step ")[1].split()[0])
    # The run keeps the last good weights: those of the checkpoint before the failing chunk.
    good = load_checkpoint(ck)
    assert good.step == r.steps == at // 10 * 10 < 400
    assert all(np.all(np.isfinite(k)) for k in good.kernels)
    assert np.all(np.isfinite(good.losses)) and len(good.losses) == good.step
    for a, b in zip(good.kernels, r.net.kernels):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(r.final_mse)


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
            "--res", "32", "--batch", "512", "--seed", "3", "--checkpoint-every", "50", "-q",
            "--target-mse", "0.05"]
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
    assert main(["train", str(skull_path), "-o", str(out), "--resume", "-q", "--target-mse", "0.05"]) == 0
    for name in ("net.npz", "final.png", "losses.npy", "losses.png", "snapshots.png", "summary.json"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"recipe", "seed", "steps", "wall_seconds", "final_mse"} <= set(summary)
    assert (summary["recipe"], summary["seed"], summary["steps"]) == ("fast", 3, 200)
    assert summary["status"] == "converged" and summary["target_mse"] == 0.05
    assert [(a["seed"], a["status"]) for a in summary["attempts"]] == [(3, "converged")]
    assert len(np.load(out / "losses.npy")) == 200
    net = DenseCPPN.load(out / "net.npz")
    target = load_target(skull_path).image_at(32)
    mse = np.mean((net.render(32, dtype=np.float64).image - target) ** 2)
    assert mse == pytest.approx(summary["final_mse"], rel=1e-3)
    assert summary["final_mse"] < 0.05


# -- failure detection and restarts ----------------------------------------------------------
SMALL_ARCH = "3;cache:3,gaussian:3,sin:2"  # compiles in a fraction of the time of a genome's


def _clipped(arch, s_out, v_out):
    """Kernels whose every pixel gets outputs (0, s_out, v_out): a bias carried by cache 0."""
    ks = [np.zeros(shape, np.float32) for shape in arch.kernel_shapes()]
    ks[0][3, 0] = 1.0
    for k in ks[1:-1]:
        k[0, 0] = 1.0
    ks[-1][0] = (0.0, s_out, v_out)
    return ks


def _dead_for(bad_seeds, s_out=-5.0, v_out=5.0, ramp=False):
    """An init (arch, seed) -> kernels: clipped for ``bad_seeds``, LeCun normal otherwise.
    With ``ramp`` the value follows x (a grey ramp) while the saturation stays clipped."""
    from ferlab.train import init_kernels

    def forced(arch, seed):
        if seed not in bad_seeds:
            return [np.asarray(k) for k in init_kernels(arch, seed)]
        ks = _clipped(arch, s_out, v_out)
        if ramp:
            ks[0][0, 1] = 1.0  # cache 1 carries x
            for k in ks[1:-1]:
                k[1, 1] = 1.0
            ks[-1][0, 2], ks[-1][1, 2] = 0.5, 0.4
        return ks

    return forced


def _colour_target(res=32):
    """A hue ramp with varying saturation: colour no grey picture can match."""
    from ferlab.colour import hsv_to_rgb

    v = np.linspace(0, 1, res, dtype=np.float32)
    h, s = np.meshgrid(v * 0.8, 0.3 + 0.7 * v)
    return np.asarray(hsv_to_rgb(h, s, np.full_like(h, 0.9)), np.float32)


def test_clipped_outputs_have_zero_gradient_but_the_leak_has_one(skull):
    """The cause of dead runs: with every output clipped the exact MSE gradient is exactly
    zero. The surrogate keeps the loss value and gives a gradient that lowers it."""
    import jax
    import jax.numpy as jnp

    a = Arch.parse(SMALL_ARCH)
    ks = tuple(jnp.asarray(k) for k in _clipped(a, -5.0, 5.0))
    x = jnp.asarray(grid_inputs(16))
    y = jnp.asarray(load_target(skull).image_at(16).reshape(-1, 3))
    exact = jax.value_and_grad(lambda p: mse_loss(a, p, x, y))(ks)
    leaky = jax.value_and_grad(lambda p: mse_loss(a, p, x, y, leak=0.1))(ks)
    assert float(exact[0]) == float(leaky[0]) > 0.1  # same loss: a white picture of the skull
    assert all(float(jnp.abs(g).max()) == 0.0 for g in exact[1])
    g = leaky[1]
    assert float(jnp.abs(g[-1]).max()) > 0
    step = tuple(k - 0.5 * gk / float(jnp.sqrt(sum(jnp.sum(q * q) for q in g))) for k, gk in zip(ks, g))
    assert float(mse_loss(a, step, x, y)) < float(exact[0])


def test_diagnose_names_dead_and_colourless_pictures():
    from ferlab.train import diagnose

    target = _colour_target(16).reshape(-1, 3)
    grey = np.repeat(target.mean(axis=1, keepdims=True), 3, axis=1)
    assert diagnose(target + 0.01 * np.sin(np.arange(target.size)).reshape(target.shape), target) is None
    assert diagnose(np.ones_like(target), target)[0] == "dead"
    assert diagnose(grey, target) == ("colour-lost", "constant red-green, green-blue where the target varies")
    assert diagnose(grey, grey) is None  # a grey target asks for no colour
    # Worse than the target's mean colour: blown up if the run had been better, else early days.
    assert diagnose(1 - target, target, best_mse=1e-3)[0] == "diverged"
    assert diagnose(1 - target, target) is None
    assert diagnose(np.ones_like(grey), np.ones_like(grey)) is None  # nor a flat one for variation


def test_dead_init_is_detected_and_restarted_with_the_next_seed(skull):
    rec = Recipe(name="t", steps=40, lr=3e-3, res=32, chunk=10, eval_every=10, patience=2)
    r = train(skull, rec, arch=SMALL_ARCH, seed=5, init=_dead_for({5}), target_mse=0.5,
              progress=False)
    assert [(a["seed"], a["status"], a["steps"]) for a in r.attempts] == [
        (5, "dead", 20), (6, "converged", 40)]  # given up after 2 flat evaluations
    assert "flat" in r.attempts[0]["reason"] and r.attempts[0]["mse"] > 0.1
    assert (r.status, r.seed, r.steps, len(r.losses)) == ("converged", 6, 40, 40)
    assert r.final_mse == r.attempts[1]["mse"] < 0.5
    assert r.summary()["attempts"] == r.attempts
    # Every seed dead: the run says so instead of "done".
    r = train(skull, rec, arch=SMALL_ARCH, seed=5, init=_dead_for({5, 6}), max_attempts=2,
              progress=False)
    assert r.status == "dead" and [a["seed"] for a in r.attempts] == [5, 6]


def test_colourless_replica_exits_non_zero_with_status(tmp_path, capsys, monkeypatch):
    """A net whose saturation is clipped for every seed cannot produce the target's colour."""
    from PIL import Image

    import ferlab.train.loop as loop

    Image.fromarray((_colour_target() * 255).astype(np.uint8)).save(tmp_path / "colour.png")
    monkeypatch.setattr(loop, "init_kernels", lambda arch, seed: _dead_for({seed}, ramp=True)(arch, seed))
    out = tmp_path / "run"
    rc = main(["train", str(tmp_path / "colour.png"), "-o", str(out), "--recipe", "paper",
               "--steps", "30", "--res", "32", "--arch", SMALL_ARCH, "--max-attempts", "2", "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err.startswith("ferlab train: target MSE 0.001 not met") and "colour-lost" in err
    assert "\n" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "colour-lost"
    assert [(a["seed"], a["status"]) for a in summary["attempts"]] == [(0, "colour-lost"), (1, "colour-lost")]
    # ... and it did learn what it could: the grey ramp became the target's brightness.
    assert summary["final_mse"] < summary["evals"][0]["mse"]


def test_resume_after_a_restart_equals_an_uninterrupted_run(skull, tmp_path):
    rec = Recipe(name="t", steps=40, lr=3e-3, res=32, batch=64, chunk=10, eval_every=10, patience=2)
    kw = dict(arch=SMALL_ARCH, seed=2, init=_dead_for({2}), progress=False)
    full = train(skull, rec, **kw)
    calls = []

    def stop_in_second_attempt(step, losses):
        calls.append(step)
        if len(calls) == 3:  # attempt 1 gives up at step 20 (one call); this is seed 3's step 20
            raise KeyboardInterrupt

    ck = tmp_path / "ck.npz"
    with pytest.raises(TrainingInterrupted):
        train(skull, rec, checkpoint=ck, callback=stop_in_second_attempt, **kw)
    assert calls == [10, 10, 20] and load_checkpoint(ck).meta["attempt"] == 1
    resumed = train(skull, rec, checkpoint=ck, resume=True, **kw)
    assert [a["status"] for a in resumed.attempts] == ["dead", full.status]
    for a, b in zip(full.attempts, resumed.attempts):
        assert {k: v for k, v in a.items() if k != "wall_seconds"} == \
               {k: v for k, v in b.items() if k != "wall_seconds"}
    for a, b in zip(full.net.kernels, resumed.net.kernels):
        assert np.max(np.abs(a - b)) <= 1e-6
    np.testing.assert_allclose(full.losses, resumed.losses, atol=1e-7)
