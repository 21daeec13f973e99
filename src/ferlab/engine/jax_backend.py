"""The JAX backend: a plan traced per node, for ``jit`` and ``vmap`` over weight vectors.

Per node and elementwise (no tiny matmuls), so XLA fuses the whole graph into one loop that
computes every node once per pixel. Two things keep that loop fast on CPU
(``benchmarks/render_speed.py``):

- The colour image is one broadcast over a channel axis, never a stack of three channels: XLA
  CPU fuses the graph into a concatenate and re-emits shared nodes per branch, which grows
  with the graph's depth and sharing. A broadcast is not fused, so the graph stays in its own
  loop. (``optimization_barrier`` cannot stop this: XLA CPU removes barriers before fusion.)
- On CPU, :data:`COMPILER_OPTIONS` asks for 512-bit vectors, and sin/cos come from
  :data:`ferlab.activations.XLA_CPU_ACTIVATIONS` (XLA CPU's own call libm once per lane).
"""
from __future__ import annotations

import numpy as np

from ferlab.activations import ACTIVATIONS, XLA_CPU_ACTIVATIONS, apply
from ferlab.canvas import as_canvas
from ferlab.engine.plan import Plan, compile_genome
from ferlab.genome import Genome

#: XLA CPU emits 256-bit vectors unless told otherwise; the graph's exp/sin polynomials are
#: long dependent chains, and 512-bit vectors halve the loop's iterations (same values). Only a
#: preference: a CPU without AVX-512 gets 256-bit code as before. CPU only.
COMPILER_OPTIONS = {"xla_cpu_prefer_vector_width": 512}


def _on_cpu() -> bool:
    import jax

    return jax.default_backend() == "cpu"


def jit(fn):
    """``jax.jit`` with :data:`COMPILER_OPTIONS` where the default backend is the CPU.

    JAX refuses compiler options on a jit traced inside another ``jit`` or ``grad``, so traced
    arguments get the plain jit: the result still composes with every transformation.
    """
    import jax

    plain = jax.jit(fn)
    if not _on_cpu():
        return plain
    tuned = jax.jit(fn, compiler_options=COMPILER_OPTIONS)

    def call(*args):
        if any(isinstance(a, jax.core.Tracer) for a in args):
            return plain(*args)
        return tuned(*args)

    call.lower = tuned.lower  # HLO inspection, as on a jitted function
    return call


def forward(plan: Plan, weights, planes, full: bool = True):
    """All node values (n_nodes, *pixels), or with ``full=False`` the outputs' list only."""
    import jax.numpy as jnp

    pix_shape = planes.shape[1:]
    flat = planes.reshape(4, -1)
    srcs = plan.incoming
    table = XLA_CPU_ACTIVATIONS if _on_cpu() else ACTIVATIONS
    vals = [flat[k] for k in range(4)]
    for lv in plan.levels:
        for act, a, b in lv.groups:
            for t in range(lv.start + a, lv.start + b):
                z = jnp.zeros_like(flat[0])
                for k, s in srcs[t]:
                    z = z + weights[k].astype(flat.dtype) * vals[s]
                vals.append(apply(act, z, jnp, table))
    if not full:
        return [vals[i].reshape(pix_shape) for i in plan.outputs]
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

    ``jax.vmap`` it over a batch of weight vectors to render many variants in one call
    (:func:`batch_weights_fn` does that with :data:`COMPILER_OPTIONS`; an outer jit drops them).
    """
    return jit(image_fn(compile_genome(genome), res, window, dtype))


def batch_weights_fn(genome: Genome, res=256, window=None, dtype=np.float32):
    """(jit(vmap(weights -> image)), plan): many weight vectors of one structure per call."""
    import jax

    plan = compile_genome(genome)
    return jit(jax.vmap(image_fn(plan, res, window, dtype))), plan
