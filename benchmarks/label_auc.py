"""Human-label agreement: does a link-effect similarity predict CPPN-X "same label"?

For every CPPN-X genome in ../shared, over all pairs of labelled links (color_label != 0),
the ROC AUC of the similarity for same-label vs different-label pairs; pooled = one AUC over
every genome's pairs. Prints every similarity in ferlab.metrics.SIMILARITIES per genome and pooled, then the
leave-one-genome-out figure (choose the similarity on 7 genomes, score the 8th), the
variants tried while designing "effect" (recorded figures, 32²) and the out-of-sample
evidence that decided the default.

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


#: Variants tried while choosing the similarity, pooled AUC over the 8 genomes at 32² (the
#: baseline is 0.733 there too). Recorded once from throwaway scripts, not recomputed here.
EXPLORED = """
other variants tried (pooled AUC, 32², recorded while designing; baseline 0.733):
  image only:  signed Δ ±1 cosine 0.689, signed ±0.5±1 0.681, signed centred corr 0.688,
               |cos| of signed Δ 0.717, |Δ| at ±0.1 0.724 / ±2 0.734 / ±0.5±1 0.732,
               |Δ|^0.5 0.736, mean-pooled to 16² 0.726 / 8² 0.705 / 4² 0.669,
               each δ's map unit-normalised 0.744-0.750
  nodes:       all node |Δ| maps, raw 0.749 / ^0.25 0.760; target node |Δ| only 0.647,
               signed 0.541; per-node change energy (weighted Jaccard) 0.735;
               unit node maps (chosen) 0.785, over ±0.5,±1,±2 0.790, of pre-activations
               0.784; target node's own perturbation, unit maps 0.788
  graph:       upstream Jaccard 0.566, path nodes 0.640, same target 0.599, distance-
               decayed downstream 0.69-0.71, IDF-weighted downstream 0.66
  mixes:       image+nodes^.25+downstream 0.783; unit nodes+image+downstream 0.785,
               with context 0.793; rank-averaging instead of means 0.74
  context:     profile correlation over all links incl. the pair itself 0.787 at 64²
               (chosen: over the other links only, 0.792); 2nd-order alone 0.782
  transforms:  cophenetic (hierarchical-clustering) similarity 0.78-0.81 but erratic per
               genome (542 at 1.000, 1009 at 0.57): rejected as unstable
"""


#: What the in-sample table cannot show (measured by the project lead on other labelled CPPN-X
#: genomes, not available here): "effect" raised the visible pooled AUC 0.776 -> 0.792 but
#: lowered the unseen one 0.768 -> 0.759. A similarity that wins on all eight visible genomes
#: can still lose out of sample, so the default stays "image+downstream".
OUT_OF_SAMPLE = """
out of sample (other labelled CPPN-X genomes, measured outside this repository):
  image+downstream 0.768, effect 0.759 (goal >= 0.80): default = image+downstream
"""


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
    t = time.perf_counter()
    table = {}
    for name in M.SIMILARITIES:
        r = M.label_auc(genomes, name, args.res)
        table[name] = (r["per_genome"], r["pooled"])
    logo = M.logo_auc(genomes, res=args.res)
    logo_all = M.logo_auc(genomes, candidates=list(M.SIMILARITIES), res=args.res)
    took = time.perf_counter() - t

    names = [g.meta["name"] for g in genomes]
    pairs = {g.meta["name"]: M.label_pairs(g, np.zeros((len(g.links),) * 2))[1] for g in genomes}
    sims = list(M.SIMILARITIES)
    print(f"{'genome':26s} {'pairs':>6s} {'same':>5s} " + " ".join(f"{n[:17]:>17s}" for n in sims)
          + f" {'LOGO (chosen)':>28s}")
    for n in names:
        row = f"{n:26s} {len(pairs[n]):6d} {pairs[n].mean():5.2f} "
        print(row + " ".join(f"{table[s][0][n]:17.3f}" for s in sims)
              + f" {logo['per_genome'][n]:7.3f} ({logo['chosen'][n][:18]})")
    print(f"{'pooled':26s} {sum(len(p) for p in pairs.values()):6d} {'':5s} "
          + " ".join(f"{table[s][1]:17.3f}" for s in sims) + f" {logo['pooled']:7.3f}")
    print(EXPLORED)
    print(OUT_OF_SAMPLE)
    print(f"\nleave-one-genome-out AUC (choose among {', '.join(M.UNFITTED)} on 7 genomes, score "
          f"the 8th): {logo['pooled']:.3f} pooled, chosen {sorted(set(logo['chosen'].values()))}")
    print(f"the same over all {len(sims)} similarities, including the ones designed on these labels: "
          f"{logo_all['pooled']:.3f}, chosen {sorted(set(logo_all['chosen'].values()))} -- not a fair "
          "estimate, their design already saw every held-out genome")
    print(f"default similarity '{M.DEFAULT_SIMILARITY}': {table[M.DEFAULT_SIMILARITY][1]:.3f} pooled "
          f"({args.res}², {took:.1f} s, loaded machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
