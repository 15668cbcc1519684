"""The hall's console drives a wall: a wall opened with ?channel= takes the view an operator
sends from a tablet-sized console within one refresh; no console error, nothing from outside."""

from __future__ import annotations

import pytest

from tests.support.browser import REFRESH_MS, dash_quiet, recorded_page

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
