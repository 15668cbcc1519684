"""Search (data/search.py) through the read API's ``q`` on a real store and Flask app: Chinese and
English substrings, case, categories by code and name, addresses, ids, facets, the reader's
scope, and the page's counts and histogram."""

from __future__ import annotations

import pandas as pd
import pytest

from app import create_app
from data import search
from data.auth import User
from layouts.search_page import search_labels
from tests.support.region import tiny_cell_center
from tests.support.warnings import T0, accidents, engine, minutes
from tests.support.web import sign_in

AUTH = {"Authorization": "Bearer test-token"}

EVENTS = [
    # id, county, source, category, severity, text, attributes, minutes before T0
    ("p-1", 1, "police", "criminal", 4, "盗窃电动车", {"address": "胜利路12号"}, 5),
    ("p-2", 2, "police", "dispute", 2, "邻里纠纷", None, 10),
    ("t-1", 1, "traffic", "congestion", 3, "路段R137拥堵指数", None, 15),
    ("h-1", 2, "hotline", "heating", 2, "Heating OFF since Monday", None, 20),
    ("h-2", 1, "hotline", "noise", 1, "噪声扰民 100% 夜间施工_", None, 60 * 24 * 40),
    ("P-Case7", 2, "police", "other", 1, "其他", None, 30),
]


def _ingest(client):
    for ident, county, source, cat, sev, text, attrs, before in EVENTS:
        lon, lat = tiny_cell_center(county, 1, 1)
        rec = {
            "id": ident,
            "time": (T0 - minutes(before)).isoformat(),
            "lon": lon,
            "lat": lat,
            "category": cat,
            "severity": sev,
            "text": text,
            "attributes": attrs or {},
        }
        resp = client.post(f"/api/ingest/{source}", json={"events": [rec]}, headers=AUTH)
        assert resp.get_json()["accepted"] == 1, resp.get_json()


@pytest.fixture
def app(runtime):
    return create_app(runtime=runtime)


@pytest.fixture
def client(app, runtime):
    client = app.server.test_client()
    sign_in(client, runtime, "ana", role="analyst")
    _ingest(client)
    return client


def ids(client, query: str, kind: str = "events") -> list:
    resp = client.get(f"/api/{kind}?{query}")
    assert resp.status_code == 200, resp.get_json()
    return [r["id"] for r in resp.get_json()[kind]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("拥堵", ["t-1"]),  # Chinese substring of the text
        ("heating off", ["h-1"]),  # English, other case, in the text (and the category)
        ("HEATING", ["h-1"]),
        ("胜利路", ["p-1"]),  # an address in the attributes
        ("criminal", ["p-1"]),  # a category code
        ("刑事", ["p-1"]),  # a category's Chinese name
        ("Dispute", ["p-2"]),  # a category's English name, other case
        ("12345热线", ["h-1", "h-2"]),  # a source's name
        ("第2区", ["p-2", "h-1", "P-Case7"]),  # a county's name: the events inside it
        ("district 1", ["p-1", "t-1", "h-2"]),
        ("p-2", ["p-2"]),  # an id
        ("P-Case7", ["P-Case7"]),  # an id keeps its case
        ("100%", ["h-2"]),  # % and _ are plain characters
        ("施工_", ["h-2"]),
        ("%", ["h-2"]),
        ("no such thing", []),
    ],
)
def test_text_matches_text_category_address_and_ids(client, q, expected):
    from urllib.parse import quote

    assert ids(client, f"q={quote(q)}") == expected


def test_facets_period_and_text_together(client):
    assert ids(client, "q=%E7%AC%AC2%E5%8C%BA&source=police") == ["p-2", "P-Case7"]
    assert ids(client, "q=%E7%AC%AC2%E5%8C%BA&severity=2") == ["p-2", "h-1"]
    assert ids(client, "q=hotline&area=T01") == ["h-2"]
    # the noise event is 40 days old: a period of the last week leaves it out
    since = (T0 - pd.Timedelta(days=7)).isoformat().replace("+", "%2B")
    assert ids(client, f"q=hotline&since={since}") == ["h-1"]
    assert ids(client, "q=hotline&since=2026-05-31&until=2026-06-02") == ["h-1"]
    assert client.get("/api/events?severity=9").status_code == 400
    assert client.get("/api/events?q=" + "x" * 101).status_code == 400
    assert client.get("/api/events?since=2026-06-02&until=2026-06-01").status_code == 400


def test_the_newest_page_holds_old_matches_when_recent_ones_are_too_few(client):
    """The newest-first windows (a day, a week, a month) widen to the whole period: a page
    asked for with a limit gets the 40-day-old match after the recent ones."""
    assert ids(client, "q=hotline&limit=1") == ["h-1"]
    assert ids(client, "q=hotline&limit=2") == ["h-1", "h-2"]
    # ending an hour after T0: h-1 falls in the first day's window, h-2 only in the rest
    until = (T0 + pd.Timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert ids(client, f"q=hotline&limit=1&until={until}") == ["h-1"]
    assert ids(client, f"q=hotline&limit=5&until={until}") == ["h-1", "h-2"]
    assert ids(client, f"q=police&limit=2&until={until}") == ["p-1", "p-2"]
    assert ids(client, f"q=police&limit=9&until={until}") == ["p-1", "p-2", "P-Case7"]


def test_exports_are_the_same_search(client):
    resp = client.get("/api/events?q=%E7%AC%AC2%E5%8C%BA&format=csv")
    assert resp.status_code == 200
    lines = resp.get_data(as_text=True).splitlines()
    assert len(lines) == 1 + 3 and lines[0].lstrip("\ufeff").startswith("source,id")


def test_county_leader_searches_only_their_county(app, runtime):
    client = app.server.test_client()
    sign_in(client, runtime, "ana", role="analyst")
    _ingest(client)
    lead = app.server.test_client()
    sign_in(lead, runtime, "lead", role="county_leader", area="T01")
    assert ids(lead, "q=police") == ["p-1"]
    assert ids(client, "q=police") == ["p-1", "p-2", "P-Case7"]
    # naming the other county finds nothing of it
    assert ids(lead, "q=%E7%AC%AC2%E5%8C%BA") == []
    assert ids(lead, "q=police&area=T02") == []
    # the page's search: the same scope, counts included
    f = search.reader_filters(
        runtime.db, User("lead", "county_leader", area="T01"), runtime.scope, "event"
    )
    res = search.results(
        runtime.db, "events", f, search.Text.of("police"), timezone=runtime.timezone
    )
    assert [r["id"] for r in res["rows"]] == ["p-1"] and res["total"] == 1
    assert res["facets"]["county"] == {"T01": 1}


def test_cases_and_warnings_take_the_same_search(client, runtime):
    for county, n in ((1, 2), (2, 1)):
        lon, lat = tiny_cell_center(county, 1, 1)
        for k in range(n):
            runtime.cases.create(
                "hotline.heating",
                area_key=runtime.cases.place(lon, lat),
                now=T0 - minutes(k + 1),
                title=f"供暖不热 {county}-{k}",
            )
    assert len(ids(client, "q=%E4%BE%9B%E6%9A%96", "cases")) == 3
    assert len(ids(client, "q=%E4%BE%9B%E6%9A%96&area=T02", "cases")) == 1
    # hotline requests became cases too (h-1 in county 2, h-2 in county 1): newest first
    assert ids(client, "q=%E7%AC%AC2%E5%8C%BA", "cases") == [5, 1]
    assert ids(client, "q=hotline:h-2", "cases") == [2]  # the origin's id
    accidents(runtime, 3, at=T0, cell=(2, 0, 0))
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    eng.evaluate(T0 + pd.Timedelta(seconds=30))  # past the rule's pending period
    raised = ids(client, "q=acc", "warnings")
    assert raised and ids(client, "q=acc&area=T01", "warnings") == []
    assert ids(client, "q=%E7%AC%AC2%E5%8C%BA", "warnings") == raised
    assert ids(client, "q=no-such-rule", "warnings") == []


def test_page_counts_facets_and_histogram(runtime, client):
    f = search.reader_filters(
        runtime.db,
        User("a", "analyst"),
        runtime.scope,
        "event",
        since=T0 - pd.Timedelta(days=2),
        until=T0 + pd.Timedelta(hours=1),
    )
    res = search.results(
        runtime.db,
        "events",
        f,
        search.Text.of("police", search_labels()),
        timezone=runtime.timezone,
    )
    assert res["total"] == 3 and res["bucket"] == "hour"
    assert res["facets"]["source"] == {"police": 3}
    assert res["facets"]["category"] == {"criminal": 1, "dispute": 1, "other": 1}
    assert res["facets"]["county"] == {"T01": 1, "T02": 2}
    assert sum(h["n"] for h in res["histogram"]) == 3
    # buckets are local hours (Asia/Shanghai), given as UTC times: 11:00 local holds all three
    # (T0 is 12:00 local)
    assert [h["at"] for h in res["histogram"]] == ["2026-06-01T03:00:00+00:00"]
    # a long period counts local days: the day starts at local midnight (16:00 UTC before)
    f = search.reader_filters(runtime.db, User("a", "analyst"), runtime.scope, "event")
    res = search.results(
        runtime.db, "events", f, search.Text.of("hotline"), timezone=runtime.timezone
    )
    assert res["bucket"] == "day" and res["total"] == 2
    assert res["histogram"][-1] == {"at": "2026-05-31T16:00:00+00:00", "n": 1}


def test_page_period_reads_dates_as_the_api_does():
    since, until = search.page_period("2026-06-01", "2026-06-01", "Asia/Shanghai")
    assert (since.isoformat(), until.isoformat()) == (
        "2026-05-31T16:00:00+00:00",
        "2026-06-01T16:00:00+00:00",
    )
    with pytest.raises(ValueError):
        search.page_period("2026-06-02", "2026-06-01", "Asia/Shanghai")
    with pytest.raises(ValueError):
        search.page_period("2026-02-30", None, "Asia/Shanghai")
    # an address's bounds back as the picker's days (until exclusive)
    assert search.picker_days("?since=2026-06-01&until=2026-06-08", "Asia/Shanghai") == (
        "2026-06-01",
        "2026-06-07",
    )
    assert search.picker_days("?since=2026-06-01T01:00:00%2B00:00", "Asia/Shanghai") == (
        "2026-06-01",
        None,
    )
    assert search.picker_days("?since=nonsense", "Asia/Shanghai") == (None, None)


def test_histogram_across_the_end_of_daylight_saving(client, runtime):
    """01:30 happens twice in New York on 2013-11-03: the hourly histogram counts both (it
    failed with pandas' AmbiguousTimeError before)."""
    lon, lat = tiny_cell_center(1, 1, 1)
    recs = [
        {"id": f"dst-{k}", "time": t, "lon": lon, "lat": lat, "category": "other", "text": "夏令时"}
        for k, t in enumerate(("2013-11-03T05:30:00+00:00", "2013-11-03T06:30:00+00:00"))
    ]
    assert client.post("/api/ingest/police", json={"events": recs}, headers=AUTH).status_code == 200
    f = search.reader_filters(
        runtime.db,
        User("a", "analyst"),
        runtime.scope,
        "event",
        since=pd.Timestamp("2013-11-03T00:00:00+00:00"),
        until=pd.Timestamp("2013-11-04T00:00:00+00:00"),
    )
    res = search.results(
        runtime.db, "events", f, search.Text.of("夏令时"), timezone="America/New_York"
    )
    assert res["total"] == 2 and sum(h["n"] for h in res["histogram"]) == 2
