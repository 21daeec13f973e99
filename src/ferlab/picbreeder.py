"""Read and write genomes: Picbreeder XML (FER zips), CPPN-X XML, and ferlab's JSON form.

Every XML read goes through defusedxml with DTDs forbidden, and every input is size-limited
before parsing, so hostile files (billion laughs, external entities, huge files) fail fast
with a one-line :class:`GenomeError`.

CPPN-X files start with a stray ``<cppn-data version="1.2"/>`` element before ``<data>``:
two roots, strictly not XML. We accept them by parsing the content under a synthetic root.
"""
from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from ferlab.activations import parse_activation
from ferlab.genome import (MAX_LINKS, MAX_NODES, Button, GeneId, Genome, GenomeError, Link,
                           Node, fmt_id, parse_id)

#: Largest genome file (XML, JSON, or a zip's uncompressed member) we will parse.
MAX_BYTES = 16 * 1024 * 1024
#: Largest zip file read (its one member is capped at MAX_BYTES after inflating).
MAX_ZIP_BYTES = 2 * MAX_BYTES

#: Zip compression methods Python reads (AES-encrypted members show up as method 99).
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)

_KIND_ALIASES = {"in": "in", "input": "in", "hidden": "hidden", "out": "out", "output": "out"}


# ---------------------------------------------------------------------------------------- read
def load_genome(path, validate: bool = True) -> Genome:
    """Load a genome from a .zip (one XML inside), a Picbreeder/CPPN-X .xml, or a .json file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise GenomeError(f"cannot read {path}: {e.strerror or e}") from None
    limit = MAX_ZIP_BYTES if path.suffix.lower() == ".zip" else MAX_BYTES
    if size > limit:
        raise GenomeError(f"{path.name} is {size} bytes; the limit is {limit}")
    if path.is_dir():
        raise GenomeError(f"{path} is a folder, not a genome file")
    try:
        # Capped even for zips and files that report size 0 (/dev/zero, pipes).
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as e:
        raise GenomeError(f"cannot read {path}: {e.strerror or e}") from None
    if len(data) > limit:
        raise GenomeError(f"{path.name} is larger than the {limit}-byte limit")
    name = path.stem
    return parse_genome(data, name=name, validate=validate)


def parse_genome(data: bytes, name: str = "", validate: bool = True) -> Genome:
    """Parse genome bytes of any supported flavour, detected from the content."""
    if data[:4] == b"PK\x03\x04":
        data = _unzip(data)
    if len(data) > MAX_BYTES:
        raise GenomeError(f"genome file is {len(data)} bytes; the limit is {MAX_BYTES}")
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        genome = genome_from_json(data)
    elif head == b"<" or data[:3] == b"\xef\xbb\xbf":
        genome = _genome_from_xml(data)
    elif not data.strip():
        raise GenomeError("genome file is empty")
    else:
        raise GenomeError("not a genome file: expected Picbreeder/CPPN-X XML, a zip or JSON")
    if name and "name" not in genome.meta:
        genome = Genome(genome.nodes, genome.links, genome.buttons, genome.id, genome.parents,
                        {**genome.meta, "name": name})
    return genome.check_ids().validate() if validate else genome


def _unzip(data: bytes) -> bytes:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        members = [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX")]
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise GenomeError(f"bad zip file: {e}") from None
    if len(members) != 1:
        raise GenomeError(f"zip must hold exactly one genome file, found {len(members)}")
    info = members[0]
    if info.flag_bits & 0x1:
        raise GenomeError("zip member is encrypted: ferlab reads unencrypted zips only")
    if info.compress_type not in _ZIP_METHODS:
        raise GenomeError(f"zip member uses compression method {info.compress_type}; ferlab reads "
                          "stored, deflate, bzip2 and lzma zips")
    if info.file_size > MAX_BYTES:
        raise GenomeError(f"zip member is {info.file_size} bytes; the limit is {MAX_BYTES}")
    try:
        with zf.open(info) as fh:
            out = fh.read(MAX_BYTES + 1)  # the header's size can lie: cap the real read too
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError,
            zlib.error, MemoryError) as e:
        raise GenomeError(f"bad zip file: {str(e)[:120] or type(e).__name__}") from None
    if len(out) > MAX_BYTES:
        raise GenomeError(f"zip member is larger than {MAX_BYTES} bytes")
    return out


def _parse_xml(data: bytes) -> ET.Element:
    def parse(blob: bytes) -> ET.Element:
        return DET.fromstring(blob, forbid_dtd=True, forbid_entities=True, forbid_external=True)

    try:
        return parse(data)
    except DefusedXmlException as e:
        raise GenomeError(f"unsafe XML rejected ({type(e).__name__}): DTDs and entities are not allowed") from None
    except ET.ParseError as e:
        if "junk after document element" not in str(e):
            raise GenomeError(f"malformed XML: {e}") from None
    # CPPN-X: several top-level elements. Drop the declaration and parse under a synthetic root.
    body = re.sub(rb"^\s*(\xef\xbb\xbf)?\s*<\?xml[^>]*\?>", b"", data, count=1)
    try:
        return parse(b"<ferlab-root>" + body + b"</ferlab-root>")
    except DefusedXmlException as e:
        raise GenomeError(f"unsafe XML rejected ({type(e).__name__}): DTDs and entities are not allowed") from None
    except ET.ParseError as e:
        raise GenomeError(f"malformed XML: {e}") from None


def _gid(el: ET.Element | None, what: str) -> GeneId:
    if el is None:
        raise GenomeError(f"{what} has no id element")
    try:
        return (int(el.get("branch", "")), int(el.get("id", "")))
    except ValueError:
        raise GenomeError(
            f"{what} has a non-integer id branch={el.get('branch')!r} id={el.get('id')!r}") from None


def _float(text: str | None, what: str) -> float:
    try:
        return float((text or "").strip())
    except ValueError:
        raise GenomeError(f"{what} is not a number: {text!r}") from None


def _label_id(el: ET.Element) -> int:
    cl = el.find("color-label")
    if cl is None:
        return 0
    try:
        return int(cl.get("id", "0"))
    except ValueError:
        raise GenomeError(f"bad color-label id {cl.get('id')!r}") from None


def _genome_from_xml(data: bytes) -> Genome:
    root = _parse_xml(data)
    cppnx = root.tag == "ferlab-root" and root.find("cppn-data") is not None
    g = root.find(".//genome") if root.tag != "genome" else root
    if g is None:
        raise GenomeError("no <genome> element: not a Picbreeder genome")
    nodes_el, links_el = g.find("nodes"), g.find("links")
    if nodes_el is None:
        raise GenomeError("genome has no <nodes>")
    node_els = nodes_el.findall("node")
    link_els = links_el.findall("link") if links_el is not None else []
    if len(node_els) > MAX_NODES:
        raise GenomeError(f"genome has {len(node_els)} nodes; the limit is {MAX_NODES}")
    if len(link_els) > MAX_LINKS:
        raise GenomeError(f"genome has {len(link_els)} links; the limit is {MAX_LINKS}")

    nodes = []
    for el in node_els:
        gid = _gid(el.find("marking"), "node")
        kind = _KIND_ALIASES.get(el.get("type", "").lower())
        if kind is None:
            raise GenomeError(f"node {fmt_id(gid)} has unknown type {el.get('type')!r}")
        act_text = el.findtext("activation") or ""
        try:
            act = parse_activation(act_text)
        except KeyError:
            raise GenomeError(f"node {fmt_id(gid)} has unknown activation {act_text!r}") from None
        pos_el = el.find("position")
        pos = None
        if pos_el is not None:
            pos = (_float(pos_el.get("x"), f"node {fmt_id(gid)} position"),
                   _float(pos_el.get("y"), f"node {fmt_id(gid)} position"))
        nodes.append(Node(gid, kind, act, el.get("label", "") or "", _label_id(el), pos,
                          el.findtext("text") or ""))

    links = []
    for el in link_els:
        gid = _gid(el.find("marking"), "link")
        what = f"link {fmt_id(gid)}"
        ow = el.findtext("original-weight")
        be = el.find("bookends")
        bookends = None
        if be is not None:
            bookends = tuple(_float(be.get(k), f"{what} bookends") for k in ("start", "end", "step"))
        links.append(Link(gid, _gid(el.find("source"), f"{what} source"),
                          _gid(el.find("target"), f"{what} target"),
                          _float(el.findtext("weight"), f"{what} weight"), _label_id(el),
                          None if ow is None else _float(ow, f"{what} original-weight"),
                          bookends, el.findtext("text") or ""))

    buttons = []
    buttons_el = g.find("buttons")
    if buttons_el is not None:
        for b in buttons_el.findall("colorButton"):
            c = b.find("color")
            try:
                color = tuple(int(c.get(k, "0")) for k in "rgb") if c is not None else (0, 0, 0)
            except ValueError:
                raise GenomeError("bad colorButton color") from None
            buttons.append(Button(_label_id(b), b.findtext("text") or "", color))

    ident = g.find("identifier")
    parents_el = g.find("parents")
    parents = tuple(_gid(p, "parent") for p in parents_el.findall("identifier")) if parents_el is not None else ()
    meta = {"flavour": "cppnx" if cppnx else "picbreeder"}
    for k in ("age", "phenotype"):
        if g.get(k) is not None:
            meta[k] = g.get(k)
    return Genome(tuple(nodes), tuple(links), tuple(buttons),
                  _gid(ident, "genome") if ident is not None else None, parents, meta)


# --------------------------------------------------------------------------------------- write
def _fmt_float(x: float) -> str:
    return repr(float(x))


def genome_to_xml(genome: Genome, flavour: str | None = None) -> str:
    """Picbreeder XML. flavour='cppnx' adds the CPPN-X header element (two roots, as CPPN-X
    writes); the default 'picbreeder' is well-formed XML that keeps CPPN-X labels as extra
    elements, so nothing is lost either way."""
    flavour = flavour or "picbreeder"
    if flavour not in ("picbreeder", "cppnx"):
        raise ValueError(f"unknown XML flavour {flavour!r}")
    annotated = bool(genome.buttons) or flavour == "cppnx"
    data = ET.Element("data", version="1.0")
    attrs = {k: genome.meta[k] for k in ("age", "phenotype") if k in genome.meta}
    g = ET.SubElement(data, "genome", attrs)

    def gid(parent, tag, ident):
        ET.SubElement(parent, tag, branch=str(ident[0]), id=str(ident[1]))

    if genome.id is not None:
        gid(g, "identifier", genome.id)
    ps = ET.SubElement(g, "parents", count=str(len(genome.parents)))
    for p in genome.parents:
        gid(ps, "identifier", p)
    if genome.buttons:
        bs = ET.SubElement(g, "buttons", count=str(len(genome.buttons)))
        for b in genome.buttons:
            be = ET.SubElement(bs, "colorButton")
            ET.SubElement(be, "color-label", id=str(b.id))
            ET.SubElement(be, "text").text = b.text
            ET.SubElement(be, "color", r=str(b.color[0]), g=str(b.color[1]), b=str(b.color[2]))
    ns = ET.SubElement(g, "nodes", count=str(len(genome.nodes)))
    for n in genome.nodes:
        attrs = {"label": n.label} if n.label or annotated else {}
        if flavour == "cppnx":
            attrs = {"affinity": "color" if genome.is_colour else "grey", "bias": "0.0", **attrs}
        ne = ET.SubElement(ns, "node", {**attrs, "type": n.kind})
        gid(ne, "marking", n.id)
        ET.SubElement(ne, "activation").text = f"{n.activation}(x)"
        if annotated or n.color_label:
            ET.SubElement(ne, "color-label", id=str(n.color_label))
        if n.position is not None:
            ET.SubElement(ne, "position", x=_fmt_float(n.position[0]), y=_fmt_float(n.position[1]))
        if n.text or flavour == "cppnx":
            ET.SubElement(ne, "text").text = n.text
    ls = ET.SubElement(g, "links", count=str(len(genome.links)))
    for l in genome.links:
        le = ET.SubElement(ls, "link")
        gid(le, "marking", l.id)
        gid(le, "source", l.source)
        gid(le, "target", l.target)
        ET.SubElement(le, "weight").text = _fmt_float(l.weight)
        if l.original_weight is not None:
            ET.SubElement(le, "original-weight").text = _fmt_float(l.original_weight)
        if annotated or l.color_label:
            ET.SubElement(le, "color-label", id=str(l.color_label))
        if l.text:
            ET.SubElement(le, "text").text = l.text
        if l.bookends is not None:
            ET.SubElement(le, "bookends", start=_fmt_float(l.bookends[0]),
                          end=_fmt_float(l.bookends[1]), step=_fmt_float(l.bookends[2]))
    ET.indent(data, space="    ")
    body = ET.tostring(data, encoding="unicode")
    header = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    if flavour == "cppnx":
        header += '<cppn-data version="1.2"/>\n'
    return header + body + "\n"


def _node_json(n: Node) -> dict:
    # Fields at their defaults are left out: the web store writes a genome per child per
    # click. Written out field by field: a generic filter over dicts cost ~2x more.
    d = {"id": f"{n.id[0]}:{n.id[1]}", "kind": n.kind, "activation": n.activation}
    if n.label:
        d["label"] = n.label
    if n.color_label:
        d["color_label"] = n.color_label
    if n.position is not None:
        d["position"] = list(n.position)
    if n.text:
        d["text"] = n.text
    return d


def _link_json(l: Link) -> dict:
    d = {"id": f"{l.id[0]}:{l.id[1]}", "source": f"{l.source[0]}:{l.source[1]}",
         "target": f"{l.target[0]}:{l.target[1]}", "weight": l.weight}
    if l.color_label:
        d["color_label"] = l.color_label
    if l.original_weight is not None:
        d["original_weight"] = l.original_weight
    if l.bookends is not None:
        d["bookends"] = list(l.bookends)
    if l.text:
        d["text"] = l.text
    return d


def genome_to_json(genome: Genome) -> dict:
    """A plain-JSON form that keeps every field (weights as exact float reprs); fields at their
    defaults are left out and :func:`genome_from_json` fills them back in."""
    return {
        "format": "ferlab-genome", "version": 1,
        "id": fmt_id(genome.id) if genome.id else None,
        "parents": [fmt_id(p) for p in genome.parents],
        "meta": dict(genome.meta),
        "buttons": [{"id": b.id, "text": b.text, "color": list(b.color)} for b in genome.buttons],
        "nodes": [_node_json(n) for n in genome.nodes],
        "links": [_link_json(l) for l in genome.links],
    }


def _num(v) -> str:
    # What json.dumps writes for a number: float's repr (numpy floats are float subclasses).
    return float.__repr__(v) if isinstance(v, float) else json.dumps(v)


def _link_text(l: Link) -> str:
    if l.color_label or l.original_weight is not None or l.bookends is not None or l.text:
        return json.dumps(_link_json(l), separators=(",", ":"))
    return (f'{{"id":"{l.id[0]}:{l.id[1]}","source":"{l.source[0]}:{l.source[1]}",'
            f'"target":"{l.target[0]}:{l.target[1]}","weight":{_num(l.weight)}}}')


def genome_json_text(genome: Genome) -> str:
    """``json.dumps(genome_to_json(genome), separators=(",", ":"))``, character for character.

    The store writes one genome per child per Evolve click; plain links (the bulk) are
    formatted directly instead of through a dict each, 2-3x faster.
    """
    head = genome_to_json(Genome(genome.nodes, (), genome.buttons, genome.id, genome.parents,
                                 genome.meta))
    text = json.dumps(head, separators=(",", ":"))  # ends in "links":[]}
    return text[:-2] + ",".join([_link_text(l) for l in genome.links]) + "]}"


def genome_json_texts(genomes) -> list[str]:
    """:func:`genome_json_text` of each genome (one call: what a helper process is handed)."""
    return [genome_json_text(g) for g in genomes]


def genome_from_json(data) -> Genome:
    """Inverse of :func:`genome_to_json`; accepts bytes, str or an already-parsed dict."""
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise GenomeError(f"malformed JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise GenomeError("JSON genome must be an object with 'nodes' and 'links' lists")
    links_in = data.get("links", [])
    if not isinstance(links_in, list):
        raise GenomeError("JSON genome 'links' must be a list")
    if len(data["nodes"]) > MAX_NODES:
        raise GenomeError(f"genome has {len(data['nodes'])} nodes; the limit is {MAX_NODES}")
    if len(links_in) > MAX_LINKS:
        raise GenomeError(f"genome has {len(links_in)} links; the limit is {MAX_LINKS}")
    for what, items in (("node", data["nodes"]), ("link", links_in), ("button", data.get("buttons", []))):
        if not isinstance(items, list):
            raise GenomeError(f"JSON genome '{what}s' must be a list")
        bad = next((k for k, it in enumerate(items) if not isinstance(it, dict)), None)
        if bad is not None:  # else Python's own TypeError text would reach the user
            raise GenomeError(f"JSON genome {what} {bad} is not an object")
    try:
        nodes = tuple(Node(parse_id(n["id"]), str(n["kind"]), str(n.get("activation", "identity")),
                           str(n.get("label", "")), int(n.get("color_label", 0)),
                           tuple(float(v) for v in n["position"]) if n.get("position") else None,
                           str(n.get("text", ""))) for n in data["nodes"])
        links = tuple(Link(parse_id(l["id"]), parse_id(l["source"]), parse_id(l["target"]),
                           float(l["weight"]), int(l.get("color_label", 0)),
                           None if l.get("original_weight") is None else float(l["original_weight"]),
                           tuple(float(v) for v in l["bookends"]) if l.get("bookends") else None,
                           str(l.get("text", ""))) for l in links_in)
        buttons = tuple(Button(int(b["id"]), str(b.get("text", "")),
                               tuple(int(c) for c in b.get("color", (0, 0, 0))))
                        for b in data.get("buttons", []))
        gid = parse_id(data["id"]) if data.get("id") else None
        parents = tuple(parse_id(p) for p in data.get("parents", []))
        meta = {str(k): str(v) for k, v in dict(data.get("meta", {})).items()}
    except GenomeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        if isinstance(e, KeyError):
            raise GenomeError(f"bad JSON genome: missing field {e.args[0]!r}") from None
        raise GenomeError("bad JSON genome: a field has the wrong type or value") from None
    return Genome(nodes, links, buttons, gid, parents, meta)


def save_genome(genome: Genome, path, flavour: str | None = None) -> Path:
    """Write a genome; the suffix picks the format (.json, else Picbreeder XML)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(genome_to_json(genome), indent=1)
    else:
        text = genome_to_xml(genome, flavour or genome.meta.get("flavour"))
    from ferlab.atomic import write_text

    return write_text(path, text)


def same_graph(a: Genome, b: Genome) -> bool:
    """Equality of everything a file round trip must keep (not meta such as the file name)."""
    def finite_eq(x, y):
        return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
    return (a.nodes == b.nodes and a.buttons == b.buttons and a.id == b.id and a.parents == b.parents
            and len(a.links) == len(b.links)
            and all(la.id == lb.id and la.source == lb.source and la.target == lb.target
                    and finite_eq(la.weight, lb.weight) and la.color_label == lb.color_label
                    and la.original_weight == lb.original_weight and la.bookends == lb.bookends
                    and la.text == lb.text for la, lb in zip(a.links, b.links)))
