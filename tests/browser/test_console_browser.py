"""The hall's console drives a wall: a wall opened with ?channel= takes the view an operator
sends from a tablet-sized console within one refresh, a review period too (and back to live); no
console error, nothing from outside."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.support.browser import REFRESH_MS, dash_quiet, recorded_page, wait_map
from tests.support.region import tiny_cell_center

pytestmark = pytest.mark.browser


@pytest.fixture
def tablet(browser):
    """A second browser (its own context) at a tablet's size, with a recorder."""
    with recorded_page(browser, 1024, 768) as pg:
        yield pg


def test_the_console_drives_a_following_wall(page, tablet, wall):
    url, runtime = wall
    page.goto(url + "/?channel=east-hall")
    page.wait_for_selector("#cell-map .js-plotly-plot", timeout=30_000)
    dash_quiet(page)

    tablet.goto(url + "/console?lang=en")
    tablet.wait_for_selector("#console-send", timeout=20_000)
    dash_quiet(tablet)
    tablet.fill("#console-channel", "east-hall")
    tablet.press("#console-channel", "Enter")
    tablet.get_by_text("District 2", exact=True).click()
    tablet.get_by_text("Police 110", exact=True).click()
    tablet.get_by_text("Last 1 h", exact=True).click()
    tablet.click("#console-send")
    tablet.wait_for_function(
        "() => document.querySelector('#console-msg').innerText.includes('version 1')",
        timeout=10_000,
    )
    # the wall follows within one refresh (its poll runs every REFRESH_MS) plus the answer
    page.wait_for_function(
        "() => ['county=T02', 'metric=police', 'window=1h', 'channel=east-hall']"
        ".every(p => location.search.includes(p))",
        timeout=REFRESH_MS * 3 + 2_000,
    )
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.og-seg.og-on')).map(e => e.innerText)"
        ".join('|') === '110警情|近1小时'",
        timeout=10_000,
    )
    # the breadcrumb arrives with the tick the new view starts
    page.wait_for_function(
        "() => document.querySelector('.og-crumbs').innerText.includes('第2区')", timeout=10_000
    )
    state = tablet.inner_text("#console-state")
    assert "District 2" in state and "Police 110" in state and "version 1" in state
    assert runtime.channels.get("east-hall").view["county"] == "T02"
    for pg in (page, tablet):
        assert pg.recorder.errors == []
        assert pg.recorder.outside_hosts() == set()


# the sum of the wall map's values (every cell's count of the period or window shown)
Z_SUM = (
    "() => document.querySelector('#cell-map .js-plotly-plot')._fullData[0].z"
    ".reduce((a, b) => a + b, 0)"
)


def seed_past_days(runtime, n: int = 9) -> tuple[str, str]:
    """``n`` events on a day ten days ago (local time): a past period of two local dates."""
    tz = runtime.timezone
    first = (pd.Timestamp.now(tz=tz) - pd.Timedelta(days=10)).normalize()
    lon, lat = tiny_cell_center(1, 0, 0)
    events = pd.DataFrame(
        {
            "id": [f"cp-{i}" for i in range(n)],
            "time": [(first + pd.Timedelta(hours=9)).tz_convert("UTC")] * n,
            "lon": lon,
            "lat": lat,
            "category": "criminal",
            "severity": 2,
        }
    )
    assert runtime.pipeline.ingest_frame("police", events).accepted == n
    return first.strftime("%Y-%m-%d"), (first + pd.Timedelta(days=2)).strftime("%Y-%m-%d")


def highlighted(tablet) -> list[str]:
    """The options drawn in the accent colour (chosen), in page order."""
    return tablet.evaluate(
        """() => {
          const accent = getComputedStyle(document.querySelector('#console-send')).backgroundColor;
          return Array.from(document.querySelectorAll('.og-console-option'))
            .filter(e => getComputedStyle(e).backgroundColor === accent)
            .map(e => e.innerText);
        }"""
    )


def _send(tablet, expected: str) -> None:
    tablet.click("#console-send")
    tablet.wait_for_function(
        "(want) => document.querySelector('#console-msg').innerText.includes(want)",
        arg=expected,
        timeout=10_000,
    )


def test_the_console_sends_a_review_period_and_back_to_live(page, tablet, wall):
    """A period set on the console: the following wall shows that past period's counts, exactly
    as a wall opened with ?since=..&until=.. does; a bad period gets its reason and changes
    nothing; "back to live" returns the wall to the live window."""
    url, runtime = wall
    since, until = seed_past_days(runtime)
    page.goto(url + "/?channel=review-hall")
    wait_map(page)
    dash_quiet(page)
    live_sum = page.evaluate(Z_SUM)  # the seeded day is ten days old: not in the live window

    tablet.goto(url + "/console?lang=en")
    tablet.wait_for_selector("#console-send", timeout=20_000)
    dash_quiet(tablet)
    tablet.fill("#console-channel", "review-hall")
    tablet.press("#console-channel", "Enter")
    dash_quiet(tablet)
    # each choice shows the option chosen (the defaults), and only that one
    assert highlighted(tablet) == ["Whole area", "Default", "All events", "Last 24 h"]
    tablet.get_by_text("Last 7 days", exact=True).click()
    tablet.wait_for_function(
        "() => document.querySelector('#console-window .selected').innerText === 'Last 7 days'"
    )
    assert highlighted(tablet)[-1] == "Last 7 days"
    # a reversed period: refused with its reason, the fields keep what was typed
    tablet.fill("#console-since", until)
    tablet.fill("#console-until", since)
    _send(tablet, "Period refused")
    assert "must be after" in tablet.inner_text("#console-msg")
    assert tablet.input_value("#console-since") == until
    assert runtime.channels.get("review-hall") is None
    tablet.fill("#console-since", since)
    tablet.fill("#console-until", until)
    _send(tablet, "version 1")
    tablet.wait_for_function(
        "(s) => document.querySelector('#console-state').innerText.includes(s)",
        arg=f"review {since} to {until}",
        timeout=10_000,
    )
    # the wall follows within one refresh, and shows the period at its end
    page.wait_for_function(
        "([s, u]) => location.search.includes('since=' + s) && location.search.includes("
        "'until=' + u)",
        arg=[since, until],
        timeout=REFRESH_MS * 3 + 2_000,
    )
    page.wait_for_function(f"() => ({Z_SUM})() === {live_sum + 9}", timeout=15_000)
    assert "og-hidden" not in (page.locator("#replay").get_attribute("class") or "")
    # the same counts as a wall opened on the period's own address
    with recorded_page(page.context.browser, 1920, 1080) as direct:
        direct.goto(f"{url}/?since={since}&until={until}")
        wait_map(direct)
        dash_quiet(direct)
        assert direct.evaluate(Z_SUM) == page.evaluate(Z_SUM)
        assert direct.recorder.errors == []
    # back to live: the fields empty, the wall leaves the period
    tablet.click("#console-live")
    tablet.wait_for_function(
        "() => document.querySelector('#console-msg').innerText.includes('version 2')",
        timeout=10_000,
    )
    assert tablet.input_value("#console-since") == ""
    page.wait_for_function(
        "() => !location.search.includes('since=')", timeout=REFRESH_MS * 3 + 2_000
    )
    page.wait_for_function(f"() => ({Z_SUM})() === {live_sum}", timeout=15_000)
    assert "og-hidden" in (page.locator("#replay").get_attribute("class") or "")
    for pg in (page, tablet):
        assert pg.recorder.errors == []
        assert pg.recorder.outside_hosts() == set()
