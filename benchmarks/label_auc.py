"""Human-label agreement: does a link-effect similarity predict CPPN-X "same label"?

For every CPPN-X genome in ../shared, over all pairs of labelled links (color_label != 0),
the ROC AUC of the similarity for same-label vs different-label pairs; pooled = one AUC over
every genome's pairs. Prints the issue's baseline (cosine of |Δimage| at δ = ±1, 64²) and
ferlab's effect similarity (baseline + Jaccard overlap of the nodes the links act through,
equal weights; see ferlab.metrics.effect_similarity), plus each half alone.

    .venv/bin/python benchmarks/label_auc.py [--shared ../shared] [--res 64]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("FERLAB_SHARED", ROOT.parent / "shared"))
    ap.add_argument("--res", type=int, default=64)
    args = ap.parse_args()
    folder = Path(args.shared) / "picbreeder/cppnx"
    paths = sorted(folder.glob("*.xml"))
    if not paths:
        print(f"no CPPN-X genomes in {folder} (set FERLAB_SHARED)", file=sys.stderr)
        return 2

    from ferlab import metrics as M
    from ferlab.picbreeder import load_genome

    genomes = [load_genome(p) for p in paths]
    sims = {
        "baseline |Δ| cosine": M.baseline_similarity,
        "downstream Jaccard only": lambda g, res: M.downstream_overlap(g),
        "effect (ferlab)": M.effect_similarity,
    }
    t = time.perf_counter()
    table = {}
    for name, fn in sims.items():
        per, scores, flags = {}, [], []
        for g in genomes:
            s, same = M.label_pairs(g, fn(g, args.res))
            per[g.meta["name"]] = M.roc_auc(s, same)
            scores.append(s)
            flags.append(same)
        table[name] = (per, M.roc_auc(np.concatenate(scores), np.concatenate(flags)))
    took = time.perf_counter() - t

    names = [g.meta["name"] for g in genomes]
    pairs = {g.meta["name"]: M.label_pairs(g, np.zeros((len(g.links),) * 2))[1] for g in genomes}
    head = f"{'genome':26s} {'pairs':>6s} {'same':>5s} " + " ".join(f"{n[:22]:>23s}" for n in sims)
    print(head)
    for n in names:
        row = f"{n:26s} {len(pairs[n]):6d} {pairs[n].mean():5.2f} "
        print(row + " ".join(f"{table[s][0][n]:23.3f}" for s in sims))
    print(f"{'pooled':26s} {sum(len(p) for p in pairs.values()):6d} {'':5s} "
          + " ".join(f"{table[s][1]:23.3f}" for s in sims))
    base, ours = table["baseline |Δ| cosine"], table["effect (ferlab)"]
    wins = sum(ours[0][n] > base[0][n] for n in names)
    print(f"\neffect beats baseline on {wins}/{len(names)} genomes; pooled "
          f"{ours[1]:.3f} vs {base[1]:.3f} ({args.res}², {took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
