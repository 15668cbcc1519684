"""The browser tests' waits, on top of harness/browser.py (the server and Chromium they share
with bench/screenshots.py): waitress serves ``create_app(...).server`` on a free 127.0.0.1 port,
exactly as ``python app.py`` does.
"""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlparse

from harness.browser import CHROMIUM, CHROMIUM_ARGS, MAP_READY_JS, chromium, serve, wait_map
from harness.ports import free_port

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "MAP_READY_JS",
    "REFRESH_MS",
    "chromium",
    "dash_quiet",
    "free_port",
    "live_site",
    "serve",
    "track_dash",
    "wait_map",
    "wait_ticks",
]

# the wall's refresh interval in the browser tests (ms)
REFRESH_MS = 1000

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


class Recorder:
    """What a page did: console errors, page errors and every URL it requested."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def outside_hosts(self) -> set[str]:
        hosts = {
            urlparse(u).hostname for u in self.requests if not u.startswith(("data:", "blob:"))
        }
        return hosts - {"127.0.0.1"}


@contextmanager
def recorded_page(browser, width: int, height: int, **options):
    """A page in a fresh browser context (empty localStorage) of ``width`` x ``height`` CSS
    pixels, whose console errors and requests a :class:`Recorder` keeps (``page.recorder``);
    ``options``: more of Playwright's context options (a phone's touch, a granted location)."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    track_dash(context)
    pg = context.new_page()
    pg.recorder = Recorder(pg)
    try:
        yield pg
    finally:
        context.close()
