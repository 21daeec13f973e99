"""Discover's API and the search tables of the store: runs, elites, breed, publish, bad ids."""
from __future__ import annotations

import pytest

pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from ferlab.cli.search import store_run  # noqa: E402
from ferlab.picbreeder import genome_to_json  # noqa: E402
from ferlab.search import SearchConfig, run_search  # noqa: E402
from ferlab.search.results import summary  # noqa: E402
from ferlab.web import create_app  # noqa: E402


@pytest.fixture(scope="module")
def searched():
    return run_search(SearchConfig("novelty", seed=2, res=32, batch=32, pop=16, bins=8, k=5), 128)


@pytest.fixture
def client(tmp_path, searched):
    db = tmp_path / "web.db"
    key = store_run(searched, db)
    app = create_app(db)
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        c.run_key = key
        c.store = app.state.store
        yield c
    app.state.store.close()


def _error(resp, status, fragment):
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and fragment in detail, detail


def test_runs_and_elites_match_the_search(client, searched):
    runs = client.get("/api/discover/runs").json()["runs"]
    assert [r["key"] for r in runs] == [client.run_key]
    assert runs[0]["summary"]["coverage"] == pytest.approx(searched.grid.coverage)
    run = client.get(f"/api/discover/runs/{client.run_key}").json()
    assert run["arm"] == "novelty" and run["evals"] == 128 and len(run["history"]) == 4
    grid = [e for e in run["elites"] if e["kind"] == "grid"]
    archive = [e for e in run["elites"] if e["kind"] == "archive"]
    occ = searched.grid.occupied
    assert sorted(e["cell"] for e in grid) == occ.tolist()
    assert len(archive) == len(searched.archive)
    for e in grid[:5]:  # the stored genome is the archived one, with its thumbnail
        g = client.get(f"/api/genomes/{e['genome']}/graph").json()
        want = searched.grid.genomes[e["cell"]]
        assert len(g["nodes"]) == len(want.nodes) and len(g["links"]) == len(want.links)
        assert e["quality"] == pytest.approx(searched.grid.quality[e["cell"]])
        assert client.get(f"/api/genomes/{e['genome']}/thumb.png").status_code == 200
    assert summary(searched)["elites"] == len(grid)
    page = client.get("/discover")
    assert page.status_code == 200 and "/static/discover.js" in page.text
    assert "<script>" not in page.text  # scripts live in static files only
    assert "/discover" in client.get("/").text


def test_breed_and_publish_from_an_elite(client, searched):
    run = client.get(f"/api/discover/runs/{client.run_key}").json()
    e = next(e for e in run["elites"] if e["kind"] == "grid")
    before = client.store.counts()
    r = client.post("/api/discover/breed", json={"genome": e["genome"], "seed": 1})
    assert r.status_code == 201, r.text
    st = r.json()
    assert len(st["screen"]["genomes"]) == 15
    root = st["screen"]["genomes"][0]["key"]
    want = genome_to_json(searched.grid.genomes[e["cell"]])
    got = client.store.genome(root)[1]
    assert genome_to_json(got)["links"] == want["links"]
    assert client.store.counts()["sessions"] == before["sessions"] + 1
    r = client.post("/api/discover/publish", json={"genome": e["genome"], "title": "found by novelty"})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "found by novelty"
    assert client.get("/api/gallery").json()["total"] == 1


def test_bad_requests_change_nothing(client):
    before = client.store.counts()
    _error(client.get("/api/discover/runs/short"), 404, "no such search run")
    _error(client.get("/api/discover/runs/" + "A" * 22), 404, "no such search run")
    _error(client.post("/api/discover/breed", json={"genome": "x"}), 422, "genome")
    _error(client.post("/api/discover/breed", json={"genome": "B" * 22}), 404, "no such genome")
    _error(client.post("/api/discover/breed", json={"genome": "B" * 22, "extra": 1}), 422, "extra")
    _error(client.post("/api/discover/publish", json={"genome": "B" * 22, "title": ""}), 422, "title")
    # A genome bred by a person is not Discover's to hand out.
    s = client.post("/api/sessions", json={"start": "scratch", "seed": 0}).json()
    mine = s["screen"]["genomes"][0]["key"]
    _error(client.post("/api/discover/breed", json={"genome": mine}), 404, "not a search result")
    after = client.store.counts()
    assert after["gallery"] == before["gallery"] and after["sessions"] == before["sessions"] + 1
    assert client.store.check() == []
