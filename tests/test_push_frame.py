"""The column-wise push frame (data/push.py) against the former per-record pydantic path.

Both frames go through the real pipeline's preparation (normalise, validate, place, split) on a
real store: the rows to store, the rows to quarantine (reason, id, raw record), the in-batch
repeats and the errors the API answers must be identical, for random batches of good, mutated and
arbitrary records, and for records made to sit just beside the plain path's edges.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from data.events import CATEGORIES, SOURCES
from data.push import push_frame
from tests.support.push_reference import push_frame_per_record
from tests.support.records import JSON_VALUES, batches, good_records

NOW = pd.Timestamp.now(tz="UTC").floor("s")
PROPS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)

# values beside the plain path's edges: pydantic reads some of them, refuses others
NEAR_EDGES = {
    "id": [" k1", "k1 ", "k1\x1f", "\u3000k", "", 12, 10**250, True, 1.5, "x" * 201, "x" * 200],
    "time": [
        "2026-11-26T05:00Z",
        "2026-11-26T05:00+08:00",
        "2026-11-26 05:00:00Z",
        "2026-11-26T05:00:00.1234567Z",
        "2026-11-26T05:00:00.123456Z",
        "2026-02-29T05:00:00Z",
        "2026-11-26T05:00:00",
        "2026-11-26T05:00:00z",
        " 2026-11-26T05:00:00Z",
        "2026-11-26T05:00:00+23:59",
        "2026-11-26T05:00:00-00:00",
        "1999-12-31T23:59:59Z",
        1764133200,
    ],
    "lon": [180, -180.0, 180.0000001, float("nan"), "123.1", True, 10**400, 0],
    "lat": [90, -90.0, 90.5, float("inf"), "41.0", 0, 0.0],
    "severity": [0, 1, 5, 6, 3.0, "3", True, None, -(10**30)],
    "value": [None, 0, 1e308, 10**400, float("nan"), "1.5", False, -3],
    "text": [None, "", " a", "a ", "x" * 4000, "x" * 4001, "\ud800", 5],
    "category": [" criminal", "criminal ", "", None, 3, "\udfff"],
    "attributes": [None, {}, {"a": float("nan")}, {"a": "\ud800"}, {"\ud800": 1}, [], "x"],
}


@st.composite
def edge_batches(draw):
    """Good records with one or two fields set to a value near an edge."""
    source = draw(st.sampled_from(SOURCES))
    records = []
    for _ in range(draw(st.integers(1, 8))):
        rec = dict(draw(good_records(source)))
        for name in draw(st.lists(st.sampled_from(sorted(NEAR_EDGES)), max_size=2, unique=True)):
            rec[name] = draw(st.sampled_from(NEAR_EDGES[name]))
        records.append(rec)
    return source, records


def prepared(pipeline, source, frame):
    return pipeline._prepare(source, frame, f"push:{source}", NOW)


def assert_same(pipeline, source, records) -> None:
    new = prepared(pipeline, source, push_frame(source, records))
    old = prepared(pipeline, source, push_frame_per_record(source, records))
    note(f"old reasons {old.quarantine['reason'].tolist()}")
    note(f"new reasons {new.quarantine['reason'].tolist()}")
    assert new.events.equals(old.events), (new.events.to_pylist(), old.events.to_pylist())
    pd.testing.assert_frame_equal(new.quarantine, old.quarantine)
    assert new.repeats == old.repeats
    assert new.errors == old.errors


@PROPS
@given(batch=batches(max_size=10))
def test_column_wise_push_frame_equals_the_per_record_path(runtime, batch):
    source, records, _ = batch
    assert_same(runtime.pipeline, source, records)


@PROPS
@given(batch=edge_batches())
def test_records_beside_the_plain_path_edges_end_the_same(runtime, batch):
    source, records = batch
    assert_same(runtime.pipeline, source, records)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(records=st.lists(JSON_VALUES, max_size=6))
def test_any_json_values_end_the_same(runtime, records):
    assert_same(runtime.pipeline, "police", records)


def test_plain_records_skip_pydantic_and_bad_ones_keep_its_reason(runtime, monkeypatch):
    """A batch of plain records is checked without PushEvent; a bad record still gets the
    model's own reason and the unknown category the push rule's reason."""
    import data.push as push

    calls = []
    real = push._one_record
    monkeypatch.setattr(
        push, "_one_record", lambda s, r, *more: calls.append(r) or real(s, r, *more)
    )
    cat = CATEGORIES["police"][0]
    good = {"id": "a", "time": "2026-11-26T05:00:00+08:00", "lon": 123.0, "lat": 41.0}
    records = [
        good | {"category": cat},
        good | {"id": "b", "category": "nope"},
        good | {"id": "c", "category": cat, "severity": 9},
    ]
    frame = push_frame("police", records)
    assert calls == [records[2]]
    assert frame["_reason"].tolist() == [
        None,
        "unknown category 'nope' for source police",
        "severity: Input should be less than or equal to 5",
    ]
    assert frame["time"].iloc[0] == pd.Timestamp("2026-11-25T21:00:00Z")
    assert pa.array(frame["id"]).to_pylist() == ["a", "b", "c"]
