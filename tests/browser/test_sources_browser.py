"""A source added in the config file, on the wall in a real Chromium against the real server:
its KPI tile (named, coloured, counting), its metric button colouring the map, its events in
the ticker, and its English name after the language switch (issue 13, item 1)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from data.runtime import Runtime
from data.settings import load_settings
from tests.support.browser import REFRESH_MS, dash_quiet, serve, wait_map
from tests.support.region import tiny_cell_center

pytestmark = pytest.mark.browser
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "config-extra-sources.toml"
TILE = '[id*="kpi-tile"][id*="safety"]'


@pytest.fixture(scope="module")
def wall_with_sources(tmp_path_factory, tiny_region_dir):
    """(base URL, runtime) of a live server with the example config's extra sources."""
    settings = load_settings(
        EXAMPLE,
        db=tmp_path_factory.mktemp("sources") / "onegrid.duckdb",
        region=str(tiny_region_dir),
        simulator=False,
        ingest_token="test-token",
        refresh_ms=REFRESH_MS,
        auth=False,
        warnings=False,
    )
    runtime = Runtime(settings)
    try:
        with serve(runtime) as url:
            yield url, runtime
    finally:
        runtime.stop()


def _push(url: str, source: str, category: str, eid: str, cell=(1, 1)) -> None:
    lon, lat = tiny_cell_center(1, *cell)
    body = {
        "events": [
            {
                "id": eid,
                "time": pd.Timestamp.now(tz="UTC").isoformat(),
                "lon": lon,
                "lat": lat,
                "category": category,
                "severity": 4,
            }
        ]
    }
    req = urllib.request.Request(
        f"{url}/api/ingest/{source}",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.load(resp)["accepted"] == 1


def _wait_text(page, selector: str, text: str, timeout: int = 15_000) -> None:
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel) || {innerText: ''}).innerText.includes(text)",
        arg=[selector, text],
        timeout=timeout,
    )


def test_a_configured_source_is_on_the_wall(page, wall_with_sources):
    url, _runtime = wall_with_sources
    page.goto(url + "/")
    wait_map(page)
    dash_quiet(page)
    # a tile per source: the five built-in ones and the two configured, in order
    names = page.locator(".og-kpi .og-kpi-name").all_inner_texts()
    assert names[5:] == ["安全生产", "城市管理"] and len(names) == 7
    tile = page.locator(TILE)
    colour = tile.evaluate("(el) => getComputedStyle(el).getPropertyValue('--src').trim()")
    assert colour == "#f97316"
    # an event pushed to the new source: its tile counts it, the ticker shows it by name
    _push(url, "safety", "accident", "b1")
    _wait_text(page, '[id*="kpi-value"][id*="safety"]', "1", timeout=3 * REFRESH_MS + 5000)
    _wait_text(page, ".og-ticker", "生产安全事故", timeout=3 * REFRESH_MS + 5000)
    assert "安全生产" in page.locator(".og-ticker .og-src-safety").first.inner_text()
    # its metric button colours the map by its events only
    page.locator("button.og-seg", has_text="安全生产").click()
    _wait_text(page, ".og-legend", "安全生产")
    page.wait_for_function(
        "() => { const t = document.querySelector('#cell-map .js-plotly-plot')._fullData[0];"
        " return Array.from(t.z).reduce((a, b) => a + b, 0) === 1; }",
        timeout=15_000,
    )
    assert "metric=safety" in page.url
    # the language switch names it in English, from the config
    page.locator("#lang-switch").click()
    _wait_text(page, TILE, "Work safety")
    _wait_text(page, ".og-metrics", "Urban management")
    _wait_text(page, ".og-ticker", "Workplace accident", timeout=3 * REFRESH_MS + 5000)
    assert page.recorder.errors == []
