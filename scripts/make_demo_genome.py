"""Build the demo genome that ferlab ships (src/ferlab/data/demo_genome.xml).

Written by hand with ferlab's own data model, so the package ships no third-party genome:
a left-right symmetric colour CPPN ("ferlab moth") with reused parts — a ring, a vertical
band and a wing shape built from them — the kind of modular structure Picbreeder found —
and a chain of "veins" grown off the wing. The chain makes the genome 8 layers deep (its
layerized network 8×12) like the deeper Picbreeder genomes: the 4×9 network of the moth
without veins was too small for an SGD replica of the same shape to draw it (no recipe tried
got below MSE 7e-3), so the demo's side-by-side could not show "the same image".
Run: .venv/bin/python scripts/make_demo_genome.py
"""
from pathlib import Path

from ferlab.genome import Genome, Link, Node
from ferlab.picbreeder import save_genome

B = 9001  # our own branch number for every gene
N = {name: (B, i) for i, name in enumerate(
    ["bias", "d", "x", "y", "hue", "saturation", "brightness",
     "band", "ring", "wave", "wing", "edge", "shade",
     "vein1", "vein2", "vein3", "vein4", "vein5"])}

nodes = [Node(N[k], "in", "identity", k) for k in ("x", "y", "d", "bias")]
nodes += [
    Node(N["band"], "hidden", "gaussian"),    # gaussian(x): symmetric vertical band
    Node(N["ring"], "hidden", "gaussian"),    # gaussian(d - r): a ring
    Node(N["wave"], "hidden", "sin"),         # stripes along y
    Node(N["wing"], "hidden", "gaussian"),    # wing: band and ring combined, bent by y
    Node(N["edge"], "hidden", "sin"),         # outline of the wing, reused by two outputs
    Node(N["shade"], "hidden", "sigmoid"),
    # A chain of veins grown off the wing: depth, as Picbreeder lineages accumulate it.
    Node(N["vein1"], "hidden", "sin"),
    Node(N["vein2"], "hidden", "gaussian"),
    Node(N["vein3"], "hidden", "sigmoid"),
    Node(N["vein4"], "hidden", "sin"),
    Node(N["vein5"], "hidden", "gaussian"),
    Node(N["hue"], "out", "gaussian", "hue"),  # stays in (0, 1]: hue never wraps into rings
    Node(N["saturation"], "out", "gaussian", "saturation"),
    Node(N["brightness"], "out", "gaussian", "brightness"),
]
spec = [
    ("x", "band", 2.2), ("bias", "band", 0.0),
    ("d", "ring", 2.4), ("bias", "ring", -1.3),
    ("y", "wave", 4.0), ("d", "wave", 1.1),
    ("band", "wing", -1.6), ("ring", "wing", 1.2), ("y", "wing", 0.9), ("bias", "wing", 0.4),
    ("wing", "edge", 1.3), ("wave", "edge", 0.25),
    ("y", "shade", -1.8), ("wing", "shade", 1.1),
    ("shade", "hue", 0.45), ("ring", "hue", 0.3),
    ("wing", "saturation", 0.9), ("bias", "saturation", 0.5),
    ("edge", "brightness", 1.1), ("wing", "brightness", -0.6), ("band", "brightness", 0.4),
    ("wing", "vein1", 1.2), ("y", "vein1", 0.8),
    ("vein1", "vein2", 0.9), ("d", "vein2", -0.5),
    ("vein2", "vein3", 1.2), ("ring", "vein3", 0.6),
    ("vein3", "vein4", 1.0), ("y", "vein4", 0.5),
    ("vein4", "vein5", 0.8), ("band", "vein5", -0.3),
    ("vein5", "brightness", 0.25), ("vein3", "hue", 0.15), ("vein4", "saturation", 0.25),
]
links = [Link((B, 100 + i), N[s], N[t], w) for i, (s, t, w) in enumerate(spec)]
genome = Genome(tuple(nodes), tuple(links), id=(B, 1), meta={"phenotype": "color"}).validate()

if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "src" / "ferlab" / "data" / "demo_genome.xml"
    save_genome(genome, out)
    print(out)
