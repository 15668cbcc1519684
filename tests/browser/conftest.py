"""Browser fixtures: the REAL OneGrid server (waitress, a background thread) on a fresh DuckDB with
the tiny region, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from data.runtime import Runtime
from data.settings import load_settings
from tests.support.browser import CHROMIUM, REFRESH_MS, chromium, serve, track_dash


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def wall(tmp_path_factory, tiny_region_dir):
    """(base URL, runtime) of a live server on the tiny region, refreshing every second."""
    settings = load_settings(
        db=tmp_path_factory.mktemp("wall") / "onegrid.duckdb",
        region=str(tiny_region_dir),
        simulator=False,
        ingest_token="test-token",
        refresh_ms=REFRESH_MS,
        auth=False,  # a wall display; sign-in has its own tests
    )
    runtime = Runtime(settings)
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


@pytest.fixture
def page(browser):
    """A fresh browser context (empty localStorage) and page at 1920x1080, with a recorder."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    track_dash(context)
    pg = context.new_page()
    pg.recorder = Recorder(pg)
    yield pg
    context.close()
