"""Browser fixtures: the REAL OneGrid server (waitress, a background thread) on a fresh DuckDB with
the tiny region, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.runtime import Runtime
from data.settings import load_settings
from tests.support.browser import CHROMIUM, REFRESH_MS, chromium, recorded_page, serve


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


@pytest.fixture
def page(browser):
    """A fresh browser context (empty localStorage) and page at 1920x1080, with a recorder."""
    with recorded_page(browser, 1920, 1080) as pg:
        yield pg
