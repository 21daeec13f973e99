"""Search checkpoints: one ``.npz`` (arrays plus a JSON record), written atomically.

Genomes are kept as ferlab JSON (exact weights), the generator as its bit-generator state,
so a resumed run continues bit for bit. Loading never unpickles anything.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ferlab.atomic import write_with
from ferlab.evolve import Innovations
from ferlab.picbreeder import genome_from_json, genome_to_json
from ferlab.search.config import SearchConfig
from ferlab.search.state import SearchState, new_state

FORMAT = "ferlab-search-checkpoint/1"


def _g(genome):
    return None if genome is None else genome_to_json(genome)


def save_checkpoint(st: SearchState, path) -> Path:
    path = Path(path)
    record = {
        "format": FORMAT, "config": st.config.to_dict(), "target": st.target_key,
        "generation": st.generation, "evals": st.evals,
        "rng": st.rng.bit_generator.state, "innov": [st.innov.branch, st.innov.next_id],
        "population": [_g(g) for g in st.population],
        "archive": [_g(g) for g in st.archive.genomes], "archive_novelty": st.archive.novelty,
        "grid": {str(int(c)): _g(st.grid.genomes[int(c)]) for c in st.grid.occupied},
        "best_distance": st.best_distance if np.isfinite(st.best_distance) else None,
        "best": _g(st.best_genome), "history": st.history,
    }
    arrays = dict(st.grid.arrays("grid_"))
    arrays["archive_embedding"] = st.archive.embedding
    for name, val in (("archive_raw", st.archive.raw), ("pop_embedding", st.pop_embedding),
                      ("pop_raw", st.pop_raw), ("pop_score", st.pop_score)):
        if val is not None:
            arrays[name] = np.asarray(val)
    if st.ae is not None:
        from ferlab.search.autoencoder import to_arrays

        for i, a in enumerate(to_arrays(*st.ae)):
            arrays[f"ae_{i}"] = a
    arrays["record"] = np.frombuffer(json.dumps(record).encode(), np.uint8)
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a bare path
            np.savez(f, **arrays)

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_with(path, write)


def load_checkpoint(path) -> SearchState:
    """The state saved at ``path``; ValueError (one line) if it is not a search checkpoint."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        record = json.loads(arrays.pop("record").tobytes().decode())
    except FileNotFoundError:
        raise
    except Exception as e:  # noqa: BLE001 - any damage reads as "not a checkpoint"
        raise ValueError(f"{path} is not a readable search checkpoint ({type(e).__name__})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{path} is not a ferlab search checkpoint")
    st = new_state(SearchConfig.from_dict(record["config"]), record["target"])
    st.generation, st.evals = int(record["generation"]), int(record["evals"])
    st.rng.bit_generator.state = record["rng"]
    st.innov = Innovations(*record["innov"])
    st.population = [genome_from_json(g) for g in record["population"]]
    st.archive.genomes = [genome_from_json(g) for g in record["archive"]]
    st.archive.novelty = list(record["archive_novelty"])
    st.archive.embedding = arrays["archive_embedding"]
    st.archive.raw = arrays.get("archive_raw")
    st.grid.restore(arrays, "grid_", {int(k): genome_from_json(v) for k, v in record["grid"].items()})
    st.pop_embedding = arrays.get("pop_embedding")
    st.pop_raw = arrays.get("pop_raw")
    st.pop_score = arrays.get("pop_score")
    bd = record["best_distance"]
    st.best_distance = float("inf") if bd is None else float(bd)
    st.best_genome = None if record["best"] is None else genome_from_json(record["best"])
    st.history = list(record["history"])
    ae = sorted((k for k in arrays if k.startswith("ae_")), key=lambda k: int(k[3:]))
    if ae:
        from ferlab.search.autoencoder import from_arrays

        st.ae = from_arrays([arrays[k] for k in ae], st.config.seed)
    return st
