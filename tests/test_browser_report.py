"""The compare report in a real browser: every section present and every image decoded.

Drives Debian's chromium through Playwright, opening the report from a file:// URL with the
network disabled for the page (the report must need nothing from outside).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ferlab.files import load_any
from ferlab.layerize import layerize
from ferlab.picbreeder import load_genome
from ferlab.report import SECTIONS, compare_report

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TINY = dict(image_res=48, feature_res=16, sweep_res=24, sheet_rows=4, n_random=2, metrics_res=24,
            max_weights=256)


def _need(ok: bool, msg: str):
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def test_report_opens_offline_with_every_section_and_image(shared, tmp_path):
    _need(Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
          f"Debian's chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        _need(False, "playwright is not installed")
    g = load_genome(shared / "picbreeder/fer/skull.zip")
    out = compare_report(layerize(g), load_any(shared / "reference/sgd_skull.npz"),
                         tmp_path / "report.html", **TINY)
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists()
                                    else shutil.which("chromium"), args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.resolve().as_uri())
            page.wait_for_load_state("load")
            for sec, title in SECTIONS:
                heading = page.locator(f"section#{sec} h2")
                assert heading.count() == 1 and heading.inner_text() == title
                assert page.locator(f"section#{sec}").is_visible()
            imgs = page.evaluate("""() => Array.from(document.images).map(i => ({
                complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
                section: i.closest('section') ? i.closest('section').id : null}))""")
            assert len(imgs) == 2 * (len(SECTIONS) - 1)
            for im in imgs:
                assert im["complete"] and im["w"] > 0 and im["h"] > 0, im
            counts = {s: sum(i["section"] == s for i in imgs) for s, _ in SECTIONS}
            assert counts == {s: (0 if s == "metrics" else 2) for s, _ in SECTIONS}
            rows = page.locator("section#metrics table tr")
            assert rows.count() >= 9
            assert "fer_score" in page.locator("section#metrics").inner_text()
        finally:
            browser.close()
    # Only the page itself (and its inline data: images) was ever requested.
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
