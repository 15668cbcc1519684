"""Any period on the warnings page and the case board, and the export links of the desk tables
(issue 10, items 2 and 5), over real HTTP to a live server on a real DuckDB store: a past
period lists exactly the records raised (opened) in it, a county leader only their county's,
and each page's CSV / Excel link, fetched with the page's session, holds the page's rows and is
audited as ``data.export``."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from layouts import ids
from tests.support.browser import live_site
from tests.support.dash_http import call
from tests.support.region import tiny_cell_center
from tests.support.warnings import T0, accidents, engine
from tests.support.web import TEST_PASSWORD, http_session

TZ = "Asia/Shanghai"  # the tiny region's zone
DAY = "2026-05-20"  # the past period: one local day, long before T0 (the live "now" of rules)
SINCE = pd.Timestamp(DAY, tz=TZ).tz_convert("UTC")  # 2026-05-19T16:00Z
UNTIL = SINCE + pd.Timedelta(days=1)
US = pd.Timedelta(microseconds=1)
DAYS_2 = pd.Timedelta(days=2)
# where each seeded record sits: (county, i, j) and its time
PLACES = {
    "at_since": ((1, 0, 0), SINCE),  # the first instant of the period: in
    "before": ((1, 1, 0), SINCE - US),  # just before: out
    "last": ((1, 0, 1), UNTIL - US),  # the last instant: in
    "at_until": ((1, 1, 1), UNTIL),  # until is exclusive: out
    "other_county": ((2, 0, 0), SINCE + pd.Timedelta(hours=9)),  # in, county 2
}
INSIDE = {"at_since", "last", "other_county"}


def _cell_key(rt, cell) -> int:
    return rt.cases.place(*tiny_cell_center(*cell))


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    folder = tmp_path_factory.mktemp("deskperiod")
    with live_site(folder, tiny_region_dir, auth=True) as (url, rt):
        assert rt.timezone == TZ
        # one warning per place, raised by the engine, then put at its known time
        for cell, _ in PLACES.values():
            accidents(rt, 3, at=T0, cell=cell)
        eng = engine(rt, ["acc"])
        eng.evaluate(T0)
        eng.evaluate(T0 + pd.Timedelta(seconds=30))
        warnings, cases = {}, {}
        for name, (cell, at) in PLACES.items():
            key = _cell_key(rt, cell)
            wid = rt.db.query_one("SELECT id FROM warnings WHERE area_key = ?", [key])[0]
            rt.db.execute_write(
                "UPDATE warnings SET raised_at = ? WHERE id = ?", [at.to_pydatetime(), wid]
            )
            warnings[name] = int(wid)
            cases[name] = int(rt.cases.create("hotline.heating", area_key=key, now=at))
        rt.users.add("ana", TEST_PASSWORD, "analyst")
        rt.users.add("boss", TEST_PASSWORD, "operator")
        rt.users.add("lead1", TEST_PASSWORD, "county_leader", area="T01")
        yield url, rt, warnings, cases


def _expected(made: dict, names) -> set[int]:
    return {made[n] for n in names}


def _warnings_page(session, url, start=DAY, end=DAY, states=None):
    resp = call(
        session,
        url,
        f"{ids.WARN_GRID}.rowData",
        {
            f"{ids.WARN_PERIOD}.start_date": start,
            f"{ids.WARN_PERIOD}.end_date": end,
            f"{ids.WARN_STATES}.value": states,
            f"{ids.LANG}.data": "en",
        },
        page="/warnings",
        changed=f"{ids.WARN_PERIOD}.start_date",
    )
    assert resp.status_code == 200, resp.text[:400]
    return resp.json()["response"]


def _board(session, url, start=DAY, end=DAY, dept="*"):
    resp = call(
        session,
        url,
        f"{ids.CASES_GRID}.rowData",
        {
            f"{ids.CASES_DEPT}.value": dept,
            f"{ids.CASES_PERIOD}.start_date": start,
            f"{ids.CASES_PERIOD}.end_date": end,
            f"{ids.LANG}.data": "en",
        },
        page="/cases",
        changed=f"{ids.CASES_PERIOD}.start_date",
    )
    assert resp.status_code == 200, resp.text[:400]
    return resp.json()["response"]


def _csv_ids(session, url, href) -> list[int]:
    resp = session.get(url + href, timeout=60)
    assert resp.status_code == 200, resp.text[:400]
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    return [int(r["id"]) for r in rows]


def _xlsx(session, url, href) -> tuple[list[int], dict]:
    resp = session.get(url + href, timeout=60)
    assert resp.status_code == 200, resp.text[:400]
    book = openpyxl.load_workbook(io.BytesIO(resp.content), read_only=True)
    data, filters = (list(ws.iter_rows(values_only=True)) for ws in book.worksheets)
    col = data[0].index("id")
    return [int(r[col]) for r in data[1:]], dict(filters[1:])


def _exports(rt, actor: str) -> int:
    return rt.db.query_one(
        "SELECT count(*) FROM audit_log WHERE action = 'data.export' AND actor = ?", [actor]
    )[0]


def test_the_address_period_sets_the_picker_and_lets_go_of_the_active_only_default(site):
    url, _rt, _w, _c = site
    s = http_session(url, "ana")
    query = f"?since={DAY}&until=2026-05-21&lang=en"
    resp = call(
        s,
        url,
        f"{ids.WARN_PERIOD}.start_date",
        {f"{ids.URL}.search": query, f"{ids.WARN_STATES}.value": ["raised", "acknowledged"]},
        page="/warnings",
        changed=f"{ids.URL}.search",
    )
    out = resp.json()["response"]
    assert out[ids.WARN_PERIOD] == {"start_date": DAY, "end_date": DAY}
    assert out[ids.WARN_STATES] == {"value": []}  # every state of the period
    # a time with its offset reads as the read API reads it (until exclusive)
    resp = call(
        s,
        url,
        f"{ids.CASES_PERIOD}.start_date",
        {f"{ids.URL}.search": "?since=2026-05-20T00:00:00%2B08:00&until=2026-05-22"},
        page="/cases",
        changed=f"{ids.URL}.search",
    )
    assert resp.json()["response"][ids.CASES_PERIOD] == {
        "start_date": DAY,
        "end_date": "2026-05-21",
    }


def test_warnings_page_lists_exactly_the_period_and_exports_the_same_rows(site):
    url, rt, made, _ = site
    s = http_session(url, "ana")
    out = _warnings_page(s, url)
    shown = {r["id"] for r in out[ids.WARN_GRID]["rowData"]}
    assert shown == _expected(made, INSIDE)
    # the counts line counts the period's warnings too (not today's active ones: all five)
    assert out[ids.WARN_COUNTS]["children"][0].startswith(f"{len(INSIDE)} raised in the period")
    assert out[ids.WARN_QUERY]["data"] == {"since": DAY, "until": "2026-05-21"}
    csv_href, xlsx_href = out[ids.WARN_CSV]["href"], out[ids.WARN_XLSX]["href"]
    assert "since=2026-05-19T16%3A00%3A00%2B00%3A00" in csv_href
    before = _exports(rt, "ana")
    assert set(_csv_ids(s, url, csv_href)) == shown
    rows, filters = _xlsx(s, url, xlsx_href)
    assert set(rows) == shown and filters["since"] == SINCE.isoformat()
    assert _exports(rt, "ana") == before + 2
    # the other filters are kept: a level and the active states (several values)
    out = _warnings_page(s, url, states=["raised", "acknowledged"])
    shown = {r["id"] for r in out[ids.WARN_GRID]["rowData"]}
    assert shown == _expected(made, INSIDE)
    href = out[ids.WARN_CSV]["href"]
    assert "state=raised&state=acknowledged" in href
    assert set(_csv_ids(s, url, href)) == shown
    rt.db.execute_write("UPDATE warnings SET state = 'cleared' WHERE id = ?", [made["last"]])
    try:
        out = _warnings_page(s, url, states=["raised", "acknowledged"])
        shown = {r["id"] for r in out[ids.WARN_GRID]["rowData"]}
        assert shown == _expected(made, {"at_since", "other_county"})
        assert set(_csv_ids(s, url, out[ids.WARN_CSV]["href"])) == shown
    finally:
        rt.db.execute_write("UPDATE warnings SET state = 'raised' WHERE id = ?", [made["last"]])
    # without a period, the page is as live: the active warnings whenever raised
    out = _warnings_page(s, url, start=None, end=None, states=["raised"])
    assert {r["id"] for r in out[ids.WARN_GRID]["rowData"]} == set(made.values())
    assert out[ids.WARN_COUNTS]["children"][0].startswith(f"{len(made)} active")
    assert out[ids.WARN_QUERY]["data"] == {}


def test_a_county_leader_sees_and_exports_only_their_county_in_the_period(site):
    url, rt, warned, opened = site
    s = http_session(url, "lead1")
    mine = INSIDE - {"other_county"}
    out = _warnings_page(s, url)
    shown = {r["id"] for r in out[ids.WARN_GRID]["rowData"]}
    assert shown == _expected(warned, mine)
    before = _exports(rt, "lead1")
    assert set(_csv_ids(s, url, out[ids.WARN_CSV]["href"])) == shown
    board = _board(s, url)
    rows = {r["id"] for r in board[ids.CASES_GRID]["rowData"]}
    assert rows == _expected(opened, mine)
    assert set(_csv_ids(s, url, board[ids.CASES_CSV]["href"])) == rows
    xrows, _ = _xlsx(s, url, board[ids.CASES_XLSX]["href"])
    assert set(xrows) == rows
    assert _exports(rt, "lead1") == before + 3
    # the link's own area cannot widen the scope: the API keeps the reader's county
    wider = board[ids.CASES_CSV]["href"] + "&area=T02"
    assert _csv_ids(s, url, wider) == []


def test_the_case_board_lists_the_cases_opened_in_the_period_and_exports_them(site):
    url, rt, _, opened = site
    s = http_session(url, "boss")
    board = _board(s, url)
    rows = {r["id"] for r in board[ids.CASES_GRID]["rowData"]}
    assert rows == _expected(opened, INSIDE)
    assert board[ids.CASES_QUERY]["data"] == {"since": DAY, "until": "2026-05-21"}
    assert set(_csv_ids(s, url, board[ids.CASES_CSV]["href"])) == rows
    # a department's board in the period: its cases only, in the page and in the file
    dept = rt.db.query_one("SELECT department FROM cases WHERE id = ?", [opened["last"]])[0]
    board = _board(s, url, dept=dept)
    rows = {r["id"] for r in board[ids.CASES_GRID]["rowData"]}
    assert rows and rows <= _expected(opened, INSIDE)
    assert f"department={dept}" in board[ids.CASES_CSV]["href"]
    assert set(_csv_ids(s, url, board[ids.CASES_CSV]["href"])) == rows
    # a case of the period still open is overdue against the period's end, not against today
    for name, due in (("at_since", SINCE + pd.Timedelta(hours=2)), ("last", UNTIL + DAYS_2)):
        rt.db.execute_write(
            "UPDATE cases SET deadline_at = ? WHERE id = ?", [due.to_pydatetime(), opened[name]]
        )
    overdue = {r["id"]: r["overdue"] for r in _board(s, url)[ids.CASES_GRID]["rowData"]}
    assert overdue[opened["at_since"]] == "yes"  # due inside the period, still open at its end
    assert overdue[opened["last"]] == ""  # due after the period: not late then (it is today)
    # without a period the board is the live one: the open cases, all of them
    live = _board(s, url, start=None, end=None)
    assert {r["id"] for r in live[ids.CASES_GRID]["rowData"]} == set(opened.values())
    assert set(_csv_ids(s, url, live[ids.CASES_CSV]["href"])) == set(opened.values())


def _metrics(session, url, output, values):
    resp = call(session, url, output, values, page="/metrics", changed=f"{ids.LANG}.data")
    assert resp.status_code == 200, resp.text[:400]
    return resp.json()["response"]


def _table_csv(session, url, href) -> list[dict]:
    resp = session.get(url + href, timeout=60)
    assert resp.status_code == 200, resp.text[:400]
    assert resp.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def _as_grid(columns: list[dict], rows: list[dict]) -> list[dict]:
    """The grid's rows as a CSV holds them: header names, text, empty for None."""
    return [
        {c["headerName"]: "" if r.get(c["field"]) is None else str(r[c["field"]]) for c in columns}
        for r in rows
    ]


def test_metrics_tables_export_their_rows_in_the_readers_scope(site):
    url, rt, _, opened = site
    period = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
    for user, counties in (("boss", {"District 1", "District 2"}), ("lead1", {"District 1"})):
        s = http_session(url, user)
        out = _metrics(
            s,
            url,
            f"{ids.METRICS_DEPT_GRID}.rowData",
            {f"{ids.LANG}.data": "en", f"{ids.METRICS_PERIOD}.data": period},
        )
        before = _exports(rt, user)
        for grid, link in (
            (ids.METRICS_DEPT_GRID, ids.METRICS_DEPT_CSV),
            (ids.METRICS_COUNTY_GRID, ids.METRICS_COUNTY_CSV),
        ):
            href = out[link]["href"]
            assert "since=2026-05-19T16%3A00%3A00%2B00%3A00" in href and "format=csv" in href
            shown = _as_grid(out[grid]["columnDefs"], out[grid]["rowData"])
            assert shown and _table_csv(s, url, href) == shown
        names = {r["name"] for r in out[ids.METRICS_COUNTY_GRID]["rowData"]}
        assert names == counties
        cases = sum(r["cases"] for r in out[ids.METRICS_COUNTY_GRID]["rowData"])
        assert cases == (3 if user == "boss" else 2)  # the cases opened in the period
        xlsx = s.get(url + out[ids.METRICS_COUNTY_XLSX]["href"], timeout=60)
        book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
        data, filters = (list(ws.iter_rows(values_only=True)) for ws in book.worksheets)
        assert len(data) == 1 + len(names)
        assert dict(filters[1:])["user"] == user
        assert dict(filters[1:])["since"] == SINCE.isoformat()
        assert _exports(rt, user) == before + 3
    # one department's overdue cases: the detail grid and its file
    s = http_session(url, "boss")
    dept = rt.db.query_one("SELECT department FROM cases WHERE id = ?", [opened["at_since"]])[0]
    due = (SINCE + pd.Timedelta(hours=2)).to_pydatetime()  # open past it at the period's end
    rt.db.execute_write("UPDATE cases SET deadline_at = ? WHERE id = ?", [due, opened["at_since"]])
    out = _metrics(
        s,
        url,
        f"{ids.METRICS_DETAIL_GRID}.rowData",
        {
            f"{ids.METRICS_DETAIL_DEPT}.value": dept,
            f"{ids.LANG}.data": "en",
            f"{ids.METRICS_PERIOD}.data": period,
        },
    )
    grid = out[ids.METRICS_DETAIL_GRID]
    shown = _as_grid(grid["columnDefs"], grid["rowData"])
    assert opened["at_since"] in {r["id"] for r in grid["rowData"]}
    assert _table_csv(s, url, out[ids.METRICS_DETAIL_CSV]["href"]) == shown
    # a role that may not export figures gets no file; a bad period is a clear 400
    rt.users.add("screen", TEST_PASSWORD, "wall")
    wall = http_session(url, "screen")
    assert wall.get(f"{url}/api/metrics/counties?format=csv", timeout=30).status_code == 403
    bad = s.get(f"{url}/api/metrics/counties?format=csv&since=2026-13-01", timeout=30)
    assert bad.status_code == 400 and "2026-13-01" in bad.json()["error"]
