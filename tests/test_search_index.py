"""The search's fast paths (data/search.py, migration 18 in data/schema.py) on a real store: the
events' lower-cased search column and id digest as ingest fills them and as the migration fills
them for a store written before they existed (Chinese text, mixed case, attributes), an id found
by its digest, a text that matches nothing, a text holding the column's separator, and archived
days."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

import pandas as pd
import pytest

from app import create_app
from data import schema, search
from data.auth import User
from data.runtime import Runtime
from tests.support.archive import ingest_history
from tests.support.region import tiny_cell_center
from tests.support.warnings import T0, minutes
from tests.support.web import sign_in

AUTH = {"Authorization": "Bearer test-token"}

EVENTS = [
    # id, source, category, text, attributes, minutes before T0
    ("p-1", "police", "criminal", "盗窃电动车", {"Address": "胜利路12号", "Floor": "B2"}, 5),
    ("h-1", "hotline", "heating", "Heating OFF since Monday", None, 20),
    ("h-2", "hotline", "noise", "第一行\n第二行", None, 30),
    ("x-Upper9", "police", "other", "ends with abc", {"k": 1}, 40),
]


def _ingest(client) -> None:
    for ident, source, cat, text, attrs, before in EVENTS:
        lon, lat = tiny_cell_center(1, 1, 1)
        rec = {
            "id": ident,
            "time": (T0 - minutes(before)).isoformat(),
            "lon": lon,
            "lat": lat,
            "category": cat,
            "text": text,
            "attributes": attrs or {},
        }
        resp = client.post(f"/api/ingest/{source}", json={"events": [rec]}, headers=AUTH)
        assert resp.get_json()["accepted"] == 1, resp.get_json()


@pytest.fixture
def client(runtime):
    client = create_app(runtime=runtime).server.test_client()
    sign_in(client, runtime, "ana", role="analyst")
    _ingest(client)
    return client


def ids(client, q: str, **more) -> list:
    resp = client.get("/api/events?" + urlencode({"q": q, **more}))
    assert resp.status_code == 200, resp.get_json()
    return [r["id"] for r in resp.get_json()["events"]]


def _stored(db) -> dict[str, tuple]:
    rows = db.query("SELECT source_event_id, text, CAST(attributes AS VARCHAR), search FROM events")
    return {r[0]: r[1:] for r in rows}


def _expected_search(text: str | None, attributes: str | None) -> str:
    """The search text as data/schema.py defines it, computed in Python."""
    return "\n".join(p for p in (text, attributes) if p is not None).lower()


def test_ingest_fills_the_search_column(client, runtime):
    stored = _stored(runtime.db)
    for ident, (text, attributes, got) in stored.items():
        assert got == _expected_search(text, attributes), ident
    text, attributes, got = stored["p-1"]
    # Chinese as it is, the attributes' keys and values lower-cased after a line feed
    assert got.startswith("盗窃电动车\n{") and '"address"' in got and "胜利路12号" in got
    assert '"floor": "b2"' in got.replace('":"', '": "')
    # an event sent without attributes stores them as {}
    assert stored["h-1"][2] == "heating off since monday\n{}"
    assert stored["h-2"][2] == "第一行\n第二行\n{}"


def test_texts_are_found_in_the_column(client):
    assert ids(client, "电动车") == ["p-1"]
    assert ids(client, "heating OFF") == ["h-1"]
    assert ids(client, "胜利路") == ["p-1"]  # the attributes
    assert ids(client, "FLOOR") == ["p-1"]  # an attribute's key, other case


def test_an_id_is_looked_up_by_its_digest(client, runtime):
    # every stored event carries its id's digest, as the schema defines it
    digests = runtime.db.query(
        f"SELECT source_event_id, id_hash, {schema.EVENT_ID_HASH_SQL} FROM events"
    )
    assert len(digests) == len(EVENTS)
    assert all(d is not None and d == expected for _, d, expected in digests)
    # an MD5, so a stored digest stays valid in another DuckDB version: md5_number_lower is the
    # digest's bytes 8 to 16 read little-endian; its top 31 bits are kept
    low = int.from_bytes(hashlib.md5(b"x-Upper9").digest()[8:], "little")
    assert dict((i, d) for i, d, _ in digests)["x-Upper9"] == low >> 33
    # an id as typed (its case kept) and lower-cased
    assert ids(client, "x-Upper9") == ["x-Upper9"]
    assert ids(client, "X-UPPER9") == []  # an id is matched exactly, in its case or lower case
    assert ids(client, "h-1") == ["h-1"]
    # the page's answer: the row and its counts
    f = search.reader_filters(runtime.db, User("a", "analyst"), runtime.scope, "event")
    res = search.results(
        runtime.db, "events", f, search.Text.of("x-Upper9"), timezone=runtime.timezone
    )
    assert [r["id"] for r in res["rows"]] == ["x-Upper9"] and res["total"] == 1
    assert res["facets"]["source"] == {"police": 1}
    # an id and a text holding it: both found
    lon, lat = tiny_cell_center(2, 0, 0)
    rec = {"id": "z-2", "time": T0.isoformat(), "lon": lon, "lat": lat, "category": "other"}
    client.post("/api/ingest/police", json={"events": [rec | {"text": "see h-1"}]}, headers=AUTH)
    assert ids(client, "h-1") == ["z-2", "h-1"]
    assert ids(client, "h-1", limit=1) == ["z-2"]
    # an id's event newer than the text's matches fills a page of one; the reader's filters
    # (area, period, source) apply to it as to the others
    rec = {"id": "m-1", "time": (T0 - minutes(50)).isoformat(), "lon": lon, "lat": lat}
    rec |= {"category": "other", "text": "about x-upper9"}
    client.post("/api/ingest/police", json={"events": [rec]}, headers=AUTH)
    assert ids(client, "x-Upper9") == ["x-Upper9", "m-1"]
    assert ids(client, "x-Upper9", limit=1) == ["x-Upper9"]
    assert ids(client, "x-Upper9", area="T02") == ["m-1"]  # x-Upper9 is in county 1
    assert ids(client, "x-Upper9", source="hotline") == []
    since = (T0 - minutes(45)).isoformat()
    assert ids(client, "x-Upper9", since=since) == ["x-Upper9"]
    until = (T0 - minutes(45)).isoformat()
    assert ids(client, "x-Upper9", until=until) == ["m-1"]


def test_a_text_that_matches_nothing_answers_empty(client, runtime):
    assert ids(client, "zzzz") == []
    assert ids(client, "no-such-id-77") == []  # id-shaped: no digest is equal either
    f = search.reader_filters(runtime.db, User("a", "analyst"), runtime.scope, "event")
    for q in ("zzzz", "no-such-id-77"):
        res = search.results(runtime.db, "events", f, search.Text.of(q), timezone=runtime.timezone)
        assert res["rows"] == [] and res["total"] == 0 and res["histogram"] == []
        assert res["facets"] == {"source": {}, "category": {}, "severity": {}, "county": {}}


def test_a_text_holding_the_separator_is_matched_field_by_field(client):
    # within the text: found
    assert ids(client, "第一行\n第二") == ["h-2"]
    # across the text's end and the attributes' start (joined by a line feed in the column):
    # no match of the column's own making
    assert ids(client, "abc\n{") == []
    assert ids(client, "ends with abc") == ["x-Upper9"]


def _old_store(settings, monkeypatch) -> None:
    """A store written before migration 18: its events stored without the search columns."""
    monkeypatch.setattr(schema, "MIGRATIONS", [m for m in schema.MIGRATIONS if m[0] < 18])
    rt = Runtime(settings)
    try:
        cols = rt.db.query("SELECT column_name FROM duckdb_columns() WHERE table_name = 'events'")
        assert ("search",) not in cols and ("id_hash",) not in cols
        cell = rt.db.query_one(
            "SELECT key, community_key, township_key, county_key, city_key FROM areas"
            " WHERE level = 'grid' ORDER BY key LIMIT 1"
        )
        rows = [
            (source, ident, cat, (T0 - minutes(before)).to_pydatetime(), text, attrs)
            for ident, source, cat, text, attrs, before in EVENTS
        ]

        def insert(con) -> None:
            for source, ident, cat, at, text, attrs in rows:
                con.execute(
                    "INSERT INTO events (source, source_event_id, category, event_time,"
                    " received_at, lon, lat, cell_key, community_key, township_key, county_key,"
                    " city_key, text, attributes) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        source,
                        ident,
                        cat,
                        at,
                        at,
                        *cell,
                        text,
                        None if attrs is None else json.dumps(attrs, ensure_ascii=False),
                    ],
                )

        rt.db.write(insert)
    finally:
        rt.stop()
    monkeypatch.undo()


def test_the_migration_fills_the_columns_of_an_old_store(settings, monkeypatch):
    _old_store(settings, monkeypatch)
    rt = Runtime(settings)  # opening the store applies migration 18
    try:
        assert rt.db.query_one("SELECT max(version) FROM schema_version")[0] >= 18
        stored = _stored(rt.db)
        assert len(stored) == len(EVENTS)
        for ident, (text, attributes, got) in stored.items():
            assert got == _expected_search(text, attributes), ident
        assert stored["p-1"][2].startswith("盗窃电动车\n{") and '"address"' in stored["p-1"][2]
        assert stored["h-1"][2] == "heating off since monday"
        digests = rt.db.query(f"SELECT id_hash, {schema.EVENT_ID_HASH_SQL} FROM events")
        assert all(d is not None and d == expected for d, expected in digests)
        client = create_app(runtime=rt).server.test_client()
        sign_in(client, rt, "ana", role="analyst")
        assert ids(client, "电动车") == ["p-1"]
        assert ids(client, "HEATING off") == ["h-1"]
        assert ids(client, "x-Upper9") == ["x-Upper9"]
        assert ids(client, "zzzz") == []
        # new events after the migration get the column from ingest, beside the migrated ones
        lon, lat = tiny_cell_center(1, 1, 1)
        rec = {"id": "n-1", "time": T0.isoformat(), "lon": lon, "lat": lat, "category": "heating"}
        rec["text"] = "新的 Heating"
        resp = client.post("/api/ingest/hotline", json={"events": [rec]}, headers=AUTH)
        assert resp.get_json()["accepted"] == 1
        assert ids(client, "heating") == ["n-1", "h-1"]
    finally:
        rt.stop()


def test_archived_days_are_searched_as_before(runtime):
    """A search reaching archived days reads their search text from the files (derived again
    when read): the same answer before and after the move, for a text and for an id."""
    now = pd.Timestamp.now(tz="UTC").floor("min")
    ingest_history(runtime, now)
    client = create_app(runtime=runtime).server.test_client()
    sign_in(client, runtime, "analyst", "analyst")
    period = {"since": (now - 200 * pd.Timedelta(days=1)).isoformat(), "limit": 5000}
    queries = ["POLICE 99", "原始", "traffic-117-0", "zzzz"]
    before = {q: ids(client, q, **period) for q in queries}
    assert before["POLICE 99"] and before["原始"] and before["traffic-117-0"] == ["traffic-117-0"]
    assert runtime.archive.run(now)
    assert runtime.db.query_one("SELECT count(*) FROM archive_parts")[0] > 0
    assert {q: ids(client, q, **period) for q in queries} == before
    # the page's counts over the archived days too
    f = search.reader_filters(
        runtime.db,
        User("a", "analyst"),
        runtime.scope,
        "event",
        since=now - 200 * pd.Timedelta(days=1),
        until=now + pd.Timedelta(days=1),
    )
    res = search.results(
        runtime.db, "events", f, search.Text.of("traffic-117-0"), timezone=runtime.timezone
    )
    assert res["total"] == 1 and [r["id"] for r in res["rows"]] == ["traffic-117-0"]


def test_a_quote_is_plain_text(client):
    # the search text reaches SQL only as a parameter
    assert ids(client, "'; DROP TABLE events; --") == []
    assert ids(client, "电动车") == ["p-1"]
