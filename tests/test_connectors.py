"""HTTP pull and folder-drop connectors against a real store and a real local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from data.feeds.connectors import FolderDropFeed, HttpPullFeed, canonical_file_chunks
from data.runtime import Runtime
from data.settings import FolderFeed, PullFeed
from tests.support.region import tiny_cell_center, tiny_cell_code

T0 = pd.Timestamp("2026-03-01T08:00:00Z")

POLICE_MAPPING = """
source = "police"
format = "csv"
timezone = "Asia/Shanghai"
[id]
column = "case_no"
[time]
column = "reported"
format = "%Y-%m-%d %H:%M:%S"
[location]
lon = "x"
lat = "y"
[category]
column = "kind"
map = { "THEFT" = "criminal", "FIGHT" = "public_order" }
"""


def event(i: int, cell=(1, 0, 0), minutes: float = 0, **kw) -> dict:
    """A canonical police event in tiny-region cell ``cell`` = (county, i, j)."""
    lon, lat = tiny_cell_center(*cell)
    rec = {
        "id": f"e{i}",
        "time": (T0 + pd.Timedelta(minutes=minutes)).isoformat(),
        "lon": lon,
        "lat": lat,
        "category": "criminal",
        "severity": 3,
    }
    rec.update(kw)
    return rec


def cells_of(db, source: str = "police") -> dict[str, str]:
    """source_event_id -> public code of the grid cell it was placed in."""
    rows = db.query(
        "SELECT e.source_event_id, a.code FROM events e JOIN areas a ON a.key = e.cell_key "
        "WHERE e.source = ?",
        [source],
    )
    return dict(rows)


def reasons_of(db) -> dict[str, int]:
    return dict(db.query("SELECT reason, count(*) FROM quarantine GROUP BY reason"))


# --------------------------------------------------------------------------------------------
# a tiny HTTP server
# --------------------------------------------------------------------------------------------


class FakeApi:
    """Serves ``self.status``/``self.body``/``self.content_type`` and records query strings."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b"[]"
        self.content_type = "application/json"
        self.queries: list[dict[str, list[str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                api.queries.append(parse_qs(urlparse(self.path).query))
                self.send_response(api.status)
                self.send_header("Content-Type", api.content_type)
                self.send_header("Content-Length", str(len(api.body)))
                self.end_headers()
                self.wfile.write(api.body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve_json(self, data) -> None:
        self.status, self.content_type = 200, "application/json"
        self.body = json.dumps(data).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    srv = FakeApi()
    yield srv
    srv.close()


def pull_spec(url: str, **kw) -> PullFeed:
    return PullFeed(**{"name": "police-api", "source": "police", "url": url, **kw})


def feed_errors(db, source="police") -> int:
    row = db.query_one("SELECT errors FROM feed_status WHERE source = ?", [source])
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------------------------
# HTTP pull
# --------------------------------------------------------------------------------------------


def test_pull_json_list_then_incremental_since(runtime, api):
    api.serve_json([event(1, (1, 0, 0)), event(2, (2, 3, 1), minutes=5)])
    feed = HttpPullFeed(pull_spec(api.url), runtime.pipeline, runtime.db)

    result = feed.poll_once()

    assert (result.accepted, result.duplicates, result.quarantined) == (2, 0, 0)
    assert api.queries[0] == {}  # nothing ingested yet: no since
    assert cells_of(runtime.db) == {"e1": tiny_cell_code(1, 0, 0), "e2": tiny_cell_code(2, 3, 1)}

    # the push API's shape works too; the server re-sends the boundary event (harmless)
    api.serve_json({"events": [event(2, (2, 3, 1), minutes=5), event(3, minutes=9)]})
    result = feed.poll_once()

    assert api.queries[1] == {"since": [(T0 + pd.Timedelta(minutes=5)).isoformat()[:-6] + "Z"]}
    assert (result.accepted, result.duplicates) == (1, 1)
    assert feed.poll_once() is not None
    assert api.queries[2]["since"] == ["2026-03-01T08:09:00Z"]


def test_pull_cursor_survives_restart(settings, api):
    api.serve_json([event(1, minutes=0), event(2, minutes=30)])
    rt = Runtime(settings)
    try:
        HttpPullFeed(pull_spec(api.url), rt.pipeline, rt.db).poll_once()
    finally:
        rt.stop()

    rt2 = Runtime(settings)  # same DuckDB file
    try:
        feed = HttpPullFeed(pull_spec(api.url), rt2.pipeline, rt2.db)
        assert feed.cursor == T0 + pd.Timedelta(minutes=30)
        feed.poll_once()
        assert api.queries[-1] == {"since": ["2026-03-01T08:30:00Z"]}
        assert rt2.db.query_one("SELECT count(*) FROM events")[0] == 2
    finally:
        rt2.stop()


def test_pull_custom_since_param_and_none(runtime, api):
    api.serve_json([event(1)])
    feed = HttpPullFeed(pull_spec(api.url, since_param="from"), runtime.pipeline, runtime.db)
    feed.poll_once()
    feed.poll_once()
    assert api.queries[1] == {"from": ["2026-03-01T08:00:00Z"]}

    plain = HttpPullFeed(
        pull_spec(api.url, name="no-cursor", since_param=None), runtime.pipeline, runtime.db
    )
    plain.poll_once()
    plain.poll_once()
    assert api.queries[-1] == {}


def test_pull_errors_are_counted_and_retried(runtime, api):
    feed = HttpPullFeed(pull_spec(api.url), runtime.pipeline, runtime.db, timeout=2)

    api.status, api.body = 500, b"boom"
    assert feed.poll_once() is None
    api.serve_json([])
    api.body = b"{not json"
    assert feed.poll_once() is None
    api.serve_json({"unexpected": 1})
    assert feed.poll_once() is None

    assert feed_errors(runtime.db) == 3
    last = runtime.db.query_one("SELECT last_error FROM feed_status WHERE source = 'police'")[0]
    assert "police-api" in last and "events" in last
    assert feed.cursor is None

    api.serve_json([event(1)])  # the next interval recovers
    assert feed.poll_once().accepted == 1


def test_pull_unreachable_server_is_counted(runtime, api):
    url = api.url
    api.close()  # nothing listens on that port any more
    api.close = lambda: None
    feed = HttpPullFeed(pull_spec(url), runtime.pipeline, runtime.db, timeout=2)
    assert feed.poll_once() is None
    assert feed_errors(runtime.db) == 1


def test_pull_bad_records_are_quarantined_not_dropped(runtime, api):
    lon, lat = tiny_cell_center(1, 1, 1)
    api.serve_json(
        [
            event(1),
            event(2, time="2026-03-01T08:00:00"),  # no offset: ambiguous
            event(3, lon=None),
            event(4, category="alien"),
            "not an object",
            event(5, lon=lon + 10),  # outside the region
        ]
    )
    feed = HttpPullFeed(pull_spec(api.url), runtime.pipeline, runtime.db)
    result = feed.poll_once()
    assert (result.accepted, result.quarantined) == (1, 5)
    reasons = reasons_of(runtime.db)
    assert reasons == {
        "time needs a UTC offset, e.g. 2026-11-26T08:00:00+08:00": 1,
        "missing coordinates": 1,
        "unknown category for source police": 1,
        "JSON record is not an object": 1,
        "outside region": 1,
    }
    raw = runtime.db.query_one("SELECT raw FROM quarantine WHERE source_event_id = 'e2'")[0]
    assert json.loads(raw)["time"] == "2026-03-01T08:00:00"


def test_pull_csv_through_mapping(runtime, api, tmp_path):
    mapping = tmp_path / "police_csv.toml"
    mapping.write_text(POLICE_MAPPING, encoding="utf-8")
    (lon1, lat1), (lon2, lat2) = tiny_cell_center(1, 2, 3), tiny_cell_center(2, 0, 2)
    api.status, api.content_type = 200, "text/csv"
    api.body = (
        "case_no,reported,x,y,kind\n"
        f"A1,2026-03-01 16:00:00,{lon1},{lat1},THEFT\n"
        f"A2,2026-03-01 16:20:00,{lon2},{lat2},FIGHT\n"
        f"A3,yesterday,{lon2},{lat2},FIGHT\n"
    ).encode()
    spec = pull_spec(api.url, mapping=str(mapping), format="csv")
    feed = HttpPullFeed(spec, runtime.pipeline, runtime.db)

    result = feed.poll_once()

    assert (result.accepted, result.quarantined) == (2, 1)
    assert cells_of(runtime.db) == {"A1": tiny_cell_code(1, 2, 3), "A2": tiny_cell_code(2, 0, 2)}
    # 16:20 Asia/Shanghai is 08:20 UTC
    assert feed.cursor == pd.Timestamp("2026-03-01T08:20:00Z")
    assert list(reasons_of(runtime.db)) == ["unparseable time 'yesterday'"]


def test_pull_thread_polls_and_stops_promptly(runtime, api):
    api.serve_json([event(1)])
    feed = HttpPullFeed(pull_spec(api.url, interval_s=0.05), runtime.pipeline, runtime.db)
    feed.start()
    deadline = time.monotonic() + 5
    while len(api.queries) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    api.status = 500  # errors do not kill the thread
    n = len(api.queries)
    while len(api.queries) < n + 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert feed.running
    feed.stop()
    assert not feed.running
    assert feed_errors(runtime.db) >= 1
    assert runtime.db.query_one("SELECT count(*) FROM events")[0] == 1

    slow = HttpPullFeed(
        pull_spec(api.url, name="slow", interval_s=3600), runtime.pipeline, runtime.db
    )
    slow.start()
    t0 = time.monotonic()
    slow.stop()
    assert time.monotonic() - t0 < 2


def test_pull_mapping_for_another_source_is_refused(runtime, api, tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text(POLICE_MAPPING, encoding="utf-8")
    with pytest.raises(ValueError, match="is for police"):
        HttpPullFeed(
            pull_spec(api.url, source="traffic", mapping=str(mapping)), runtime.pipeline, runtime.db
        )


# --------------------------------------------------------------------------------------------
# folder drop
# --------------------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def read_report(path: Path) -> dict:
    return json.loads(Path(f"{path}.report.json").read_text(encoding="utf-8"))


def test_folder_good_csv_prefix_names_the_source(runtime, tmp_path):
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop), runtime.pipeline)
    write_csv(drop / "police__good.csv", [event(1, (1, 1, 2)), event(2, (2, 2, 0), minutes=1)])

    reports = feed.scan_once()

    assert [r["status"] for r in reports] == ["done"]
    assert (reports[0]["accepted"], reports[0]["quarantined"]) == (2, 0)
    assert not (drop / "police__good.csv").exists()
    assert (drop / "done" / "police__good.csv").is_file()
    report = read_report(drop / "done" / "police__good.csv")
    assert report["source"] == "police" and report["accepted"] == 2 and report["error"] is None
    assert report["started_at"] and report["finished_at"]
    assert cells_of(runtime.db) == {"e1": tiny_cell_code(1, 1, 2), "e2": tiny_cell_code(2, 2, 0)}
    assert feed.scan_once() == []  # nothing left


def test_folder_files_stream_through_each_with_its_own_report(runtime, tmp_path, monkeypatch):
    """The files of a scan are one stream (the next is read while the last commits): each
    report holds its own file's counts and quarantine reasons; a file whose reading fails
    part-way is failed, with the rows committed before the failure counted as partial, and the
    file after it is still done."""
    import data.feeds.connectors as connectors

    monkeypatch.setattr(connectors, "CHUNK_ROWS", 2)  # several chunks a file
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    write_csv(drop / "a.csv", [event(1), event(2, lon=None, lat=None), event(3)])
    # b's first chunk is quarantined as a's report is written; its third line is not CSV
    header = "id,time,lon,lat,category,severity"
    good = [",".join(str(v) for v in event(i).values()) for i in (10, 11, 12)]
    alien = ",".join(str(v) for v in event(13, category="alien").values())
    (drop / "b.csv").write_text(
        "\n".join([header, alien, good[0], good[1], good[2], "x,y,z,1,2,3,4,5,6", ""]),
        encoding="utf-8",
    )
    write_csv(drop / "c.csv", [event(20), event(21, category="alien")])

    reports = feed.scan_once()

    a, b, c = reports
    assert [r["file"] for r in reports] == ["a.csv", "b.csv", "c.csv"]
    assert (a["status"], a["accepted"], a["quarantined"]) == ("done", 2, 1)
    assert a["quarantine_reasons"] == {"missing coordinates": 1}
    assert (b["status"], b["partial"], b["accepted"], b["quarantined"]) == ("failed", True, 3, 1)
    assert b["quarantine_reasons"] == {"unknown category for source police": 1}
    assert b["error"] and (drop / "failed" / "b.csv").is_file()
    assert (c["status"], c["accepted"], c["quarantined"]) == ("done", 1, 1)
    assert c["quarantine_reasons"] == {"unknown category for source police": 1}
    assert set(cells_of(runtime.db)) == {"e1", "e3", "e10", "e11", "e12", "e20"}


def test_folder_malformed_rows_are_quarantined_with_reasons(runtime, tmp_path):
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    rows = [
        event(1),
        event(2, lon=None, lat=None),
        event(3, time="not a time"),
        event(4, lon=0.0, lat=0.0),
        event(1, minutes=3),  # repeated id
        event(5, category="alien"),
        event(6, (2, 3, 3)),
    ]
    path = write_csv(drop / "batch.csv", rows)
    (drop / "police__dup.csv").write_text("", encoding="utf-8")  # empty: unreadable

    reports = {r["file"]: r for r in feed.scan_once()}

    r = reports["batch.csv"]
    assert (r["accepted"], r["duplicates"], r["quarantined"], r["rows"]) == (2, 1, 4, 7)
    expected = {
        "missing coordinates": 1,
        "missing or unparseable time": 1,
        "coordinates (0, 0) are a missing location": 1,
        "unknown category for source police": 1,
    }
    assert reasons_of(runtime.db) == expected
    assert r["quarantine_reasons"] == expected
    assert read_report(drop / "done" / path.name)["quarantine_reasons"] == expected
    raw = runtime.db.query_one("SELECT raw FROM quarantine WHERE source_event_id = 'e3'")[0]
    assert json.loads(raw)["time"] == "not a time"  # the original text, not a NaT
    assert reports["police__dup.csv"]["status"] == "failed"
    assert cells_of(runtime.db) == {"e1": tiny_cell_code(1, 0, 0), "e6": tiny_cell_code(2, 3, 3)}


def test_folder_unreadable_files_go_to_failed(runtime, tmp_path):
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop, source="police"), runtime.pipeline)
    (drop / "broken.parquet").write_bytes(b"this is not parquet")
    (drop / "broken.json").write_text("{oops", encoding="utf-8")
    write_csv(drop / "wrong_columns.csv", [{"a": 1, "b": 2}])

    reports = feed.scan_once()

    assert sorted(r["file"] for r in reports) == [
        "broken.json",
        "broken.parquet",
        "wrong_columns.csv",
    ]
    assert {r["status"] for r in reports} == {"failed"}
    for name in ("broken.parquet", "broken.json", "wrong_columns.csv"):
        assert (drop / "failed" / name).is_file()
        assert read_report(drop / "failed" / name)["error"]
    assert "canonical columns" in read_report(drop / "failed" / "wrong_columns.csv")["error"]
    assert feed_errors(runtime.db) == 3


def test_folder_ignores_incomplete_files_and_needs_a_source(runtime, tmp_path):
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop), runtime.pipeline)
    for name in (".hidden.csv", "x.csv.part", "y.tmp", "notes.txt"):
        write_csv(drop / name, [event(1)])
    write_csv(drop / "anonymous.csv", [event(1)])

    reports = feed.scan_once()

    assert [(r["file"], r["status"]) for r in reports] == [("anonymous.csv", "failed")]
    assert "cannot tell the source" in reports[0]["error"]
    for name in (".hidden.csv", "x.csv.part", "y.tmp", "notes.txt"):
        assert (drop / name).exists()


def test_folder_jsonl_json_parquet_and_same_name_twice(runtime, tmp_path):
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop), runtime.pipeline)
    lines = [json.dumps(event(1)), "{broken", json.dumps(event(2, minutes=1))]
    (drop / "police__a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (drop / "police__b.json").write_text(json.dumps({"events": [event(3)]}), encoding="utf-8")
    frame = pd.DataFrame([event(4), event(5)])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame.to_parquet(drop / "police__c.parquet")

    reports = {r["file"]: r for r in feed.scan_once()}

    assert {k: (r["accepted"], r["quarantined"]) for k, r in reports.items()} == {
        "police__a.jsonl": (2, 1),
        "police__b.json": (1, 0),
        "police__c.parquet": (2, 0),
    }
    raw, reason = runtime.db.query_one("SELECT raw, reason FROM quarantine")
    assert raw == "{broken" and reason.startswith("unparseable JSON")

    (drop / "police__b.json").write_text(json.dumps([event(3)]), encoding="utf-8")
    (r,) = feed.scan_once()
    assert r["duplicates"] == 1
    assert (drop / "done" / "police__b-1.json").is_file()
    assert read_report(drop / "done" / "police__b-1.json")["duplicates"] == 1


def test_a_parquet_files_text_is_stored_and_quarantined_as_it_came(runtime, tmp_path):
    """A Parquet file's text is read as Arrow strings (never made Python strings): stored rows
    keep their text and attributes, a bad row is quarantined with the row as it came."""
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="drops", path=drop), runtime.pipeline)
    frame = pd.DataFrame(
        [
            event(
                1, text="路口 Crash", attributes=json.dumps({"road": "建设街"}, ensure_ascii=False)
            ),
            event(2, minutes=1, text="no place", lon=None),
            event(3, minutes=2, text=None, attributes="not json"),
        ]
    )
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame.to_parquet(drop / "police__p.parquet")

    (report,) = feed.scan_once()

    assert (report["accepted"], report["quarantined"]) == (2, 1)
    stored = runtime.db.query(
        "SELECT source_event_id, text, attributes, search FROM events ORDER BY source_event_id"
    )
    assert stored == [
        ("e1", "路口 Crash", '{"road": "建设街"}', '路口 crash\n{"road": "建设街"}'),
        ("e3", None, '"not json"', '"not json"'),
    ]
    raw, reason = runtime.db.query_one("SELECT raw, reason FROM quarantine")
    assert "coordinates" in reason
    assert json.loads(raw)["id"] == "e2" and json.loads(raw)["text"] == "no place"


@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_a_files_chunks_are_of_one_size_not_a_small_remainder(tmp_path, suffix):
    """9 rows in chunks of at most 4 are read as 3, 3 and 3, not 4, 4 and 1 (DuckDB writes an
    insert of fewer rows than a row group to the write-ahead log)."""
    frame = pd.DataFrame([event(i, minutes=i) for i in range(9)])
    path = tmp_path / f"police__x{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        path.write_text(frame.to_json(orient="records"), encoding="utf-8")
    chunks = list(canonical_file_chunks(path, 4))
    assert [len(c) for c in chunks] == [3, 3, 3]
    assert [i for c in chunks for i in c["id"]] == [f"e{i}" for i in range(9)]


def test_folder_through_mapping(runtime, tmp_path):
    mapping = tmp_path / "police_csv.toml"
    mapping.write_text(POLICE_MAPPING, encoding="utf-8")
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="m", path=drop, mapping=str(mapping)), runtime.pipeline)
    lon, lat = tiny_cell_center(2, 1, 1)
    (drop / "export.csv").write_text(
        "case_no,reported,x,y,kind\n"
        f"B1,2026-03-01 09:00:00,{lon},{lat},THEFT\n"
        f"B2,2026-03-01 09:05:00,0,0,THEFT\n"
        f"B3,2026-03-01 09:06:00,{lon},{lat},SPACESHIP\n",
        encoding="utf-8",
    )
    (r,) = feed.scan_once()
    assert (r["accepted"], r["quarantined"], r["mapping"]) == (1, 2, "police_csv")
    assert set(r["quarantine_reasons"]) == {"coordinates (0, 0)", "unmapped category 'SPACESHIP'"}
    assert cells_of(runtime.db) == {"B1": tiny_cell_code(2, 1, 1)}


def test_folder_thread(runtime, tmp_path):
    drop = tmp_path / "drop"
    feed = FolderDropFeed(FolderFeed(name="d", path=drop, interval_s=0.05), runtime.pipeline)
    feed.start()
    write_csv(drop / "police__x.csv.part", [event(1)])
    (drop / "police__x.csv.part").rename(drop / "police__x.csv")  # write then rename
    deadline = time.monotonic() + 5
    while not (drop / "done" / "police__x.csv.report.json").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    feed.stop()
    assert not feed.running
    assert runtime.db.query_one("SELECT count(*) FROM events")[0] == 1
