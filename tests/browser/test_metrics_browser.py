"""The metrics page in a real browser for a past period: a county leader opens a link naming
the first half of October 2026; the tiles show the indicator catalogue's figures for that period
(with its definitions as hover titles), the rankings fill, a department's detail opens with its
figures and overdue cases; the last-30-days window follows the data's own end; no console error, nothing fetched from outside."""

from __future__ import annotations

import pytest

from data import indicators
from data.areas import AreaScope
from data.cases import desk
from layouts.i18n import t
from tests.support.browser import dash_quiet, live_site
from tests.support.browser_steps import choose, sign_in
from tests.support.cases_seed import seed_cases
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    tmp = tmp_path_factory.mktemp("metrics-browser")
    with live_site(tmp, tiny_region_dir, auth=True) as (url, runtime):
        seed_cases(runtime.cases, n=120, seed=3)
        runtime.users.add("lead", TEST_PASSWORD, "county_leader", area="T01")
        yield url, runtime


def test_metrics_for_a_past_period_with_a_department_opened(site, page) -> None:
    url, rt = site
    sign_in(page, url, "lead", "/metrics")
    page.goto(f"{url}/metrics?since=2026-10-01&until=2026-10-15")
    page.wait_for_selector("#metric-cases", timeout=30_000)
    dash_quiet(page)
    county = rt.db.query_one("SELECT key FROM areas WHERE code = 'T01'")[0]
    scope = AreaScope("county", county)
    period = desk.metrics_period(rt, "2026-10-01", "2026-10-15")
    since, until = period["since"], period["until"]
    want = int(indicators.value(rt.db, "cases.opened", scope, since, until))
    assert want > 5
    assert page.inner_text("#metric-cases") == str(want)
    rate = indicators.value(rt.db, "cases.on_time_rate", scope, since, until)
    assert page.inner_text("#metric-on_time") == f"{100 * rate:.1f}%"
    end = int(indicators.value(rt.db, "cases.overdue_at_end", scope, since, until))
    assert page.inner_text("#metric-overdue_end") == str(end)
    # the hover title is the catalogue's definition (the page opens in Chinese)
    title = page.locator("#metric-on_time").locator("xpath=..").get_attribute("title")
    assert title == t("indicator.cases.on_time_rate.definition", "zh")
    # the address keeps the period
    assert "since=2026-10-01" in page.evaluate("() => location.search")
    # the rankings: the trend chart drawn, one county (their own), departments listed
    page.wait_for_selector("#metrics-trend .js-plotly-plot", timeout=20_000)
    page.wait_for_function(
        "document.querySelectorAll('#metrics-county-grid .ag-center-cols-container .ag-row')"
        ".length === 1",
        timeout=20_000,
    )
    view = desk.metrics_view(rt, scope, since, until)
    dept = view["departments"].dropna(subset=["department"]).iloc[0]["department"]
    name = view["names"][dept]["zh"]
    choose(page, "metrics-detail-dept", name)
    page.wait_for_selector("#metric-dept-cases", timeout=20_000)
    detail = desk.department_view(rt, scope, dept, since, until)
    assert page.inner_text("#metric-dept-cases") == str(detail["summary"]["cases"])
    page.wait_for_selector("#metrics-detail-trend .js-plotly-plot", timeout=20_000)
    assert len(detail["overdue"]) > 0  # the seeded period leaves cases overdue at its end
    page.wait_for_selector("#metrics-detail-grid .ag-center-cols-container .ag-row", timeout=20_000)
    first = int(detail["overdue"].iloc[0]["id"])
    assert str(first) in page.inner_text("#metrics-detail-grid")
    # a rolling window: the last 30 days up to the reading (the seeded data's own end)
    window = desk.metrics_period(rt, None, None, days=30)
    day = window["since"].tz_convert(rt.timezone).date()
    page.get_by_role("button", name="近30天").click()
    page.wait_for_function(
        "d => location.search.includes('since=' + d)", arg=str(day), timeout=20_000
    )
    n = int(indicators.value(rt.db, "cases.opened", scope, window["since"], window["until"]))
    assert n > want  # a longer window over the seeded weeks than the first half of October
    page.wait_for_function(
        "n => document.querySelector('#metric-cases').innerText === String(n)",
        arg=n,
        timeout=20_000,
    )
    dash_quiet(page)
    assert not page.recorder.errors, page.recorder.errors
    assert not page.recorder.outside_hosts(), page.recorder.outside_hosts()
