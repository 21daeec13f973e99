"""The Breed web app: FastAPI routes over :mod:`ferlab.web.service` and :mod:`ferlab.store`.

Every payload is validated before anything is stored; errors come back as 4xx with
``{"detail": "one line"}``. Handlers are plain ``def`` (FastAPI runs them in its thread
pool), since the work is numpy and SQLite, both of which release the GIL.
"""
from __future__ import annotations

import base64
import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ferlab.evolve import MAX_STRENGTH, limit_blas_threads
from ferlab.genome import Genome, GenomeError, fmt_id, parse_id
from ferlab.layerize import layerize
from ferlab.limits import MAX_VALUES, MAX_WEB_OPS, CostError, check_render
from ferlab.picbreeder import genome_to_json, genome_to_xml, parse_genome
from ferlab.store import Store, StoreError
from ferlab.web import dense, discover, imaging
from ferlab.web.guard import LOOPBACK_HOSTS, Guard
from ferlab.web.service import Breeder

STATIC = Path(__file__).resolve().parent / "static"
#: Largest genome file accepted by the import endpoint.
MAX_UPLOAD = 4 * 1024 * 1024
#: Largest JSON body any other endpoint accepts.
MAX_JSON = 256 * 1024
MAX_RES = 2048
MAX_LIVE_RES = 512
TOKEN = r"^[A-Za-z0-9_-]{16,64}$"
SEED_MAX = 2**63 - 1
#: Endpoints that take a file body (up to MAX_UPLOAD) rather than JSON.
UPLOADS = ("/api/sessions/import", "/api/nets/import")


# ------------------------------------------------------------------------------------ payloads
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartBody(_Strict):
    start: str = Field("scratch", pattern="^(scratch|image)$")
    colour: bool = False
    image: int | None = Field(None, ge=1, le=2**62)
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
    strength: float = Field(1.0, ge=0.0, le=MAX_STRENGTH)


class EvolveBody(_Strict):
    screen: int = Field(ge=1, le=2**62)
    parents: list[Annotated[str, Field(pattern=TOKEN)]] = Field(min_length=1, max_length=15)
    strength: float = Field(1.0, ge=0.0, le=MAX_STRENGTH)
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
    keep_parents: bool = False


class BackBody(_Strict):
    screen: int = Field(ge=1, le=2**62)


class PublishBody(_Strict):
    genome: str = Field(pattern=TOKEN)
    title: str = Field(min_length=1, max_length=200)
    tags: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=8)


class SummaryBody(_Strict):
    ids: list[Annotated[str, Field(max_length=64)]] = Field(max_length=50)


class RenderBody(_Strict):
    weights: dict[Annotated[str, Field(max_length=40)], float] = Field(default_factory=dict, max_length=50_000)
    res: int = Field(256, ge=16, le=MAX_LIVE_RES)


class EditedBody(_Strict):
    """A stored genome with some link weights changed in the explorer."""

    weights: dict[Annotated[str, Field(max_length=40)], float] = Field(default_factory=dict, max_length=50_000)


class LinkBody(EditedBody):
    link: str = Field(max_length=40)
    res: int = Field(96, ge=16, le=256)


class NodeBody(EditedBody):
    node: str = Field(max_length=40)
    res: int = Field(256, ge=16, le=MAX_LIVE_RES)


class ScanBody(LinkBody):
    start: float = Field(-3.0, ge=-1e3, le=1e3)
    end: float = Field(3.0, ge=-1e3, le=1e3)
    step: float = Field(0.1, gt=0.0, le=1e3)
    format: str = Field("sprite", pattern="^(sprite|png|webp)$")
    fps: float = Field(12.0, ge=1.0, le=60.0)


class ExportBody(EditedBody):
    format: str = Field("xml", pattern="^(xml|cppnx|json)$")


#: One dense weight set to a value: [kernel, row, column, value].
DenseEdit = tuple[Annotated[int, Field(ge=0, le=4096)], Annotated[int, Field(ge=0, le=4096)],
                  Annotated[int, Field(ge=0, le=4096)], float]


class DenseBody(_Strict):
    edits: list[DenseEdit] = Field(default_factory=list, max_length=1000)
    res: int = Field(256, ge=8, le=MAX_LIVE_RES)


class DenseSweepBody(DenseBody):
    weight: tuple[Annotated[int, Field(ge=0, le=4096)], Annotated[int, Field(ge=0, le=4096)],
                  Annotated[int, Field(ge=0, le=4096)]]
    res: int = Field(96, ge=8, le=256)


# ------------------------------------------------------------------------------------- helpers
def _store_status(exc: StoreError) -> int:
    """The HTTP status for a store refusal: the store knows nothing of HTTP."""
    from ferlab.store import Conflict, NotFound, StoreBroken

    for cls, status in ((NotFound, 404), (Conflict, 409), (StoreBroken, 500)):
        if isinstance(exc, cls):
            return status
    return 400


def _one_line(msg: str) -> str:
    return str(msg).strip().splitlines()[0] if str(msg).strip() else "bad request"


def _parse_window(text: str | None):
    if text is None or text == "":
        return None
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise GenomeError("window must be four numbers: xmin,xmax,ymin,ymax") from None
    if len(vals) != 4 or not all(math.isfinite(v) and abs(v) <= 1e6 for v in vals):
        raise GenomeError("window must be four finite numbers (|v| <= 1e6): xmin,xmax,ymin,ymax")
    if not (vals[0] < vals[1] and vals[2] < vals[3]):
        raise GenomeError("window needs xmin < xmax and ymin < ymax")
    return tuple(vals)


def _budget(obj, pixels: int, frames: int = 1, engine: str = "gather", features: bool = False) -> None:
    """The CPU budget of one anonymous render of a genome or dense network (CostError -> 422).
    The batch genome renderer works in pixel tiles, so only the levels engine (all node maps
    at once) and dense networks are bounded in memory too."""
    tiled = engine == "gather" and not hasattr(obj, "arch")
    check_render(obj, pixels, frames, features, max_ops=MAX_WEB_OPS, engine=engine,
                 what="this render", max_values=None if tiled else MAX_VALUES)


def _png(data: bytes, filename: str | None = None, cache: bool = False) -> Response:
    headers = {}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if cache:  # genome keys name immutable content
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return Response(data, media_type="image/png", headers=headers)


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")
    return name[:60] or "genome"


def _label(text: str, genome: Genome, color_label: int) -> str:
    """A gene's human label. CPPN-X writes ``""`` on every link as an empty placeholder."""
    text = (text or "").strip()
    if text.strip('"\'') == "":
        text = ""
    return text or genome.label_text(color_label)


def _hex(rgb) -> str:
    return "#" + "".join(f"{max(0, min(255, int(c))):02x}" for c in rgb)


def _graph(genome: Genome) -> dict:
    depth = genome.depths()
    cols: dict[int, int] = {}
    nodes = []
    order = sorted(genome.nodes, key=lambda n: (depth[n.id], n.kind != "in", n.label, n.id))
    out_depth = max(depth.values(), default=0) + 1
    for n in order:
        d = out_depth if n.kind == "out" else depth[n.id]
        row = cols.get(d, 0)
        cols[d] = row + 1
        nodes.append({"id": fmt_id(n.id), "kind": n.kind, "label": n.label, "activation": n.activation,
                      "depth": d, "row": row, "text": _label(n.text, genome, n.color_label),
                      "group": n.color_label, "pos": list(n.position) if n.position is not None else None})
    links = [{"id": fmt_id(l.id), "source": fmt_id(l.source), "target": fmt_id(l.target),
              "weight": l.weight, "text": _label(l.text, genome, l.color_label), "group": l.color_label,
              "original": l.original_weight, "bookends": list(l.bookends) if l.bookends else None}
             for l in genome.links]
    used = {n["group"] for n in nodes} | {l["group"] for l in links}
    groups = [{"id": b.id, "text": b.text, "color": _hex(b.color)} for b in genome.buttons if b.id in used]
    # CPPN-X positions are drawn as given when every node has one (inputs at the bottom).
    positions = all(n["pos"] is not None for n in nodes)
    return {"nodes": nodes, "links": links, "columns": out_depth + 1, "groups": groups,
            "positions": positions, "name": genome.meta.get("name", "")}


async def _read_upload(request: Request, what: str) -> bytes | Response:
    """The request body, capped as it arrives (the Guard caps it first; this keeps the route
    safe on its own); a 413 if too big."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_UPLOAD:
            return JSONResponse({"detail": f"{what} is larger than {MAX_UPLOAD} bytes"}, status_code=413)
    if not data:
        raise GenomeError(f"{what} is empty")
    return bytes(data)


# ----------------------------------------------------------------------------------------- app
def create_app(db_path=None, allowed_hosts=LOOPBACK_HOSTS) -> FastAPI:
    """The app over the database at ``db_path`` (default: the user's data dir), answering
    requests whose Host is in ``allowed_hosts`` (None: any; see :mod:`ferlab.web.guard`)."""
    store = Store(db_path)
    breeder = Breeder(store)
    limit_blas_threads(1)
    # No docs page: it loads its script from a CDN, which is blank offline and breaks the CSP.
    app = FastAPI(title="ferlab breed", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.add_middleware(Guard, allowed_hosts=allowed_hosts, body_limits={p: MAX_UPLOAD for p in UPLOADS},
                       default_body_limit=MAX_JSON, raw_body_paths=UPLOADS)
    app.state.store = store
    app.state.breeder = breeder

    @lru_cache(maxsize=64)
    def cached_genome(key: str) -> tuple[int, Genome]:
        return store.genome(key)  # stored genomes never change, so caching by key is safe

    def genome_of(key: str) -> Genome:
        return cached_genome(key)[1]

    @app.exception_handler(StoreError)
    def _store_error(request: Request, exc: StoreError):
        return JSONResponse({"detail": _one_line(str(exc))}, status_code=_store_status(exc))

    @app.exception_handler(GenomeError)
    def _genome_error(request: Request, exc: GenomeError):
        return JSONResponse({"detail": _one_line(str(exc))}, status_code=400)

    @app.exception_handler(RequestValidationError)
    def _validation_error(request: Request, exc: RequestValidationError):
        errs = exc.errors()
        if errs:
            e = errs[0]
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            msg = f"{where}: {e.get('msg', 'invalid')}" if where else e.get("msg", "invalid")
        else:
            msg = "invalid request"
        return JSONResponse({"detail": _one_line(msg)}, status_code=422)

    @app.exception_handler(CostError)
    def _cost_error(request: Request, exc: CostError):
        return JSONResponse({"detail": _one_line(str(exc))}, status_code=422)

    @app.exception_handler(OverflowError)
    def _overflow_error(request: Request, exc: OverflowError):
        return JSONResponse({"detail": "a number in the request is too large"}, status_code=400)

    # -- health & page ---------------------------------------------------------------------
    @app.get("/api/health")
    def health():
        store.counts()  # answers only once the database is usable
        return {"ok": True}

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(discover.router)

    # -- sessions --------------------------------------------------------------------------
    @app.post("/api/sessions", status_code=201)
    def start(body: StartBody):
        if body.start == "image":
            if body.image is None:
                raise StoreError("start 'image' needs an image id")
            sid = breeder.start_from_image(body.image, body.seed, body.strength)
        else:
            sid = breeder.start_scratch(body.colour, body.seed)
        return store.session_state(sid)

    @app.post("/api/sessions/import", status_code=201)
    async def import_genome(request: Request, name: str = Query("import", max_length=100),
                            seed: int | None = Query(None, ge=0, le=SEED_MAX),
                            strength: float = Query(1.0, ge=0.0, le=MAX_STRENGTH)):
        data = await _read_upload(request, "genome file")
        if isinstance(data, Response):
            return data
        # Parsing a few MB of XML takes a while: never on the event loop.
        genome = await run_in_threadpool(parse_genome, data, _safe_name(name))
        sid = await run_in_threadpool(breeder.start_from_genome, genome, seed, strength)
        return await run_in_threadpool(store.session_state, sid)

    @app.post("/api/sessions/summary")
    def sessions_summary(body: SummaryBody):
        return {"sessions": store.sessions_summary(body.ids)}

    @app.get("/api/sessions/{sid}")
    def session(sid: str):
        return store.session_state(sid)

    @app.post("/api/sessions/{sid}/evolve")
    def evolve(sid: str, body: EvolveBody):
        store.session_row(sid)
        breeder.evolve(sid, body.screen, body.parents, body.strength, body.seed, body.keep_parents)
        return store.session_state(sid)

    @app.post("/api/sessions/{sid}/back")
    def back(sid: str, body: BackBody):
        store.go_back(sid, body.screen)
        return store.session_state(sid)

    @app.post("/api/sessions/{sid}/publish", status_code=201)
    def publish(sid: str, body: PublishBody):
        image_id = store.publish(sid, body.genome, body.title, body.tags)
        return store.image(image_id)

    # -- gallery ---------------------------------------------------------------------------
    @app.get("/api/gallery")
    def gallery(limit: int = Query(60, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
                q: str = Query("", max_length=200), sort: str = Query("new", pattern="^(new|old|title)$"),
                tag: str = Query("", max_length=40)):
        return store.gallery(limit, offset, q, sort, tag)

    @app.get("/api/gallery/{image_id}")
    def image(image_id: int):
        if not 1 <= image_id <= 2**62:
            from ferlab.store import NotFound

            raise NotFound(f"no such image {image_id}")
        return store.image(image_id)

    # -- genomes ---------------------------------------------------------------------------
    @app.get("/api/genomes/{key}")
    def genome_info(key: str):
        row = store.genome_row(key)
        g = genome_of(key)
        pub = store.published_as(row["id"])
        return {"key": key, "nodes": len(g.nodes), "links": len(g.links), "colour": g.is_colour,
                "id": fmt_id(g.id) if g.id else None, "parents": [fmt_id(p) for p in g.parents],
                "image": pub[0] if pub else None, "title": pub[1] if pub else None,
                "name": g.meta.get("name", "")}

    @app.get("/api/genomes/{key}/thumb.png")
    def thumb(key: str):
        return _png(store.thumb(key), cache=True)

    @app.get("/api/genomes/{key}/image.png")
    def big_image(key: str, res: int = Query(512, ge=16, le=MAX_RES), window: str | None = Query(None, max_length=200),
                  download: bool = False):
        g = genome_of(key)
        window = _parse_window(window)
        _budget(g, res * res)
        data = imaging.render_png(g, res, window)
        return _png(data, f"{_safe_name(store.genome_title(cached_genome(key)[0]) or key)}.png" if download else None)

    @app.get("/api/genomes/{key}/genome.xml")
    def genome_xml(key: str):
        g = genome_of(key)
        name = _safe_name(store.genome_title(cached_genome(key)[0]) or key)
        return Response(genome_to_xml(g), media_type="application/xml",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xml"'})

    @app.get("/api/genomes/{key}/graph")
    def graph(key: str):
        return _graph(genome_of(key))

    @app.get("/api/genomes/{key}/nodes")
    def node_maps(key: str, res: int = Query(48, ge=8, le=128)):
        g = genome_of(key)
        _budget(g, res * res, engine="levels")
        maps = imaging.node_map_pngs(g, res)
        return {fmt_id(g): "data:image/png;base64," + base64.b64encode(b).decode() for g, b in maps.items()}

    @app.post("/api/genomes/{key}/render")
    def live_render(key: str, body: RenderBody):
        g = genome_of(key)
        weights = {parse_id(k): v for k, v in body.weights.items()}
        _budget(g, body.res * body.res)
        return _png(imaging.render_png(imaging.with_link_weights(g, weights), body.res))

    @app.get("/api/genomes/{key}/sweep")
    def sweep(key: str, link: str = Query(..., max_length=40), res: int = Query(96, ge=16, le=256)):
        g = genome_of(key)
        _budget(g, res * res, frames=len(imaging.SWEEP_DELTAS))
        data = imaging.sweep_strip(g, parse_id(link), res)
        r = _png(data)
        r.headers["X-Deltas"] = ",".join(str(d) for d in imaging.SWEEP_DELTAS)
        return r

    # -- explorer over an edited genome ---------------------------------------------------
    def edited(key: str, body: EditedBody) -> Genome:
        g = genome_of(key)
        return imaging.with_link_weights(g, {parse_id(k): v for k, v in body.weights.items()})

    @app.post("/api/genomes/{key}/sweep")
    def sweep_edited(key: str, body: LinkBody):
        """The sweep strip around the link's current (edited) weight."""
        g = edited(key, body)
        _budget(g, body.res * body.res, frames=len(imaging.SWEEP_DELTAS))
        data = imaging.sweep_strip(g, parse_id(body.link), body.res)
        r = _png(data)
        r.headers["X-Deltas"] = ",".join(str(d) for d in imaging.SWEEP_DELTAS)
        return r

    @app.post("/api/genomes/{key}/node")
    def node_large(key: str, body: NodeBody):
        g = edited(key, body)
        _budget(g, body.res * body.res, engine="levels")
        data, lo, hi = imaging.node_map(g, parse_id(body.node), body.res)
        r = _png(data)
        r.headers["X-Range"] = f"{lo:.6g},{hi:.6g}"
        return r

    @app.post("/api/genomes/{key}/scan")
    def scan(key: str, body: ScanBody):
        """CPPN-X's scan of one link: frames stacked in one PNG, or an animated PNG/WebP."""
        g = edited(key, body)
        values = imaging.scan_values(body.start, body.end, body.step)
        frames = imaging.scan_frames(g, parse_id(body.link), values, body.res)
        if body.format == "sprite":
            r = _png(imaging.sprite_png(frames))
            r.headers["X-Values"] = ",".join(f"{v:.6g}" for v in values)
            return r
        name = f"{_safe_name(g.meta.get('name') or key)}_scan_{_safe_name(body.link)}.{body.format}"
        return Response(imaging.animation(frames, body.format, body.fps), media_type=f"image/{body.format}",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.post("/api/genomes/{key}/export")
    def export_edited(key: str, body: ExportBody):
        """The edited genome as a file: Picbreeder XML, CPPN-X XML or ferlab JSON."""
        g = edited(key, body)
        name = _safe_name(store.genome_title(cached_genome(key)[0]) or g.meta.get("name") or key) + "_edited"
        if body.format == "json":
            return Response(json.dumps(genome_to_json(g), indent=1), media_type="application/json",
                            headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
        text = genome_to_xml(g, "cppnx" if body.format == "cppnx" else None)
        return Response(text, media_type="application/xml",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xml"'})

    @app.post("/api/genomes/{key}/breed", status_code=201)
    def breed_edited(key: str, body: EditedBody):
        """A new session branching from the edited genome."""
        sid = breeder.start_from_genome(edited(key, body))
        return store.session_state(sid)

    # -- dense networks: the layer grid ---------------------------------------------------
    @app.post("/api/nets/import", status_code=201)
    async def import_net(request: Request, name: str = Query("network", max_length=100)):
        data = await _read_upload(request, "network file")
        if isinstance(data, Response):
            return data
        net = await run_in_threadpool(dense.parse_npz, data)
        key = await run_in_threadpool(store.add_net, _safe_name(name), data)
        return {"key": key, "name": _safe_name(name), "arch": str(net.arch), "source": f"net:{key}"}

    @lru_cache(maxsize=16)
    def dense_of(source: str):
        """(network, genome or None, name) for 'genome:KEY' (layerized) or 'net:KEY' (.npz)."""
        kind, _, key = source.partition(":")
        if kind == "genome":
            g = genome_of(key)
            title = store.genome_title(cached_genome(key)[0])
            return dense.check_size(layerize(g)), g, title or g.meta.get("name") or "genome"
        if kind == "net":
            name, body = store.net(key)
            return dense.parse_npz(body), None, name
        from ferlab.store import NotFound

        raise NotFound("network source must be genome:KEY or net:KEY")

    @app.get("/api/dense/{source}/grid")
    def dense_grid(source: str):
        net, g, name = dense_of(source)
        return {**dense.grid(net, g), "name": name, "source": source}

    @app.post("/api/dense/{source}/render")
    def dense_render(source: str, body: DenseBody):
        net = dense_of(source)[0]
        _budget(net, body.res * body.res)
        return _png(dense.image_png(dense.with_edits(net, body.edits), body.res))

    @app.post("/api/dense/{source}/neurons")
    def dense_neurons(source: str, body: DenseBody):
        """Every neuron's map, and how much each changed under the edits."""
        net = dense_of(source)[0]
        _budget(net, min(body.res, 64) ** 2, frames=2, features=True)  # edited and original
        return dense.neurons(net, body.edits, min(body.res, 64))

    @app.post("/api/dense/{source}/sweep")
    def dense_sweep(source: str, body: DenseSweepBody):
        net = dense.with_edits(dense_of(source)[0], body.edits)
        _budget(net, body.res * body.res, frames=len(imaging.SWEEP_DELTAS))
        return _png(dense.sweep_strip(net, *body.weight, res=body.res))

    return app
