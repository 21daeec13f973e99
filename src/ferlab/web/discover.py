"""Discover: browse what ``ferlab search`` found (runs, their grids and novelty walls), and
turn any elite into a breeding session or a published image. An APIRouter over the app's
store and breeder (``request.app.state``), so it adds routes without touching the others."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from ferlab.evolve import MAX_STRENGTH

TOKEN = r"^[A-Za-z0-9_-]{16,64}$"

router = APIRouter()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BreedBody(_Strict):
    genome: str = Field(pattern=TOKEN)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    strength: float = Field(1.0, ge=0.0, le=MAX_STRENGTH)


class PublishBody(_Strict):
    genome: str = Field(pattern=TOKEN)
    title: str = Field(min_length=1, max_length=200)


def _elite_genome(request: Request, key: str):
    """Only genomes a search archived: other genomes are not Discover's to share."""
    return request.app.state.store.search_genome(key)


@router.get("/discover", include_in_schema=False)
def discover_page(request: Request):
    from ferlab.web.app import STATIC

    return FileResponse(STATIC / "discover.html", headers={"Cache-Control": "no-cache"})


@router.get("/api/discover/runs")
def runs(request: Request, limit: int = Query(100, ge=1, le=1000)):
    return {"runs": request.app.state.store.search_runs(limit)}


@router.get("/api/discover/runs/{key}")
def run(request: Request, key: str):
    return request.app.state.store.search_run(key)


@router.post("/api/discover/breed", status_code=201)
def breed(request: Request, body: BreedBody):
    """Start a breeding session from an elite: it and fourteen of its children."""
    genome = _elite_genome(request, body.genome)
    sid = request.app.state.breeder.start_from_genome(genome, body.seed, body.strength)
    return request.app.state.store.session_state(sid)


@router.post("/api/discover/publish", status_code=201)
def publish(request: Request, body: PublishBody):
    """Publish an elite to the gallery (through a session started from it, as any image)."""
    genome = _elite_genome(request, body.genome)
    store = request.app.state.store
    sid = request.app.state.breeder.start_from_genome(genome, 0, 1.0)
    root = store.session_state(sid)["screen"]["genomes"][0]["key"]
    return store.image(store.publish(sid, root, body.title))
