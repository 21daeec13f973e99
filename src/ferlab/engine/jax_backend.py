"""The JAX backend: a plan traced per node, for ``jit`` and ``vmap`` over weight vectors.

Per node and elementwise (no tiny matmuls), so XLA fuses the graph into few loops; each level
is materialised once behind an optimisation barrier, since unbounded fusion recomputes nodes
that several later nodes share.
"""
from __future__ import annotations

import numpy as np

from ferlab.activations import apply
from ferlab.canvas import as_canvas
from ferlab.engine.plan import Plan, compile_genome
from ferlab.genome import Genome


def _barrier(xs):
    import jax

    return jax.lax.optimization_barrier(xs)


def forward(plan: Plan, weights, planes, full: bool = True):
    """All node values (n_nodes, *pixels), or with ``full=False`` the outputs' list only."""
    import jax.numpy as jnp

    pix_shape = planes.shape[1:]
    flat = planes.reshape(4, -1)
    srcs = plan.incoming
    vals = [flat[k] for k in range(4)]
    for lv in plan.levels:
        new = []
        for act, a, b in lv.groups:
            for t in range(lv.start + a, lv.start + b):
                z = jnp.zeros_like(flat[0])
                for k, s in srcs[t]:
                    z = z + weights[k].astype(flat.dtype) * vals[s]
                new.append(apply(act, z, jnp))
        vals.extend(_barrier(new))
    if not full:
        return _barrier([vals[i].reshape(pix_shape) for i in plan.outputs])
    return jnp.stack(vals).reshape((len(plan.node_ids),) + tuple(pix_shape))


def image_fn(plan: Plan, res=256, window=None, dtype=np.float32):
    """The un-jitted ``weights (n_links,) -> image (H, W, 3)`` of a plan."""
    import jax.numpy as jnp

    planes = jnp.asarray(as_canvas(res, window).planes(dtype))

    def fn(w):
        return plan.image(forward(plan, w.astype(planes.dtype), planes, full=False), jnp)

    return fn


def weights_fn(genome: Genome, res=256, window=None, dtype=np.float32):
    """A jitted ``weights (n_links,) -> image (H, W, 3)`` for this genome's structure.

    ``jax.vmap`` it over a batch of weight vectors to render many variants in one call.
    """
    import jax

    return jax.jit(image_fn(compile_genome(genome), res, window, dtype))


def batch_weights_fn(genome: Genome, res=256, window=None, dtype=np.float32):
    """(jit(vmap(weights -> image)), plan): many weight vectors of one structure per call."""
    import jax

    plan = compile_genome(genome)
    return jax.jit(jax.vmap(image_fn(plan, res, window, dtype))), plan
