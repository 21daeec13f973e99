"""Discover in a real browser: a stored search run as a map, an elite opened in the explorer,
then a breeding session started from it. Saves a screenshot to test-artifacts/."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from browser import browser_and_server, shot, wait_generation

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]


def test_discover_explore_and_breed(tmp_path):
    db = tmp_path / "breed.db"  # the database browser_and_server serves
    r = subprocess.run([sys.executable, "-m", "ferlab", "search", "map-elites", "--budget", "256",
                        "--batch", "64", "--res", "32", "--bins", "8", "--seed", "1", "--quiet",
                        "--db", str(db)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with browser_and_server(tmp_path) as (browser, server):
        page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.base + "/")
        page.click("[data-testid=tab-discover]")
        page.wait_for_url("**/discover")
        page.wait_for_function(
            "(() => { const im = [...document.querySelectorAll('[data-testid=map] img')];"
            " return im.length > 5 && im.every(i => i.complete && i.naturalWidth === 96); })()",
            timeout=30000)
        assert "map-elites" in page.text_content("[data-testid=summary]")
        n_map = page.locator("[data-testid=map] [data-testid=elite]").count()
        page.locator("[data-testid=map] [data-testid=elite]").nth(0).click()
        page.wait_for_function("document.getElementById('detail-img').complete && "
                               "document.getElementById('detail-img').naturalWidth === 256")
        shot(page, "discover")
        key = page.get_attribute("[data-testid=map] [data-testid=elite] >> nth=0", "data-key")

        # The wall shows the same elites, ordered by novelty.
        page.check("[data-testid=layout-wall]")
        assert page.locator("[data-testid=wall] [data-testid=elite]").count() == n_map
        page.check("[data-testid=layout-map]")

        # Explore the elite: the explorer draws its graph.
        page.click("[data-testid=explore-elite]")
        # The app may add its breeding session (?s=...) to the URL as the page loads: match
        # the route, not the whole URL (a glob missed it whenever that came first).
        page.wait_for_url(lambda url: url.endswith(f"#/explore/{key}"))
        n_nodes = len(server.get(f"/api/genomes/{key}/graph")["nodes"])
        page.wait_for_function(f"document.querySelectorAll('#graph .node').length === {n_nodes}",
                               timeout=20000)
        assert page.is_visible("#view-explore")
        assert page.text_content("[data-testid=explore-name]") == "unpublished genome"

        # Back to Discover; breed from the same elite.
        page.goto(server.base + "/discover")
        page.wait_for_selector(f"[data-testid=map] [data-testid=elite][data-key='{key}']")
        page.click(f"[data-testid=map] [data-testid=elite][data-key='{key}']")
        page.click("[data-testid=breed-elite]")
        page.wait_for_url("**/?s=*#/breed")
        wait_generation(page, 0)
        assert errors == []
        sid = page.url.split("s=")[1].split("#")[0]
        state = server.get(f"/api/sessions/{sid}")
        root = state["screen"]["genomes"][0]["key"]
        a = server.get(f"/api/genomes/{root}/graph")
        b = server.get(f"/api/genomes/{key}/graph")
        assert [l["weight"] for l in a["links"]] == [l["weight"] for l in b["links"]]
