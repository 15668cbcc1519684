"""The search page in a real browser: a county leader opens a shared search link, sees only their
county's matches in the table, on the map and in the histogram, narrows it with a facet, and the
address follows; no console error, nothing fetched from outside."""

from __future__ import annotations

from urllib.parse import parse_qs

import pandas as pd
import pytest

from tests.support.browser import dash_quiet, live_site
from tests.support.browser_steps import choose, sign_in
from tests.support.region import tiny_cell_center
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser

EVENTS = [
    # source, id, county, category, text
    ("traffic", "t-a", 1, "congestion", "道路拥堵 甲"),
    ("traffic", "t-b", 1, "congestion", "道路拥堵 乙"),
    ("police", "p-a", 1, "criminal", "道路旁盗窃"),
    ("traffic", "t-c", 2, "congestion", "道路拥堵 丙"),  # the other county
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    tmp = tmp_path_factory.mktemp("search-browser")
    with live_site(tmp, tiny_region_dir, auth=True) as (url, rt):
        now = pd.Timestamp.now(tz="UTC")
        for k, (source, ident, county, cat, text) in enumerate(EVENTS):
            lon, lat = tiny_cell_center(county, 1, 1)
            frame = pd.DataFrame(
                {
                    "id": [ident],
                    "time": [now - pd.Timedelta(hours=k + 1)],
                    "lon": [lon],
                    "lat": [lat],
                    "category": [cat],
                    "severity": [3],
                    "value": [None],
                    "text": [text],
                }
            )
            assert rt.pipeline.ingest_frame(source, frame).accepted == 1
        rt.users.add("lead1", TEST_PASSWORD, "county_leader", area="T01")
        yield url, rt


def _grid_rows(page) -> int:
    return page.evaluate(
        "() => document.querySelectorAll('#search-grid .ag-center-cols-container .ag-row').length"
    )


def test_search_with_a_facet_inside_the_county(site, page):
    url, rt = site
    sign_in(page, url, "lead1", "/search")
    today = pd.Timestamp.now(tz=rt.timezone).date()
    since, until = today - pd.Timedelta(days=1), today + pd.Timedelta(days=1)
    page.goto(f"{url}/search?q=道路&since={since}&until={until}")
    page.wait_for_selector("#search-grid", timeout=20_000)
    dash_quiet(page)
    page.wait_for_function(
        "document.querySelectorAll('#search-grid .ag-center-cols-container .ag-row').length === 3",
        timeout=30_000,
    )
    grid = page.inner_text("#search-grid")
    assert "道路拥堵 甲" in grid and "道路旁盗窃" in grid and "丙" not in grid
    assert "3" in page.inner_text("#search-summary")
    # the matches on the map and in the histogram: waited for, since Plotly may draw the figures
    # after the grid is filled (reading them at once failed on a busy host)
    page.wait_for_function(
        "() => { const p = document.querySelector('#search-map .js-plotly-plot');"
        " return !!(p && p._fullData && p._fullData[1] && p._fullData[1].lon.length === 3); }",
        timeout=20_000,
    )
    page.wait_for_function(
        "() => { const p = document.querySelector('#search-histogram .js-plotly-plot');"
        " return !!(p && p._fullData && p._fullData[0]"
        " && p._fullData[0].y.reduce((a, b) => a + b, 0) === 3); }",
        timeout=20_000,
    )
    # a facet: the source, with its count among the matches
    choose(page, "search-source", "110警情")
    page.wait_for_function(
        "document.querySelectorAll('#search-grid .ag-center-cols-container .ag-row').length === 1",
        timeout=30_000,
    )
    assert "道路旁盗窃" in page.inner_text("#search-grid")
    page.wait_for_function("() => location.search.includes('source=police')", timeout=10_000)
    query = parse_qs(page.evaluate("() => location.search").lstrip("?"))
    assert query["q"] == ["道路"] and query["source"] == ["police"]
    # the period came from the address into the picker, and goes back out unchanged
    assert query["since"] == [str(since)] and query["until"] == [str(until)]
    # the export link asks the read API for the same search
    href = page.get_attribute("#search-csv", "href")
    assert href.startswith("/api/events?") and "source=police" in href
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
