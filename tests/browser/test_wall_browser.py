"""The wall in a real Chromium against the real server (tiny region, refresh every second)."""

from __future__ import annotations

import json
import time
import urllib.request
from itertools import count

import pandas as pd
import pytest

from tests.support.browser import REFRESH_MS, dash_quiet, wait_map, wait_ticks
from tests.support.region import tiny_cell_center, tiny_cell_code

pytestmark = pytest.mark.browser
_ids = count(1)

LOCATIONS = "() => document.querySelector('#cell-map .js-plotly-plot')._fullData[0].locations"
Z_OF = """(key) => {
  const t = document.querySelector('#cell-map .js-plotly-plot')._fullData[0];
  const i = Array.from(t.locations).indexOf(key);
  return i < 0 ? null : t.z[i];
}"""
PIXEL_OF = """([lon, lat]) => {
  const gd = document.querySelector('#cell-map .js-plotly-plot');
  const p = gd._fullLayout.map._subplot.map.project([lon, lat]);
  const r = gd.getBoundingClientRect();
  return [r.left + p.x, r.top + p.y];
}"""


def push(url: str, county: int, cell: tuple[int, int], *, severity: int = 3) -> str:
    """POST one police event now at the centre of a tiny-region cell; returns its id."""
    lon, lat = tiny_cell_center(county, *cell)
    eid = f"browser-{next(_ids)}"
    body = {
        "events": [
            {
                "id": eid,
                "time": pd.Timestamp.now(tz="UTC").isoformat(),
                "lon": lon,
                "lat": lat,
                "category": "criminal",
                "severity": severity,
                "text": "测试事件",
            }
        ]
    }
    req = urllib.request.Request(
        url + "/api/ingest/police",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.load(resp)["accepted"] == 1
    return eid


def key_of(runtime, code: str) -> int:
    return int(runtime.db.query_one("SELECT key FROM areas WHERE code = ?", [code])[0])


def settle(page, areas: int | None = None) -> None:
    """Wait for the map and for Dash to finish its pending callbacks. With ``areas``, wait for
    the figure of the new view too (that many areas drawn): after a click the old figure is
    still a drawn, settled map until the new one arrives."""
    if areas is not None:
        page.wait_for_function(
            f"(n) => {{ try {{ return ({LOCATIONS})().length === n; }}"
            " catch (e) { return false; } }",
            arg=areas,
            timeout=30_000,
        )
    wait_map(page)
    dash_quiet(page)


def wait_text(page, selector: str, text: str, timeout: int = 10_000) -> None:
    """Wait until the element's text contains ``text``."""
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel) || {innerText: ''}).innerText.includes(text)",
        arg=[selector, text],
        timeout=timeout,
    )


EMIT_CLICK = """(key) => {
  const gd = document.querySelector('#cell-map .js-plotly-plot');
  gd.emit('plotly_click', {points: [{curveNumber: 0, location: key}]});
}"""


def click_at(
    page, lon: float, lat: float, until: str | None = None, key: int | None = None
) -> None:
    """Click the map at (lon, lat) once it is still: drawn, fitted, not moving, and no Dash
    callback in flight (a fit after a new figure moves the map under a click). With ``until``
    (a JS condition), wait for it. ``key`` is the area under the point: if the click landed on
    a map that began to move after the check (a redraw on a loaded machine), the same
    ``plotly_click`` event is emitted on it (the app's code path from there on is the same)."""
    wait_map(page)
    dash_quiet(page)
    page.wait_for_function(
        "() => { const gd = document.querySelector('#cell-map .js-plotly-plot');"
        " const m = gd && gd._fullLayout.map && gd._fullLayout.map._subplot.map;"
        " return m && !m.isMoving(); }"
    )
    x, y = page.evaluate(PIXEL_OF, [lon, lat])
    page.mouse.click(x, y)
    if until is None:
        return
    try:
        page.wait_for_function(until, timeout=10_000)
    except Exception:  # noqa: BLE001  (the map moved under the click after the check)
        if key is None:
            raise
        page.evaluate(EMIT_CLICK, key)
        page.wait_for_function(until)


def test_wall_loads_draws_every_cell_and_stays_home(page, wall):
    url, runtime = wall
    page.goto(url + "/")
    settle(page)
    locations = page.evaluate(LOCATIONS)
    assert sorted(locations) == sorted(runtime.cell_keys)
    assert len(locations) == 32
    # county names are drawn as HTML over the map (no MapLibre glyphs)
    labels = page.locator(".og-map-label").all_inner_texts()
    assert sorted(labels) == ["第1区", "第2区"]
    assert page.locator(".og-legend-title").inner_text().startswith("每网格事件数")
    wait_ticks(page, 2)  # a few refresh ticks too, and their callbacks' answers
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
    assert any(u.endswith("/geo/grid.json") for u in page.recorder.requests)


def test_pushed_event_reaches_cell_and_kpi_within_two_refreshes(page, wall):
    url, runtime = wall
    page.goto(url + "/")
    settle(page)
    code = tiny_cell_code(2, 1, 2)
    key = key_of(runtime, code)
    before_z = page.evaluate(Z_OF, key)
    kpi = page.locator('[id*="kpi-value"][id*="police"]')
    before_kpi = int(kpi.inner_text().replace(",", "").replace("–", "0"))
    geo_requests = sum(u.endswith("/geo/grid.json") for u in page.recorder.requests)
    push(url, 2, (1, 2))
    t0 = time.monotonic()
    page.wait_for_function(
        f"(key) => ({Z_OF})(key) === {before_z + 1}", arg=key, timeout=2 * REFRESH_MS + 1500
    )
    page.wait_for_function(
        f'() => document.querySelector(\'[id*="kpi-value"][id*="police"]\').innerText'
        f".replace(/,/g, '') === '{before_kpi + 1}'",
        timeout=2 * REFRESH_MS + 1500,
    )
    elapsed = time.monotonic() - t0
    assert elapsed < 2 * REFRESH_MS / 1000 + 1.5
    # the police feed now reports live; the silent ones blink as stale
    police_tile = page.locator('[id*="kpi-tile"][id*="police"]')
    page.wait_for_function(
        '() => document.querySelector(\'[id*="kpi-tile"][id*="police"]\')'
        ".className.includes('og-live')"
    )
    assert "og-live" in police_tile.get_attribute("class")
    assert "og-stale" in page.locator('[id*="kpi-tile"][id*="market"]').get_attribute("class")
    # values only: the geometry was not fetched again
    assert sum(u.endswith("/geo/grid.json") for u in page.recorder.requests) == geo_requests
    assert page.recorder.errors == []


def test_drill_down_by_clicking_and_back(page, wall):
    url, runtime = wall
    push(url, 1, (2, 1), severity=5)
    page.goto(url + "/")
    settle(page)
    # city -> county 1 (township level)
    click_at(
        page,
        *tiny_cell_center(1, 1, 1),
        until="() => location.search.includes('county=T01')",
        key=key_of(runtime, "T01"),
    )
    settle(page, areas=1)
    assert page.evaluate(LOCATIONS) == [key_of(runtime, "T01001")]
    wait_text(page, ".og-crumbs", "第1区")
    # county -> township (its grid cells)
    click_at(
        page,
        *tiny_cell_center(1, 2, 2),
        until="() => location.search.includes('township=T01001')",
        key=key_of(runtime, "T01001"),
    )
    settle(page, areas=16)
    assert len(page.evaluate(LOCATIONS)) == 16
    # township -> cell: its recent events in a table
    click_at(
        page,
        *tiny_cell_center(1, 2, 1),
        until=f"() => location.search.includes('cell={tiny_cell_code(1, 2, 1)}')",
        key=key_of(runtime, tiny_cell_code(1, 2, 1)),
    )
    page.wait_for_selector("#cell-panel:not(.og-hidden) .ag-row", timeout=10_000)
    assert "测试事件" in page.locator("#cell-panel").inner_text()
    # breadcrumb back to the city
    page.locator(".og-crumbs button").first.click()
    page.wait_for_function("() => !location.search.includes('county=')")
    settle(page, areas=32)
    assert len(page.evaluate(LOCATIONS)) == 32
    assert page.recorder.errors == []


def test_url_reproduces_a_view(page, wall):
    url, runtime = wall
    page.goto(url + "/?county=T02&level=grid&metric=police&window=1h&lang=en")
    settle(page)
    page.wait_for_function(
        "() => document.querySelector('.og-legend-title').innerText.includes('Police')"
    )
    cells = [key_of(runtime, tiny_cell_code(2, i, j)) for i in range(4) for j in range(4)]
    assert sorted(page.evaluate(LOCATIONS)) == sorted(cells)
    assert (
        page.locator(".og-legend-title").inner_text()
        == "Police 110 events per Grid cell · Last 1 h"
    )
    assert page.locator(".og-seg.og-on").all_inner_texts() == ["Police 110", "Last 1 h"]
    wait_text(page, ".og-crumbs", "District 2")
    assert page.recorder.errors == []


def test_language_switch(page, wall):
    url, _ = wall
    page.goto(url + "/")
    settle(page)
    assert page.locator(".og-title").inner_text() == "城市运行一网统管"
    assert page.locator(".og-kpi-name").first.inner_text() == "110警情"
    page.locator("#lang-switch").click()
    page.wait_for_function(
        "() => document.querySelector('.og-title').innerText === 'OneGrid City Operations'"
    )
    page.wait_for_function(
        "() => document.querySelector('.og-legend-title').innerText.startsWith('Events per')"
    )
    assert page.locator(".og-kpi-name").first.inner_text() == "Police 110"
    # the names are drawn by assets/wall.js after the figure arrives: wait for them
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.og-map-label'))"
        ".map(e => e.innerText).sort().join('|') === 'District 1|District 2'"
    )
    assert "lang=en" in page.evaluate("() => location.search")
    page.locator("#lang-switch").click()
    page.wait_for_function(
        "() => document.querySelector('.og-title').innerText === '城市运行一网统管'"
    )
    assert page.recorder.errors == []


def test_tour_mode_cycles_counties(page, wall):
    url, _ = wall
    page.goto(url + "/?tour=1")
    # the tour moves the map every second: wait for the first figure, not for a still map
    page.wait_for_function(
        "() => { const gd = document.querySelector('#cell-map .js-plotly-plot');"
        " return !!(gd && gd._fullData && gd._fullData.length); }",
        timeout=30_000,
    )
    page.wait_for_function("() => location.search.includes('county=T01')", timeout=15_000)
    page.wait_for_function("() => location.search.includes('county=T02')", timeout=15_000)
    assert page.recorder.errors == []
