"""A small autoencoder trained on the search's own renders: a learned novelty space with no
downloaded model (the "learned behaviour characterisation" of AURORA-style searches).

16×16 grey inputs -> 64 tanh -> 8-d latent -> 64 tanh -> 256 sigmoid, Adam 3e-3, MSE on a
fixed-size sample (drawn with replacement) of the archive and population, so the jitted
training step compiles once however large the archive grows; encoding is plain numpy. The
search refits it every few generations; every step is a pure function of (seed, generation),
so runs resume exactly.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ferlab.search.descriptors import grey, pool

SIDE = 16
HIDDEN = 64
LATENT = 8
LR = 3e-3
#: Rows per refit: one compiled shape.
BATCH = 512


def ae_input(images: np.ndarray) -> np.ndarray:
    """(B, 256) float32: the 16×16 area-pooled grey image."""
    return pool(grey(images), SIDE).reshape(len(images), -1).astype(np.float32)


def _init(seed: int):
    rng = np.random.default_rng([int(seed), 0xAE])
    sizes = [(SIDE * SIDE, HIDDEN), (HIDDEN, LATENT), (LATENT, HIDDEN), (HIDDEN, SIDE * SIDE)]
    return [(rng.normal(0, 1 / np.sqrt(a), (a, b)).astype(np.float32), np.zeros(b, np.float32))
            for a, b in sizes]


@lru_cache(maxsize=1)
def _fns():
    import jax
    import jax.numpy as jnp
    import optax

    def encode(params, x):
        (w1, b1), (w2, b2) = params[0], params[1]
        return jnp.tanh(x @ w1 + b1) @ w2 + b2

    def loss(params, x):
        z = encode(params, x)
        (w3, b3), (w4, b4) = params[2], params[3]
        y = jax.nn.sigmoid(jnp.tanh(z @ w3 + b3) @ w4 + b4)
        return jnp.mean((y - x) ** 2)

    opt = optax.adam(LR)

    def fit(params, opt_state, x, steps):
        def body(carry, _):
            p, s = carry
            val, g = jax.value_and_grad(loss)(p, x)
            upd, s = opt.update(g, s, p)
            return (optax.apply_updates(p, upd), s), val

        (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), None, length=steps)
        return params, opt_state, losses[-1]

    return jax.jit(fit, static_argnums=3), opt


def init(seed: int):
    """(params, optimiser state) for a fresh autoencoder."""
    import jax.numpy as jnp

    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in _init(seed)]
    return params, _fns()[1].init(params)


def fit(params, opt_state, x: np.ndarray, steps: int, rng: np.random.Generator):
    """Train for ``steps`` Adam steps on BATCH rows of ``x`` drawn by ``rng``; returns
    (params, state, last loss)."""
    import jax.numpy as jnp

    sample = np.asarray(x, np.float32)[rng.integers(len(x), size=BATCH)]
    p, s, last = _fns()[0](params, opt_state, jnp.asarray(sample), int(steps))
    return p, s, float(last)


def encode(params, x: np.ndarray) -> np.ndarray:
    """(B, LATENT) codes, in numpy: archives change size every generation, and a jitted
    encoder would recompile for each new size."""
    (w1, b1), (w2, b2) = [(np.asarray(w), np.asarray(b)) for w, b in params[:2]]
    x = np.asarray(x, np.float32).reshape(-1, SIDE * SIDE)
    return (np.tanh(x @ w1 + b1) @ w2 + b2).astype(np.float32)


def to_arrays(params, opt_state) -> list[np.ndarray]:
    import jax

    return [np.asarray(a) for a in jax.tree_util.tree_leaves((params, opt_state))]


def from_arrays(arrays: list[np.ndarray], seed: int):
    import jax
    import jax.numpy as jnp

    like = init(seed)
    treedef = jax.tree_util.tree_structure(like)
    leaves = jax.tree_util.tree_leaves(like)
    if len(leaves) != len(arrays):
        raise ValueError("autoencoder checkpoint does not match this ferlab's autoencoder")
    return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a) for a in arrays])
