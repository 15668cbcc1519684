"""The warnings page and the case board on a past period in a real browser: a county leader opens
``/warnings?since=..&until=..`` and ``/cases?since=..&until=..``; the picker shows the period,
the grids hold that period's records of their county only (not the one a minute before the
period, not the other county's), the export links carry the period, and the address keeps it;
no console error, nothing fetched from outside."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.support.browser import dash_quiet, live_site
from tests.support.browser_steps import choose, sign_in
from tests.support.region import tiny_cell_center
from tests.support.warnings import T0, accidents, engine
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser

DAY = "2026-05-20"
QUERY = f"since={DAY}&until=2026-05-21"
SINCE = pd.Timestamp(DAY, tz="Asia/Shanghai").tz_convert("UTC")
PLACES = {  # name: cell, time
    "inside": ((1, 0, 0), SINCE + pd.Timedelta(hours=10)),
    "before": ((1, 1, 0), SINCE - pd.Timedelta(minutes=1)),
    "other_county": ((2, 0, 0), SINCE + pd.Timedelta(hours=10)),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    with live_site(tmp_path_factory.mktemp("desk-period"), tiny_region_dir, auth=True) as (
        url,
        rt,
    ):
        for cell, _ in PLACES.values():
            accidents(rt, 3, at=T0, cell=cell)
        eng = engine(rt, ["acc"])
        eng.evaluate(T0)
        eng.evaluate(T0 + pd.Timedelta(seconds=30))
        made = {}
        for name, (cell, at) in PLACES.items():
            key = rt.cases.place(*tiny_cell_center(*cell))
            wid = rt.db.query_one("SELECT id FROM warnings WHERE area_key = ?", [key])[0]
            rt.db.execute_write(
                "UPDATE warnings SET raised_at = ? WHERE id = ?", [at.to_pydatetime(), wid]
            )
            cid = rt.cases.create("hotline.heating", area_key=key, now=at, title=f"case {name}")
            made[name] = (int(wid), int(cid))
        rt.users.add("lead1", TEST_PASSWORD, "county_leader", area="T01")
        yield url, rt, made


def _ids(page, grid: str, column: str = "id") -> list[str]:
    return page.evaluate(
        f"""() => Array.from(document.querySelectorAll(
            '#{grid} .ag-center-cols-container .ag-row [col-id="{column}"]'))
            .map(c => c.innerText.trim())"""
    )


def _picker(page, picker: str) -> list[str]:
    """The date picker's first and last day as shown (its two inputs)."""
    return [page.input_value(f"#{picker}"), page.input_value(f"#{picker}-end-date")]


def test_past_period_on_the_warnings_page_and_the_case_board(site, page):
    url, _rt, made = site
    sign_in(page, url, "lead1", "/warnings")
    page.goto(f"{url}/warnings?{QUERY}")
    page.wait_for_selector("#warn-grid", timeout=20_000)
    dash_quiet(page)
    wid = str(made["inside"][0])
    page.wait_for_function(
        "document.querySelectorAll('#warn-grid .ag-center-cols-container .ag-row').length === 1",
        timeout=30_000,
    )
    assert _ids(page, "warn-grid") == [wid]
    assert _picker(page, "warn-period") == [DAY, DAY]  # one local day, its last included
    href = page.get_attribute("#warn-csv", "href")
    assert href.startswith("/api/warnings?") and "since=2026-05-19T16" in href
    assert "since=2026-05-20" in page.evaluate("() => location.search")

    page.goto(f"{url}/cases?{QUERY}&lang=en")
    page.wait_for_selector("#cases-grid", timeout=20_000)
    choose(page, "cases-dept", "All cases")
    cid = str(made["inside"][1])
    page.wait_for_function(
        "document.querySelectorAll('#cases-grid .ag-center-cols-container .ag-row').length === 1",
        timeout=30_000,
    )
    assert _ids(page, "cases-grid") == [cid]
    assert _picker(page, "cases-period") == [DAY, DAY]
    href = page.get_attribute("#cases-xlsx", "href")
    assert href.startswith("/api/cases?") and "format=xlsx" in href and "since=" in href
    search = page.evaluate("() => location.search")
    assert "until=2026-05-21" in search and "lang=en" in search
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
