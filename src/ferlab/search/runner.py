"""Run a search: one generation at a time, from a fresh state or a checkpoint.

A generation is: the arm proposes ``batch`` genomes, they are rendered together, described,
put in the shared grid (every arm keeps one, so coverage is comparable) and handed back to
the arm. Everything random comes from the state's generator, so a run is a pure function of
its config (and target): stopping, checkpointing and resuming changes nothing.
"""
from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

from ferlab.engine import limit_blas_threads
from ferlab.search import autoencoder
from ferlab.search.archives import knn_novelty
from ferlab.search.arms import ARM_MODULES
from ferlab.search.arms import novelty as novelty_arm
from ferlab.search.arms import target as target_arm
from ferlab.search.config import SearchConfig
from ferlab.search.descriptors import describe, target_distance
from ferlab.search.evaluate import render_population
from ferlab.search.state import SearchState, new_state


def target_fingerprint(target: np.ndarray | None) -> str | None:
    if target is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(target, np.float32).tobytes()).hexdigest()[:16]


def check_target(config: SearchConfig, target: np.ndarray | None) -> np.ndarray | None:
    if target is None:
        if config.arm == "target":
            raise ValueError("the target arm needs a target image (--target)")
        return None
    t = np.asarray(target, np.float32)
    if t.shape != (config.res, config.res, 3):
        raise ValueError(f"target must be a ({config.res}, {config.res}, 3) image, got {t.shape}")
    if not np.isfinite(t).all() or t.min() < 0 or t.max() > 1:
        raise ValueError("target pixels must be finite and in [0, 1]")
    return t


def start(config: SearchConfig, target: np.ndarray | None = None) -> SearchState:
    return new_state(config, target_fingerprint(check_target(config, target)))


def _refit_ae(st: SearchState) -> None:
    """Retrain the autoencoder on the archive and population, then re-embed both."""
    parts = [x for x in (st.archive.raw, st.pop_raw) if x is not None and len(x)]
    if not parts:
        return
    x = np.concatenate(parts)
    rng = np.random.default_rng([st.config.seed, st.generation, 0xAE])
    params, opt_state, _ = autoencoder.fit(*st.ae, x, st.config.ae_steps, rng)
    st.ae = (params, opt_state)
    if st.archive.raw is not None:
        st.archive.embedding = autoencoder.encode(params, st.archive.raw)
    if st.pop_raw is not None:
        st.pop_embedding = autoencoder.encode(params, st.pop_raw)


def step(st: SearchState, target: np.ndarray | None = None) -> dict:
    """Run one generation in place; returns its history row."""
    c = st.config
    arm = ARM_MODULES[c.arm]
    genomes = arm.propose(st)
    images = render_population(genomes, c.res)
    feats = describe(images, c.colour)
    dist = target_distance(images, target) if target is not None else np.full(len(genomes), np.nan)
    desc = np.stack([feats[m] for m in c.measures], axis=1)
    st.grid.add(genomes, desc, feats["quality"], feats["embedding"], dist, st.generation)
    if c.arm == "novelty":
        raw = None
        emb = feats["embedding"]
        if c.embedding == "ae":
            if st.generation % c.ae_every == 0:
                _refit_ae(st)
            raw = autoencoder.ae_input(images)
            emb = autoencoder.encode(st.ae[0], raw)
        nov = novelty_arm.tell(st, genomes, emb, raw)
    elif c.arm == "target":
        target_arm.tell(st, genomes, dist)
        nov = None
    else:
        nov = None
    if target is not None:
        i = int(np.argmin(dist))
        if dist[i] < st.best_distance:
            st.best_distance, st.best_genome = float(dist[i]), genomes[i]
    st.generation += 1
    st.evals += len(genomes)
    row = {"generation": st.generation, "evals": st.evals, "coverage": st.grid.coverage,
           "best_quality": float(np.max(st.grid.quality[st.grid.occupied])),
           "best_distance": st.best_distance if target is not None else None,
           "archive": len(st.archive) if c.arm == "novelty" else len(st.grid.occupied),
           "mean_novelty": float(np.mean(nov)) if nov is not None else None,
           "nodes": float(np.mean([len(g.nodes) for g in genomes]))}
    st.history.append(row)
    return row


def run(st: SearchState, budget: int, target: np.ndarray | None = None, *,
        checkpoint=None, checkpoint_every: int = 10, progress: bool = False,
        on_generation: Callable[[SearchState, dict], None] | None = None) -> SearchState:
    """Run whole generations until at least ``budget`` evaluations are done.

    ``checkpoint``: path written (atomically) every ``checkpoint_every`` generations and at
    the end; a KeyboardInterrupt saves it before propagating.
    """
    from ferlab.search.checkpoint import save_checkpoint

    if int(budget) < 1:
        raise ValueError(f"budget must be a positive number of evaluations, got {budget}")
    target = check_target(st.config, target)
    if target_fingerprint(target) != st.target_key:
        raise ValueError("target differs from the one this run started with")
    limit_blas_threads(1)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=int(budget), initial=min(st.evals, int(budget)), unit="eval",
                   desc=f"search {st.config.arm}", dynamic_ncols=True)
    try:
        while st.evals < int(budget):
            row = step(st, target)
            if bar is not None:
                post = {"cov": f"{row['coverage']:.3f}", "q": f"{row['best_quality']:.3f}"}
                if row["best_distance"] is not None:
                    post["dist"] = f"{row['best_distance']:.4f}"
                bar.set_postfix(post, refresh=False)
                bar.update(min(row["evals"], int(budget)) - bar.n)
            if on_generation is not None:
                on_generation(st, row)
            if checkpoint is not None and st.generation % int(checkpoint_every) == 0:
                save_checkpoint(st, checkpoint)
    except KeyboardInterrupt:
        if checkpoint is not None:
            save_checkpoint(st, checkpoint)
        raise
    finally:
        if bar is not None:
            bar.close()
    if checkpoint is not None:
        save_checkpoint(st, checkpoint)
    return st


def elite_novelty(st: SearchState, k: int | None = None) -> np.ndarray:
    """Novelty of each occupied grid cell among the elites (for a novelty-ordered wall)."""
    occ = st.grid.occupied
    emb = st.grid.embedding[occ]
    return knn_novelty(emb, emb, k or st.config.k, True)


def run_search(config: SearchConfig, budget: int, target: np.ndarray | None = None,
               **kwargs) -> SearchState:
    """A fresh run of ``config`` for ``budget`` evaluations (see :func:`run`)."""
    return run(start(config, target), budget, target, **kwargs)
