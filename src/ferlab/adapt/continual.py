"""A -> B -> A: what learning B costs a network's A, and whether it can still learn.

Three fine-tuning phases with the learning probe's recipe: toward A (0 steps for a network
that already draws A), toward B, back toward A. Reported: forgetting (MSE on A after B minus
MSE on A after the first phase), steps to the target MSE in phase 1 (first learning of A) and
phase 3 (relearning; faster relearning = knowledge kept), final MSEs, and plasticity
diagnostics after each phase, as in the loss-of-plasticity literature (Dohare et al. 2024):

- dead fraction: hidden units whose map is constant over the image (std < ``dead_tol``):
  they pass no signal and get gradient only as a bias. Structurally unused neurons of a
  layerized genome (empty cache slots) count as dead, so compare changes, not levels;
- effective rank (Roy & Vetterli 2007) of each hidden layer's centred (pixels × units) map
  matrix: exp of the entropy of its normalised singular values; mean over layers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferlab.adapt.images import mse
from ferlab.adapt.learning import FINETUNE, TARGET_MSE, finetune
from ferlab.adapt.nets import as_network
from ferlab.metrics.literature import effective_rank
from ferlab.train import Recipe


def plasticity(net, res: int = 32, dead_tol: float = 1e-4) -> dict:
    """{'dead_fraction', 'effective_rank' (mean over hidden layers), 'ranks' (per layer)}."""
    net = as_network(net)
    layers = net.render(res, features=True, dtype=np.float64).layers[1:-1]
    maps = [l.reshape(l.shape[0], -1).T for l in layers]  # (pixels, units) per hidden layer
    stds = np.concatenate([m.std(axis=0) for m in maps])
    ranks = [effective_rank(m) for m in maps]
    return {"dead_fraction": float((stds < dead_tol).mean()), "effective_rank": float(np.mean(ranks)),
            "ranks": ranks}


@dataclass(frozen=True)
class ContinualResult:
    name: str
    learn_a_steps: int | None
    mse_a_learned: float
    mse_b_learned: float
    mse_a_after_b: float
    forgetting: float
    relearn_steps: int | None
    mse_a_relearned: float
    diagnostics: tuple[dict, dict, dict, dict] = field(repr=False)  # start, after A, B, A again
    curves: tuple[np.ndarray, np.ndarray, np.ndarray] = field(repr=False)

    def row(self) -> dict:
        d = {k: getattr(self, k) for k in ("name", "learn_a_steps", "mse_a_learned", "mse_b_learned",
                                           "mse_a_after_b", "forgetting", "relearn_steps",
                                           "mse_a_relearned")}
        for tag, diag in zip(("start", "a", "b", "a2"), self.diagnostics):
            d[f"dead_{tag}"] = diag["dead_fraction"]
            d[f"rank_{tag}"] = diag["effective_rank"]
        return d


def continual(net, image_a, image_b, recipe: Recipe = FINETUNE, target_mse: float = TARGET_MSE,
              diag_res: int = 32) -> ContinualResult:
    """Fine-tune ``net`` toward A, then B, then A again (each for ``recipe.steps`` steps)."""
    net = as_network(net)
    d0 = plasticity(net, diag_res)
    ra = finetune(net, image_a, recipe, target_mse)
    rb = finetune(ra.net, image_b, recipe, target_mse)
    rb_on_a = mse(rb.net.render(recipe.res, dtype=np.float32).image, image_a)
    ra2 = finetune(rb.net, image_a, recipe, target_mse)
    diags = (d0, plasticity(ra.net, diag_res), plasticity(rb.net, diag_res), plasticity(ra2.net, diag_res))
    return ContinualResult(str(net.meta.get("name", "network")), ra.steps_to_target, ra.final_mse,
                           rb.final_mse, rb_on_a, rb_on_a - ra.final_mse, ra2.steps_to_target,
                           ra2.final_mse, diags, (ra.curve, rb.curve, ra2.curve))


def continual_probe(groups: dict, image_a, image_b, recipe: Recipe = FINETUNE,
                    target_mse: float = TARGET_MSE, progress: bool = False) -> list[dict]:
    """:func:`continual` for every network of every group: one row each (with 'group')."""
    from ferlab.adapt.learning import _progress
    from ferlab.adapt.nets import check_same_arch

    nets = {g: [as_network(n) for n in ms] for g, ms in groups.items()}
    check_same_arch([n for ms in nets.values() for n in ms])
    jobs = [(g, i, n) for g, ms in nets.items() for i, n in enumerate(ms)]
    return [{"group": g, "member": i, **continual(n, image_a, image_b, recipe, target_mse).row()}
            for g, i, n in _progress(jobs, "continual probe", progress)]
