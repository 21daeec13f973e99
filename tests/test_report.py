"""The side-by-side report: valid self-contained HTML with every section; figures and exports."""
from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from ferlab.cli import main
from ferlab.files import load_any
from ferlab.layerize import layerize
from ferlab.metrics import METRIC_NOTES
from ferlab.picbreeder import load_genome
from ferlab.report import SECTIONS, compare_report

#: Small settings: the report's structure does not depend on resolution.
TINY = dict(image_res=48, feature_res=16, sweep_res=24, sheet_rows=6, n_random=2, metrics_res=24,
            max_weights=256)
VOID = {"meta", "img", "br", "hr", "link", "input"}


class Page(HTMLParser):
    """Collects sections, images, external references and checks tags nest properly."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.sections, self.images, self.external = [], [], {}, [], []
        self.table_rows: list[str] = []
        self.current = None
        self._in_th = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "section":
            self.current = a.get("id")
            self.sections[self.current] = []
        if tag == "img":
            self.images.append(a.get("src", ""))
            if self.current:
                self.sections[self.current].append(a.get("src", ""))
        for key in ("src", "href"):
            v = a.get(key) or ""
            if v and not v.startswith(("data:", "#")):
                self.external.append(v)
        if tag in ("script", "link", "iframe"):
            self.external.append(tag)
        self._in_th = tag == "th"

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()
        if tag == "section":
            self.current = None

    def handle_data(self, data):
        if self._in_th and self.current == "metrics":
            self.table_rows.append(data.strip())


@pytest.fixture(scope="module")
def report(shared, tmp_path_factory):
    g = load_genome(shared / "picbreeder/fer/skull.zip")
    sgd = load_any(shared / "reference/sgd_skull.npz")
    out = tmp_path_factory.mktemp("report") / "report.html"
    figs = out.parent / "figs"
    compare_report(layerize(g), sgd, out, figures_dir=figs, **TINY)
    return out, figs


def _decode_png(src):
    assert src.startswith("data:image/png;base64,")
    im = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    im.load()
    return im


def test_report_is_valid_self_contained_html_with_every_section(report):
    path, _ = report
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page = Page()
    page.feed(text)
    page.close()
    assert not page.errors and page.stack == []
    assert page.external == []  # no scripts, stylesheets or remote images: opens offline
    assert [s for s, _ in SECTIONS] == list(page.sections)
    for sec, _ in SECTIONS:
        if sec == "metrics":
            continue
        assert len(page.sections[sec]) == 2, sec  # one picture per network, side by side
        for src in page.sections[sec]:
            im = _decode_png(src)
            assert im.width > 16 and im.height > 16
            assert np.asarray(im).std() > 0  # not a blank picture
    for key in METRIC_NOTES:
        assert any(row.startswith(key) for row in page.table_rows), key


def test_report_pngs_are_opaque_and_drawn_pixel_for_pixel(report):
    from ferlab.figures.sweeps import GAP, TILE_INCHES, native_dpi

    path, _ = report
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    res, rows = TINY["sweep_res"], TINY["sheet_rows"]
    for src in page.sections["sweeps"]:
        im = _decode_png(src)
        assert im.mode == "RGB"
        # Frames are not blown up: the sheet is its frames plus a fixed margin, at native dpi.
        frames_px = rows * (res + GAP)
        margin_px = 0.7 * native_dpi(res)
        assert frames_px <= im.height <= frames_px + margin_px + 2
        assert native_dpi(res) * TILE_INCHES == pytest.approx(res + GAP)


def test_map_figures_use_the_papers_colours():
    import matplotlib

    from ferlab.figures import features, pca

    cmap = matplotlib.colormaps[features.CMAP]
    plus, minus = cmap(1.0), cmap(0.0)
    assert plus[2] > plus[0] and minus[0] > minus[2]  # +1 blue, −1 red (the paper's figures)
    assert pca.CMAP == features.CMAP


def test_single_weight_sheets_pick_weights_that_exist(shared):
    from ferlab.sweep import existing_weights, strongest_weights

    net = load_any(shared / "reference/picbreeder_skull.npz")  # no link-origin map
    assert net.origin is None
    picked = strongest_weights(net, existing_weights(net), 12, res=16, sample=300)
    assert len(picked) == 12 and all(net.kernels[k][r, c] != 0 for k, r, c in picked)
    g = load_genome(shared / "picbreeder/fer/skull.zip")
    lay = layerize(g)
    ws = existing_weights(lay)
    assert len(ws) == sum(int((o >= 0).sum()) for o in lay.origin)
    assert all(lay.origin[k][r, c] >= 0 for k, r, c in ws)


def test_report_images_show_both_networks(report, shared):
    path, _ = report
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    a, b = (np.asarray(_decode_png(s).convert("L"), float) for s in page.sections["images"])
    # Layerized genome and its SGD replica draw (nearly) the same skull, not the same pixels.
    assert a.shape == b.shape == (48, 48)
    assert 0 < np.abs(a - b).mean() < 30


def test_report_exports_every_figure(report):
    _, figs = report
    names = sorted(p.name for p in figs.iterdir())
    for sec, _ in SECTIONS:
        if sec != "metrics":
            assert sum(n.startswith(sec + "_") for n in names) == 2, (sec, names)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in figs.iterdir())


def test_pca_components_are_ordered_and_complete(shared):
    from ferlab.figures.pca import layer_maps, pca

    net = load_any(shared / "reference/sgd_skull.npz")
    name, maps = layer_maps(net, 16)[5]
    comps, explained = pca(maps)
    assert name == "layer 6"
    assert np.all(np.diff(explained) <= 1e-12) and explained.sum() == pytest.approx(1.0)
    # The components carry all the (centred) variance of the layer's maps.
    x = maps.reshape(len(maps), -1)
    total = ((x - x.mean(axis=1, keepdims=True)) ** 2).sum()
    assert (comps.reshape(len(comps), -1) ** 2).sum() == pytest.approx(total, rel=1e-6)
    g = load_genome(shared / "picbreeder/fer/skull.zip")
    levels = layer_maps(g, 16)
    assert sum(len(m) for _, m in levels) == len(g.nodes) - 4  # every non-input node, by depth


def test_figure_exports_by_suffix(shared, tmp_path):
    from ferlab.figures.pca import pca_figure
    from ferlab.figures.sweeps import save_figure, sweep_figure
    from ferlab.sweep import sweep_genome

    g = load_genome(shared / "picbreeder/cppnx/576_Skull.xml")
    sheet = sweep_genome(g, ["576:224"], res=24)
    save_figure(sweep_figure(sheet), tmp_path / "a.pdf")
    save_figure(pca_figure(g, 16), tmp_path / "b.png")
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="use .png or .pdf"):
        save_figure(sweep_figure(sheet), tmp_path / "c.svg")
    assert not (tmp_path / "c.svg").exists()


def test_cli_compare_and_bad_input(shared, tmp_path, capsys):
    out = tmp_path / "r.html"
    a = str(shared / "picbreeder/cppnx/576_Skull.xml")
    b = str(shared / "reference/picbreeder_skull.npz")
    assert main(["compare", a, b, "-o", str(out), "--sweep-res", "24", "--feature-res", "16",
                 "--metrics-res", "24", "--rows", "3", "--random", "1", "--max-weights", "256"]) == 0
    text = out.read_text(encoding="utf-8")
    assert all(f'id="{s}"' in text for s, _ in SECTIONS)
    assert "Mouth open close" in text or "576_Skull" in text
    capsys.readouterr()
    for argv in (["compare", a, b, "-o", str(tmp_path / "r.txt")],
                 ["compare", a, str(tmp_path / "missing.npz"), "-o", str(out)],
                 ["compare", a, b, "-o", str(out), "--rows", "0"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("ferlab compare: error:") and "Traceback" not in err
    assert out.read_text(encoding="utf-8") == text  # a failed run leaves the old report intact
    assert not (tmp_path / "r.txt").exists()
