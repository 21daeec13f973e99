"""Reading and writing genomes: the real files, round trips, and hostile input."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings

from conftest import CPPNX_NAMES
from ferlab.genome import GenomeError
from ferlab.picbreeder import (genome_from_json, genome_json_text, genome_to_json, genome_to_xml, load_genome,
                               parse_genome, same_graph, save_genome)
from genomes import genomes


@pytest.mark.parametrize("name", CPPNX_NAMES)
def test_cppnx_genomes_load_with_labels(shared, name):
    g = load_genome(shared / "picbreeder" / "cppnx" / f"{name}.xml")
    assert g.meta["flavour"] == "cppnx"
    assert len(g.nodes) == int(_count(shared / "picbreeder" / "cppnx" / f"{name}.xml", "<node "))
    assert len(g.links) == int(_count(shared / "picbreeder" / "cppnx" / f"{name}.xml", "<link>"))
    assert g.buttons and all(b.text for b in g.buttons)
    # Nearly every link carries a researcher's label, and every label id names a button.
    labelled = [l for l in g.links if l.color_label]
    assert len(labelled) >= len(g.links) // 2
    assert all(g.label_text(l.color_label) for l in labelled)


def _count(path, token):
    return path.read_text().count(token)


def test_skull_labels_and_provenance(shared):
    g = load_genome(shared / "picbreeder" / "cppnx" / "576_Skull.xml")
    texts = {b.text for b in g.buttons}
    assert {"Mouth open close", "Face width", "Global lighting"} <= texts
    assert g.id == (576, 289) and g.parents == ((576, 215),)
    assert {n.id[0] for n in g.nodes} >= {534, 540, 542, 576}  # several branches in one genome
    link = next(l for l in g.links if l.id == (576, 31))
    assert link.weight == pytest.approx(-0.44505396536597652, abs=0)
    assert link.bookends == (-3.0, 3.0, 0.1)
    assert g.label_text(link.color_label) == "Entire face"


@pytest.mark.parametrize("name,cppnx", [("skull", "576_Skull"), ("butterfly", "4376_ButterflyColor")])
def test_fer_zip_is_the_same_graph_as_cppnx(shared, name, cppnx):
    a = load_genome(shared / "picbreeder" / "fer" / f"{name}.zip")
    b = load_genome(shared / "picbreeder" / "cppnx" / f"{cppnx}.xml")
    assert a.meta["name"] == name and a.meta["flavour"] == "picbreeder"
    assert {(n.id, n.kind, n.activation) for n in a.nodes} == {(n.id, n.kind, n.activation) for n in b.nodes}
    wa = {(l.source, l.target): l.weight for l in a.links}
    wb = {(l.source, l.target): l.weight for l in b.links}
    assert wa.keys() == wb.keys()
    assert all(abs(wa[k] - wb[k]) < 1e-12 for k in wa)


@pytest.mark.parametrize("flavour", ["picbreeder", "cppnx"])
@pytest.mark.parametrize("name", CPPNX_NAMES)
def test_cppnx_xml_round_trip_keeps_graph_and_labels(shared, tmp_path, name, flavour):
    g = load_genome(shared / "picbreeder" / "cppnx" / f"{name}.xml")
    path = save_genome(g, tmp_path / "g.xml", flavour=flavour)
    back = load_genome(path)
    assert same_graph(g, back)
    assert back.meta["flavour"] == flavour
    jpath = save_genome(g, tmp_path / "g.json")
    assert same_graph(g, load_genome(jpath))


@settings(max_examples=40, deadline=None)
@given(genomes())
def test_random_genomes_round_trip_losslessly(g):
    assert same_graph(g, parse_genome(genome_to_xml(g).encode(), validate=False))
    assert same_graph(g, parse_genome(genome_to_xml(g, "cppnx").encode(), validate=False))
    assert same_graph(g, genome_from_json(json.dumps(genome_to_json(g))))
    assert genome_json_text(g) == json.dumps(genome_to_json(g), separators=(",", ":"))


@pytest.mark.parametrize("name", CPPNX_NAMES)
def test_fast_json_text_is_json_dumps_character_for_character(shared, name):
    g = load_genome(shared / "picbreeder" / "cppnx" / f"{name}.xml")  # labels, bookends, text
    assert any(l.color_label or l.bookends for l in g.links)
    assert genome_json_text(g) == json.dumps(genome_to_json(g), separators=(",", ":"))
    odd = g.with_weights([np.float64(w) if i % 2 else int(round(w)) for i, w in enumerate(g.weights)])
    assert genome_json_text(odd) == json.dumps(genome_to_json(odd), separators=(",", ":"))


# ---------------------------------------------------------------------------- hostile input
GOOD = """<?xml version="1.0"?><data><genome><nodes>
<node label="x" type="in"><marking branch="1" id="0"/><activation>identity(x)</activation></node>
<node label="y" type="in"><marking branch="1" id="1"/><activation>identity(x)</activation></node>
<node label="d" type="in"><marking branch="1" id="2"/><activation>identity(x)</activation></node>
<node label="bias" type="in"><marking branch="1" id="3"/><activation>identity(x)</activation></node>
<node type="hidden"><marking branch="1" id="5"/><activation>{act}</activation></node>
<node label="ink" type="out"><marking branch="1" id="4"/><activation>gaussian(x)</activation></node>
</nodes><links>
<link><marking branch="1" id="10"/><source branch="1" id="0"/><target branch="1" id="5"/><weight>{w}</weight></link>
<link><marking branch="1" id="11"/><source branch="1" id="5"/><target branch="1" id="4"/><weight>1.5</weight></link>
{extra}</links></genome></data>"""


def good(act="sin(x)", w="0.5", extra=""):
    return GOOD.format(act=act, w=w, extra=extra).encode()


def test_the_good_sample_parses():
    g = parse_genome(good())
    assert len(g.nodes) == 6 and len(g.links) == 2


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<data><genome><nodes>&lol4;</nodes></genome></data>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<data><genome><nodes><node type="in">&xxe;</node></nodes></genome></data>"""


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


BAD = {
    "empty": (b"", "empty"),
    "not xml": (b"hello, I am not a genome", "not a genome file"),
    "truncated": (good()[:300], "malformed XML"),
    "billion laughs": (LAUGHS, "unsafe XML"),
    "external entity": (EXTERNAL, "unsafe XML"),
    "no genome": (b"<data><other/></data>", "no <genome>"),
    "cycle": (good(extra='<link><marking branch="1" id="12"/><source branch="1" id="4"/>'
                         '<target branch="1" id="5"/><weight>1</weight></link>'), "cycle"),
    "dangling link": (good(extra='<link><marking branch="1" id="12"/><source branch="7" id="7"/>'
                                 '<target branch="1" id="5"/><weight>1</weight></link>'), "dangling source 7:7"),
    "unknown activation": (good(act="swish(x)"), "unknown activation 'swish(x)'"),
    "nan weight": (good(w="NaN"), "link 1:10 has non-finite weight"),
    "inf weight": (good(w="inf"), "link 1:10 has non-finite weight"),
    "weight not a number": (good(w="heavy"), "link 1:10 weight is not a number"),
    "missing outputs": (good().replace(b'label="ink" type="out"', b'type="hidden"'), "outputs must be"),
    "bad id": (good().replace(b'branch="1" id="5"', b'branch="one" id="5"'), "non-integer id"),
    "zip of two files": (_zip({"a": good(), "b": good()}), "exactly one genome file"),
    "bad zip": (b"PK\x03\x04garbage", "bad zip"),
    "bad json": (b'{"nodes": [', "malformed JSON"),
    "json without links": (b'{"nodes": [{"id": "1:0"}]}', "bad JSON genome"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_give_one_clear_error(case):
    data, expected = BAD[case]
    with pytest.raises(GenomeError) as info:
        parse_genome(data)
    msg = str(info.value)
    assert expected in msg and "\n" not in msg


def test_a_huge_genome_is_rejected_by_the_documented_limit():
    links = "".join(f'<link><marking branch="1" id="{i}"/><source branch="1" id="0"/>'
                    f'<target branch="1" id="4"/><weight>1</weight></link>' for i in range(200_000))
    data = GOOD.format(act="sin(x)", w="1", extra=links).encode()
    with pytest.raises(GenomeError, match="limit"):
        parse_genome(data)


def test_a_zip_bomb_is_rejected_before_inflating():
    data = _zip({"a": b"<" + b" " * (40 * 1024 * 1024)})
    assert len(data) < 200_000
    with pytest.raises(GenomeError, match="limit"):
        parse_genome(data)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(GenomeError, match="cannot read"):
        load_genome(tmp_path / "absent.zip")


def test_compact_json_keeps_zero_valued_fields():
    from dataclasses import replace
    g = parse_genome(good())
    g = replace(g, links=(replace(g.links[0], weight=0.0, original_weight=0.0, bookends=(0.0, 0.0, 0.0)),)
                + g.links[1:],
                nodes=(replace(g.nodes[0], position=(0.0, 0.0)),) + g.nodes[1:])
    data = genome_to_json(g)
    assert "color_label" not in data["links"][0] and "text" not in data["nodes"][0]
    assert same_graph(g, genome_from_json(json.dumps(data)))
