"""History beyond the database (issue 12, item 4): old events move to Hive-partitioned Parquet.

Real parts throughout: the real pipeline ingests into a real DuckDB file, the archiver writes real
Parquet files, and the crash test kills a real process between writing a file and committing the
move, then opens the same files again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data import archive, queries
from data.areas import AreaScope
from data.catalogue import CATEGORIES
from data.runtime import Runtime
from data.settings import load_settings
from tests.support.archive import history_frames_by_source, ingest_history

ROOT = Path(__file__).resolve().parents[1]
DAY = pd.Timedelta(days=1)


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").floor("min")


def _snapshot(rt: Runtime, now: pd.Timestamp) -> dict:
    """Everything the archive must not change, read through OneGrid's own queries."""
    since, until = now - 200 * DAY, now + DAY
    county = AreaScope("county", rt.db.query_one("SELECT key FROM areas WHERE code = 'T02'")[0])
    return {
        "per_day": queries.events_per_day(rt.db, rt.scope, since=since, until=until),
        "per_day_county": queries.events_per_day(rt.db, county, since=since, until=until),
        "old_events": queries.list_events(
            rt.db, rt.scope, since=now - 130 * DAY, until=now - 95 * DAY, limit=10_000
        ),
        "spanning": queries.list_events(
            rt.db, rt.scope, since=now - 100 * DAY, until=now - 60 * DAY, limit=10_000
        ),
        "county_police": queries.list_events(
            rt.db, county, source="police", since=since, until=until, limit=10_000
        ),
        "rollups": rt.db.query_df("SELECT * FROM cell_counts ORDER BY ALL"),
        "by_source_old": queries.counts_by_source_between(
            rt.db, rt.scope, now - 130 * DAY, now - 95 * DAY
        ),
        "area_values_old": queries.area_values(
            rt.db, rt.scope, level="township", since=now - 130 * DAY, until=now - 95 * DAY
        ),
    }


def _assert_same(a: dict, b: dict) -> None:
    for k in ("per_day", "per_day_county", "rollups", "area_values_old"):
        pd.testing.assert_frame_equal(a[k], b[k], obj=k)
    for k in ("old_events", "spanning", "county_police", "by_source_old"):
        assert a[k] == b[k], k


def _total(rt: Runtime) -> int:
    return int(rt.db.query_one("SELECT count(*) FROM events")[0])


def test_event_columns_match_the_events_table(runtime):
    rows = runtime.db.query(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_name = 'events' ORDER BY ordinal_position"
    )
    types = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}
    assert [(n, types.get(t, t)) for n, t in rows] == list(archive.EVENT_COLUMNS)


def test_old_days_move_to_parquet_and_read_back_the_same(runtime):
    now = _now()
    n = ingest_history(runtime, now)
    before = _snapshot(runtime, now)
    assert len(before["old_events"]) > 20 and before["per_day"]["n"].sum() == n

    moved = runtime.archive.run(now)

    cutoff = runtime.archive.cutoff(now)
    assert cutoff == (now - 90 * DAY).floor("D")
    assert moved and sum(p["rows"] for p in moved) == n - _total(runtime)
    # the database no longer holds them; the files do, one per day and source, Hive-style
    assert (
        runtime.db.query_one("SELECT count(*) FROM events WHERE event_time < ?", [cutoff])[0] == 0
    )
    root = runtime.archive.root
    assert root == (Path(runtime.settings.db).parent / "archive").resolve()
    for p in moved:
        assert archive.PART_RE.match(p["path"])
        f = root / p["path"]
        assert f.is_file() and f.stat().st_size == p["bytes"]
        assert p["path"].startswith(f"date={p['day'].isoformat()}/source={p['source']}/")
        assert pq.read_metadata(f).num_rows == p["rows"]
        assert cutoff > pd.Timestamp(p["max_time"]) >= pd.Timestamp(p["min_time"])
    assert len(archive.parts(runtime.db)) == len(moved)
    assert not list(root.rglob(".*.tmp"))
    # every query reads the same as before; the rollups did not change
    _assert_same(before, _snapshot(runtime, now))
    # nothing left to move
    assert runtime.archive.due(now) == []
    assert runtime.archive.run(now) == []


def test_live_windows_read_the_table_alone(runtime):
    now = _now()
    ingest_history(runtime, now)
    runtime.archive.run(now)
    with archive.snapshot(runtime.db):
        for span in (pd.Timedelta(hours=1), DAY, 7 * DAY, 80 * DAY):
            assert archive.events_relation(runtime.db, now - span, now) == ("events", [])
        rel, params = archive.events_relation(runtime.db, now - 100 * DAY, now)
    assert "read_parquet" in rel and len(params[0]) > 0
    assert all(Path(f).is_file() for f in params[0])
    # a period that ends at the midnight where an archived day starts does not read that day
    first = archive.parts(runtime.db)["day"].min()
    start = pd.Timestamp(first, tz="UTC")
    with archive.snapshot(runtime.db):
        assert archive.events_relation(runtime.db, start - DAY, start) == ("events", [])


def test_an_empty_archive_and_a_disabled_one(runtime, tmp_path):
    now = _now()
    ingest_history(runtime, now)
    with archive.snapshot(runtime.db):
        assert archive.events_relation(runtime.db) == ("events", [])
    off = archive.Archive(runtime.db, tmp_path / "other", after_days=0)
    assert off.cutoff(now) is None and off.due(now) == [] and off.run(now) == []
    assert not (tmp_path / "other").exists()
    assert load_settings(archive_after_days="none").archive_after_days == 0
    assert load_settings(archive_after_days="off").archive_after_days == 0
    with pytest.raises(ValueError):
        load_settings(archive_after_days=0.5)
    with pytest.raises(ValueError):
        archive.Archive(runtime.db, tmp_path / "other", after_days=0.5)
    with pytest.raises(ValueError):
        load_settings(archive_after_days=-1)


def test_late_events_for_an_archived_day_go_to_a_second_part(runtime):
    now = _now()
    ingest_history(runtime, now)
    moved = runtime.archive.run(now)
    first = moved[0]
    day = pd.Timestamp(first["day"], tz="UTC")
    event = {
        "id": "late-1",
        "time": (day + pd.Timedelta(hours=12)).isoformat(),
        "lon": 123.005,
        "lat": 41.005,
        "category": CATEGORIES[first["source"]][0],
        "severity": 2,
        "value": 1.0,
    }
    late = runtime.pipeline.ingest_frame(first["source"], pd.DataFrame([event]), now=now)
    assert late.accepted == 1
    per_day = queries.events_per_day(runtime.db, runtime.scope, since=day, until=day + DAY)
    got = per_day.set_index("source")["n"].to_dict()
    assert got[first["source"]] == first["rows"] + 1
    again = runtime.archive.run(now)
    assert [(p["day"], p["source"], p["rows"]) for p in again] == [
        (first["day"], first["source"], 1)
    ]
    after = queries.events_per_day(runtime.db, runtime.scope, since=day, until=day + DAY)
    pd.testing.assert_frame_equal(per_day, after)


def test_a_failed_move_rolls_back_and_leaves_no_file(runtime):
    now = _now()
    ingest_history(runtime, now)
    before = _snapshot(runtime, now)
    total = _total(runtime)
    seen: list[Path] = []

    def fail(path: Path) -> None:
        seen.append(path)
        raise OSError("disk full (test)")

    broken = archive.Archive(
        runtime.db, runtime.archive.root, after_days=90, after_file_written=fail
    )
    with pytest.raises(OSError, match="disk full"):
        broken.run(now)
    assert len(seen) == 1 and not seen[0].exists()
    assert _total(runtime) == total and archive.parts(runtime.db).empty
    _assert_same(before, _snapshot(runtime, now))


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import pandas as pd
    from data.archive import Archive
    from data.store import Database

    db = Database(sys.argv[1])
    moves = int(sys.argv[3])
    done = []

    def crash(path):
        done.append(path)
        if len(done) > moves:
            print(path, flush=True)
            os._exit(17)  # the process dies here: file renamed, transaction not committed

    Archive(db, sys.argv[2], after_days=90, after_file_written=crash).run(pd.Timestamp(sys.argv[4]))
    """
)


@pytest.mark.parametrize("moves_before_crash", [0, 3])
def test_a_crash_between_file_and_commit_loses_and_doubles_nothing(settings, moves_before_crash):
    now = _now()
    rt = Runtime(settings)
    try:
        n = ingest_history(rt, now)
        before = _snapshot(rt, now)
        root = rt.archive.root
    finally:
        rt.stop()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASH_SCRIPT,
            str(settings.db),
            str(root),
            str(moves_before_crash),
            now.isoformat(),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 17, proc.stderr
    orphan = Path(proc.stdout.strip())
    assert orphan.is_file()  # written and renamed, but its move never committed
    rel = orphan.relative_to(root).as_posix()

    rt = Runtime(settings)  # the start-time check runs here
    try:
        assert not orphan.exists()
        parts = archive.parts(rt.db)
        assert len(parts) == moves_before_crash and rel not in set(parts["path"])
        assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet")) == sorted(
            parts["path"]
        )
        assert int(parts["rows"].sum()) + _total(rt) == n
        _assert_same(before, _snapshot(rt, now))
        # the next run finishes the job, still with every event exactly once
        rt.archive.run(now)
        assert rt.archive.due(now) == []
        assert int(archive.parts(rt.db)["rows"].sum()) + _total(rt) == n
        _assert_same(before, _snapshot(rt, now))
    finally:
        rt.stop()


def test_an_unrecorded_file_with_rows_the_database_lacks_is_set_aside(runtime):
    now = _now()
    ingest_history(runtime, now)
    root = runtime.archive.root
    rel = f"date=2020-01-01/source=police/part-{'0' * 32}.parquet"
    table = pa.table({"source_event_id": ["not-in-db"], "event_time": [now.to_pydatetime()]})
    (root / rel).parent.mkdir(parents=True)
    pq.write_table(table, root / rel)
    (root / "date=2020-01-01/source=police/.part-x.parquet.tmp").write_bytes(b"half")
    got = runtime.archive.reconcile()
    assert got["set_aside"] == [rel]
    assert got["removed"] == ["date=2020-01-01/source=police/.part-x.parquet.tmp"]
    assert (root / archive.UNRECORDED / rel).is_file() and not (root / rel).exists()
    # a recorded file that disappears is reported
    runtime.archive.run(now)
    victim = archive.parts(runtime.db)["path"].iloc[0]
    os.remove(root / victim)
    assert runtime.archive.reconcile()["missing"] == [victim]


def test_the_runtime_runs_the_archiver_periodically(settings):
    now = _now()
    settings = settings.model_copy(update={"archive_interval_s": 0.2})
    rt = Runtime(settings)
    try:
        n = ingest_history(rt, now)
        rt.start()
        assert rt.archiver.running
        deadline = time.monotonic() + 20
        while rt.archive.due() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rt.archive.due() == []
        assert int(archive.parts(rt.db)["rows"].sum()) + _total(rt) == n
    finally:
        rt.stop()
    assert not rt.archiver.running


def test_files_written_by_a_bulk_tool_are_adopted(runtime):
    """bench/wall.py writes old days straight into the folder with DuckDB's COPY ...
    PARTITION_BY; once adopted they read like moved days and survive the start-time check."""
    now = _now()
    ingest_history(runtime, now)
    before = _snapshot(runtime, now)
    cutoff = runtime.archive.cutoff(now).to_pydatetime()
    root = str(runtime.archive.root).replace("'", "''")

    def bulk(con):
        con.execute(
            f"COPY (SELECT {archive.FILE_COLUMNS}, source, timezone('UTC', event_time)::DATE"
            f" AS date FROM events WHERE event_time < ?) TO '{root}' (FORMAT parquet,"
            " PARTITION_BY (date, source), FILENAME_PATTERN 'part-{uuid}')",
            [cutoff],
        )
        return con.execute("DELETE FROM events WHERE event_time < ?", [cutoff]).fetchone()[0]

    gone = runtime.db.write(bulk)
    assert gone > 0
    adopted = runtime.archive.adopt()
    assert sum(p["rows"] for p in adopted) == gone
    assert runtime.archive.adopt() == []  # once
    assert runtime.archive.reconcile() == {
        "removed": [],
        "set_aside": [],
        "missing": [],
        "changed": [],
    }
    _assert_same(before, _snapshot(runtime, now))


def test_the_read_api_serves_archived_days_as_before(runtime):
    """GET /api/events over a period reaching back: the same answer before and after the move."""
    from urllib.parse import urlencode

    from app import create_app
    from tests.support.web import sign_in

    now = _now()
    ingest_history(runtime, now)
    client = create_app(runtime=runtime).server.test_client()
    sign_in(client, runtime, "analyst", "analyst")
    query = urlencode(
        {
            "since": (now - 120 * DAY).isoformat(),
            "until": (now - 60 * DAY).isoformat(),
            "limit": 5000,
        }
    )
    before = client.get(f"/api/events?{query}&area=T01").get_json()
    assert before["count"] > 20
    assert runtime.archive.run(now)
    after = client.get(f"/api/events?{query}&area=T01").get_json()
    assert after == before


def test_an_old_warnings_evidence_reads_the_archive(runtime):
    """The reports and the series behind a warning whose events have since been archived."""
    from data.warnings import queries as wq
    from tests.support.warnings import T0, S, accidents, engine, rules

    accidents(runtime, 9)
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    city = AreaScope("city", 1)
    wid = wq.list_warnings(runtime.db, city)[0]["id"]
    before = wq.warning_detail(runtime.db, city, wid, rules(["acc"]), now=T0 + S)
    assert len(before["events"]) == 9 and before["series"]["values"][-1] == 9
    moved = runtime.archive.run(T0 + 120 * DAY)
    assert sum(p["rows"] for p in moved) == 9 and _total(runtime) == 0
    after = wq.warning_detail(runtime.db, city, wid, rules(["acc"]), now=T0 + S)
    assert after == before


def test_an_event_re_sent_after_its_day_was_archived_is_a_duplicate(runtime):
    """Replaying an old file after its days moved out must not store or count anything twice."""
    now = _now()
    n = ingest_history(runtime, now)
    assert runtime.archive.run(now)
    before = _snapshot(runtime, now)
    status = runtime.db.query("SELECT source, accepted, duplicates FROM feed_status ORDER BY 1")
    again = runtime.pipeline.ingest_frames(history_frames_by_source(now), feed="test", now=now)
    assert (again.accepted, again.duplicates) == (0, n)
    _assert_same(before, _snapshot(runtime, now))
    after = runtime.db.query("SELECT source, accepted, duplicates FROM feed_status ORDER BY 1")
    assert [(s, a) for s, a, _ in after] == [(s, a) for s, a, _ in status]
    assert sum(d for *_, d in after) == sum(d for *_, d in status) + n


def test_an_archived_id_on_another_day_is_another_event(runtime):
    """As in the database, a key in the archive is an id on one UTC day: a batch spanning two
    archived days holds the archived event again (a duplicate) and the same id a day later (a
    new event), not two duplicates."""
    now = _now()
    ingest_history(runtime, now)
    assert runtime.archive.run(now)
    source, frame = history_frames_by_source(now)[0]
    old = frame[frame["id"] == frame["id"].iloc[-1]].iloc[[0]]
    later = old.assign(time=(pd.Timestamp(old["time"].iloc[0]) + DAY).isoformat())
    batch = pd.concat([old, later], ignore_index=True)
    result = runtime.pipeline.ingest_frame(source, batch, feed="test", now=now)
    assert (result.accepted, result.duplicates) == (1, 1)


def test_an_open_ended_page_of_newest_events_does_not_open_the_archive(runtime):
    """/api/events without since: the newest page comes from the database when it fills it."""
    now = _now()
    n = ingest_history(runtime, now)
    newest = queries.list_events(runtime.db, runtime.scope, limit=5)
    everything = queries.list_events(runtime.db, runtime.scope, limit=10_000)
    assert len(everything) == n
    assert runtime.archive.run(now)
    root = runtime.archive.root
    root.rename(root.with_name("archive-away"))
    try:  # the archive is unreachable: a page the database fills still answers
        assert queries.list_events(runtime.db, runtime.scope, limit=5) == newest
    finally:
        root.with_name("archive-away").rename(root)
    assert queries.list_events(runtime.db, runtime.scope, limit=10_000) == everything


def test_a_big_day_moves_in_several_transactions_and_files(runtime, tmp_path):
    """rows_per_move bounds each transaction (other writes wait while it commits)."""
    now = _now()
    n = ingest_history(runtime, now)
    before = _snapshot(runtime, now)
    small = archive.Archive(runtime.db, runtime.archive.root, after_days=90, rows_per_move=2)
    moved = small.run(now)
    days = {(p["day"], p["source"]) for p in moved}
    assert len(moved) > len(days)  # some day and source took more than one move
    # each part holds at most 2 events, unless events share its last event time
    assert all(p["rows"] <= 2 or p["min_time"] == p["max_time"] for p in moved)
    assert sum(p["rows"] for p in moved) + _total(runtime) == n
    _assert_same(before, _snapshot(runtime, now))
