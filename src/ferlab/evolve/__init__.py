"""Interactive evolution (Picbreeder): breeding operators and a fast batched renderer.

Usable without the web app::

    from ferlab.evolve import Innovations, first_screen, breed, render_batch
    screen, innov = first_screen(15, seed=1, innov=Innovations(branch=1))
    kids, innov = breed([screen[3]], 15, seed=2, innov=innov, strength=1.0)
    thumbs = render_batch(kids, 128)          # (15, 128, 128, 3) float32 in [0, 1]
"""
from ferlab.engine import limit_blas_threads, render_batch, thumbnails
from ferlab.evolve.ops import (MAX_STRENGTH, MUTATIONS, Innovations, add_link, add_node, breed,
                               change_activation, child, crossover, first_screen, initial_genome,
                               max_branch, mutate, perturb_weights, rebranch)

__all__ = [
    "MAX_STRENGTH", "MUTATIONS", "Innovations", "add_link", "add_node", "breed",
    "change_activation", "child", "crossover", "first_screen", "initial_genome", "max_branch",
    "limit_blas_threads", "mutate", "perturb_weights", "rebranch", "render_batch", "thumbnails",
]
