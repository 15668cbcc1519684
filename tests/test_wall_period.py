"""The wall on a past period and its replay (issue 10 items 2 and 3): the map, KPI tiles, ticker,
warnings and cases of a period, as they stood at the replay's slider time, against counts made
independently of the wall's code; the period in the URL; the period through a real refresh."""

from __future__ import annotations

import pandas as pd
import pytest

from app import create_app
from callbacks import wall as cb
from data import wallhistory
from data.areas import AreaScope
from data.warnings import WarningEngine
from data.warnings.actions import acknowledge, clear
from layouts.wall import parse_view, view_query
from tests.support.region import tiny_cell_center, tiny_cell_code
from tests.support.warnings import rules

# a past day (UTC midnight to midnight), far from today so no live window reaches it
DAY = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=20)
SINCE, UNTIL = DAY, DAY + pd.Timedelta(days=1)
VIEW = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}


def events(n: int, cell: tuple[int, int, int], at: pd.Timestamp, source_id: str, severity=4):
    lon, lat = tiny_cell_center(*cell)
    return pd.DataFrame(
        {
            "id": [f"{source_id}-{i}" for i in range(n)],
            "time": [at] * n,
            "lon": [lon] * n,
            "lat": [lat] * n,
            "category": ["traffic"] * n,
            "severity": [severity] * n,
        }
    )


def key(rt, code: str) -> int:
    return int(rt.db.query_one("SELECT key FROM areas WHERE code = ?", [code])[0])


@pytest.fixture
def past_day(runtime):
    """Events before, inside (at 02:00, 09:00 and 20:00) and after the past day, and today."""
    batches = [
        (4, (1, 0, 0), SINCE - pd.Timedelta(hours=2), "before"),
        (3, (1, 0, 0), SINCE + pd.Timedelta(hours=2), "early"),
        (5, (2, 1, 1), SINCE + pd.Timedelta(hours=9), "mid"),
        (2, (1, 0, 0), SINCE + pd.Timedelta(hours=20), "late"),
        (6, (2, 1, 1), UNTIL + pd.Timedelta(hours=1), "after"),
        (7, (1, 0, 0), pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=10), "today"),
    ]
    frames = [events(*b) for b in batches]
    for f in frames:
        res = runtime.pipeline.ingest_frame("police", f)
        assert res.accepted == len(f), res.errors
    return pd.concat(frames, ignore_index=True)


def independent_counts(frame: pd.DataFrame, since, until) -> dict[str, int]:
    """Events per cell code in [since, until), counted from the ingested frames (not the store)."""
    inside = frame[(frame["time"] >= since) & (frame["time"] < until)]
    codes = {
        tiny_cell_center(c, i, j): tiny_cell_code(c, i, j)
        for c in (1, 2)
        for i in (0, 1)
        for j in (0, 1)
    }
    out: dict[str, int] = {}
    for (lon, lat), n in inside.groupby(["lon", "lat"]).size().items():
        out[codes[(lon, lat)]] = out.get(codes[(lon, lat)], 0) + int(n)
    return out


def shown(rt, state) -> dict[str, int]:
    codes = {a["key"]: a["code"] for a in state.frame.areas}
    return {codes[k]: int(v) for k, v in zip(state.frame.keys, state.z, strict=True) if v}


def test_a_past_period_shows_its_own_events_on_the_map_and_the_tiles(runtime, past_day):
    st = runtime.wall.state(dict(VIEW, level="grid"), runtime.scope, fresh=True)
    assert st.view["period"] is not None and st.view["period_error"] is None
    expected = independent_counts(past_day, SINCE, UNTIL)
    assert expected == {tiny_cell_code(1, 0, 0): 5, tiny_cell_code(2, 1, 1): 5}
    assert shown(runtime, st) == expected
    assert st.kpis["police"]["today"] == 10 and st.kpis["police"]["period"]
    # the ticker holds the period's significant events only (not today's, not the next day's)
    ids = {e["id"].split("-")[0] for e in st.ticker_events}
    assert ids <= {"early", "mid", "late"} and "late" in ids
    # the live wall on the same store shows today's events, not the period's
    live = runtime.wall.state({"level": "grid"}, runtime.scope, fresh=True)
    assert shown(runtime, live) == {tiny_cell_code(1, 0, 0): 7}


def test_the_slider_shows_the_period_as_it_was_at_its_time(runtime, past_day):
    # a day steps by five minutes: 288 steps; step 144 is 12:00
    st = runtime.wall.state(dict(VIEW, level="grid", at="144"), runtime.scope, fresh=True)
    period = st.view["period"]
    assert period["steps"] == 288 and period["at"] == SINCE + pd.Timedelta(hours=12)
    assert shown(runtime, st) == independent_counts(past_day, SINCE, period["at"])
    assert st.kpis["police"]["today"] == 8
    assert {e["id"].split("-")[0] for e in st.ticker_events} == {"early", "mid"}
    at_start = runtime.wall.state(dict(VIEW, level="grid", at="0"), runtime.scope, fresh=True)
    assert shown(runtime, at_start) == {} and at_start.kpis["police"]["today"] == 0


def test_a_period_that_cannot_be_read_falls_back_to_live_with_its_reason(runtime):
    for view, reason in (
        ({"since": "2026-13-01", "until": "2026-13-02"}, "not a date"),
        ({"since": SINCE.isoformat(), "until": SINCE.isoformat()}, "must be after"),
        ({"since": "2999-01-01", "until": "2999-01-02"}, "future"),
        ({"since": SINCE.isoformat()}, "both since and until"),
        ({"since": "2026-01-01T08:00", "until": "2026-01-02"}, "UTC offset"),
    ):
        resolved = runtime.wall.resolve(view, runtime.scope)
        assert resolved["period"] is None and reason in resolved["period_error"], view


def test_bare_dates_are_local_midnights_and_the_url_keeps_the_period(runtime):
    view = parse_view({"since": "2026-11-02", "until": "2026-11-09", "at": "5"})
    assert (view["since"], view["until"], view["at"]) == ("2026-11-02", "2026-11-09", "5")
    resolved = runtime.wall.resolve(view, runtime.scope)
    local = pd.Timestamp("2026-11-02").tz_localize(runtime.timezone).tz_convert("UTC")
    assert resolved["period"]["since"] == local
    assert resolved["period"]["step"] == pd.Timedelta(hours=1)  # a week steps by the hour
    assert resolved["period"]["at"] == local + pd.Timedelta(hours=5)
    assert "since=2026-11-02&until=2026-11-09&at=5" in view_query(view)
    # a time names the slider position it falls in (rounded down to its step)
    noon = runtime.wall.resolve(dict(view, at="2026-11-02T12:30:00+00:00"), runtime.scope)
    assert noon["period"]["at"] == pd.Timestamp("2026-11-02T12:00:00Z")
    assert parse_view({"since": "", "until": None})["since"] is None


def test_replay_shows_warnings_raised_by_then_and_not_yet_cleared(runtime):
    """A warning raised at 10:00 and cleared at 11:00, another raised at 13:00: at 10:30 the
    first (red, as raised), at 12:00 none, at 14:00 the second."""
    engine = WarningEngine(runtime.db, rules(["acc"]), stale_after=300.0)
    runtime.warnings = engine
    t1, t2 = SINCE + pd.Timedelta(hours=10), SINCE + pd.Timedelta(hours=13)
    for i, (cell, at) in enumerate((((1, 0, 0), t1), ((2, 1, 1), t2))):
        lon, lat = tiny_cell_center(*cell)
        f = events(14, cell, at - pd.Timedelta(minutes=5), f"w{i}")
        runtime.pipeline.ingest_frame("police", f, now=at)
        engine.evaluate(at)
        engine.evaluate(at + pd.Timedelta(seconds=30))
    w = runtime.db.query_df("SELECT id, cell_key, raised_at FROM warnings ORDER BY raised_at")
    assert len(w) == 2
    first, second = int(w["id"][0]), int(w["id"][1])
    acknowledge(runtime.db, first, "duty", "seen", now=t1 + pd.Timedelta(minutes=40))
    clear(runtime.db, first, "duty", "handled", now=t1 + pd.Timedelta(hours=1))
    scope = runtime.scope

    def active(at):
        return {r["id"]: r for r in wallhistory.warnings_at(runtime.db, scope, at)["newest"]}

    at_1030 = active(t1 + pd.Timedelta(minutes=30))
    assert set(at_1030) == {first} and at_1030[first]["state"] == "raised"
    assert at_1030[first]["level"] == "red"
    assert active(t1 + pd.Timedelta(minutes=30))[first]["state"] == "raised"
    assert active(t1 + pd.Timedelta(minutes=50))[first]["state"] == "acknowledged"
    assert active(SINCE + pd.Timedelta(hours=12)) == {}
    assert set(active(t2 + pd.Timedelta(hours=1))) == {second}
    # the same through the wall: slider at 10:30 (step 126) marks the first warning's cell
    st = runtime.wall.state(dict(VIEW, at="126"), scope, fresh=True)
    assert st.warnings["counts"]["total"] == 1
    assert [m["key"] for m in st.warnings["marks"]] == [key(runtime, tiny_cell_code(1, 0, 0))]
    assert [x["id"] for x in st.ticker_warnings] == [first]
    # the live wall: the first is cleared, the second still active
    live = runtime.wall.state({}, scope, fresh=True)
    assert [x["id"] for x in live.warnings["newest"]] == [second]


def test_a_case_has_the_state_it_had_at_the_time_shown(runtime):
    svc = runtime.cases
    cell = key(runtime, tiny_cell_code(1, 0, 0))
    created, closed = SINCE + pd.Timedelta(hours=8), SINCE + pd.Timedelta(hours=15)
    cid = svc.create("hotline.noise", area_key=cell, dispatch=False, now=created)
    svc.close(cid, "done", actor="duty", now=closed)
    county = AreaScope("county", key(runtime, "T01"))

    def at(hours):
        df = wallhistory.cases_at(runtime.db, county, SINCE + pd.Timedelta(hours=hours))
        return df.set_index("id").to_dict("index").get(cid)

    assert at(7) is None  # not yet created
    noon = at(12)
    assert noon["state_then"] == "registered" and noon["open_then"] and pd.isna(noon["closed_at"])
    evening = at(16)
    assert evening["state_then"] == "closed" and not evening["open_then"]
    assert svc.get(cid)["state"] == "closed"


def test_a_case_open_at_the_moment_shown_is_overdue_only_against_that_moment(runtime):
    svc = runtime.cases
    cell = key(runtime, tiny_cell_code(1, 0, 0))
    created = SINCE + pd.Timedelta(hours=1)
    cid = svc.create("hotline.noise", area_key=cell, dispatch=False, now=created)
    deadline = SINCE + pd.Timedelta(hours=6)
    runtime.db.execute_write(  # a publisher's deadline (as an imported history gives)
        "UPDATE cases SET deadline_at = ?, dispatched_at = ? WHERE id = ?",
        [deadline.to_pydatetime(), created.to_pydatetime(), cid],
    )
    scope = runtime.scope
    before = wallhistory.response_at(runtime.db, scope, SINCE + pd.Timedelta(hours=5))
    after = wallhistory.response_at(runtime.db, scope, SINCE + pd.Timedelta(hours=7))
    assert before["open_overdue"] == 0 and after["open_overdue"] == 1
    assert list(after["worst"]["id"]) == [cid]
    assert after["worst"]["overdue_h"].iloc[0] == pytest.approx(1.0)
    svc.close(cid, "done", actor="duty", now=SINCE + pd.Timedelta(hours=10))
    # closed later: still open and overdue at 07:00, closed late at 11:00
    again = wallhistory.response_at(runtime.db, scope, SINCE + pd.Timedelta(hours=7))
    assert again["open_overdue"] == 1
    late = wallhistory.response_at(runtime.db, scope, SINCE + pd.Timedelta(hours=11))
    assert late["open_overdue"] == 0 and late["closed"] == 1 and late["on_time_rate"] == 0.0


def test_a_period_through_a_real_refresh_request(runtime, past_day):
    app = create_app(runtime=runtime)
    client = app.server.test_client()
    view = dict(parse_view({}), since=SINCE.isoformat(), until=UNTIL.isoformat(), level="grid")
    body = cb.refresh_request_body(None, view, "en", catalogue=runtime.catalogue)
    body["changedPropIds"] = ["view.data"]
    r = client.post("/_dash-update-component", json=body)
    assert r.status_code == 200, r.text[:400]
    resp = r.get_json()["response"]
    z = resp["map-z"]["data"]["z"]
    assert sum(z) == 10
    assert "review at" in str(resp["subtitle"]["children"])


def test_a_replay_step_sends_the_changed_cells_not_the_figure(runtime, past_day):
    app = create_app(runtime=runtime)
    client = app.server.test_client()
    view = dict(parse_view({}), since=SINCE.isoformat(), until=UNTIL.isoformat(), level="grid")
    body = cb.refresh_request_body(None, dict(view, at="0"), "en", catalogue=runtime.catalogue)
    body["changedPropIds"] = ["view.data"]
    first = client.post("/_dash-update-component", json=body).get_json()["response"]
    assert "cell-map" in first and sum(first["map-z"]["data"]["z"]) == 0
    store, shown = first["map-z"]["data"], first["wall-shown"]["data"]
    # the slider moved to 12:00: the same map, its values as they were then
    body = cb.refresh_request_body(
        store, dict(view, at="144"), "en", n=2, shown=shown, catalogue=runtime.catalogue
    )
    body["changedPropIds"] = ["view.data"]
    step = client.post("/_dash-update-component", json=body).get_json()["response"]
    assert "cell-map" not in step  # the figure does not travel again
    diff = step["map-diff"]["data"]
    z = list(store["z"])
    if "z" in diff:
        z = diff["z"]
    else:
        for i, v in zip(diff["i"], diff["v"], strict=True):
            z[i] = v
    assert sum(z) == 8  # 3 at 02:00 and 5 at 09:00
    assert "review at" in str(step["subtitle"]["children"])
    assert "legend" in step  # it names the moment shown
    # another view (the live wall) is sent whole again
    body = cb.refresh_request_body(
        store,
        dict(view, since=None, until=None, at=None),
        "en",
        n=3,
        shown=step["wall-shown"]["data"],
        catalogue=runtime.catalogue,
    )
    body["changedPropIds"] = ["view.data"]
    live = client.post("/_dash-update-component", json=body).get_json()["response"]
    assert "cell-map" in live
