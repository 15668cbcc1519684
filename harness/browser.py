"""Serve OneGrid in a background thread and drive Debian's Chromium.

The one copy of these lines: the browser tests (through tests/support/browser.py, which adds
their waits) and bench/screenshots.py both import it, since bench/ never imports tests/. Waitress
serves ``create_app(...).server`` on a free 127.0.0.1 port, exactly as ``python app.py`` does.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from contextlib import contextmanager

from harness.ports import free_port

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "MAP_READY_JS",
    "chromium",
    "free_port",
    "serve",
    "stop_server",
    "wait_map",
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def serve(runtime, *, start_feeds: bool = False):
    """Serve OneGrid on ``runtime``; yields the base URL (``http://127.0.0.1:<port>``)."""
    from waitress import create_server

    from app import create_app

    app = create_app(runtime=runtime)
    if start_feeds:
        runtime.start()  # as serve() does: the app factory starts no thread
    port = free_port()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=8, ident="OneGrid")
    stopping = threading.Event()

    def run_until_stopped() -> None:
        try:
            server.run()
        except (OSError, ValueError):  # a socket closed under the loop by stop_server
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run_until_stopped, name="onegrid-harness-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url + "/login", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    try:
        yield url
    finally:
        stopping.set()
        stop_server(server, thread)


def stop_server(server, thread: threading.Thread) -> None:
    """Stop a waitress server run by ``thread``: its listener, every open connection and its
    worker threads. ``server.close()`` alone closes only the listener: a browser's keep-alive
    connections stay in the loop's map, so the loop and its workers run on, answering from a
    runtime that has stopped (a later test in the same process then saw "Connection already
    closed" errors and their memory and CPU)."""
    from waitress import wasyncore

    server.close()
    server.task_dispatcher.shutdown(timeout=5)
    wasyncore.close_all(server._map)  # the loop ends when its map is empty
    thread.join(timeout=5)


@contextmanager
def chromium():
    """A headless Debian Chromium driven by Playwright (never ``playwright install``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


MAP_READY_JS = """
() => {
  const gd = document.querySelector('#cell-map .js-plotly-plot');
  if (!gd || !gd._fullData || !gd._fullData.length) return false;
  const sub = gd._fullLayout.map && gd._fullLayout.map._subplot;
  const layer = document.getElementById('map-label-layer');
  return !!(sub && sub.map && sub.map.loaded() && !sub.map.isMoving()
            && gd._fullData[0].locations.length > 0
            && layer && layer.dataset.fitted === gd._fullLayout.uirevision);
}
"""


def wait_map(page, timeout_ms: int = 30_000) -> None:
    """Wait until the map has drawn its first figure."""
    page.wait_for_function(MAP_READY_JS, timeout=timeout_ms)
