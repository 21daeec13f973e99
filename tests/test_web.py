"""The Breed web API (FastAPI TestClient): every endpoint, good and bad input."""
from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from ferlab.genome import fmt_id  # noqa: E402
from ferlab.picbreeder import genome_to_xml, load_genome, parse_genome, same_graph  # noqa: E402
from ferlab.render import render_genome  # noqa: E402
from ferlab.web import create_app  # noqa: E402
from ferlab.web.app import MAX_UPLOAD  # noqa: E402
from ferlab.web.imaging import encode_png  # noqa: E402


@pytest.fixture
def client(tmp_path):
    app = create_app(tmp_path / "web.db")
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        c.store = app.state.store
        yield c
    app.state.store.close()


def _png(resp) -> np.ndarray:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(resp.content)).convert("RGB"))


def _start(client, **kw):
    r = client.post("/api/sessions", json={"start": "scratch", **kw})
    assert r.status_code == 201, r.text
    return r.json()


def _keys(st):
    return [g["key"] for g in st["screen"]["genomes"]]


def _error(resp, status, fragment):
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and fragment in detail, detail


def test_health_and_page(client):
    assert client.get("/api/health").json() == {"ok": True}
    page = client.get("/")
    assert page.status_code == 200 and "ferlab" in page.text and "/static/app.js" in page.text
    assert "function evolve" in client.get("/static/app.js").text
    assert client.get("/static/style.css").status_code == 200


def test_encode_png_is_lossless():
    rng = np.random.default_rng(0)
    for img in (rng.integers(0, 256, (7, 5, 3), dtype=np.uint8), rng.integers(0, 256, (4, 9), dtype=np.uint8)):
        back = np.asarray(Image.open(io.BytesIO(encode_png(img))))
        assert np.array_equal(back, img)


def test_start_evolve_back_state(client):
    st = _start(client, colour=True, seed=5)
    assert len(st["screen"]["genomes"]) == 15 and st["colour"] and st["screen"]["generation"] == 0
    thumb = _png(client.get(f"/api/genomes/{_keys(st)[0]}/thumb.png"))
    assert thumb.shape == (128, 128, 3)
    _, g = client.store.genome(_keys(st)[0])
    ref = np.clip(render_genome(g, 128).image * 255, 0, 255).astype(np.uint8)
    assert np.mean(np.abs(thumb.astype(int) - ref)) < 0.1
    sid = st["session"]
    r = client.post(f"/api/sessions/{sid}/evolve",
                    json={"screen": st["screen"]["id"], "parents": _keys(st)[:2], "strength": 0.7, "seed": 9})
    assert r.status_code == 200, r.text
    st2 = r.json()
    assert st2["screen"]["generation"] == 1 and st2["screen"]["prev"] == st["screen"]["id"]
    assert set(_keys(st2)).isdisjoint(_keys(st))
    assert client.get(f"/api/sessions/{sid}").json() == st2
    back = client.post(f"/api/sessions/{sid}/back", json={"screen": st["screen"]["id"]}).json()
    assert back["screen"]["id"] == st["screen"]["id"] and _keys(back) == _keys(st)


def test_evolve_bad_input_is_4xx_and_stores_nothing(client):
    st = _start(client, seed=1)
    other = _start(client, seed=2)
    sid, scr = st["session"], st["screen"]["id"]
    before = client.store.counts()
    url = f"/api/sessions/{sid}/evolve"
    cases = [
        ({"screen": scr, "parents": []}, 422, "parents"),
        ({"screen": scr, "parents": _keys(st)[:1], "strength": 2.5}, 422, "strength"),
        ({"screen": scr, "parents": _keys(st)[:1], "strength": "lots"}, 422, "strength"),
        ({"screen": scr, "parents": ["not a key!"]}, 422, "parents"),
        ({"screen": scr, "parents": _keys(st)[:1], "extra": 1}, 422, "extra"),
        ({"screen": scr, "parents": _keys(other)[:1]}, 400, "not on screen"),
        ({"screen": other["screen"]["id"], "parents": _keys(other)[:1]}, 404, "no screen"),
        ({"screen": scr, "parents": [_keys(st)[0]] * 2}, 400, "twice"),
        ({"screen": 0, "parents": _keys(st)[:1]}, 422, "screen"),
    ]
    for body, status, frag in cases:
        _error(client.post(url, json=body), status, frag)
    _error(client.post(url, content=b"{not json", headers={"content-type": "application/json"}), 422, "JSON")
    _error(client.post("/api/sessions/" + "Z" * 22 + "/evolve", json={"screen": scr, "parents": _keys(st)[:1]}),
           404, "no such session")
    _error(client.post("/api/sessions/bad!id/evolve", json={"screen": scr, "parents": _keys(st)[:1]}),
           404, "no such session")
    _error(client.post(url, content=b"x" * 300_000, headers={"content-type": "application/json"}), 413, "limit")
    assert client.store.counts() == before
    assert client.get(f"/api/sessions/{sid}").json() == st


def test_bad_session_requests(client):
    _error(client.get("/api/sessions/" + "Q" * 22), 404, "no such session")
    _error(client.get("/api/sessions/..%20etc%3Bdrop"), 404, "no such session")
    assert client.get("/api/sessions/%2e%2e%2fetc").status_code == 404
    _error(client.post("/api/sessions", json={"start": "image"}), 400, "image id")
    _error(client.post("/api/sessions", json={"start": "image", "image": 99}), 404, "no such image")
    _error(client.post("/api/sessions", json={"start": "chaos"}), 422, "start")
    st = _start(client, seed=1)
    _error(client.post(f"/api/sessions/{st['session']}/back", json={"screen": 12345}), 404, "no screen")
    assert client.store.counts()["sessions"] == 1


def test_publish_gallery_lineage_and_branch(client):
    st = _start(client, seed=3)
    sid = st["session"]
    r = client.post(f"/api/sessions/{sid}/publish", json={"genome": _keys(st)[4], "title": "Grey root"})
    assert r.status_code == 201, r.text
    root = r.json()
    assert root["parent"] is None and root["key"] == _keys(st)[4]
    st2 = client.post(f"/api/sessions/{sid}/evolve", json={"screen": st["screen"]["id"], "parents": [root["key"]]}).json()
    child = client.post(f"/api/sessions/{sid}/publish", json={"genome": _keys(st2)[0], "title": "Child"}).json()
    assert child["parent"] == root["id"] and [a["id"] for a in child["ancestors"]] == [root["id"]]
    assert client.get(f"/api/sessions/{sid}").json()["screen"]["genomes"][0]["image"] == child["id"]
    gal = client.get("/api/gallery").json()
    assert gal["total"] == 2 and [i["title"] for i in gal["images"]] == ["Child", "Grey root"]
    assert [i["id"] for i in client.get("/api/gallery?limit=1&offset=1").json()["images"]] == [root["id"]]
    rootinfo = client.get(f"/api/gallery/{root['id']}").json()
    assert [d["id"] for d in rootinfo["descendants"]] == [child["id"]]
    info = client.get(f"/api/genomes/{child['key']}").json()
    assert info["image"] == child["id"] and info["title"] == "Child" and not info["colour"]
    # Branch: a new session whose first image is the published one.
    br = client.post("/api/sessions", json={"start": "image", "image": child["id"], "seed": 1})
    assert br.status_code == 201
    b = br.json()
    assert b["origin_image"] == child["id"] and _keys(b)[0] == child["key"] and b["session"] != sid
    assert b["branch"] > st["branch"]
    grand = client.post(f"/api/sessions/{b['session']}/publish", json={"genome": _keys(b)[3], "title": "G"}).json()
    assert grand["parent"] == child["id"]
    # Bad publishes.
    before = client.store.counts()
    _error(client.post(f"/api/sessions/{sid}/publish", json={"genome": _keys(b)[5], "title": "x"}), 400, "not shown")
    _error(client.post(f"/api/sessions/{sid}/publish", json={"genome": _keys(st)[4], "title": "again"}), 409, "already")
    _error(client.post(f"/api/sessions/{sid}/publish", json={"genome": _keys(st)[5], "title": ""}), 422, "title")
    _error(client.post(f"/api/sessions/{sid}/publish", json={"genome": _keys(st)[5], "title": "t" * 201}), 422, "title")
    assert client.store.counts() == before
    _error(client.get("/api/gallery/777"), 404, "no such image")
    _error(client.get("/api/gallery/abc"), 422, "image_id")
    _error(client.get("/api/gallery?limit=0"), 422, "limit")


def test_downloads_and_large_render(client, shared):
    skull = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    r = client.post("/api/sessions/import?name=skull", content=genome_to_xml(skull).encode())
    assert r.status_code == 201, r.text
    key = _keys(r.json())[0]
    xml = client.get(f"/api/genomes/{key}/genome.xml")
    assert xml.status_code == 200 and "attachment" in xml.headers["content-disposition"]
    assert same_graph(parse_genome(xml.content), skull)
    big = _png(client.get(f"/api/genomes/{key}/image.png?res=64"))
    ref = np.clip(render_genome(skull, 64).image * 255, 0, 255).astype(np.uint8)
    assert big.shape == (64, 64, 3) and np.mean(np.abs(big.astype(int) - ref)) < 0.1
    win = (-0.25, 0.25, 0.0, 0.5)
    zoom = _png(client.get(f"/api/genomes/{key}/image.png?res=32&window={','.join(map(str, win))}"))
    zref = np.clip(render_genome(skull, 32, window=win).image * 255, 0, 255).astype(np.uint8)
    assert np.mean(np.abs(zoom.astype(int) - zref)) < 0.1 and not np.array_equal(zoom, big[::2, ::2])
    dl = client.get(f"/api/genomes/{key}/image.png?res=16&download=true")
    assert "attachment" in dl.headers["content-disposition"]
    for q, status, frag in [("res=4096", 422, "res"), ("res=8", 422, "res"), ("window=1,2,3", 400, "four"),
                            ("window=1,0,0,1", 400, "xmin < xmax"), ("window=a,b,c,d", 400, "numbers"),
                            ("window=0,inf,0,1", 400, "finite")]:
        _error(client.get(f"/api/genomes/{key}/image.png?{q}"), status, frag)
    for path in ("thumb.png", "genome.xml", "image.png", "graph"):
        _error(client.get(f"/api/genomes/{'N' * 22}/{path}"), 404, "no such genome")


def test_explore_graph_nodes_render_and_sweep(client, shared):
    skull = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    st = client.post("/api/sessions/import", content=(shared / "picbreeder" / "fer" / "skull.zip").read_bytes())
    assert st.status_code == 201, st.text
    key = _keys(st.json())[0]
    graph = client.get(f"/api/genomes/{key}/graph").json()
    assert len(graph["nodes"]) == 23 and len(graph["links"]) == 57
    depth = {n["id"]: n["depth"] for n in graph["nodes"]}
    assert all(depth[l["source"]] < depth[l["target"]] for l in graph["links"])
    maps = client.get(f"/api/genomes/{key}/nodes?res=16").json()
    assert set(maps) == {fmt_id(n.id) for n in skull.nodes}
    ref = render_genome(skull, 16, nodes=True).node_maps
    x_id = fmt_id(skull.input_ids()["x"])
    import base64
    xmap = np.asarray(Image.open(io.BytesIO(base64.b64decode(maps[x_id].split(",")[1]))))
    assert xmap.shape == (16, 16)
    assert np.abs(xmap.astype(float) - np.clip((ref[skull.input_ids()["x"]] + 1) * 127.5, 0, 255)).max() <= 1
    # Live render: changing one weight changes the picture exactly as a re-weighted genome.
    link = skull.links[10]
    base = _png(client.post(f"/api/genomes/{key}/render", json={"res": 32}))
    moved = _png(client.post(f"/api/genomes/{key}/render", json={"res": 32, "weights": {fmt_id(link.id): link.weight + 2}}))
    new = skull.with_weights([w + 2 if l.id == link.id else w for l, w in zip(skull.links, skull.weights)])
    want = np.clip(render_genome(new, 32).image * 255, 0, 255).astype(np.uint8)
    assert not np.array_equal(base, moved) and np.mean(np.abs(moved.astype(int) - want)) < 0.1
    _error(client.post(f"/api/genomes/{key}/render", json={"weights": {"1:1": 1.0}}), 400, "no link 1:1")
    _error(client.post(f"/api/genomes/{key}/render", json={"weights": {"nope": 1.0}}), 400, "bad gene id")
    _error(client.post(f"/api/genomes/{key}/render", json={"res": 5000}), 422, "res")
    # Sweep strip: five frames w + delta, the middle one the genome itself.
    strip = _png(client.get(f"/api/genomes/{key}/sweep?link={fmt_id(link.id)}&res=24"))
    assert strip.shape == (24, 5 * 24 + 4 * 2, 3)
    mid = strip[:, 2 * 26: 2 * 26 + 24]
    assert np.mean(np.abs(mid.astype(int) - _png(client.post(f"/api/genomes/{key}/render", json={"res": 24})))) < 0.1
    last = strip[:, 4 * 26:]
    plus1 = skull.with_weights([w + 1 if l.id == link.id else w for l, w in zip(skull.links, skull.weights)])
    assert np.mean(np.abs(last.astype(int) - np.clip(render_genome(plus1, 24).image * 255, 0, 255).astype(np.uint8))) < 0.1
    _error(client.get(f"/api/genomes/{key}/sweep?link=9:9"), 400, "no link")
    _error(client.get(f"/api/genomes/{key}/sweep"), 422, "link")


def test_import_real_picbreeder_files_and_reject_bad_ones(client, shared):
    st = client.post("/api/sessions/import?name=Skull",
                     content=(shared / "picbreeder" / "cppnx" / "576_Skull.xml").read_bytes()).json()
    _, root = client.store.genome(_keys(st)[0])
    assert same_graph(root, load_genome(shared / "picbreeder" / "cppnx" / "576_Skull.xml"))
    assert st["branch"] > 576 and st["origin_image"] is None
    _, kid = client.store.genome(_keys(st)[1])
    assert kid.parents == (root.id,)
    before = client.store.counts()
    bad = [
        (b"<data><genome><nodes><node", 400, "malformed XML"),
        (b"", 400, "empty"),
        (b"hello", 400, "not a genome"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><data/>', 400, "unsafe"),
        (b"<data><genome><nodes></nodes></genome></data>", 400, "inputs"),
        (b"PK\x03\x04garbage", 400, "zip"),
    ]
    for body, status, frag in bad:
        _error(client.post("/api/sessions/import", content=body), status, frag)
    big = b"<data>" + b" " * (MAX_UPLOAD + 10) + b"</data>"
    _error(client.post("/api/sessions/import", content=big), 413, "limit")

    def chunks():  # no Content-Length: the server must cap the stream itself
        for _ in range(MAX_UPLOAD // 65536 + 2):
            yield b" " * 65536
    _error(client.post("/api/sessions/import", content=chunks()), 413, "larger")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a", b"<data/>")
        z.writestr("b", b"<data/>")
    _error(client.post("/api/sessions/import", content=buf.getvalue()), 400, "exactly one")
    _error(client.post("/api/sessions/import?strength=9", content=b"<data/>"), 422, "strength")
    assert client.store.counts() == before


def test_sessions_are_isolated_and_tokens_unguessable(client):
    a, b = _start(client, seed=1), _start(client, seed=1)
    assert a["session"] != b["session"] and len(a["session"]) >= 22
    assert a["branch"] != b["branch"]
    # Same seed, different branches: same pictures, different (unguessable) keys.
    assert set(_keys(a)).isdisjoint(_keys(b))
    _error(client.post(f"/api/sessions/{a['session']}/back", json={"screen": b["screen"]["id"]}), 404, "no screen")
    _error(client.post(f"/api/sessions/{a['session']}/evolve",
                       json={"screen": a["screen"]["id"], "parents": _keys(b)[:1]}), 400, "not on screen")
    assert client.get(f"/api/sessions/{a['session']}").json() == a
    assert client.get(f"/api/sessions/{b['session']}").json() == b


def test_serve_command_rejects_a_bad_port(capsys):
    from ferlab.cli import main

    assert main(["serve", "--port", "70000"]) == 2
    err = capsys.readouterr().err
    assert "ferlab serve: error: port must be in 1..65535" in err and "Traceback" not in err


# ---------------------------------------------------------------- issue 12: explorer and breed UX
def _import(client, path, name="g"):
    r = client.post(f"/api/sessions/import?name={name}", content=path.read_bytes())
    assert r.status_code == 201, r.text
    return r.json()


def test_graph_shows_cppnx_labels_not_placeholders(client, shared):
    """CPPN-X writes <text>""</text> on every link; the label is the link's button's text."""
    from conftest import CPPNX_NAMES

    for name in CPPNX_NAMES:
        path = shared / "picbreeder" / "cppnx" / f"{name}.xml"
        g = load_genome(path)
        key = _keys(_import(client, path, name))[0]
        graph = client.get(f"/api/genomes/{key}/graph").json()
        assert graph["name"] == name and graph["positions"] is True
        by_id = {b.id: b for b in g.buttons}
        for l, gl in zip(g.links, graph["links"]):
            assert gl["text"] == (by_id[l.color_label].text if l.color_label in by_id else ""), (name, gl)
            assert gl["group"] == l.color_label and gl["bookends"] == list(l.bookends)
        assert all('""' not in x["text"] for x in graph["links"] + graph["nodes"])
        used = {l.color_label for l in g.links} | {n.color_label for n in g.nodes}
        assert [x["text"] for x in graph["groups"]] == [b.text for b in g.buttons if b.id in used]
        assert all(re.fullmatch(r"#[0-9a-f]{6}", x["color"]) for x in graph["groups"])
        assert client.get(f"/api/genomes/{key}").json()["name"] == name


def test_strength_zero_is_crossover_only_and_keep_parents(client):
    st = _start(client, seed=4)
    sid, scr = st["session"], st["screen"]["id"]
    parent = _keys(st)[3]
    r = client.post(f"/api/sessions/{sid}/evolve", json={"screen": scr, "parents": [parent], "strength": 0.0, "seed": 1})
    _, pg = client.store.genome(parent)
    for k in _keys(r.json()):
        _, kid = client.store.genome(k)
        assert kid.weights == pg.weights and [n.activation for n in kid.nodes] == [n.activation for n in pg.nodes]
        assert kid.parents == (pg.id,)
    # keep_parents: the selected genomes open the next screen unchanged; the rest are children.
    two = _keys(st)[5:7]
    st2 = client.post(f"/api/sessions/{sid}/evolve",
                      json={"screen": scr, "parents": two, "keep_parents": True, "seed": 2}).json()
    assert _keys(st2)[:2] == two and len(set(_keys(st2))) == 15
    assert st2["history"][-1]["parents"] == sorted(two, key=lambda k: client.store.genome(k)[0])
    # The tree keeps every screen (the first branch survives going back and breeding again).
    tree = st2["tree"]
    assert len(tree) == 3 and sorted(t["prev"] or 0 for t in tree) == [0, scr, scr]


def test_tags_search_sort_paging_and_session_summary(client):
    st = _start(client, seed=6)
    sid = st["session"]
    titles = ["Red moth", "blue fish", "Green moth", "Skull%", "under_score"]
    for k, t in zip(_keys(st), titles):
        r = client.post(f"/api/sessions/{sid}/publish",
                        json={"genome": k, "title": t, "tags": ["Moth " if "moth" in t.lower() else "other", "all"]})
        assert r.status_code == 201, r.text
    assert r.json()["tags"] == ["all", "other"]
    g = lambda q: client.get(f"/api/gallery?{q}").json()  # noqa: E731
    assert [i["title"] for i in g("q=MOTH")["images"]] == ["Green moth", "Red moth"]
    assert g("q=moth")["total"] == 2 and g("tag=moth")["total"] == 2 and g("tag=all")["total"] == 5
    assert [i["title"] for i in g("q=%25")["images"]] == ["Skull%"]  # LIKE wildcards are literal
    assert [i["title"] for i in g("q=_")["images"]] == ["under_score"]
    assert [i["title"] for i in g("sort=title")["images"]] == ["blue fish", "Green moth", "Red moth", "Skull%", "under_score"]
    assert [i["title"] for i in g("sort=old&limit=2&offset=2")["images"]] == ["Green moth", "Skull%"]
    page = g("limit=2&offset=4")
    assert page["total"] == 5 and len(page["images"]) == 1 and page["offset"] == 4
    _error(client.get("/api/gallery?sort=random"), 422, "sort")
    before = client.store.counts()
    _error(client.post(f"/api/sessions/{sid}/publish", json={"genome": _keys(st)[9], "title": "t", "tags": ["<b>"]}),
           400, "tag")
    _error(client.post(f"/api/sessions/{sid}/publish", json={"genome": _keys(st)[9], "title": "t",
                                                             "tags": [f"t{i}" for i in range(9)]}), 422, "tags")
    assert client.store.counts() == before
    other = _start(client, seed=7)
    s = client.post("/api/sessions/summary", json={"ids": [sid, "bad id!", "Q" * 22, other["session"]]}).json()
    assert [x["session"] for x in s["sessions"]] == [sid, other["session"]]
    assert s["sessions"][0]["generation"] == 0 and s["sessions"][0]["key"] == _keys(st)[0]
    _error(client.post("/api/sessions/summary", json={"ids": ["x"] * 51}), 422, "ids")


def test_scan_node_export_and_breed_edited(client, shared):
    from ferlab.web.imaging import scan_values

    path = shared / "picbreeder" / "cppnx" / "576_Skull.xml"
    g = load_genome(path)
    key = _keys(_import(client, path, "576_Skull"))[0]
    link, other = "576:224", fmt_id(g.links[0].id)
    edits = {other: 0.5}
    r = client.post(f"/api/genomes/{key}/scan", json={"weights": edits, "link": link, "res": 16,
                                                      "start": -3, "end": 3, "step": 0.5})
    sprite = _png(r)
    values = [float(v) for v in r.headers["x-values"].split(",")]
    assert values == pytest.approx(list(np.arange(-3, 3.01, 0.5))) and sprite.shape == (16 * 13, 16, 3)
    for i in (0, 7, 12):  # each frame is the edited genome with the link at that value
        want = _png(client.post(f"/api/genomes/{key}/render", json={"res": 16, "weights": {**edits, link: values[i]}}))
        assert np.mean(np.abs(sprite[16 * i:16 * (i + 1)].astype(int) - want)) < 0.1
    for fmt, n in (("png", 24), ("webp", 24)):
        a = client.post(f"/api/genomes/{key}/scan", json={"link": link, "res": 16, "step": 0.5, "format": fmt})
        im = Image.open(io.BytesIO(a.content))
        assert a.headers["content-type"] == f"image/{fmt}" and im.is_animated and im.n_frames == n
        assert "576_Skull_scan_576_224" in a.headers["content-disposition"]
    _error(client.post(f"/api/genomes/{key}/scan", json={"link": link, "step": 0.001}), 400, "limit")
    _error(client.post(f"/api/genomes/{key}/scan", json={"link": link, "start": 2, "end": 1}), 400, "start < end")
    _error(client.post(f"/api/genomes/{key}/scan", json={"link": link, "step": 0}), 422, "step")
    _error(client.post(f"/api/genomes/{key}/scan", json={"link": "9:9"}), 400, "no link")
    _error(client.post(f"/api/genomes/{key}/scan", json={"link": link, "format": "gif"}), 422, "format")
    assert len(scan_values(-3, 3, 0.1)) == 61 and list(scan_values(0, 1, 5)) == [0, 1]
    # The sweep strip follows the slider: centred on the edited weight.
    strip = _png(client.post(f"/api/genomes/{key}/sweep", json={"weights": {link: 1.0}, "link": link, "res": 16}))
    mid = _png(client.post(f"/api/genomes/{key}/render", json={"res": 16, "weights": {link: 1.0}}))
    assert np.mean(np.abs(strip[:, 2 * 18: 2 * 18 + 16].astype(int) - mid)) < 0.1
    # A node's map large, with its value range.
    n = client.post(f"/api/genomes/{key}/node", json={"node": "540:106", "res": 32})
    m = render_genome(g, 32, nodes=True).node_maps[(540, 106)]
    lo, hi = map(float, n.headers["x-range"].split(","))
    assert _png(n).shape == (32, 32, 3) and lo == pytest.approx(m.min(), abs=1e-4) and hi == pytest.approx(m.max(), abs=1e-4)
    _error(client.post(f"/api/genomes/{key}/node", json={"node": "1:1"}), 400, "no node")
    # Export the edited genome in each format; it reads back with the edit and the labels.
    for fmt, suffix in (("xml", ".xml"), ("cppnx", ".xml"), ("json", ".json")):
        e = client.post(f"/api/genomes/{key}/export", json={"weights": {link: 1.25}, "format": fmt})
        assert e.status_code == 200 and f'576_Skull_edited{suffix}"' in e.headers["content-disposition"]
        back = parse_genome(e.content)
        assert {fmt_id(l.id): l.weight for l in back.links}[link] == 1.25
        assert [b.text for b in back.buttons] == [b.text for b in g.buttons]
        assert (b"<cppn-data" in e.content[:200]) == (fmt == "cppnx")
    _error(client.post(f"/api/genomes/{key}/export", json={"format": "pdf"}), 422, "format")
    # Continue breeding from the edited genome.
    before = client.store.counts()["sessions"]
    b = client.post(f"/api/genomes/{key}/breed", json={"weights": {link: -2.0}})
    assert b.status_code == 201 and client.store.counts()["sessions"] == before + 1
    _, first = client.store.genome(_keys(b.json())[0])
    assert {fmt_id(l.id): l.weight for l in first.links}[link] == -2.0


def test_json_import_errors_name_the_item_not_python(client):
    for body, frag in [(b'{"nodes": [1], "links": []}', "node 0 is not an object"),
                       (b'{"nodes": [], "links": [null]}', "link 0 is not an object"),
                       (b'{"nodes": [{"kind": "in"}], "links": []}', "missing field 'id'"),
                       (b'{"nodes": [{"id": "1:1", "kind": "in", "position": 3}], "links": []}', "wrong type")]:
        r = client.post("/api/sessions/import", content=body)
        _error(r, 400, frag)
        assert "subscriptable" not in r.text and "object has no" not in r.text


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_dense_layer_grid_api(client, shared):
    from ferlab.dense import DenseCPPN
    from ferlab.layerize import layerize

    skull = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    key = _keys(_import(client, shared / "picbreeder" / "fer" / "skull.zip", "skull"))[0]
    net = layerize(skull)
    grid = client.get(f"/api/dense/genome:{key}/grid").json()
    assert grid["arch"] == str(net.arch) and grid["name"] == "skull"
    assert [len(layer) for layer in grid["layers"]] == [4] + [net.arch.width] * net.arch.depth + [3]
    # Origins name the genome link each weight came from.
    k, r, c = next((k, r, c) for k, o in enumerate(net.origin) for (r, c), v in np.ndenumerate(o) if v >= 0)
    assert grid["origin"][k][r][c] == fmt_id(skull.links[int(net.origin[k][r, c])].id)
    assert grid["kernels"][k][r][c] == pytest.approx(float(net.kernels[k][r, c]), abs=1e-5)
    sgd = DenseCPPN.load(shared / "reference" / "sgd_skull.npz")
    up = client.post("/api/nets/import?name=sgd_skull", content=(shared / "reference" / "sgd_skull.npz").read_bytes())
    assert up.status_code == 201, up.text
    src = up.json()["source"]
    assert client.get(f"/api/dense/{src}/grid").json()["origin"] is None
    edit = [[5, 3, 7, 1.0]]
    img = _png(client.post(f"/api/dense/{src}/render", json={"edits": edit, "res": 32}))
    kernels = [np.array(x) for x in sgd.kernels]
    kernels[5][3, 7] = 1.0
    want = np.clip(sgd.with_kernels(kernels).render(32).image * 255, 0, 255).astype(np.uint8)
    assert np.mean(np.abs(img.astype(int) - want)) < 0.5
    neu = client.post(f"/api/dense/{src}/neurons", json={"edits": edit, "res": 16}).json()
    assert [len(x) for x in neu["maps"]] == [4] + [22] * 12 + [3]
    changed = [L for L, layer in enumerate(neu["change"]) for v in layer if v > 1e-6]
    assert changed and min(changed) == 6  # kernel 5 feeds layer 6: nothing upstream moves
    assert client.post(f"/api/dense/{src}/neurons", json={"res": 16}).json()["change"] is None
    strip = _png(client.post(f"/api/dense/{src}/sweep", json={"weight": [5, 3, 7], "res": 16}))
    assert strip.shape == (16, 5 * 16 + 4 * 2, 3)
    # Bad input: one line, 4xx, nothing stored.
    before = client.store.counts()
    arch = np.array("1;sin:2")
    bad = [(b"not a zip", 400, "not an .npz"),
           (_npz(kernel_0=np.zeros((4, 2))), 400, "no 'arch'"),
           (_npz(arch=arch, kernel_0=np.zeros((4, 2))), 400, "lacks kernel_1"),
           (_npz(arch=arch, kernel_0=np.zeros((4, 3)), kernel_1=np.zeros((2, 3))), 400, "shape"),
           (_npz(arch=np.array("200;sin:4000"), kernel_0=np.zeros((4, 1))), 400, "at most"),
           (_npz(arch=np.array("nonsense")), 400, "architecture"),
           (_npz(arch=arch, kernel_0=np.full((4, 2), np.nan), kernel_1=np.zeros((2, 3))), 400, "non-finite"),
           (b"", 400, "empty")]
    bomb = io.BytesIO()  # 9 MB of zeros deflate to ~9 kB: refused before inflating
    np.savez_compressed(bomb, arch=arch, kernel_0=np.zeros(9_000_000, np.uint8))
    bad.append((bomb.getvalue(), 400, "uncompressed"))
    for body, status, frag in bad:
        _error(client.post("/api/nets/import", content=body), status, frag)
    assert client.store.counts() == before
    _error(client.post(f"/api/dense/{src}/render", json={"edits": [[99, 0, 0, 1.0]]}), 400, "outside")
    _error(client.post(f"/api/dense/{src}/render", json={"edits": [[0, 0, 0, "x"]]}), 422, "edits")
    _error(client.get("/api/dense/nope:x/grid"), 404, "genome:KEY")
    _error(client.get(f"/api/dense/net:{'Q' * 22}/grid"), 404, "no such network")


def test_server_preparation_freezes_start_up_objects_but_still_collects_new_garbage():
    import gc
    import sys
    import weakref

    from ferlab.engine import threads
    from ferlab.web.server import SWITCH_INTERVAL, prepare_server_process

    class Node:
        pass

    interval = sys.getswitchinterval()
    try:
        prepare_server_process()
        assert gc.get_freeze_count() > 1000  # the imported modules' objects
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        assert threads.process_worker() is not None or threads.THREADS < 2
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        sys.setswitchinterval(interval)
        threads.stop_process_worker()
