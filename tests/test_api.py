"""The HTTP API through Flask's test client: push ingest, health, events, summaries."""

from __future__ import annotations

import pytest

from app import create_app
from tests.support.region import tiny_cell_center, tiny_cell_code
from tests.support.web import sign_in

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def client(runtime):
    app = create_app(runtime=runtime)
    client = app.server.test_client()
    sign_in(client, runtime)
    return client


def event(i: int, *, county=1, cell=(0, 0), **kw) -> dict:
    lon, lat = tiny_cell_center(county, *cell)
    return {
        "id": f"ev-{i}",
        "time": "2026-11-26T08:00:00+08:00",
        "lon": lon,
        "lat": lat,
        "category": "criminal",
        "severity": 3,
        "value": None,
        "text": "测试",
        "attributes": {"k": i},
    } | kw


def test_push_places_event_in_its_cell_and_reads_it_back(client):
    body = {"events": [event(1, county=2, cell=(1, 2))]}
    resp = client.post("/api/ingest/police", json=body, headers=AUTH)
    assert resp.status_code == 200
    assert resp.get_json() == {"accepted": 1, "duplicates": 0, "quarantined": 0, "errors": []}
    got = client.get("/api/events?source=police").get_json()["events"]
    assert [e["cell"] for e in got] == [tiny_cell_code(2, 1, 2)]
    assert got[0]["county"] == "T02" and got[0]["attributes"] == {"k": 1}
    assert got[0]["event_time"] == "2026-11-26T00:00:00+00:00"


def test_redelivered_event_counts_once(client):
    body = {"events": [event(1), event(1), event(2)]}
    first = client.post("/api/ingest/police", json=body, headers=AUTH).get_json()
    again = client.post("/api/ingest/police", json=body, headers=AUTH).get_json()
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    assert client.get("/api/events").get_json()["count"] == 2


def test_bad_records_go_to_quarantine_with_reasons(client, runtime):
    body = {
        "events": [
            event(1, category="no-such"),
            event(2, lon=0.0, lat=0.0),
            event(3, time="2026-11-26T08:00:00"),
            event(4, lon=10.0, lat=10.0),
            {"id": "x"},
            event(5),
        ]
    }
    got = client.post("/api/ingest/police", json=body, headers=AUTH).get_json()
    assert (got["accepted"], got["quarantined"]) == (1, 5)
    reasons = {e["index"]: e["reason"] for e in got["errors"]}
    assert "unknown category" in reasons[0]
    assert "(0, 0)" in reasons[1]
    assert "offset" in reasons[2]
    assert reasons[3] == "outside region"
    assert "time" in reasons[4] and "lon" in reasons[4]
    rows = runtime.db.query("SELECT source_event_id, reason, raw FROM quarantine ORDER BY id")
    assert len(rows) == 5
    assert all(r[2] for r in rows)  # the raw record is kept


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, {"events": []}, 401),
        ({"Authorization": "Bearer wrong"}, {"events": []}, 403),
        (AUTH, None, 400),
        (AUTH, {"no": "events"}, 400),
    ],
)
def test_bad_requests_get_clear_4xx(client, headers, body, status):
    data = b"{not json" if body is None else None
    kw = {"data": data, "content_type": "application/json"} if data else {"json": body}
    resp = client.post("/api/ingest/police", headers=headers, **kw)
    assert resp.status_code == status
    assert resp.get_json()["error"]


def test_unknown_source_and_too_large(client, runtime):
    assert client.post("/api/ingest/weather", json={"events": []}, headers=AUTH).status_code == 404
    big = {"events": [event(i) for i in range(runtime.settings.max_push_events + 1)]}
    assert client.post("/api/ingest/police", json=big, headers=AUTH).status_code == 413


def test_feed_health_and_area_summary(client):
    client.post("/api/ingest/police", json={"events": [event(1), event(2, county=2)]}, headers=AUTH)
    feeds = {f["source"]: f for f in client.get("/api/feeds").get_json()["feeds"]}
    assert feeds["police"]["accepted"] == 2 and not feeds["police"]["stale"]
    assert feeds["traffic"]["stale"]
    q = "since=2026-11-25T00:00:00%2B00:00&until=2026-11-27T00:00:00%2B00:00"
    s = client.get(f"/api/areas/T01/summary?{q}").get_json()
    assert s["counts"]["police"] == 1 and s["area"]["level"] == "county"
    s = client.get(f"/api/areas/T/summary?{q}").get_json()
    assert s["total"] == 2
    assert client.get("/api/areas/nope/summary").status_code == 404
    assert client.get("/api/events?limit=0").status_code == 400
    # a naive time could be read in either zone (a bare date is a local midnight: see below)
    assert client.get("/api/events?since=2026-01-01T08:00").status_code == 400
    assert client.get(f"/api/events?area={tiny_cell_code(1, 0, 0)}").get_json()["count"] == 1


@pytest.mark.parametrize("path", ["/api/events", "/api/cases", "/api/warnings"])
def test_bare_dates_are_local_midnights(client, path):
    """``since``/``until`` as bare dates: the region's local midnight (Asia/Shanghai), ``until``
    exclusive. 23:30 local on the 26th and 00:30 local on the 27th fall either side."""
    late = event(1, time="2026-11-26T23:30:00+08:00")
    early = event(2, time="2026-11-27T00:30:00+08:00")
    client.post("/api/ingest/police", json={"events": [late, early]}, headers=AUTH)
    for q in ("since=2026-11-27", "until=2026-11-27", "since=2026-11-26&until=2026-11-28"):
        assert client.get(f"{path}?{q}").status_code == 200, q
    if path == "/api/events":
        ids_of = lambda q: [e["id"] for e in client.get(f"{path}?{q}").get_json()["events"]]  # noqa: E731
        assert ids_of("since=2026-11-27") == ["ev-2"]
        assert ids_of("until=2026-11-27") == ["ev-1"]
        assert ids_of("since=2026-11-26&until=2026-11-28") == ["ev-2", "ev-1"]
        assert ids_of("since=2026-11-26&until=2026-11-26T23:45:00%2B08:00") == ["ev-1"]
    for bad in ("since=2026-02-30", "until=1969-12-31", "since=26-11-2026"):
        resp = client.get(f"{path}?{bad}")
        assert resp.status_code == 400 and resp.get_json()["error"].startswith(bad[:5]), bad
