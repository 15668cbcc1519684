"""Nothing lost (issue 8, item 5): the records that used to vanish, fail a batch or answer 500.

Each test names the defect it pins. The push API runs through Flask's test client against a real
DuckDB file; the folder drop reads real files. Random records, batches and files are thrown at
both in tests/test_ingest_properties.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from app import create_app
from data.feeds.connectors import FolderDropFeed, public_error
from data.feeds.mapping import MappingError, load_mapping, map_file
from data.settings import FolderFeed
from tests.support.region import tiny_cell_center

AUTH = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}
SECRET = "forged-admin-key-0123456789"


@pytest.fixture
def client(runtime):
    return create_app(runtime=runtime).server.test_client()


def good(i, **kw) -> dict:
    lon, lat = tiny_cell_center(1, 1, 1)
    return {
        "id": f"g{i}",
        "time": "2026-11-26T08:00:00+08:00",
        "lon": lon,
        "lat": lat,
        "category": "dispute",
    } | kw


def push(client, body) -> tuple[int, dict]:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    resp = client.post("/api/ingest/police", data=data, headers=AUTH)
    return resp.status_code, resp.get_json(silent=True)


def store(runtime) -> tuple[set, list]:
    ids = {r[0] for r in runtime.db.query("SELECT source_event_id FROM events")}
    quarantine = runtime.db.query("SELECT source_event_id, reason, raw FROM quarantine ORDER BY id")
    return ids, quarantine


# -- de-duplicate among valid rows only --------------------------------------------------------


def test_invalid_record_does_not_make_a_later_valid_one_a_duplicate(client, runtime):
    status, got = push(client, {"events": [good(1, category="no-such"), good(1)]})
    assert status == 200
    assert (got["accepted"], got["duplicates"], got["quarantined"]) == (1, 0, 1)
    ids, quarantine = store(runtime)
    assert ids == {"g1"} and [q[0] for q in quarantine] == ["g1"]


def test_valid_repeats_still_count_once_after_an_invalid_one(runtime):
    import pandas as pd

    lon, lat = tiny_cell_center(2, 0, 0)
    rows = [
        {"id": "a", "time": "2026-11-26T05:00:00Z", "lon": 0.0, "lat": 0.0},
        {"id": "a", "time": "2026-11-26T05:00:00Z", "lon": lon, "lat": lat},
        {"id": "a", "time": "2026-11-26T05:00:00Z", "lon": lon, "lat": lat},
    ]
    frame = pd.DataFrame([r | {"category": "accident"} for r in rows])
    res = runtime.pipeline.ingest_frame("traffic", frame, now=pd.Timestamp("2026-11-26T06:00Z"))
    assert (res.accepted, res.duplicates, res.quarantined) == (1, 1, 1)


# -- times out of Python's range ----------------------------------------------------------------


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"])
def test_time_overflowing_utc_is_quarantined_not_a_500(client, runtime, when):
    status, got = push(client, {"events": [good(1, time=when), good(2)]})
    assert status == 200, got
    assert (got["accepted"], got["duplicates"], got["quarantined"]) == (1, 0, 1)
    assert "time out of range" in got["errors"][0]["reason"]
    ids, quarantine = store(runtime)
    assert ids == {"g2"} and quarantine[0][0] == "g1" and when in quarantine[0][2]


def test_read_routes_answer_400_for_times_out_of_range(client, runtime):
    from tests.support.web import sign_in

    sign_in(client, runtime)
    for query in (
        "/api/events?since=9999-12-31T23:59:59-05:00",
        "/api/events?until=0001-01-01T00:00:00%2B01:00",
        "/api/events?since=garbage",
        "/api/areas/T01/summary?since=0001-01-01T00:00:00%2B01:00",
        "/api/areas/T01/summary?until=9999-12-31T23:59:59-05:00",
        "/api/areas/T01/summary?until=NaT",
    ):
        resp = client.get(query)
        assert resp.status_code == 400, (query, resp.status_code)
        assert resp.get_json()["error"]


# -- lone surrogates ----------------------------------------------------------------------------


def _json_with_surrogate(field: str, i: int) -> str:
    # json.dumps writes a lone surrogate as the escape \ud800, exactly as a client would send it
    return json.dumps(good(i, **{field: "a\ud800b"}))


@pytest.mark.parametrize("field", ["id", "text", "category"])
def test_lone_surrogate_is_quarantined_and_stored_escaped(client, runtime, field):
    body = '{"events": [' + _json_with_surrogate(field, 1) + ", " + json.dumps(good(2)) + "]}"
    status, got = push(client, body)
    assert status == 200, got
    assert (got["accepted"], got["duplicates"], got["quarantined"]) == (1, 0, 1)
    ids, quarantine = store(runtime)
    assert ids == {"g2"}
    ((qid, reason, raw),) = quarantine
    assert "\\ud800" in raw  # escaped, so the store can hold it
    assert reason
    if field == "id":
        assert qid == "a\\ud800b"


def test_lone_surrogate_in_attributes_is_quarantined(runtime):
    """A record that passes the push model still cannot be stored: the pipeline says why."""
    import pandas as pd

    lon, lat = tiny_cell_center(1, 0, 0)
    rows = [
        {
            "id": "s",
            "time": "2026-11-26T05:00:00Z",
            "lon": lon,
            "lat": lat,
            "category": "accident",
            "attributes": {"k": "a\ud800b"},
        },
        {
            "id": "t",
            "time": "2026-11-26T05:00:00Z",
            "lon": lon,
            "lat": lat,
            "category": "accident",
            "attributes": {"k": "fine"},
        },
    ]
    res = runtime.pipeline.ingest_frame(
        "traffic", pd.DataFrame(rows), now=pd.Timestamp("2026-11-26T06:00Z")
    )
    assert (res.accepted, res.quarantined) == (1, 1)
    assert "attributes" in res.errors[0]["reason"]


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_dropped_file_with_a_lone_surrogate_quarantines_that_record_only(runtime, tmp_path, suffix):
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    records = [json.loads(_json_with_surrogate("id", 1)), good(2), good(3, text="b\udfffc")]
    text = (
        json.dumps(records)
        if suffix == ".json"
        else "\n".join(json.dumps(r) for r in records) + "\n"
    )
    (drop / f"batch{suffix}").write_text(text, encoding="ascii")

    (report,) = feed.scan_once()

    assert report["status"] == "done", report["error"]
    assert (report["accepted"], report["quarantined"]) == (1, 2)
    ids, quarantine = store(runtime)
    assert ids == {"g2"}
    assert {q[0] for q in quarantine} == {"a\\ud800b", "g3"}


# -- deeply nested JSON ---------------------------------------------------------------------------


def test_deeply_nested_body_is_a_400(client):
    deep = "[" * 100_000 + "]" * 100_000
    status, got = push(client, '{"events": ' + deep + "}")
    assert status == 400 and "nested" in got["error"]


def test_nested_attributes_are_stored_or_quarantined_never_a_500(client, runtime):
    nested: dict = {}
    for _ in range(400):
        nested = {"k": nested}
    status, got = push(client, {"events": [good(1, attributes=nested), good(2)]})
    assert status == 200, got
    assert got["accepted"] + got["duplicates"] + got["quarantined"] == 2


# -- drop folder: links are refused, errors never echo contents ----------------------------------


def _secret(tmp_path) -> Path:
    key = tmp_path / "var" / "secret_key"
    key.parent.mkdir()
    key.write_text(SECRET + "\nsecond line\n", encoding="utf-8")
    return key


def _no_secret_anywhere(runtime, drop: Path) -> None:
    for (text,) in runtime.db.query("SELECT coalesce(last_error, '') FROM feed_status"):
        assert SECRET not in text
    for report in drop.rglob("*.report.json"):
        assert SECRET not in report.read_text(encoding="utf-8")
    assert not runtime.db.query("SELECT * FROM quarantine WHERE raw LIKE ?", [f"%{SECRET}%"])


def test_drop_folder_refuses_a_symlink_to_the_secret_key(runtime, tmp_path, client):
    key = _secret(tmp_path)
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    for name in ("police__evil.csv", "evil.json", "evil.jsonl", "evil.parquet"):
        os.symlink(key, drop / name)
    inside = drop / "sub"
    inside.mkdir()
    (inside / "real.csv").write_text("id,time,lon,lat,category\n", encoding="utf-8")
    os.symlink(inside / "real.csv", drop / "inner.csv")  # a link, even one pointing inside

    reports = feed.scan_once()

    assert len(reports) == 5
    for r in reports:
        assert r["status"] == "failed" and "symbolic link" in r["error"]
        assert r["rows"] == 0
        assert (drop / "failed" / r["file"]).is_symlink()  # the link moved, unread
    assert key.read_text(encoding="utf-8").startswith(SECRET)
    _no_secret_anywhere(runtime, drop)
    # what users see in /api/feeds
    from tests.support.web import sign_in

    sign_in(client, runtime)
    assert SECRET not in client.get("/api/feeds").get_data(as_text=True)


def test_drop_folder_refuses_a_hard_link_to_a_file_elsewhere(runtime, tmp_path):
    key = _secret(tmp_path)
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    os.link(key, drop / "police__hard.csv")

    (report,) = feed.scan_once()

    assert report["status"] == "failed" and "hard links" in report["error"]
    _no_secret_anywhere(runtime, drop)


def test_drop_error_texts_never_echo_file_contents(runtime, tmp_path):
    """A plain file whose content is a secret: whatever the reader says, no line of it shows."""
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    (drop / "one.csv").write_text(SECRET + "\nsecond line\n", encoding="utf-8")
    (drop / "two.json").write_text('{"' + SECRET + '": 1}', encoding="utf-8")
    (drop / "three.json").write_text(SECRET, encoding="utf-8")
    (drop / "four.parquet").write_text(SECRET, encoding="utf-8")

    reports = feed.scan_once()

    assert {r["status"] for r in reports} == {"failed"}
    assert all(r["error"] for r in reports)
    _no_secret_anywhere(runtime, drop)


def test_mapped_drop_error_does_not_list_the_files_columns(runtime, tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'name = "m"\nsource = "police"\nformat = "csv"\n[id]\ncolumn = "no"\n'
        '[time]\ncolumn = "t"\nformat = "iso"\n[location]\nlon = "x"\nlat = "y"\n'
        '[category]\nvalue = "criminal"\n',
        encoding="utf-8",
    )
    drop = tmp_path / "drop"
    feed = FolderDropFeed(
        FolderFeed(name="drops", path=drop, mapping=str(mapping)), runtime.pipeline
    )
    (drop / "x.csv").write_text(SECRET + ",t,x,y\n1,2,3,4\n", encoding="utf-8")

    (report,) = feed.scan_once()

    assert report["status"] == "failed" and "column 'no'" in report["error"]
    _no_secret_anywhere(runtime, drop)
    # at the terminal (replay, import), the full message still helps
    with pytest.raises(MappingError, match="Available columns"):
        list(map_file(load_mapping(mapping), drop / "failed" / "x.csv"))


def _disk_full(con, table, prepared):
    raise duckdb.IOException(f"could not write block: no space left ({SECRET})")


def _broken_statement(con, table, prepared):
    # the group's events INSERT (BY NAME) then fails inside the writer's transaction, which
    # DuckDB marks aborted: the group's clean-up must not replace the error with that
    return table.append_column("no_such_column", pa.nulls(table.num_rows, pa.int64()))


@pytest.mark.parametrize(
    ("hook", "error"),
    [(_disk_full, "IOException"), (_broken_statement, "BinderException")],
    ids=["disk-full", "failed-statement"],
)
def test_a_drop_whose_rows_the_store_fails_to_write_says_so(runtime, tmp_path, hook, error):
    """The store failing the write (a full disk, a statement failing) is reported as that
    failure, not as a reading failure nor as the aborted transaction it leaves, and the store's
    message, which may quote a value, is not shown; nothing is acknowledged."""
    runtime.pipeline.add_insert_hook(hook)
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    lon, lat = tiny_cell_center(1, 1, 1)
    (drop / "a.csv").write_text(
        f"id,time,lon,lat,category\np1,2026-11-26T08:00:00+08:00,{lon},{lat},dispute\n",
        encoding="utf-8",
    )

    (report,) = feed.scan_once()

    assert report["status"] == "failed" and report["accepted"] == 0
    assert report["error"].startswith(f"{error} while storing the rows")
    assert "reading" not in report["error"]
    assert (drop / "failed" / "a.csv").exists()
    assert not runtime.db.query("SELECT * FROM events WHERE source_event_id = 'p1'")
    _no_secret_anywhere(runtime, drop)


def test_public_error_keeps_our_messages_and_hides_library_texts():
    assert "nested" in public_error(RecursionError("x"))
    assert SECRET not in public_error(ValueError(f"time data {SECRET!r} does not match"))


def test_events_with_plain_text_attributes_read_back_not_a_500(client, runtime, tmp_path):
    """A dropped CSV's attributes column is text, not always JSON: reading it must not fail."""
    from tests.support.web import sign_in

    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    lon, lat = tiny_cell_center(1, 2, 2)
    (drop / "a.csv").write_text(
        "id,time,lon,lat,category,attributes\n"
        f"p1,2026-11-26T08:00:00+08:00,{lon},{lat},dispute,plain words\n"
        f'p2,2026-11-26T08:00:00+08:00,{lon},{lat},dispute,"{{""k"": 1}}"\n',
        encoding="utf-8",
    )
    assert feed.scan_once()[0]["accepted"] == 2
    sign_in(client, runtime)
    resp = client.get("/api/events")
    assert resp.status_code == 200
    got = {e["id"]: e["attributes"] for e in resp.get_json()["events"]}
    assert got == {"p1": "plain words", "p2": {"k": 1}}


def test_push_attributes_holding_nan_are_quarantined_not_a_failed_batch(client, runtime):
    """json.loads accepts NaN, the store's JSON column does not: the record, not the batch."""
    body = '{"events": [' + json.dumps(good(1, attributes={"x": float("nan")})) + ", "
    body += json.dumps(good(2)) + "]}"
    status, got = push(client, body)
    assert status == 200, got
    assert (got["accepted"], got["quarantined"]) == (1, 1)
    assert "attributes" in got["errors"][0]["reason"]


def test_mapped_json_drop_with_a_lone_surrogate_quarantines_that_record_only(runtime, tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'name = "m"\nsource = "police"\nformat = "json"\n[id]\ncolumn = "no"\n'
        '[time]\ncolumn = "t"\nformat = "iso"\n[location]\nlon = "x"\nlat = "y"\n'
        '[category]\nvalue = "criminal"\n[text]\ncolumn = "note"\n',
        encoding="utf-8",
    )
    drop = tmp_path / "drop"
    feed = FolderDropFeed(
        FolderFeed(name="drops", path=drop, mapping=str(mapping)), runtime.pipeline
    )
    lon, lat = tiny_cell_center(1, 3, 3)
    rec = {"t": "2026-11-26T08:00:00+08:00", "x": lon, "y": lat}
    records = [rec | {"no": "m1", "note": "a\ud800b"}, rec | {"no": "m2", "note": "fine"}]
    (drop / "x.json").write_text(json.dumps(records), encoding="ascii")

    (report,) = feed.scan_once()

    assert report["status"] == "done", report["error"]
    assert (report["accepted"], report["quarantined"]) == (1, 1)
    ids, quarantine = store(runtime)
    assert ids == {"m2"} and quarantine[0][0] == "m1" and "\\ud800" in quarantine[0][2]
