"""Helpers for the browser tests: `ferlab serve` in a subprocess, Debian's chromium, screenshots.

Screenshots go to ``test-artifacts/`` (gitignored) so a person can look at the main views.
Pages are opened with ``bypass_csp=True``: Playwright's ``wait_for_function`` evaluates its
predicate with ``eval``, which the app's strict Content-Security-Policy would block.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("FERLAB_TEST_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _need(ok: bool, msg: str):
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`ferlab serve` in a subprocess; always killed by :meth:`stop`."""

    def __init__(self, db: Path, home: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "XDG_DATA_HOME": str(home)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ferlab", "serve", "--port", str(self.port), "--db", str(db)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base + "/api/health", timeout=2) as r:
                    if json.loads(r.read()) == {"ok": True}:
                        return
            except OSError:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("server did not become healthy in 60 s")
            time.sleep(0.1)

    def get(self, path: str):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return json.loads(r.read())

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


@contextmanager
def browser_and_server(tmp: Path):
    """(playwright browser, server) for one test module; both closed afterwards."""
    _need(Path(CHROMIUM).exists(), f"Debian's chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright for Python is not installed")
    server = Server(tmp / "breed.db", tmp)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                yield _PatientBrowser(browser), server
            finally:
                browser.close()
    finally:
        server.stop()


class _PatientBrowser:
    """The launched browser, whose pages wait up to a minute by default (Playwright's is 30 s):
    on CI's two cores the server shares the CPU with another test worker."""

    def __init__(self, browser):
        self._browser = browser

    def new_page(self, **kwargs):
        page = self._browser.new_page(**kwargs)
        page.set_default_timeout(60_000)
        return page

    def __getattr__(self, name):
        return getattr(self._browser, name)


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_generation(page, n: int, tiles: int = 15):
    page.wait_for_function(
        f"document.getElementById('generation').textContent === 'Generation {n}'", timeout=60_000)
    page.wait_for_function(
        f"[...document.querySelectorAll('#grid img')].length === {tiles} && "
        "[...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth === 128)",
        timeout=60_000)
    page.wait_for_function("!document.body.classList.contains('busy')", timeout=60_000)
