"""The 5-minute rollups (``cell_counts``) without a key index: one row per group, always.

Migration 21 dropped the primary key on (bucket, cell_key, source); ingest merges each write's
groups into the table by a join instead of ON CONFLICT. Nothing in the table enforces one row
per group any more, so these tests pin it: after batches that hit old and new groups, alone, in
bulk and with duplicates, every group is one row holding exactly what its stored events sum to,
and an old keyed store keeps its rollups through the migration and goes on adding to them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data import schema
from data.runtime import Runtime
from tests.support.region import tiny_cell_center

NOW = pd.Timestamp("2026-11-26T06:00:00Z")
# what the rollups must equal: the stored events, grouped as ingest groups them
FROM_EVENTS = """
    SELECT time_bucket(INTERVAL 300 SECOND, event_time) AS bucket, cell_key, source,
           count(*) AS n, coalesce(sum(severity), 0) AS severity_sum, max(value) AS value_max
    FROM events GROUP BY ALL ORDER BY ALL
"""
ROLLUPS = "SELECT * FROM cell_counts ORDER BY ALL"
GROUPS_IN_MORE_THAN_ONE_ROW = """
    SELECT count(*) FROM (SELECT 1 FROM cell_counts GROUP BY bucket, cell_key, source
                          HAVING count(*) > 1)
"""


def _frame(
    rng: np.random.Generator, ids: range, minutes: int = 40, category: str = "accident"
) -> pd.DataFrame:
    """Events of ``ids`` in 8 cells over ``minutes`` minutes before NOW (8 buckets of 5)."""
    n = len(ids)
    cells = rng.integers(0, 8, n)
    where = [tiny_cell_center(1 + c // 4, c % 4, 0) for c in cells]
    return pd.DataFrame(
        {
            "id": [f"e{i}" for i in ids],
            "time": NOW - pd.to_timedelta(rng.integers(1, minutes * 60, n), unit="s"),
            "lon": [w[0] for w in where],
            "lat": [w[1] for w in where],
            "category": category,
            "severity": rng.integers(1, 5, n),
            "value": rng.uniform(0, 100, n).round(1),
        }
    )


def _assert_one_row_per_group_equal_to_events(db) -> None:
    assert db.query_one(GROUPS_IN_MORE_THAN_ONE_ROW)[0] == 0
    assert db.query(ROLLUPS) == db.query(FROM_EVENTS)


def test_batches_alone_and_in_bulk_keep_one_row_per_group(runtime):
    rng = np.random.default_rng(21)
    p = runtime.pipeline
    p.ingest_frame("traffic", _frame(rng, range(0, 60)), now=NOW)
    # new events in the same buckets and cells: the groups grow, no new rows for them
    p.ingest_frame("traffic", _frame(rng, range(60, 120)), now=NOW)
    # the same ids again (duplicates add nothing) beside new ones, and another source
    p.ingest_frame("traffic", _frame(rng, range(100, 160)), now=NOW)
    police = p.ingest_frame("police", _frame(rng, range(0, 40), category="criminal"), now=NOW)
    assert police.accepted == 40
    _assert_one_row_per_group_equal_to_events(runtime.db)
    # the bulk path: small batches of one source share a transaction (Pipeline._stream), so
    # one write holds several batches' events of the same groups
    bulk = [("traffic", _frame(rng, range(k, k + 50), minutes=90)) for k in range(160, 560, 50)]
    result = p.ingest_frames(bulk, now=NOW)
    assert result.accepted == 400
    _assert_one_row_per_group_equal_to_events(runtime.db)
    assert runtime.db.query_one("SELECT sum(n) FROM cell_counts")[0] == 160 + 40 + 400


def test_the_rollups_have_no_key_index(runtime):
    keyed = runtime.db.query(
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'cell_counts'"
        " AND constraint_type = 'PRIMARY KEY'"
    )
    assert keyed == []


def test_an_old_keyed_store_keeps_its_rollups_through_migration_21(settings, monkeypatch):
    rng = np.random.default_rng(7)
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", [x for x in schema.MIGRATIONS if x[0] < 21])
        rt = Runtime(settings)
        try:
            assert rt.pipeline.ingest_frame("traffic", _frame(rng, range(80)), now=NOW).accepted
            keyed = rt.db.query(
                "SELECT constraint_type FROM duckdb_constraints()"
                " WHERE table_name = 'cell_counts' AND constraint_type = 'PRIMARY KEY'"
            )
            assert keyed == [("PRIMARY KEY",)]
            before = rt.db.query(ROLLUPS)
        finally:
            rt.stop()
    rt = Runtime(settings)  # opening the store applies migration 21
    try:
        assert rt.db.query_one("SELECT max(version) FROM schema_version")[0] >= 21
        assert rt.db.query(ROLLUPS) == before
        # the old store's groups take the new events in place
        assert rt.pipeline.ingest_frame("traffic", _frame(rng, range(80, 200)), now=NOW).accepted
        assert len(rt.db.query(ROLLUPS)) >= len(before)
        _assert_one_row_per_group_equal_to_events(rt.db)
    finally:
        rt.stop()
