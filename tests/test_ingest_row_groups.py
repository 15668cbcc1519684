"""Bulk loads and DuckDB's row groups; work moved off the writer (issue 12).

An INSERT of fewer rows than a row group, and an UPDATE of rows inserted in the same
transaction, make DuckDB write every column of those rows to the write-ahead log; the log's size
then sets how often a checkpoint runs inside a commit. So a stream sends a batch smaller than a
row group in the same transaction as the next one, and the hotline intake gives events their
case ids in the events' own INSERT. The search text is computed as a batch is prepared, by the
same DuckDB expression. Real store (DuckDB file), real pipeline and case service.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import data.ingest
from data.ingest import ROW_GROUP_ROWS, IngestResult
from data.runtime import Runtime
from data.schema import EVENT_SEARCH_SQL
from tests.support.region import tiny_cell_center

NOW = pd.Timestamp("2026-11-26T06:00:00Z")


def events(n: int, category: str, prefix: str, text_len: int = 10) -> pd.DataFrame:
    """``n`` events in one cell of the tiny region, an hour before NOW."""
    lon, lat = tiny_cell_center(1, 0, 0)
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in range(n)],
            "time": pd.Timestamp("2026-11-26T05:00:00Z") + pd.to_timedelta(np.arange(n), "ms"),
            "lon": lon,
            "lat": lat,
            "category": category,
            "severity": 2,
            "text": [f"{prefix}{i} " + "x" * text_len for i in range(n)],
        }
    )


@pytest.fixture
def groups(runtime):
    """The sources of each transaction's new events, in order (an insert hook records them)."""
    seen: list[list[str]] = []

    def record(con, table, prepared):
        seen.append(sorted(set(table.column("source").to_pylist())))
        return table

    runtime.pipeline.add_insert_hook(record)
    return seen


def test_a_batch_smaller_than_a_row_group_shares_the_next_ones_transaction(
    runtime, groups, monkeypatch
):
    monkeypatch.setattr(data.ingest, "ROW_GROUP_ROWS", 4)
    items = [
        ("a", "police", events(3, "criminal", "a")),  # small: waits for "b"
        ("a", None, None),  # the end of file a
        ("b", "traffic", events(2, "accident", "b")),  # 3 + 2 >= 4: a and b go together
        ("c", "market", events(5, "food_safety", "c")),  # alone
        ("d", "police", events(1, "criminal", "d")),  # the last: alone, at the end
    ]
    out = list(runtime.pipeline.ingest_stream(items, now=NOW))
    assert [tag for tag, _ in out] == ["a", "a", "b", "c", "d"]
    assert [r.accepted for _, r in out if isinstance(r, IngestResult)] == [3, 2, 5, 1]
    assert out[1][1] is None  # the file's end, told after its rows committed
    # (c and d may share a transaction too: group commit takes whatever waits for the writer)
    assert groups[0] == ["police", "traffic"]
    assert runtime.db.query_one("SELECT count(*) FROM events")[0] == 11


def test_the_next_batch_is_read_and_prepared_while_a_group_commits(runtime, monkeypatch):
    """A stream keeps the writer busy: while a transaction of a held batch and the next one
    is written, the stream goes on reading and preparing the batch after them (waiting for
    that transaction first left the writer idle for a whole batch's preparation)."""
    monkeypatch.setattr(data.ingest, "ROW_GROUP_ROWS", 4)
    prepared = threading.Event()
    seen: list[tuple[list[str], bool]] = []

    def prepare(source, table, now):
        if source == "market":
            prepared.set()

    def insert(con, table, ready):
        sources = sorted(set(table.column("source").to_pylist()))
        # the first transaction waits (bounded) for the third batch to be prepared
        seen.append((sources, prepared.wait(10) if "police" in sources else prepared.is_set()))
        return table

    runtime.pipeline.add_insert_hook(insert, prepare=prepare)
    items = [
        ("a", "police", events(3, "criminal", "a")),  # small: waits for "b"
        ("b", "traffic", events(2, "accident", "b")),  # a and b: one transaction
        ("c", "market", events(5, "food_safety", "c")),  # prepared while a + b are written
    ]
    out = list(runtime.pipeline.ingest_stream(items, now=NOW))
    assert [r.accepted for _, r in out] == [3, 2, 5]
    assert seen[0] == (["police", "traffic"], True)


def test_two_sends_are_in_flight_while_the_next_batch_is_prepared(runtime, monkeypatch):
    """The stream reads ahead of two sends (READ_AHEAD): while the first is still written,
    the third batch is prepared (with one, the stream waited for the first to finish after
    sending the second, and the writer then waited for the third batch's preparation)."""
    assert data.ingest.READ_AHEAD == 2
    monkeypatch.setattr(data.ingest, "ROW_GROUP_ROWS", 2)
    prepared = threading.Event()
    seen: list[tuple[str, bool]] = []

    def prepare(source, table, now):
        if source == "market":
            prepared.set()

    def insert(con, table, ready):
        source = table.column("source")[0].as_py()
        # the first send's transaction waits (bounded) for the third batch to be prepared
        seen.append((source, prepared.wait(10) if source == "police" else prepared.is_set()))
        return table

    runtime.pipeline.add_insert_hook(insert, prepare=prepare)
    items = [
        ("a", "police", events(3, "criminal", "a")),  # a send of its own
        ("b", "traffic", events(3, "accident", "b")),  # a second send, in flight too
        ("c", "market", events(3, "food_safety", "c")),  # prepared while "a" is written
    ]
    out = list(runtime.pipeline.ingest_stream(items, now=NOW))
    assert [r.accepted for _, r in out] == [3, 3, 3]
    assert seen[0] == ("police", True)


def test_a_held_batch_is_stored_when_the_next_one_fails(runtime, groups, monkeypatch):
    monkeypatch.setattr(data.ingest, "ROW_GROUP_ROWS", 100)
    items = [
        ("a", "police", events(3, "criminal", "a")),
        ("b", "no-such-source", events(2, "criminal", "b")),
        ("c", "traffic", events(2, "accident", "c")),
    ]
    out = list(runtime.pipeline.ingest_stream(items, now=NOW))
    assert [tag for tag, _ in out] == ["a", "b", "c"]
    assert out[0][1].accepted == 3
    assert isinstance(out[1][1], ValueError) and "no-such-source" in str(out[1][1])
    assert out[2][1].accepted == 2
    assert groups == [["police"], ["traffic"]]
    assert runtime.db.query_one("SELECT count(*) FROM events")[0] == 5


def test_a_held_batch_is_refused_in_order_when_the_store_closes(runtime, monkeypatch):
    monkeypatch.setattr(data.ingest, "ROW_GROUP_ROWS", 100)

    def items():
        yield "a", "police", events(3, "criminal", "a")  # prepared, and held: it is small
        runtime.db.close()  # the store closes before the held batch is sent
        yield "a", None, None

    out = list(runtime.pipeline.ingest_stream(items(), now=NOW))
    assert [tag for tag, _ in out] == ["a", "a"]
    assert isinstance(out[0][1], RuntimeError) and "closed" in str(out[0][1])


@pytest.fixture
def quiet_log_runtime(settings):
    """A runtime whose write-ahead log is never checkpointed during the test (its size is the
    measure), cases made from hotline events."""
    settings.wal_limit_mb = 4096
    settings.checkpoint_interval_s = 0
    rt = Runtime(settings)
    yield rt
    rt.stop()


def test_a_bulk_hotline_batch_and_its_cases_go_to_the_file_not_the_log(quiet_log_runtime):
    rt = quiet_log_runtime
    n = ROW_GROUP_ROWS + 1
    before = rt.db.wal_bytes()
    result = rt.pipeline.ingest_frame("hotline", events(n, "heating", "h", text_len=120), now=NOW)
    assert result.accepted == n
    # linking the stored events to their cases by an UPDATE put all of them in the log (30 MB)
    grown_mb = (rt.db.wal_bytes() - before) / 2**20
    assert grown_mb < 4, f"the write-ahead log grew by {grown_mb:.1f} MB"
    # every hotline event is linked to its case, by the INSERT that stored it
    linked = rt.db.query_one(
        "SELECT count(*), count(c.id), count(DISTINCT c.id) FROM events e "
        "LEFT JOIN cases c ON c.id = e.case_id WHERE e.source = 'hotline'"
    )
    assert linked == (n, n, n)


def test_the_search_text_computed_before_the_writer_is_the_stored_expressions(runtime):
    # more rows than one scan task, so DuckDB reads the batch in parallel: each row must still
    # get its own text
    n = ROW_GROUP_ROWS + 1000
    frame = events(n, "criminal", "Mixed-Case-É", text_len=5)
    frame["attributes"] = [f'{{"Road": "R{i}"}}' for i in range(n)]
    assert runtime.pipeline.ingest_frame("police", frame, now=NOW).accepted == n
    wrong = runtime.db.query_one(
        f"SELECT count(*) FROM events WHERE search IS DISTINCT FROM {EVENT_SEARCH_SQL}"
    )[0]
    assert wrong == 0
    assert runtime.db.query_one(
        "SELECT search FROM events WHERE source_event_id = 'Mixed-Case-É7'"
    ) == ('mixed-case-é7 xxxxx\n{"road": "r7"}',)
