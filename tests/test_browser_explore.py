"""The explorer in a real browser, on a real CPPN-X genome (576_Skull from ../shared).

Labels and legend, highlighting a label's genes, the weight slider's range, a scan that runs
and stops, its animated export, a node's map, and the edited genome saved, read back by
`ferlab info`, and bred from. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import io
import re
import subprocess
import sys
import time

import pytest
from browser import ROOT, browser_and_server, shot, wait_generation
from PIL import Image

from ferlab.genome import fmt_id
from ferlab.picbreeder import load_genome

pytestmark = pytest.mark.browser
LABEL = "Mouth open close:=4"
LINK = "576:224"  # the link the researchers gave that label (see the paper's weight 4371)
EDIT = 1.25  # the hand-edited weight of LINK: off the scan's grid


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with browser_and_server(tmp_path_factory.mktemp("explore")) as (browser, server):
        yield browser, server


def _canvas(page) -> str:
    return page.evaluate("document.getElementById('live').toDataURL()")


def test_cppnx_labels_scan_save_and_breed(env, shared, tmp_path):
    browser, server = env
    src = shared / "picbreeder" / "cppnx" / "576_Skull.xml"
    genome = load_genome(src)
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base + "/#/breed")
    wait_generation(page, 0)
    page.set_input_files("[data-testid=import-file]", str(src))
    page.wait_for_function("document.querySelector('#grid .tile') && "
                           "document.getElementById('generation').textContent === 'Generation 0' && "
                           "!document.body.classList.contains('busy') && "
                           "new URL(location.href).searchParams.get('s') !== null")
    wait_generation(page, 0)
    key = page.eval_on_selector("[data-testid=tile]", "e => e.dataset.key")
    assert server.get(f"/api/genomes/{key}")["nodes"] == len(genome.nodes)

    # Labels: a legend of the genome's label groups, the links' labels drawn, no "" placeholders.
    page.goto(f"{server.base}/#/explore/{key}")
    page.wait_for_selector("[data-testid=legend-item]")
    page.wait_for_function("Number(document.getElementById('live').dataset.renders || 0) >= 1")
    assert page.text_content("[data-testid=explore-name]") == "576_Skull"
    legend = page.eval_on_selector_all("[data-testid=legend-item]", "els => els.map(e => e.textContent)")
    used = {l.color_label for l in genome.links} | {n.color_label for n in genome.nodes}
    assert legend == [b.text for b in genome.buttons if b.id in used]
    link_labels = page.eval_on_selector_all("#graph text.link-label", "els => els.map(e => e.textContent)")
    assert LABEL in link_labels and not any('""' in t for t in link_labels)
    assert len(link_labels) == sum(1 for l in genome.links if l.color_label)
    # Node positions come from the file: inputs (y = 600) are drawn below the outputs.
    ys = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#graph .node')].map(
        g => [g.dataset.node, g.querySelector('image').getBoundingClientRect().top]))""")
    assert ys["534:2"] > ys["534:4"]
    # The graph fits the box: every node is inside the visible graph area.
    inside = page.evaluate("""() => { const b = document.getElementById('graph-wrap').getBoundingClientRect();
        return [...document.querySelectorAll('#graph .node image')].every(i => { const r = i.getBoundingClientRect();
          return r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1; }); }""")
    assert inside
    shot(page, "explore-cppnx-labels")
    # Wheel zooms about the pointer, dragging pans, Fit restores the whole graph.
    view = lambda: [float(v) for v in page.get_attribute("#graph", "viewBox").split()]  # noqa: E731
    fit = view()
    box = page.locator("#graph-wrap").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_function(f"document.getElementById('graph').viewBox.baseVal.width < {fit[2] * 0.95}")
    zoomed = view()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 60, steps=4)
    page.mouse.up()
    assert view()[0] < zoomed[0] and view()[2] == pytest.approx(zoomed[2])
    page.click("[data-testid=graph-fit]")
    assert view() == pytest.approx(fit)

    # Clicking a label highlights exactly its genes.
    page.click(f"[data-testid=legend-item]:text-is('{LABEL}')")
    hl = page.eval_on_selector_all("#graph .link.hl", "els => els.map(e => e.dataset.link)")
    label_id = next(b.id for b in genome.buttons if b.text == LABEL)
    assert sorted(hl) == sorted(fmt_id(l.id) for l in genome.links if l.color_label == label_id)
    assert page.eval_on_selector("#graph", "e => e.classList.contains('highlighting')")
    shot(page, "explore-highlight")
    page.click(f"[data-testid=legend-item]:text-is('{LABEL}')")
    assert not page.eval_on_selector("#graph", "e => e.classList.contains('highlighting')")

    # The link: its label, and a slider over the file's bookends with a fine step.
    page.dispatch_event(f"[data-testid=link][data-link='{LINK}']", "click")
    page.wait_for_selector("[data-testid=link-panel]:not([hidden])")
    assert LABEL in page.text_content("[data-testid=link-label]")
    lo, hi, step = page.eval_on_selector("[data-testid=weight]", "e => [e.min, e.max, e.step].map(Number)")
    assert (lo, hi) == (-3.0, 3.0) and step <= 0.01
    page.wait_for_function("document.getElementById('sweep').naturalWidth > 0")

    # A scan runs (frames and pictures change, the slider follows) and stops.
    page.click("[data-testid=scan-play]")
    page.wait_for_function("document.getElementById('scan-play').dataset.state === 'playing'")
    seen, pictures = set(), set()
    # The scan first fetches all its frames: under load that can take seconds, so wait on a
    # deadline rather than a fixed number of polls.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.wait_for_timeout(90)
        f = page.get_attribute("[data-testid=scan-frame]", "data-frame")
        if f is not None:
            seen.add(int(f))
            pictures.add(_canvas(page))
        if len(seen) >= 4 and len(pictures) >= 3:
            break
    assert len(seen) >= 4 and len(pictures) >= 3, (seen, len(pictures))
    page.click("[data-testid=scan-play]")
    page.wait_for_function("document.getElementById('scan-play').dataset.state === 'stopped'")
    frame = int(page.get_attribute("[data-testid=scan-frame]", "data-frame"))
    page.wait_for_timeout(400)
    assert int(page.get_attribute("[data-testid=scan-frame]", "data-frame")) == frame
    bookends = next(l.bookends for l in genome.links if fmt_id(l.id) == LINK)
    assert float(page.input_value("[data-testid=weight-num]")) == pytest.approx(bookends[0] + frame * bookends[2], abs=0.006)
    shot(page, "explore-scan-stopped")

    # The scan exports as an animated WebP (back and forth, like CPPN-X).
    with page.expect_download() as dl:
        page.click("[data-testid=scan-webp]")
    anim = Image.open(io.BytesIO(open(dl.value.path(), "rb").read()))
    frames = int(round((bookends[1] - bookends[0]) / bookends[2])) + 1
    assert anim.format == "WEBP" and anim.is_animated and anim.n_frames == 2 * frames - 2

    # Edit the weight by hand; the sweep strip and the live picture follow. The scan's frames
    # sit on the bookends' 0.5 grid, so 1.25 differs from wherever the scan stopped (1.5 did
    # not when the scan happened to stop on it).
    before = _canvas(page)
    page.fill("[data-testid=weight-num]", str(EDIT))
    page.dispatch_event("[data-testid=weight-num]", "change")
    # Wait for the new picture itself, not the render counter (stopping the scan renders too).
    page.wait_for_function("before => document.getElementById('live').toDataURL() !== before",
                           arg=before, timeout=30_000)
    assert page.text_content("[data-testid=edited-count]") == "1 weight edited"

    # A node's map, large, with its value range.
    page.dispatch_event("[data-testid=node][data-node='540:106']", "click")
    page.wait_for_function("document.getElementById('node-big').naturalWidth === 256")
    rng = page.text_content("[data-testid=node-range]")
    assert re.search(r"values -?\d\.\d{3} … -?\d\.\d{3}", rng), rng
    shot(page, "explore-node-and-link")

    # Save the edited genome and read it back with `ferlab info`.
    page.select_option("[data-testid=save-format]", "cppnx")
    with page.expect_download() as dl:
        page.click("[data-testid=save-edited]")
    saved = tmp_path / dl.value.suggested_filename
    dl.value.save_as(saved)
    assert saved.name == "576_Skull_edited.xml"
    edited = load_genome(saved)
    w = {fmt_id(l.id): l.weight for l in edited.links}
    assert w[LINK] == pytest.approx(EDIT)
    assert all(w[fmt_id(l.id)] == pytest.approx(l.weight) for l in genome.links if fmt_id(l.id) != LINK)
    assert [b.text for b in edited.buttons] == [b.text for b in genome.buttons]
    out = subprocess.run([sys.executable, "-m", "ferlab", "info", str(saved)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert re.search(rf"links\W+{len(genome.links)}\b", out.stdout), out.stdout

    # Continue breeding from it: a new session whose first image is the edited genome.
    page.click("[data-testid=breed-edited]")
    page.wait_for_function("location.hash === '#/breed'")
    wait_generation(page, 0)
    first = page.eval_on_selector("[data-testid=tile]", "e => e.dataset.key")
    assert first != key
    with __import__("urllib.request").request.urlopen(f"{server.base}/api/genomes/{first}/genome.xml") as r:
        from ferlab.picbreeder import parse_genome
        bred = parse_genome(r.read())
    assert {fmt_id(l.id): l.weight for l in bred.links}[LINK] == pytest.approx(EDIT)
    assert errors == []


def test_dense_layer_grid_two_panes_shared_slider(env, shared):
    browser, server = env
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base + "/#/gallery")
    page.wait_for_selector("[data-testid=view-gallery], #view-gallery:not([hidden])")
    page.set_input_files("[data-testid=import-file]", str(shared / "picbreeder" / "fer" / "skull.zip"))
    page.wait_for_function("new URL(location.href).searchParams.get('s') !== null && location.hash === '#/breed'")
    wait_generation(page, 0)
    key = page.eval_on_selector("[data-testid=tile]", "e => e.dataset.key")
    src = f"genome:{key}"
    grid = server.get(f"/api/dense/{src}/grid")
    assert grid["arch"] == "12;cache:15,gaussian:4,identity:2,sin:1"
    # A weight of the layerized genome that came from a genome link, in the middle of the net.
    k, r, c = next((k, r, c) for k in range(5, 9) for r, row in enumerate(grid["origin"][k])
                   for c, o in enumerate(row) if ":" in o)

    page.goto(f"{server.base}/#/explore/{key}")
    page.wait_for_function("Number(document.getElementById('live').dataset.renders || 0) >= 1")
    page.click("[data-testid=dense-link]")
    page.wait_for_function("document.querySelector('[data-testid=pane]') && "
                           "Number(document.querySelector('[data-testid=pane]').dataset.renders || 0) >= 1")
    n_neurons = 4 + 12 * 22 + 3
    assert page.locator("[data-testid=pane] [data-testid=neuron]").count() == n_neurons
    # Compare with the paper's SGD replica: a second pane.
    page.set_input_files("[data-testid=dense-file]", str(shared / "reference" / "sgd_skull.npz"))
    page.wait_for_function("document.querySelectorAll('[data-testid=pane]').length === 2 && "
                           "[...document.querySelectorAll('[data-testid=pane]')].every(p => Number(p.dataset.renders) >= 1)")
    panes = page.locator("[data-testid=pane]")
    for i in range(2):
        pane = panes.nth(i)
        pane.locator(f"[data-testid=neuron][data-layer='{k + 1}'][data-index='{c}']").click()
        pane.locator(f"[data-testid=weight-cell][data-row='{r}']").click()
    page.wait_for_function("[...document.querySelectorAll('[data-testid=pane] .sel')].every(s => s.dataset.changed === '0')")
    assert "from " in panes.nth(0).locator(".sel").text_content()  # the genome link it came from
    page.fill("[data-testid=dense-delta]", "1.5")
    page.dispatch_event("[data-testid=dense-delta]", "input")
    page.wait_for_function("[...document.querySelectorAll('[data-testid=pane] .sel')].every("
                           "s => s.textContent.includes('→') && Number(s.dataset.changed) > 0)")
    for i in range(2):
        changed = panes.nth(i).locator("[data-testid=neuron].changed").evaluate_all(
            "els => els.map(e => Number(e.dataset.layer))")
        # Only neurons downstream of the weight can change: layer k+1 and later.
        assert changed and min(changed) == k + 1, changed
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "dense-two-panes")
    assert errors == []
