"""The metrics page (/metrics) for any period: its figures are the indicator catalogue's for the
same period (a past period on a live store, and an imported file read as of its own end, where
a case still open is right-censored), its rankings' trend is this period against the one
before, its period comes from ?since=&until= (bare dates: local midnight), and the page's
callbacks answer through the real server inside the reader's scope."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from data import indicators
from data.areas import AreaScope
from data.cases import desk, metrics
from data.times import local_midnight
from layouts import ids
from tests.support.cases_seed import OCT, seed_cases
from tests.support.region import tiny_cell_center
from tests.support.web import TEST_PASSWORD, post_login

TILE_INDICATORS = {  # summary field -> the catalogue's indicator of the same figure
    "cases": "cases.opened",
    "closed": "cases.closed",
    "on_time_rate": "cases.on_time_rate",
    "median_close_h": "cases.median_close_hours",
    "reworked": "cases.reworked",
    "returns_on_cases": "cases.returns",
    "extended": "cases.extended",
    "open_overdue": "cases.overdue_open",
}


def _catalogue(db, ind, scope, since, until, now=None, by=None) -> pd.DataFrame:
    return indicators.compute(db, ind, scope, since, until, now=now, by=by)


def _same(a, b) -> bool:
    if a is None or pd.isna(a):
        return b is None or pd.isna(b)
    return b is not None and not pd.isna(b) and abs(float(a) - float(b)) < 1e-9


def _check_against_catalogue(rt, scope, since, until, now=None) -> dict:
    """The page's figures for [since, until) equal the catalogue's, read at the same time."""
    view = desk.metrics_view(rt, scope, since, until, now=now)
    reading = view["reading"]
    for field, ind in TILE_INDICATORS.items():
        want = indicators.value(rt.db, ind, scope, since, until, now=now)
        assert _same(view["summary"][field], want), (field, view["summary"][field], want)
    end = indicators.value(rt.db, "cases.overdue_at_end", scope, since, until, now=now)
    assert view["overdue_at_end"] == end
    # per department: on-time rate, median and cases as the catalogue's department dimension
    dept = view["departments"].set_index("department")
    for ind, col in (
        ("cases.department_on_time_rate", "on_time_rate"),
        ("cases.department_median_close_hours", "median_close_h"),
        ("cases.department_opened", "cases"),
        ("cases.department_returns", "returned"),
    ):
        got = _catalogue(rt.db, ind, scope, since, until, now=now)
        for r in got.to_dict("records"):
            assert _same(dept.loc[r["key"], col], r["value"]), (ind, r)
    # per county: the catalogue broken down by county
    counties = view["counties"].set_index("code")
    got = _catalogue(rt.db, "cases.on_time_rate", scope, since, until, now=now, by="county")
    for r in got.to_dict("records"):
        if r["area"] in counties.index:
            assert _same(counties.loc[r["area"], "on_time_rate"], r["value"]), r
    # the trend's days add up to the period's cases
    assert int(view["trend"]["cases"].sum()) == view["summary"]["cases"]
    assert reading == (indicators.reading_time(rt.db, now))
    return view


def test_a_past_period_on_a_live_store_equals_the_catalogue(runtime) -> None:
    last = seed_cases(runtime.cases)
    now = last + pd.Timedelta(hours=1)  # live: read now
    since, until = OCT, OCT + pd.Timedelta(days=14)
    view = _check_against_catalogue(runtime, runtime.scope, since, until, now=now)
    assert view["reading"] == now and view["end"] == until and view["unit"] == "day"
    assert view["summary"]["cases"] > 20 and view["summary"]["closed"] > 5
    # a county leader's scope: only their county's cases, and again the catalogue's figures
    county = runtime.db.query_one(
        "SELECT key FROM areas WHERE level = 'county' ORDER BY code LIMIT 1"
    )[0]
    mine = _check_against_catalogue(runtime, AreaScope("county", county), since, until, now=now)
    assert mine["counties"]["county_key"].tolist() == [county]
    assert mine["summary"]["cases"] < view["summary"]["cases"]


def test_ranking_trend_is_this_period_against_the_one_before(runtime) -> None:
    last = seed_cases(runtime.cases, n=160, seed=5)
    now = last + pd.Timedelta(hours=1)
    since, until = OCT + pd.Timedelta(days=5), OCT + pd.Timedelta(days=15)
    table = metrics.period_ranking(
        runtime.db, runtime.scope, by="department", since=since, until=until, now=now
    ).set_index("department")
    before = metrics.by_department(
        runtime.db, runtime.scope, now=now, since=OCT - pd.Timedelta(days=5), until=since
    ).set_index("department")
    seen = 0
    for dept, r in table.iterrows():
        prev = before["on_time_rate"].get(dept)
        if prev is None or pd.isna(prev) or pd.isna(r["on_time_rate"]):
            assert pd.isna(r["trend"])
            continue
        assert r["trend"] == pytest.approx(r["on_time_rate"] - prev)
        seen += 1
    assert seen >= 1
    with pytest.raises(ValueError):
        metrics.period_ranking(runtime.db, runtime.scope, by="grid", since=since, until=until)


def test_an_imported_file_is_read_as_of_its_end_right_censored(runtime) -> None:
    """A store whose newest activity is long past (an imported file): the page reads it as of
    that activity (no shifting), a case open then is open, and only a deadline passed before
    that time makes it overdue; the figures equal the catalogue's read the same way."""
    svc = runtime.cases
    lon, lat = tiny_cell_center(1, 0, 0)
    t0 = pd.Timestamp("2025-03-10 02:00", tz="UTC")
    early = svc.create("hotline.heating", lon=lon, lat=lat, title="early", now=t0)
    late = svc.create(
        "hotline.heating", lon=lon, lat=lat, title="late", now=t0 + pd.Timedelta(days=3)
    )
    done = svc.create(
        "hotline.heating", lon=lon, lat=lat, title="done", now=t0 + pd.Timedelta(days=3, hours=1)
    )
    dept = svc.get(done)["department"]
    svc.accept(done, dept, actor="d", now=t0 + pd.Timedelta(days=3, hours=2))
    svc.report_handled(done, dept, actor="d", now=t0 + pd.Timedelta(days=3, hours=3))
    svc.verify(done, True, actor="insp", now=t0 + pd.Timedelta(days=3, hours=4))
    file_end = t0 + pd.Timedelta(days=3, hours=4)
    deadlines = dict(runtime.db.query("SELECT id, deadline_at FROM cases"))
    assert pd.Timestamp(deadlines[early]).tz_convert("UTC") < file_end  # overdue at the end
    assert pd.Timestamp(deadlines[late]).tz_convert("UTC") > file_end  # not yet due then
    period = desk.metrics_period(runtime, None, None)  # default: the file's own last 30 days
    assert period["reading"] == file_end
    assert period["since"] <= t0 < file_end < period["until"]
    view = _check_against_catalogue(runtime, runtime.scope, period["since"], period["until"])
    assert view["reading"] == file_end and view["end"] == file_end
    # against today all three open ones would be overdue; read at the file's end only "early"
    assert view["overdue_at_end"] == 1 and view["summary"]["open_overdue"] == 1
    assert view["summary"]["open"] == 2 and view["summary"]["on_time_rate"] == pytest.approx(0.5)
    listed = desk.department_view(runtime, runtime.scope, dept, period["since"], period["until"])
    assert listed["overdue"]["id"].tolist() == [early] and listed["overdue_at_end"] == 1


def test_the_period_from_the_address(runtime) -> None:
    tz = runtime.timezone
    p = desk.metrics_period(runtime, "2026-10-01", "2026-10-08")
    assert p["since"] == local_midnight(pd.Timestamp("2026-10-01"), tz)
    assert p["until"] == local_midnight(pd.Timestamp("2026-10-08"), tz)
    p = desk.metrics_period(runtime, "2026-10-01T06:00:00+08:00", "2026-10-02T00:00:00Z")
    assert p["since"] == pd.Timestamp("2026-09-30 22:00", tz="UTC")
    assert p["until"] == pd.Timestamp("2026-10-02", tz="UTC")
    # an empty store is live: the default is the last 30 local days up to today
    now = pd.Timestamp("2026-11-20 10:00", tz="UTC")
    p = desk.metrics_period(runtime, None, None, now=now)
    assert p["until"] - p["since"] == pd.Timedelta(days=30) and p["since"] < now < p["until"]
    for since, until in (
        ("2026-10-08", "2026-10-01"),
        ("yesterday", None),
        ("2026-10-01T06:00", None),
    ):
        with pytest.raises(ValueError):
            desk.metrics_period(runtime, since, until)


# --- the page's callbacks through the real Flask and Dash server --------------------------------


WINDOWS = (1, 7, 30, 90)  # the page's rolling-window buttons


def _windows(clicked: int | None = None) -> list[dict]:
    """The rolling-window buttons as a pattern-matching input (``clicked``: the one pressed)."""
    return [
        {
            "id": {"type": ids.METRICS_WINDOW, "days": n},
            "property": "n_clicks",
            "value": 1 if n == clicked else None,
        }
        for n in WINDOWS
    ]


def _entry(x):
    return x if isinstance(x, list) else {"id": x[0], "property": x[1], "value": x[2]}


def _changed(x) -> str:
    if isinstance(x, list):  # the pressed button of a pattern-matching input
        hit = next(e for e in x if e["value"])
        return json.dumps(hit["id"], separators=(",", ":"), sort_keys=True) + ".n_clicks"
    return f"{x[0]}.{x[1]}"


def _dash_call(
    client, app, output: str, inputs: list[tuple[str, str, object]], state=(), changed=0
):
    key = next(k for k in app.callback_map if f"{output}." in k and "@" not in k)
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    body = {
        "output": key,
        "outputs": outs if key.startswith("..") else outs[0],
        "inputs": [_entry(x) for x in inputs],
        "changedPropIds": [_changed(inputs[changed])],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
    }
    return client.post("/_dash-update-component", json=body)


def test_the_page_for_a_past_period_through_the_server(runtime) -> None:
    from app import create_app

    last = seed_cases(runtime.cases, n=80, seed=11)
    runtime.settings.auth = True  # signed in: the policy's scope applies
    app = create_app(runtime=runtime)
    users = app.server.extensions["onegrid"].users
    county = runtime.db.query_one(
        "SELECT key, code, name_en FROM areas WHERE level = 'county' ORDER BY code LIMIT 1"
    )
    users.add("lead", TEST_PASSWORD, "county_leader", area=county[1])
    client = app.server.test_client()
    assert post_login(client, "lead", TEST_PASSWORD).status_code == 302
    resp = _dash_call(
        client,
        app,
        ids.METRICS_PERIOD,
        [
            (ids.URL, "search", "?since=2026-10-01&until=2026-10-15"),
            (ids.METRICS_PERIOD_PICKER, "start_date", None),
            (ids.METRICS_PERIOD_PICKER, "end_date", None),
            _windows(),
        ],
        [(ids.LANG, "data", "en")],
    )
    assert resp.status_code == 200, resp.data
    got = json.loads(resp.data)["response"]
    period = got[ids.METRICS_PERIOD]["data"]
    assert got[ids.METRICS_PERIOD_PICKER] == {"start_date": "2026-10-01", "end_date": "2026-10-14"}
    assert (period["since_text"], period["until_text"]) == ("2026-10-01", "2026-10-15")
    resp = _dash_call(
        client,
        app,
        ids.METRICS_HEAD,
        [
            (ids.METRICS_REFRESH, "n_intervals", 1),
            (ids.LANG, "data", "en"),
            (ids.METRICS_PERIOD, "data", period),
        ],
    )
    assert resp.status_code == 200, resp.data
    out = json.loads(resp.data)["response"]
    counties = out[ids.METRICS_COUNTY_GRID]["rowData"]
    assert [r["name"] for r in counties] == [county[2]]  # own county only
    scope = AreaScope("county", county[0])
    since, until = pd.Timestamp(period["since"]), pd.Timestamp(period["until"])
    want = indicators.value(runtime.db, "cases.opened", scope, since, until)
    head = json.dumps(out[ids.METRICS_HEAD]["children"])
    assert f'"{int(want)}", "id": "{ids.METRICS_TILE_PREFIX}cases"' in head
    # each tile carries the catalogue's definition as its hover title
    assert "Cases created in the period and dispatched" in head
    # a bound that cannot be read: said so, and the default period shown
    resp = _dash_call(
        client,
        app,
        ids.METRICS_PERIOD,
        [
            (ids.URL, "search", "?since=soon"),
            (ids.METRICS_PERIOD_PICKER, "start_date", None),
            (ids.METRICS_PERIOD_PICKER, "end_date", None),
            _windows(),
        ],
        [(ids.LANG, "data", "en")],
    )
    got = json.loads(resp.data)["response"]
    assert "soon" in got[ids.METRICS_MSG]["children"]
    # the picker's days: its last day is included, so the period ends the next local midnight
    resp = _dash_call(
        client,
        app,
        ids.METRICS_PERIOD,
        [
            (ids.URL, "search", "?since=2026-10-01&until=2026-10-15"),
            (ids.METRICS_PERIOD_PICKER, "start_date", "2026-10-03"),
            (ids.METRICS_PERIOD_PICKER, "end_date", "2026-10-09"),
            _windows(),
        ],
        [(ids.LANG, "data", "en")],
        changed=2,
    )
    period = json.loads(resp.data)["response"][ids.METRICS_PERIOD]["data"]
    assert (period["since_text"], period["until_text"]) == ("2026-10-03", "2026-10-10")
    assert pd.Timestamp(period["until"]) == local_midnight(
        pd.Timestamp("2026-10-10"), runtime.timezone
    )
    # a rolling window: the last 7 local days up to the reading (the seeded data's end)
    resp = _dash_call(
        client,
        app,
        ids.METRICS_PERIOD,
        [
            (ids.URL, "search", "?since=2026-10-01&until=2026-10-15"),
            (ids.METRICS_PERIOD_PICKER, "start_date", "2026-10-03"),
            (ids.METRICS_PERIOD_PICKER, "end_date", "2026-10-09"),
            _windows(7),
        ],
        [(ids.LANG, "data", "en")],
        changed=3,
    )
    assert resp.status_code == 200, resp.data
    period = json.loads(resp.data)["response"][ids.METRICS_PERIOD]["data"]
    since, until = pd.Timestamp(period["since"]), pd.Timestamp(period["until"])
    assert until - since == pd.Timedelta(days=7)
    assert since <= indicators.reading_time(runtime.db) < until
    assert last  # seeded
