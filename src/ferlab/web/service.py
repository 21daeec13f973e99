"""Breeding actions over the store: what each button of the page does, without HTTP.

Each action computes first (breeding, rendering, PNG encoding), then commits in one
transaction; if the session moved in between (another tab clicked too), it recomputes.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Sequence

from ferlab.engine.threads import helper_result, helper_submit
from ferlab.evolve import Innovations, breed, first_screen, max_branch, rebranch
from ferlab.genome import Genome, GenomeError
from ferlab.picbreeder import genome_json_texts
from ferlab.store import Conflict, NewGenome, Store, StoreError
from ferlab.web.imaging import thumbnail_pngs

SCREEN_SIZE = 15
THUMB_RES = 128
#: Largest genome accepted for breeding: every Evolve renders fifteen of them.
MAX_BREED_NODES = 1000
MAX_BREED_LINKS = 5000
_RETRIES = 5


def _seed(seed) -> int:
    return int(seed) if seed is not None else secrets.randbits(62)


def check_breedable(genome: Genome) -> Genome:
    genome.validate()
    if len(genome.nodes) > MAX_BREED_NODES or len(genome.links) > MAX_BREED_LINKS:
        raise GenomeError(f"genome has {len(genome.nodes)} nodes and {len(genome.links)} links; "
                          f"breeding takes at most {MAX_BREED_NODES} and {MAX_BREED_LINKS}")
    return genome


@dataclass
class Breeder:
    store: Store
    screen_size: int = SCREEN_SIZE
    thumb_res: int = THUMB_RES

    def _start(self, colour: bool, seed, strength: float, root: tuple[int | None, Genome] | None,
               origin_image: int | None) -> str:
        seed = _seed(seed)
        at_least = max_branch(root[1]) if root else 0
        guess = self.store.propose_branch(at_least)  # usually right; relabelled if not
        genomes, innov = first_screen(self.screen_size, seed, Innovations(guess, 1), colour,
                                      root[1] if root else None, strength)
        thumbs = thumbnail_pngs(genomes, self.thumb_res)

        def make_screen(branch: int) -> list[NewGenome]:
            items = []
            for k, (g, t) in enumerate(zip(genomes, thumbs)):
                if root is not None and k == 0:
                    # The root keeps its ids: a published genome is shared, an import stored.
                    items.append(NewGenome(g, t, existing=root[0]))
                    continue
                g = rebranch(g, guess, branch)
                if root is None:
                    items.append(NewGenome(g, t))
                elif root[0] is not None:
                    items.append(NewGenome(g, t, (root[0],)))
                else:
                    items.append(NewGenome(g, t, parent_slots=(0,)))
            return items

        return self.store.create_session(at_least, innov.next_id, colour, make_screen, seed,
                                         float(strength), origin_image)

    def start_scratch(self, colour: bool = False, seed=None) -> str:
        """A new session: a screen of fresh genomes."""
        return self._start(bool(colour), seed, 1.0, None, None)

    def start_from_image(self, image_id: int, seed=None, strength: float = 1.0) -> str:
        """Branch from a published image: it and fourteen of its children."""
        gid, key = self.store.image_genome(image_id)
        genome = check_breedable(self.store.genome_by_id(gid))
        return self._start(genome.is_colour, seed, strength, (gid, genome), int(image_id))

    def start_from_genome(self, genome: Genome, seed=None, strength: float = 1.0) -> str:
        """Branch from an imported genome (e.g. a Picbreeder file): it and fourteen children."""
        genome = check_breedable(genome)
        return self._start(genome.is_colour, seed, strength, (None, genome), None)

    def evolve(self, sid: str, screen: int, keys: Sequence[str], strength: float = 1.0, seed=None,
               keep_parents: bool = False) -> int:
        """Breed the next screen from the selected genomes; returns the new screen id.

        With ``keep_parents`` the selected genomes open the next screen unchanged, as on
        Picbreeder, and the rest of it is their children.
        """
        if not keys:
            raise StoreError("select at least one image to breed from")
        if len(set(keys)) != len(keys):
            raise StoreError("a parent is selected twice")
        seed = _seed(seed)
        for _ in range(_RETRIES):
            s, parents = self.store.evolve_source(sid, screen, keys)
            for _, g in parents:  # a stored body edited behind the app's back fails here, clearly
                g.validate()
            innov = Innovations(s["branch"], s["next_id"])
            kept = parents[:self.screen_size - 1] if keep_parents else []
            kids, innov = breed([g for _, g in parents], self.screen_size - len(kept), seed, innov, strength)
            # Children of valid parents are valid by construction (the operators' property
            # tests): checking fifteen 100-node children again cost 7 ms of a 50 ms click.
            # The children's JSON (6 ms of pure Python) is written by the engine's helper
            # process, where one runs, while this thread compiles their render; the helper is
            # free again before the render hands it half the pixels.
            texts = helper_submit(genome_json_texts, kids)
            thumbs = thumbnail_pngs(kids, self.thumb_res, validate=False)
            bodies = helper_result(texts, lambda: genome_json_texts(kids))
            row_of = {g.id: rid for rid, g in parents if g.id is not None}
            items = [NewGenome(g, b"", existing=rid) for rid, g in kept]
            for g, t, body in zip(kids, thumbs, bodies):
                rows = tuple(row_of[p] for p in g.parents if p in row_of)
                items.append(NewGenome(g, t, rows or tuple(r for r, _ in parents), body=body))
            try:
                return self.store.add_screen(sid, screen, s["next_id"], innov.next_id,
                                             [r for r, _ in parents], items, seed, float(strength))
            except Conflict:
                continue
        raise Conflict("session keeps changing; try again")
