"""The wall's data path without a browser: queries, view resolution, the map's value diffs, and a
real refresh request through Dash's HTTP endpoint (bytes on the wire)."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from app import create_app
from callbacks import wall as cb
from data import queries
from data import wallview as wv
from data.areas import AreaScope
from layouts import ids
from layouts.wall import parse_view, view_query
from tests.support.region import tiny_cell_center, tiny_cell_code

NOW = pd.Timestamp.now(tz="UTC").floor("min")


def frame(n: int, county: int, cell: tuple[int, int], *, minutes_ago: float = 5, severity=3):
    lon, lat = tiny_cell_center(county, *cell)
    return pd.DataFrame(
        {
            "id": [f"{county}-{cell}-{minutes_ago}-{i}" for i in range(n)],
            "time": [NOW - pd.Timedelta(minutes=minutes_ago)] * n,
            "lon": [lon] * n,
            "lat": [lat] * n,
            "category": ["criminal"] * n,
            "severity": [severity] * n,
        }
    )


def key(runtime, code: str) -> int:
    return int(runtime.db.query_one("SELECT key FROM areas WHERE code = ?", [code])[0])


def renewed(runtime, view: dict) -> None:
    """Wait until the view's shared state holds every committed batch (renewed in the
    background within one refresh period)."""
    import time

    deadline = time.monotonic() + runtime.settings.refresh_ms / 1000
    while runtime.wall.state(view, runtime.scope).version != runtime.wall.version:
        assert time.monotonic() < deadline, "the view was not renewed within one refresh"
        time.sleep(0.02)


@pytest.fixture
def app(runtime):
    return create_app(runtime=runtime)


def test_area_values_per_level_and_window(runtime):
    runtime.pipeline.ingest_frame("police", frame(3, 1, (0, 0)))
    runtime.pipeline.ingest_frame("police", frame(2, 2, (1, 1), minutes_ago=60 * 30))
    city = runtime.scope
    grid = queries.area_values(runtime.db, city, level="grid", since=NOW - pd.Timedelta(hours=1))
    assert dict(zip(grid["key"], grid["n"], strict=True)) == {
        key(runtime, tiny_cell_code(1, 0, 0)): 3
    }
    week = queries.area_values(runtime.db, city, level="county", since=NOW - pd.Timedelta(days=7))
    assert dict(zip(week["key"], week["n"], strict=True)) == {
        key(runtime, "T01"): 3,
        key(runtime, "T02"): 2,
    }
    county2 = AreaScope("county", key(runtime, "T02"))
    only2 = queries.area_values(runtime.db, county2, level="grid", since=NOW - pd.Timedelta(days=7))
    assert only2["n"].sum() == 2
    traffic = queries.area_values(
        runtime.db, city, level="grid", since=NOW - pd.Timedelta(days=7), source="traffic"
    )
    assert traffic.empty


def test_risk_index_reads_100_when_usual_and_more_when_busier(runtime):
    # a week of one event a day in two cells, then a busy last hour in one of them
    for d in range(1, 8):
        runtime.pipeline.ingest_frame("police", frame(1, 1, (0, 0), minutes_ago=d * 1440 + 90))
        runtime.pipeline.ingest_frame("police", frame(1, 1, (1, 0), minutes_ago=d * 1440 + 90))
    runtime.pipeline.ingest_frame("police", frame(5, 1, (0, 0), minutes_ago=10, severity=5))
    risk = queries.risk_values(
        runtime.db, runtime.scope, level="grid", now=NOW, window=pd.Timedelta(hours=24)
    ).set_index("key")["n"]
    assert len(risk) == 32
    assert risk[key(runtime, tiny_cell_code(1, 0, 0))] > 300
    assert risk[key(runtime, tiny_cell_code(2, 3, 3))] == 100
    assert risk[key(runtime, tiny_cell_code(1, 1, 0))] < 100


def test_kpi_counts_and_ticker(runtime):
    runtime.pipeline.ingest_frame("police", frame(4, 1, (0, 0), severity=2))
    runtime.pipeline.ingest_frame("police", frame(1, 2, (0, 0), minutes_ago=3, severity=5))
    got = queries.counts_by_source_between(
        runtime.db, runtime.scope, NOW - pd.Timedelta(hours=1), NOW
    )
    assert got["police"] == 5 and got["traffic"] == 0
    ticker = queries.significant_events(
        runtime.db, runtime.scope, since=NOW - pd.Timedelta(hours=1)
    )
    assert [(e["severity"], e["cell"]) for e in ticker] == [(5, tiny_cell_code(2, 0, 0))]
    county1 = AreaScope("county", key(runtime, "T01"))
    assert queries.significant_events(runtime.db, county1, since=NOW - pd.Timedelta(hours=1)) == []


def test_area_lineage_and_scope(runtime):
    cell = key(runtime, tiny_cell_code(2, 1, 1))
    got = queries.area_lineage(runtime.db, runtime.scope, cell)
    assert got == {
        "level": "grid",
        "code": tiny_cell_code(2, 1, 1),
        "county": "T02",
        "township": "T02001",
    }
    county1 = AreaScope("county", key(runtime, "T01"))
    assert queries.area_lineage(runtime.db, county1, cell) is None


def test_url_view_round_trip_and_defaults():
    view = parse_view({"county": "T02", "level": "grid", "metric": "traffic", "window": "1h"})
    assert view_query(view, "en") == "?county=T02&level=grid&metric=traffic&window=1h&lang=en"
    bad = parse_view({"metric": "x", "window": "5y", "level": "planet", "tour": "-4"})
    assert (bad["metric"], bad["window"], bad["level"], bad["tour"]) == ("all", "24h", None, 0)


def test_resolve_view_checks_codes_and_picks_levels(runtime):
    city = runtime.scope
    r = wv.resolve_view(runtime.db, {"county": "T02"}, city)
    assert (r["scope"].level, r["level"]) == ("county", "township")
    r = wv.resolve_view(runtime.db, {"county": "T02", "township": "T01001"}, city)  # not in T02
    assert (r["scope"].level, r["level"]) == ("county", "township")
    r = wv.resolve_view(runtime.db, {"county": "NOPE", "level": "township"}, city)
    assert (r["scope"].level, r["level"]) == ("city", "township")
    r = wv.resolve_view(
        runtime.db, {"county": "T01", "township": "T01001", "cell": tiny_cell_code(1, 0, 0)}, city
    )
    assert r["cell"]["code"] == tiny_cell_code(1, 0, 0)
    assert [p["code"] for p in r["path"]] == ["T", "T01", "T01001"]


def test_build_map_sends_geometry_by_url_only(runtime):
    runtime.pipeline.ingest_frame("police", frame(2, 1, (0, 0)))
    built = cb.build_map(runtime.wall.state({}, runtime.scope), "en")
    data = built["figure"].to_plotly_json()["data"]
    assert data[0]["geojson"] == "/geo/grid.json"
    assert data[1]["geojson"] == "/geo/county.json"  # county boundaries on top
    assert len(data[0]["locations"]) == 32 and sum(data[0]["z"]) == 2
    assert sorted(lbl["n"] for lbl in built["labels"]["labels"]) == ["District 1", "District 2"]
    assert "coordinates" not in json.dumps(built["figure"].to_plotly_json())  # no geometry


def test_value_diff_is_small_and_exact():
    rng = np.random.default_rng(1)
    prev = rng.integers(0, 50, 5000)
    cur = prev.copy()
    changed = rng.choice(5000, 40, replace=False)
    cur[changed] += 1
    diff = wv.value_diff("s", prev.tolist(), cur)
    assert sorted(diff["i"]) == sorted(changed.tolist())
    assert diff["base"] == wv.checksum(prev)
    applied = prev.copy()
    applied[diff["i"]] = diff["v"]
    assert (applied == cur).all()
    assert len(json.dumps(diff, separators=(",", ":"))) < 30 * 40 + 2048
    assert wv.value_diff("s", cur.tolist(), cur) is None
    assert "z" in wv.value_diff("s", prev.tolist(), prev + 1)  # most changed: whole array


def test_geometry_route_is_cached_and_compact(app, runtime):
    client = app.server.test_client()
    resp = client.get("/geo/grid.json")
    assert resp.status_code == 200 and "max-age" in resp.headers["Cache-Control"]
    doc = json.loads(resp.data)
    assert sorted(f["id"] for f in doc["features"]) == sorted(runtime.cell_keys)
    assert client.get("/geo/nothing.json").status_code == 404


def test_refresh_over_http_sends_only_changed_cells(app, runtime):
    """A real refresh through /_dash-update-component: a stale store gets back only the diff of
    the map (never the figure again), and the parts whose signature did not move stay out."""
    client = app.server.test_client()
    runtime.wall.coalesce_s = 0  # every batch seen at once (the sharing is tested below)
    runtime.pipeline.ingest_frame("police", frame(2, 1, (0, 0)))
    renewed(runtime, parse_view({}))
    built = cb.build_map(runtime.wall.state(parse_view({}), runtime.scope), "zh")
    store = built["store"]
    first = client.post(
        "/_dash-update-component", json=cb.refresh_request_body(store, parse_view({}), n=3)
    )
    shown = first.get_json()["response"][ids.WALL_SHOWN]["data"]
    runtime.pipeline.ingest_frame("police", frame(3, 2, (3, 3), minutes_ago=1))
    renewed(runtime, parse_view({}))
    resp = client.post(
        "/_dash-update-component",
        json=cb.refresh_request_body(store, parse_view({}), n=4, shown=shown),
    )
    assert resp.status_code == 200
    body = resp.get_json()["response"]
    assert ids.CELL_MAP not in body and ids.MAP_Z not in body  # no figure, no geometry
    assert ids.BREADCRUMB not in body and ids.WARNINGS_BODY not in body  # unchanged parts
    diff = body[ids.MAP_DIFF]["data"]
    idx = built["figure"].data[0].locations.index(key(runtime, tiny_cell_code(2, 3, 3)))
    assert (diff["i"], diff["v"]) == ([idx], [3])
    shown = body[ids.WALL_SHOWN]["data"]
    assert len(resp.data) < 4096  # the diff, the KPI texts and the new signatures
    # one part out of date (the ticker): only it comes back, the KPI tiles stay as they are
    store["z"][idx] = 3
    resp = client.post(
        "/_dash-update-component",
        json=cb.refresh_request_body(store, parse_view({}), n=5, shown=dict(shown, ticker="old")),
    )
    assert resp.status_code == 200, resp.data[:500]
    body = resp.get_json()["response"]
    assert set(body) == {ids.TICKER, ids.WALL_SHOWN}
    # nothing changed since: no body at all
    again = client.post(
        "/_dash-update-component",
        json=cb.refresh_request_body(store, parse_view({}), n=5, shown=shown),
    )
    assert again.status_code == 204


def test_two_viewers_of_one_view_share_one_computation(app, runtime):
    """Two signed-in screens on the same view: one computation serves both; a new batch gives
    both a new version within one refresh period; another view is computed apart."""
    import time

    from tests.support.web import sign_in

    a, b = app.server.test_client(), app.server.test_client()
    sign_in(a, runtime, "wall1", "wall")
    runtime.users.add("wall2", "correct-horse-battery", "wall")
    from tests.support.web import post_login

    assert post_login(b, "wall2", "correct-horse-battery").status_code == 302
    view = parse_view({"county": "T02"})
    body = cb.refresh_request_body(None, view, n=1)
    before = runtime.wall.computations
    assert a.post("/_dash-update-component", json=body).status_code == 200
    assert b.post("/_dash-update-component", json=body).status_code == 200
    assert runtime.wall.computations == before + 1
    first = runtime.wall.state(view, runtime.scope)
    assert runtime.wall.computations == before + 1  # the same state again
    # a new batch: within one refresh period both screens see a new version (renewed in the
    # background: a screen is served the last state at once while one computation renews it)
    batch = frame(2, 2, (0, 0), minutes_ago=1)
    # stamped now, not at the module's import: "today" on the tile starts at local midnight,
    # which a long test run may cross (it did: 00:01 in the region's zone)
    batch["time"] = pd.Timestamp.now(tz="UTC")
    runtime.pipeline.ingest_frame("police", batch)
    deadline = time.monotonic() + runtime.settings.refresh_ms / 1000
    while runtime.wall.state(view, runtime.scope).version == first.version:
        assert time.monotonic() < deadline, "no new version within one refresh period"
        time.sleep(0.05)
    resp = a.post("/_dash-update-component", json=cb.refresh_request_body(None, view, n=2))
    assert resp.status_code == 200
    second = runtime.wall.state(view, runtime.scope)
    assert second.version > first.version and second is not first
    assert runtime.wall.computations == before + 2
    got = resp.get_json()["response"]
    police = got[json.dumps({"source": "police", "type": ids.KPI_VALUE}, separators=(",", ":"))]
    assert police["children"][0] == "2"
    assert b.post("/_dash-update-component", json=cb.refresh_request_body(None, view, n=2))
    assert runtime.wall.computations == before + 2  # the second screen shares it
    runtime.wall.state(parse_view({"county": "T01"}), runtime.scope)
    assert runtime.wall.computations == before + 3  # another view: its own computation


def test_concurrent_viewers_wait_for_one_computation(runtime):
    """Viewers arriving while a view is computed wait for it (single flight)."""
    import threading

    view = parse_view({})
    states, start = [], threading.Barrier(8)

    def look():
        start.wait()
        states.append(runtime.wall.state(view, runtime.scope))

    before = runtime.wall.computations
    threads = [threading.Thread(target=look) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert runtime.wall.computations == before + 1
    assert all(s is states[0] for s in states)


def test_the_response_panel_is_read_once_for_concurrent_screens(runtime, monkeypatch):
    """The response metrics (a month of cases) are computed once when eight screens ask at the
    same moment, and once again after they expire, while the screens get the value before."""
    import threading

    from data.cases import metrics

    calls = []
    real = metrics.wall

    def counted(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(metrics, "wall", counted)
    view = parse_view({})

    def together():
        got, start = [], threading.Barrier(8)

        def look():
            start.wait()
            got.append(runtime.wall.response(view, runtime.scope))

        threads = [threading.Thread(target=look) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return got

    first = together()
    assert len(calls) == 1 and all(v is first[0] for v in first)
    monkeypatch.setattr(wv, "RESPONSE_TTL_S", 0.0)  # expired: renewed once, in the background
    second = together()
    # every screen got the value before at once (none waits for the renewal on its tick)
    assert all(v is first[0] for v in second)
    deadline = time.monotonic() + 10
    while runtime.wall._response_running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == 2
    monkeypatch.setattr(wv, "RESPONSE_TTL_S", 60.0)
    third = runtime.wall.response(view, runtime.scope)
    assert third is not first[0] and len(calls) == 2  # the renewed value, shared


def test_one_request_per_tick(app):
    """A wall tick is one server callback: every live part answers from it (the response panel
    keeps its own slow timer)."""
    live = (ids.CELL_MAP, ids.KPI_VALUE, ids.TICKER, ids.BREADCRUMB, ids.WARNINGS_BODY)
    per_refresh = [
        k
        for k, v in app.callback_map.items()
        if any(i["id"] == ids.REFRESH for i in v["inputs"])
        and any(f"{x}." in k or f'"{x}"' in k for x in live)
    ]
    assert len(per_refresh) == 1, per_refresh
    assert all(f"{x}." in per_refresh[0] or f'"{x}"' in per_refresh[0] for x in live)


def test_the_drill_down_exports_the_events_it_lists(app, runtime):
    """A cell's drill-down panel carries CSV and Excel links to the read API's file of exactly
    the events it lists (the cell, the last 7 days)."""
    import csv
    import io
    from urllib.parse import parse_qs, urlsplit

    client = app.server.test_client()
    runtime.pipeline.ingest_frame("police", frame(3, 1, (0, 0)))
    runtime.pipeline.ingest_frame("police", frame(2, 1, (0, 0), minutes_ago=60 * 24 * 8))  # older
    runtime.pipeline.ingest_frame("police", frame(4, 1, (1, 1)))  # another cell
    view = parse_view({"county": "T01", "township": "T01001", "cell": tiny_cell_code(1, 0, 0)})
    renewed(runtime, view)
    resp = client.post("/_dash-update-component", json=cb.refresh_request_body(None, view, n=2))
    assert resp.status_code == 200, resp.data[:300]
    body = resp.get_json()["response"]
    assert len(body[ids.CELL_EVENTS]["rowData"]) == 3
    title = body[ids.CELL_TITLE]["children"]
    links = [a["props"]["href"] for a in title[1]["props"]["children"]]
    assert [parse_qs(urlsplit(h).query)["format"] for h in links] == [["csv"], ["xlsx"]]
    assert parse_qs(urlsplit(links[0]).query)["area"] == [tiny_cell_code(1, 0, 0)]
    got = client.get(links[0])
    assert got.status_code == 200, got.data[:300]
    rows = list(csv.DictReader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert sorted(r["id"] for r in rows) == [f"1-(0, 0)-5-{i}" for i in range(3)]
    assert {r["cell"] for r in rows} == {tiny_cell_code(1, 0, 0)}
