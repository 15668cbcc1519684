"""Run the real OneGrid web server in a background thread, and drive Debian's Chromium.

Used by the browser tests (``bench/browser_harness.py`` is the benchmarks' own copy): waitress serves ``create_app(...).server``
on a free 127.0.0.1 port, exactly as ``python app.py`` does.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from contextlib import contextmanager

CHROMIUM = "/usr/bin/chromium"
# the wall's refresh interval in the browser tests (ms)
REFRESH_MS = 1000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    thread = threading.Thread(target=server.run, name="onegrid-test-server", daemon=True)
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
        server.close()
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


# Counts the page's Dash callback requests (Dash posts them with fetch): how many are in flight
# and how many have completed, so a test can wait for "the callbacks answered" instead of a sleep.
TRACK_DASH_JS = """
(() => {
  if (window.__ogDash) return;
  window.__ogDash = {pending: 0, done: 0};
  const orig = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : (input && input.url) || '';
    if (!url.includes('_dash-update-component')) return orig.apply(this, arguments);
    window.__ogDash.pending += 1;
    const finish = () => { window.__ogDash.pending -= 1; window.__ogDash.done += 1; };
    return orig.apply(this, arguments).then(
      (r) => { finish(); return r; },
      (e) => { finish(); throw e; });
  };
})();
"""

DASH_QUIET_JS = """
() => (!window.__ogDash || window.__ogDash.pending === 0)
      && !document.querySelector('[data-dash-is-loading="true"]')
"""


def track_dash(context) -> None:
    """Count the Dash callback requests of every page ``context`` opens (see ``dash_quiet``)."""
    context.add_init_script(TRACK_DASH_JS)


def dash_quiet(page, timeout_ms: int = 30_000) -> None:
    """Wait until no Dash callback is in flight or loading."""
    page.wait_for_function(DASH_QUIET_JS, timeout=timeout_ms)


def wait_ticks(page, ticks: int = 2, timeout_ms: int = 30_000) -> None:
    """Wait until the header's clock (a 1 s ``dcc.Interval``, the tests' refresh period) has
    ticked ``ticks`` times, then until the callbacks those ticks started have answered: the
    page has lived through that many refreshes, and no longer."""
    from playwright.sync_api import expect

    clock = page.locator("#clock")
    for _ in range(ticks):
        expect(clock).not_to_have_text(clock.inner_text(timeout=timeout_ms), timeout=timeout_ms)
    dash_quiet(page, timeout_ms)


@contextmanager
def live_site(folder, region_dir, **settings):
    """A fresh store in ``folder`` on the region in ``region_dir``, served for real: yields
    (base URL, runtime). ``settings`` override the test defaults (simulator off, 1 s refresh,
    sign-in off, users in ``folder``)."""
    from data.runtime import Runtime
    from data.settings import load_settings

    defaults = {
        "db": folder / "onegrid.duckdb",
        "region": str(region_dir),
        "simulator": False,
        "ingest_token": "test-token",
        "refresh_ms": 1000,
        "users_file": folder / "users.toml",
        "secret_key": "browser-secret",
        "auth": False,
    }
    runtime = Runtime(load_settings(**(defaults | settings)))
    try:
        with serve(runtime) as url:
            yield url, runtime
    finally:
        runtime.stop()
