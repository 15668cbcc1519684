"""The ingest pipeline: validation, quarantine, de-duplication, placement, counts, health."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from data.events import normalise_frame, validate_frame
from data.push import push_frame
from tests.support.region import tiny_cell_center, tiny_cell_code

NOW = pd.Timestamp("2026-11-26T06:00:00Z")


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {"time": "2026-11-26T05:00:00Z", "category": "accident", "severity": 2}
    return pd.DataFrame([base | r for r in rows])


def at(county, i, j, **kw) -> dict:
    lon, lat = tiny_cell_center(county, i, j)
    return {"lon": lon, "lat": lat} | kw


def test_events_land_in_their_cells_with_every_level(runtime):
    rows = [at(1, 0, 0, id="a"), at(2, 3, 3, id="b"), at(2, 3, 3, id="c")]
    res = runtime.pipeline.ingest_frame("traffic", frame(rows), now=NOW)
    assert (res.accepted, res.duplicates, res.quarantined) == (3, 0, 0)
    got = runtime.db.query(
        "SELECT e.source_event_id, g.code, c.code, t.code, m.code FROM events e "
        "JOIN areas g ON g.key = e.cell_key JOIN areas c ON c.key = e.county_key "
        "JOIN areas t ON t.key = e.township_key JOIN areas m ON m.key = e.community_key "
        "ORDER BY 1"
    )
    assert got == [
        ("a", tiny_cell_code(1, 0, 0), "T01", "T01001", "T01001001"),
        ("b", tiny_cell_code(2, 3, 3), "T02", "T02001", "T02001001"),
        ("c", tiny_cell_code(2, 3, 3), "T02", "T02001", "T02001001"),
    ]
    counts = runtime.db.query(
        "SELECT g.code, sum(n), sum(severity_sum) FROM cell_counts cc "
        "JOIN areas g ON g.key = cc.cell_key GROUP BY 1 ORDER BY 1"
    )
    assert counts == [(tiny_cell_code(1, 0, 0), 1, 2), (tiny_cell_code(2, 3, 3), 2, 4)]


def test_duplicates_inside_a_batch_and_across_batches_count_once(runtime):
    rows = [at(1, 0, 0, id="a"), at(1, 0, 0, id="a"), at(1, 1, 1, id="b")]
    first = runtime.pipeline.ingest_frame("traffic", frame(rows), now=NOW)
    second = runtime.pipeline.ingest_frame("traffic", frame(rows), now=NOW)
    assert (first.accepted, first.duplicates) == (2, 1)
    assert (second.accepted, second.duplicates) == (0, 3)
    assert runtime.db.query_one("SELECT count(*) FROM events")[0] == 2
    assert runtime.db.query_one("SELECT sum(n) FROM cell_counts")[0] == 2
    status = runtime.db.query_one("SELECT accepted, duplicates FROM feed_status")
    assert status == (2, 4)
    # the same id from another source is another event
    other = runtime.pipeline.ingest_frame(
        "police", frame([at(1, 0, 0, id="a", category="other")]), now=NOW
    )
    assert other.accepted == 1


def test_every_bad_row_is_quarantined_with_its_reason(runtime):
    rows = [
        at(1, 0, 0, id="ok"),
        at(1, 0, 0, id="no-time", time=None),
        at(1, 0, 0, id="bad-time", time="yesterday"),
        at(1, 0, 0, id="old", time="1900-01-01T00:00:00Z"),
        at(1, 0, 0, id="future", time="2030-01-01T00:00:00Z"),
        {"id": "no-coords", "lon": None, "lat": None},
        {"id": "zero", "lon": 0.0, "lat": 0.0},
        {"id": "far", "lon": 100.0, "lat": 30.0},
        at(1, 0, 0, id="cat", category="ufo"),
        at(1, 0, 0, id="sev", severity=9),
        at(1, 0, 0, id=None),
    ]
    res = runtime.pipeline.ingest_frame("traffic", frame(rows), now=NOW)
    assert (res.accepted, res.quarantined) == (1, 10)
    reasons = dict(
        runtime.db.query("SELECT coalesce(source_event_id, '<none>'), reason FROM quarantine")
    )
    assert reasons == {
        "no-time": "missing or unparseable time",
        "bad-time": "missing or unparseable time",
        "old": "time before 2000-01-01 (placeholder date)",
        "future": "time in the future",
        "no-coords": "missing coordinates",
        "zero": "coordinates (0, 0) are a missing location",
        "far": "outside region",
        "cat": "unknown category for source traffic",
        "sev": "severity outside 1..5",
        "<none>": "missing id",
    }
    raw = runtime.db.query_one("SELECT raw FROM quarantine WHERE source_event_id = 'far'")[0]
    assert json.loads(raw)["lon"] == 100.0
    assert runtime.db.query_one("SELECT quarantined FROM feed_status")[0] == 10


def test_environment_readings_need_a_value(runtime):
    rows = [
        at(1, 0, 0, id="r1", category="pm25", value=80.0),
        at(1, 0, 0, id="r2", category="pm25"),
    ]
    res = runtime.pipeline.ingest_frame("environment", frame(rows), now=NOW)
    assert (res.accepted, res.quarantined) == (1, 1)
    assert res.errors[0]["reason"] == "a value is required for environment readings"
    assert runtime.db.query_one("SELECT value_max FROM cell_counts")[0] == 80.0


def test_push_validator_and_bulk_validator_agree():
    recs = [
        {
            "id": "1",
            "time": "2026-11-26T05:00:00+00:00",
            "lon": 123.0,
            "lat": 41.0,
            "category": "criminal",
        },
        {
            "id": "2",
            "time": "2026-11-26T05:00:00+00:00",
            "lon": 0,
            "lat": 0,
            "category": "criminal",
        },
        {
            "id": "3",
            "time": "2026-11-26T05:00:00+00:00",
            "lon": 123.0,
            "lat": 41.0,
            "category": "weird",
        },
        {
            "id": "4",
            "time": "2026-11-26T05:00:00+00:00",
            "lon": 123.0,
            "lat": 41.0,
            "category": "criminal",
            "severity": 7,
        },
        {
            "id": "5",
            "time": "2026-11-26T05:00:00+00:00",
            "lon": 500.0,
            "lat": 41.0,
            "category": "criminal",
        },
    ]
    pushed = push_frame("police", recs)
    push_ok = pushed["_reason"].isna().tolist()
    bulk = pd.DataFrame(recs)
    bulk_ok = validate_frame("police", normalise_frame(bulk), now=NOW).isna().tolist()
    assert push_ok == bulk_ok == [True, False, False, False, False]


def test_unknown_source_is_refused(runtime):
    with pytest.raises(ValueError, match="unknown source"):
        runtime.pipeline.ingest_frame("weather", frame([at(1, 0, 0, id="x")]))


def test_feed_errors_are_counted(runtime):
    runtime.pipeline.record_error("market", "HTTP 500 from http://intranet/feed")
    row = runtime.db.query_one("SELECT errors, last_error FROM feed_status WHERE source='market'")
    assert row == (1, "HTTP 500 from http://intranet/feed")


def test_bulk_batches_overlap_and_sum_their_counts(runtime):
    batches = [
        ("traffic", frame([at(1, 0, 0, id="a"), at(1, 0, 0, id="b")])),
        ("police", frame([at(2, 1, 1, id="a", category="other"), {"id": "x", "lon": 0, "lat": 0}])),
        ("traffic", frame([at(1, 0, 0, id="a")])),
    ]
    res = runtime.pipeline.ingest_frames(batches, now=NOW)
    assert (res.accepted, res.duplicates, res.quarantined) == (3, 1, 1)
    assert runtime.db.query_one("SELECT count(*) FROM events")[0] == 3


def test_an_empty_batch_is_a_heartbeat(runtime):
    runtime.pipeline.ingest_frame("police", frame([at(1, 0, 0, id="a", category="other")]), now=NOW)
    later = NOW + pd.Timedelta(minutes=10)
    res = runtime.pipeline.ingest_frame("police", frame([]).iloc[0:0], now=later)
    assert (res.accepted, res.quarantined) == (0, 0)
    row = runtime.db.query_one(
        "SELECT last_event_time, last_received_at FROM feed_status WHERE source = 'police'"
    )
    assert pd.Timestamp(row[0]) == pd.Timestamp("2026-11-26T05:00:00Z")
    assert pd.Timestamp(row[1]) == later


def test_a_csv_record_with_a_unicode_line_separator_is_kept(runtime, tmp_path):
    """U+0085 and U+2028 inside a field are text, not line breaks: the file's other records
    and this one are all read (the raw-JSON copy once split there and failed the whole file)."""
    from data.feeds.connectors import _csv_chunks

    path = tmp_path / "x.csv"
    path.write_text(
        "id,time,lon,lat,category\r\n"
        "a\u0085b,2026-11-30T10:00:00+00:00,123.0,41.0,criminal\r\n"
        "c\u2028d,2026-11-30T10:00:00+00:00,123.0,41.0,criminal\r\n"
        "e,2026-11-30T10:00:00+00:00,123.0,41.0,criminal\r\n",
        encoding="utf-8",
    )
    (chunk,) = list(_csv_chunks(path, 1000))
    assert chunk["id"].tolist() == ["a\u0085b", "c\u2028d", "e"]
    # quarantined (an unknown category), each keeps its own raw record
    chunk["category"] = "no-such-category"
    result = runtime.pipeline.ingest_frame("police", chunk, feed="csv-test")
    assert result.quarantined == 3
    raws = runtime.db.query("SELECT raw FROM quarantine WHERE feed = 'csv-test' ORDER BY raw")
    assert sorted(json.loads(r[0])["id"] for r in raws) == ["a\u0085b", "c\u2028d", "e"]
