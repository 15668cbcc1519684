"""De-duplication without a key index: a batch is compared with the events of its own days.

The events table has no primary key (migration 19): the pipeline looks up the batch's 4-byte id
digests among the stored events of the batch's UTC days, then compares the ids of the few rows
whose digest matches. These tests pin what that must get right: a digest shared by two ids is
not a duplicate, a re-sent batch spread over several days is recognised on each day, and an old
store keeps its events and its duplicates through the migration.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from data import schema
from data.dedupe import (
    HASH_IN_DUCKDB_FROM,
    first_in_group,
    first_of_each,
    id_hashes,
    keys,
    repeated_in_batch,
    utc_days,
)
from data.runtime import Runtime
from tests.support.region import tiny_cell_center

NOW = pd.Timestamp("2026-11-26T06:00:00Z")


def _rows(ids_times: list[tuple[str, str]]) -> pd.DataFrame:
    lon, lat = tiny_cell_center(1, 0, 0)
    return pd.DataFrame(
        [
            {"id": i, "time": t, "lon": lon, "lat": lat, "category": "accident", "severity": 2}
            for i, t in ids_times
        ]
    )


def _colliding_ids() -> tuple[str, str]:
    """Two ids with the same 31-bit digest (a birthday search over generated ids)."""
    row = duckdb.sql(
        f"""
        SELECT min(id), max(id) FROM (
            SELECT 'id-' || i AS id,
                   {schema.EVENT_ID_HASH_SQL.replace("source_event_id", "('id-' || i)")} AS h
            FROM range(400000) r(i))
        GROUP BY h HAVING count(*) > 1 ORDER BY h LIMIT 1
        """
    ).fetchall()
    assert row, "no digest collision among 400,000 ids (expected about 37)"
    a, b = row[0]
    assert schema.id_hash(a) == schema.id_hash(b) and a != b
    return a, b


def test_ids_sharing_a_digest_are_two_events(runtime):
    a, b = _colliding_ids()
    first = runtime.pipeline.ingest_frame("traffic", _rows([(a, "2026-11-26T01:00:00Z")]), now=NOW)
    second = runtime.pipeline.ingest_frame("traffic", _rows([(b, "2026-11-26T02:00:00Z")]), now=NOW)
    assert (first.accepted, second.accepted, second.duplicates) == (1, 1, 0)
    again = runtime.pipeline.ingest_frame(
        "traffic", _rows([(a, "2026-11-26T01:00:00Z"), (b, "2026-11-26T02:00:00Z")]), now=NOW
    )
    assert (again.accepted, again.duplicates) == (0, 2)
    got = runtime.db.query("SELECT source_event_id FROM events ORDER BY 1")
    assert got == sorted([(a,), (b,)])
    assert runtime.db.query_one("SELECT sum(n) FROM cell_counts")[0] == 2


def test_a_resent_batch_over_scattered_days_is_recognised_on_each(runtime):
    # days 10, 11 (one run) and 20, 25 (runs of their own), with a midnight on either side
    sent = [
        ("m1", "2026-11-10T00:00:00Z"),
        ("m2", "2026-11-10T23:59:59.999999Z"),
        ("m3", "2026-11-11T12:00:00Z"),
        ("m4", "2026-11-20T08:00:00Z"),
        ("m5", "2026-11-25T23:00:00Z"),
    ]
    first = runtime.pipeline.ingest_frame("traffic", _rows(sent), now=NOW)
    assert (first.accepted, first.duplicates) == (5, 0)
    # one new id in the re-sent batch is stored; the five old ones are duplicates
    again = runtime.pipeline.ingest_frame(
        "traffic", _rows(sent + [("m6", "2026-11-20T09:00:00Z")]), now=NOW
    )
    assert (again.accepted, again.duplicates) == (1, 5)
    assert runtime.db.query_one("SELECT count(*) FROM events")[0] == 6
    status = runtime.db.query_one("SELECT accepted, duplicates FROM feed_status")
    assert status == (6, 5)


def test_the_key_is_unique_per_day_of_event_time(runtime):
    """A re-send with another time on the same UTC day is a duplicate; the same id on another
    day is another event (docs/ARCHITECTURE.md: de-duplication)."""
    runtime.pipeline.ingest_frame("traffic", _rows([("k", "2026-11-24T03:00:00Z")]), now=NOW)
    same_day = runtime.pipeline.ingest_frame(
        "traffic", _rows([("k", "2026-11-24T22:00:00Z")]), now=NOW
    )
    other_day = runtime.pipeline.ingest_frame(
        "traffic", _rows([("k", "2026-11-25T03:00:00Z")]), now=NOW
    )
    assert (same_day.accepted, same_day.duplicates) == (0, 1)
    assert (other_day.accepted, other_day.duplicates) == (1, 0)


def test_an_old_keyed_store_keeps_its_events_and_duplicates_through_migration_19(
    settings, monkeypatch
):
    sent = [(f"o{i}", f"2026-11-2{i % 5}T0{i % 9}:00:00Z") for i in range(40)]
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", [x for x in schema.MIGRATIONS if x[0] < 19])
        rt = Runtime(settings)
        try:
            assert rt.pipeline.ingest_frame("traffic", _rows(sent), now=NOW).accepted == 40
            keyed = rt.db.query(
                "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'events'"
                " AND constraint_type = 'PRIMARY KEY'"
            )
            assert keyed == [("PRIMARY KEY",)]
            before = rt.db.query("SELECT * EXCLUDE (received_at) FROM events ORDER BY ALL")
        finally:
            rt.stop()
    rt = Runtime(settings)  # opening the store applies migration 19
    try:
        assert rt.db.query_one("SELECT max(version) FROM schema_version")[0] >= 19
        keyed = rt.db.query(
            "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'events'"
            " AND constraint_type = 'PRIMARY KEY'"
        )
        assert keyed == []
        assert rt.db.query("SELECT * EXCLUDE (received_at) FROM events ORDER BY ALL") == before
        again = rt.pipeline.ingest_frame("traffic", _rows(sent), now=NOW)
        assert (again.accepted, again.duplicates) == (0, 40)
    finally:
        rt.stop()


def test_id_digests_are_the_same_on_both_paths():
    """Small batches hash in Python, large ones in DuckDB: both must give the stored digest
    (EVENT_ID_HASH_SQL), or a re-sent event would not be found."""
    ids = [f"id-{i}" for i in range(HASH_IN_DUCKDB_FROM + 10)] + ["中文-1", "", "a\x00b", "é" * 300]
    large = id_hashes(pa.array(ids)).to_pylist()
    small = id_hashes(pa.array(ids[-50:])).to_pylist()
    in_sql = [
        r[0]
        for r in duckdb.sql(
            f"SELECT {schema.EVENT_ID_HASH_SQL} FROM (SELECT unnest(?::VARCHAR[]) AS source_event_id)",
            params=[ids],
        ).fetchall()
    ]
    assert large == in_sql == [schema.id_hash(i) for i in ids]
    assert small == in_sql[-50:]
    # the SQL is the faster form of the digest the first stores were filled with
    assert in_sql == [
        r[0]
        for r in duckdb.sql(
            "SELECT (md5_number_lower(i) >> 33)::INTEGER FROM (SELECT unnest(?::VARCHAR[]) AS i)",
            params=[ids],
        ).fetchall()
    ]


# rows of a group of batches: few sources, ids and days, and each id's digest drawn from three
# values, so keys repeat and digests meet both for one key and for two different ids
_IDS = ["a", "b", "c", "中文", "", "a\x00b"]
_TIMES = [NOW, NOW + pd.Timedelta(hours=1), NOW + pd.Timedelta(days=1)]  # two UTC days
_GROUP = st.tuples(
    st.lists(
        st.tuples(
            st.sampled_from(["police", "hotline", "traffic"]),
            st.sampled_from(_IDS),
            st.sampled_from(_TIMES),
        ),
        max_size=40,
    ),
    st.lists(st.integers(min_value=-1, max_value=1), min_size=len(_IDS), max_size=len(_IDS)),
)


@settings(max_examples=300, deadline=None)
@given(_GROUP)
def test_the_first_of_each_key_in_a_group_is_found_through_the_digests(group):
    """The writer keeps the first row of every key in a group of batches, comparing the keys only
    where source and digest meet: the same rows as comparing every key."""
    rows, digest = group
    events = pa.table(
        {
            "source": pa.array([r[0] for r in rows], pa.string()),
            "source_event_id": pa.array([r[1] for r in rows], pa.string()),
            "id_hash": pa.array([digest[_IDS.index(r[1])] for r in rows], pa.int32()),
            "event_time": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )
    expected = first_of_each(keys(events)).tolist() if rows else []
    assert first_in_group(events).tolist() == expected


def test_an_id_repeated_in_one_batch_on_two_days_is_two_events(runtime):
    """Inside one batch too the key holds the day: the same id on two UTC days is two events,
    so re-sending either is a duplicate (the store compares by day; a batch that counted the
    second as a repeat left it unstored, and its re-send was then taken as new)."""
    batch = _rows(
        [
            ("d", "2026-11-24T23:59:48Z"),
            ("d", "2026-11-25T07:00:00Z"),
            ("d", "2026-11-25T08:00:00Z"),
        ]
    )
    first = runtime.pipeline.ingest_frame("traffic", batch, now=NOW)
    assert (first.accepted, first.duplicates) == (2, 1)
    for i in range(3):
        again = runtime.pipeline.ingest_frame("traffic", batch.iloc[[i]], now=NOW)
        assert (again.accepted, again.duplicates) == (0, 1)
    records = _rows([("p", "2026-11-24T23:00:00Z"), ("p", "2026-11-25T01:00:00Z")]).to_dict(
        orient="records"
    )
    pushed = runtime.pipeline.ingest_records("traffic", records, now=NOW)
    assert (pushed.accepted, pushed.duplicates) == (2, 0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "中", ""]), st.integers(0, 3 * 86_400 - 1)),
        max_size=40,
    )
)
def test_a_repeat_inside_a_batch_is_found_whatever_the_digests(rows):
    """Only rows whose digest and day meet another row's have their ids compared: with the real
    digests, and with every digest the same (all rows meet), the repeats are exactly pandas'
    duplicated of (id, UTC day)."""
    ids = pa.array([r[0] for r in rows], pa.string())
    times = pa.array([NOW.value // 1000 + r[1] * 1_000_000 for r in rows], pa.int64()).cast(
        pa.timestamp("us", tz="UTC")
    )
    expected = (
        pd.DataFrame({"id": [r[0] for r in rows], "day": utc_days(times).to_numpy()})
        .duplicated(keep="first")
        .to_numpy()
    )
    real = id_hashes(ids).to_numpy(zero_copy_only=False)
    same = np.zeros(len(rows), dtype=np.int32)
    assert repeated_in_batch(ids, real, times).tolist() == expected.tolist()
    assert repeated_in_batch(ids, same, times).tolist() == expected.tolist()
