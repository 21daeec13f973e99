"""The breeding page in a real browser: keyboard, history tree with redo, two tabs, asking
before a new session, errors next to their control, the unpublished-genome page, and the
390 px wide layout. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import pytest
from browser import browser_and_server, shot, wait_generation

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with browser_and_server(tmp_path_factory.mktemp("ux")) as (browser, server):
        yield browser, server


def _keys(page):
    return page.eval_on_selector_all("[data-testid=tile]", "els => els.map(e => e.dataset.key)")


def _selected(page):
    return page.eval_on_selector_all("[data-testid=tile].selected", "els => els.map(e => e.dataset.key)")


def _active(page):
    return page.evaluate("document.activeElement.dataset.key || document.activeElement.id")


def _no_hscroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_keyboard_history_redo_two_tabs(env):
    browser, server = env
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base + "/")
    wait_generation(page, 0)

    # The import control is reachable by Tab, straight after the New buttons.
    page.focus("[data-testid=new-colour]")
    page.keyboard.press("Tab")
    assert _active(page) == "import-file"

    # Keyboard: focus a tile, Space selects, arrows move, Enter evolves.
    keys0 = _keys(page)
    page.focus("[data-testid=tile] >> nth=0")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert _active(page) == keys0[2]
    page.keyboard.press("Space")
    assert sorted(_selected(page)) == sorted([keys0[0], keys0[2]])
    assert page.get_attribute(f"[data-testid=tile][data-key='{keys0[2]}']", "aria-checked") == "true"
    page.keyboard.press("Enter")
    wait_generation(page, 1)
    keys1 = _keys(page)
    # "keep parents" (on by default, as on Picbreeder): the parents open the next screen.
    assert keys1[:2] == [keys0[0], keys0[2]] and len(set(keys1)) == 15
    assert page.evaluate("document.activeElement.classList.contains('tile')")

    # Two more generations by mouse.
    page.locator("[data-testid=tile]").nth(4).click()
    page.click("[data-testid=evolve]")
    wait_generation(page, 2)
    keys2 = _keys(page)
    page.locator("[data-testid=tile]").nth(6).click()
    page.click("[data-testid=evolve]")
    wait_generation(page, 3)
    keys3 = _keys(page)
    assert page.is_disabled("[data-testid=forward]")

    # Back to generation 1: later screens stay in the tree, the parent picked there is marked.
    page.click("#history button:text-is('gen 1')")
    wait_generation(page, 1)
    assert _keys(page) == keys1 and _selected(page) == [keys1[4]]
    assert page.eval_on_selector_all("#history button", "els => els.map(e => e.textContent)") == \
        ["gen 0", "gen 1", "gen 2", "gen 3"]
    assert page.eval_on_selector_all("#history button.redo", "els => els.map(e => e.textContent)") == ["gen 2", "gen 3"]
    shot(page, "breed-history-back")
    # Redo: forward twice gets generations 2 and 3 back.
    page.click("[data-testid=forward]")
    wait_generation(page, 2)
    assert _keys(page) == keys2 and _selected(page) == [keys2[6]]
    page.click("[data-testid=forward]")
    wait_generation(page, 3)
    assert _keys(page) == keys3 and page.is_disabled("[data-testid=forward]")

    # A branch: back to gen 1 and breed from another image; the tree gets a second row.
    page.click("#history button:text-is('gen 1')")
    wait_generation(page, 1)
    page.locator("[data-testid=tile]").nth(4).click()  # unselect the old pick
    page.locator("[data-testid=tile]").nth(9).click()
    page.click("[data-testid=evolve]")
    wait_generation(page, 2)
    rows = page.eval_on_selector_all("#history button", "els => els.map(e => [e.textContent, e.style.gridRow])")
    assert sorted(rows) == sorted([["gen 0", "1"], ["gen 1", "1"], ["gen 2", "1"], ["gen 3", "1"], ["gen 2", "2"]])
    shot(page, "breed-history-tree")

    # Two tabs on one session: the first is told when the second moves it on.
    sid = page.evaluate("new URL(location.href).searchParams.get('s')")
    other = ctx.new_page()
    other.goto(f"{server.base}/?s={sid}#/breed")
    wait_generation(other, 2)
    assert page.is_hidden("[data-testid=tab-warning]")
    other.locator("[data-testid=tile]").nth(3).click()
    other.click("[data-testid=evolve]")
    wait_generation(other, 3)
    page.wait_for_selector("[data-testid=tab-warning]", state="visible")
    shot(page, "breed-two-tab-warning")
    page.click("[data-testid=tab-follow]")
    wait_generation(page, 3)
    assert _keys(page) == _keys(other) and page.is_hidden("[data-testid=tab-warning]")
    other.close()

    # New asks first (this session has history); declining keeps it, and it stays listed.
    page.once("dialog", lambda d: d.dismiss())
    page.click("[data-testid=new-grey]")
    page.wait_for_timeout(200)
    assert page.evaluate("new URL(location.href).searchParams.get('s')") == sid
    page.once("dialog", lambda d: d.accept())
    page.click("[data-testid=new-colour]")
    page.wait_for_function(f"new URL(location.href).searchParams.get('s') !== '{sid}'")
    wait_generation(page, 0)
    page.click("[data-testid=sessions] summary")
    page.wait_for_selector(f"[data-testid=session-item][data-session='{sid}']")
    assert page.locator("[data-testid=session-item]").count() == 2
    page.click(f"[data-testid=session-item][data-session='{sid}']")
    wait_generation(page, 3)

    # Errors appear next to their control and go away with the next action.
    page.locator("[data-testid=tile]").nth(0).click()
    page.click("[data-testid=publish]")
    assert page.text_content("[data-testid=publish-error]") == "Give the image a title first"
    page.once("dialog", lambda d: d.accept())  # import asks too: this session has history
    page.set_input_files("[data-testid=import-file]", files=[{"name": "bad.json", "mimeType": "application/json",
                                                              "buffer": b'{"nodes": [1], "links": []}'}])
    page.wait_for_function("document.getElementById('start-error').textContent !== ''")
    msg = page.text_content("[data-testid=start-error]")
    assert msg == "JSON genome node 0 is not an object" and page.text_content("[data-testid=publish-error]") == ""
    page.click("[data-testid=evolve]")
    wait_generation(page, 4)
    assert page.text_content("[data-testid=start-error]") == ""
    assert errors == []
    ctx.close()


def test_unpublished_page_missing_image_and_narrow_layout(env):
    browser, server = env
    page = browser.new_page(viewport={"width": 390, "height": 844}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base + "/")
    wait_generation(page, 0)
    assert _no_hscroll(page)
    page.wait_for_function("document.querySelector('#history button') !== null")
    shot(page, "narrow-breed")
    key = _keys(page)[0]

    # An unpublished genome: no lineage, no Branch button.
    page.goto(f"{server.base}/#/genome/{key}")
    page.wait_for_function("document.getElementById('image-title').textContent.startsWith('Unpublished')")
    page.wait_for_function("document.getElementById('big').naturalWidth === 512")
    assert page.is_hidden("[data-testid=lineage]") and page.is_hidden("[data-testid=branch]")
    assert page.is_visible("[data-testid=big]") and _no_hscroll(page)
    shot(page, "narrow-unpublished")

    # A missing image says so instead of showing a broken page.
    page.goto(f"{server.base}/#/image/99999")
    page.wait_for_function("document.getElementById('image-title').textContent.startsWith('No image #99999')")
    assert page.is_hidden("#viewer") and page.is_hidden("[data-testid=branch]")

    # Publish with tags; the gallery and the explorer fit 390 px too.
    page.goto(f"{server.base}/#/breed")
    wait_generation(page, 0)
    page.locator("[data-testid=tile]").nth(1).click()
    page.fill("[data-testid=title]", "Narrow one")
    page.fill("[data-testid=tags]", "Small, test")
    page.click("[data-testid=publish]")
    page.wait_for_function("document.getElementById('publish-msg').textContent.includes('Published as image')")
    page.click("[data-testid=tab-gallery]")
    page.wait_for_selector("[data-testid=gallery-grid] [data-testid=card]")
    assert page.eval_on_selector_all("[data-testid=gallery-grid] .chip", "els => els.map(e => e.textContent)") == \
        ["small", "test"]
    assert _no_hscroll(page)
    assert page.text_content("[data-testid=gallery-page]") == "page 1 of 1 · 1 images"
    assert page.is_disabled("[data-testid=gallery-prev]") and page.is_disabled("[data-testid=gallery-next]")
    shot(page, "narrow-gallery")
    page.fill("[data-testid=gallery-q]", "no such title")
    page.wait_for_selector("#gallery-empty:not([hidden])")
    assert page.text_content("#gallery-empty") == "Nothing matches."
    page.fill("[data-testid=gallery-q]", "NARROW")
    page.wait_for_selector("[data-testid=gallery-grid] [data-testid=card]")
    page.click("[data-testid=gallery-grid] [data-testid=card]")
    page.wait_for_selector("[data-testid=lineage]", state="visible")
    assert page.is_visible("[data-testid=branch]")
    page.goto(f"{server.base}/#/explore/{key}")
    page.wait_for_function("Number(document.getElementById('live').dataset.renders || 0) >= 1")
    assert _no_hscroll(page)
    shot(page, "narrow-explore")
    assert errors == []
