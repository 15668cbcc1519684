"""A past week on the wall in a real Chromium (issue 10 items 2 and 3): opened from its URL, the
replay's slider moved, a warning raised in the week appears as it did; play moves the slider on;
no console errors, nothing fetched from outside."""

from __future__ import annotations

import pandas as pd
import pytest

from data.warnings import WarningEngine
from tests.support.browser import dash_quiet, wait_map
from tests.support.region import tiny_cell_center
from tests.support.warnings import rules

pytestmark = pytest.mark.browser

Z_SUM = "() => document.querySelector('#cell-map .js-plotly-plot')._fullData[0].z.reduce((a, b) => a + b, 0)"


def seed_week(runtime):
    """A past week (local dates): 6 events on its first day, and an accident surge on its third
    day at 10:00 local that raises a red warning in cell (1, 0, 0)."""
    tz = runtime.timezone
    first = (pd.Timestamp.now(tz=tz) - pd.Timedelta(days=20)).normalize()
    since = first.tz_convert("UTC")
    surge = (first + pd.Timedelta(days=2, hours=10)).tz_convert("UTC")
    lon, lat = tiny_cell_center(1, 0, 0)
    early = pd.DataFrame(
        {
            "id": [f"pw-early-{i}" for i in range(6)],
            "time": [since + pd.Timedelta(hours=3)] * 6,
            "lon": lon,
            "lat": lat,
            "category": "criminal",
            "severity": 3,
        }
    )
    crash = pd.DataFrame(
        {
            "id": [f"pw-crash-{i}" for i in range(14)],
            "time": [surge - pd.Timedelta(minutes=5)] * 14,
            "lon": lon,
            "lat": lat,
            "category": "traffic",
            "severity": 3,
        }
    )
    assert runtime.pipeline.ingest_frame("police", early).accepted == 6
    assert runtime.pipeline.ingest_frame("police", crash, now=surge).accepted == 14
    engine = WarningEngine(runtime.db, rules(["acc"]), stale_after=300.0)
    engine.evaluate(surge)
    engine.evaluate(surge + pd.Timedelta(seconds=30))
    if runtime.warnings is None:
        runtime.warnings = engine
    assert runtime.db.query_one("SELECT count(*) FROM warnings")[0] == 1
    return first.strftime("%Y-%m-%d"), (first + pd.Timedelta(days=7)).strftime("%Y-%m-%d")


def test_a_past_week_on_the_wall_replays_with_the_slider_and_play(page, wall):
    url, runtime = wall
    since, until = seed_week(runtime)
    page.goto(f"{url}/?since={since}&until={until}&at=0&lang=en")
    wait_map(page)
    dash_quiet(page)
    bar = page.locator("#replay")
    assert "og-hidden" not in (bar.get_attribute("class") or "")
    # at the week's start: nothing yet, no warning
    assert page.evaluate(Z_SUM) == 0
    page.wait_for_selector("#warnings-panel-body .og-warn-none", timeout=15_000)
    assert page.locator("#warnings-panel-body .og-warn-item").count() == 0
    # the slider moved to three quarters of the week (day 5): the first day's events and the
    # third day's surge are on the map, and the warning raised on day 3 is shown
    box = page.locator("#replay-slider .dash-slider-track").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "() => /[?&]at=(\\d+)/.test(location.search) && "
        "+location.search.match(/[?&]at=(\\d+)/)[1] > 58",
        timeout=15_000,
    )
    page.wait_for_function(f"() => ({Z_SUM})() === 20", timeout=15_000)
    page.wait_for_selector("#warnings-panel-body .og-warn-item.og-warn-red", timeout=15_000)
    page.wait_for_selector("#warn-mark-layer .og-warn-mark-red", timeout=15_000)
    assert "since=" + since in page.url and "until=" + until in page.url
    assert page.locator("#replay-time").inner_text() != ""
    # back to the start, then play at 16x: the slider moves on by itself
    page.goto(f"{url}/?since={since}&until={until}&at=0&lang=en")
    wait_map(page)
    page.locator("#replay-speed label", has_text="16x").click()
    page.locator("#replay-play").click()
    page.wait_for_function(
        "() => +((location.search.match(/[?&]at=(\\d+)/) || [0, 0])[1]) >= 32", timeout=20_000
    )
    page.locator("#replay-play").click()  # pause
    dash_quiet(page)
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
