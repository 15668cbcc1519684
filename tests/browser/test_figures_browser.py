"""The figures builder in a real browser: an analyst signs in, picks two indicators and two
areas, runs, reads the table, exports Excel and the downloaded file holds the table's header and
the catalogue's numbers; the address now holds the request; no console error, nothing fetched
from outside."""

from __future__ import annotations

import math

import pytest
from openpyxl import load_workbook

from data import figures
from data.auth import User
from layouts.figures_table import headers
from tests.support import figures as fixtures
from tests.support.browser import dash_quiet, live_site
from tests.support.browser_steps import choose, sign_in
from tests.support.figures import TZ
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    """A live server with sign-in on, known data in November 2026 and an analyst."""
    tmp = tmp_path_factory.mktemp("figures-browser")
    with live_site(tmp, tiny_region_dir, auth=True) as (url, runtime):
        fixtures.build(runtime)
        runtime.users.add("ana", TEST_PASSWORD, "analyst")
        yield url, runtime


def test_build_a_figures_table_and_export_it_to_excel(site, page, tmp_path):
    url, rt = site
    sign_in(page, url, "ana", "/figures")
    # a link naming the period (the week of 9 November 2026, against the week before)
    page.goto(f"{url}/figures?since=2026-11-09&until=2026-11-16&compare=previous")
    page.wait_for_selector("#figures-grid", timeout=20_000)
    dash_quiet(page)
    choose(page, "figures-indicators", "事件总数")
    choose(page, "figures-indicators", "办结案件数")
    choose(page, "figures-areas", "(T01)")
    choose(page, "figures-areas", "(T02)")
    page.click("#figures-run")
    page.wait_for_function(
        "document.querySelectorAll('#figures-grid .ag-center-cols-container .ag-row').length === 4",
        timeout=30_000,
    )
    assert "4" in page.inner_text("#figures-msg")
    grid = page.inner_text("#figures-grid")
    assert "事件总数" in grid and "办结案件数" in grid and "第1区" in grid and "第2区" in grid
    # the chart has this period and the comparison for each indicator
    traces = page.evaluate(
        "() => document.querySelector('#figures-chart .js-plotly-plot')._fullData.length"
    )
    assert traces == 4
    # the address holds the request: the link shows the same table
    page.wait_for_function("() => location.search.includes('indicators=')", timeout=10_000)
    query = page.evaluate("() => location.search")
    values, request, problem = figures.from_query(query, TZ)
    assert problem is None
    assert request.indicators == ["events.total", "cases.closed"]
    assert request.areas == ["T01", "T02"]
    assert (request.since, request.until, request.compare) == (
        "2026-11-09",
        "2026-11-16",
        "previous",
    )

    with page.expect_download(timeout=30_000) as download:
        page.click("#figures-export-xlsx")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == "figures-20261109-20261115.xlsx"
    sheet = load_workbook(path).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == headers(True, "zh")
    want = figures.build(rt.db, request, User("ana", "analyst"), timezone=TZ).table
    assert len(rows) == 1 + len(want) == 5
    col = {h: i for i, h in enumerate(rows[0])}
    for got, (_, w) in zip(rows[1:], want.iterrows(), strict=True):
        assert got[col["区域编码"]] == w["area"]
        assert got[col["本期"]] == w["value"]
        assert got[col["对比期"]] == w["compare_value"]
        pct = got[col["增减率(%)"]]
        assert (pct is None and math.isnan(w["change_pct"])) or pct == pytest.approx(
            w["change_pct"]
        )
    assert sum(r[col["本期"]] for r in rows[1:]) > 0  # real numbers, not an empty week
    # the export is in the audit trail, by the analyst
    audited = rt.db.query_one(
        "SELECT actor, object_id FROM audit_log WHERE action = 'figures.export' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert audited == ("ana", "xlsx")

    # keep the request, then run it for the next week in one click
    page.fill("#figures-save-name", "weekly for the district office")
    page.click("#figures-save")
    page.wait_for_function(
        "document.querySelector('#figures-msg').innerText.includes('weekly for the district')",
        timeout=15_000,
    )
    saved = rt.db.query_one("SELECT owner, name FROM figures_requests")
    assert saved == ("ana", "weekly for the district office")
    choose(page, "figures-saved", "weekly for the district office")
    page.click("#figures-saved-next")
    page.wait_for_function("() => location.search.includes('since=2026-11-16')", timeout=15_000)
    dash_quiet(page)
    _, nxt, _ = figures.from_query(page.evaluate("() => location.search"), TZ)
    assert (nxt.since, nxt.until, nxt.areas) == ("2026-11-16", "2026-11-23", ["T01", "T02"])
    want = figures.build(rt.db, nxt, User("ana", "analyst"), timezone=TZ).table
    first = page.inner_text(
        "#figures-grid .ag-center-cols-container .ag-row[row-index='0'] [col-id='value']"
    )
    assert float(first) == want["value"].iloc[0]
    assert page.input_value("#figures-period") == "2026-11-16"  # the form shows the new week
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
