"""The column-wise push frame (data/push.py) against the former per-record pydantic path.

Both frames go through the real pipeline's preparation (normalise, validate, place, split) on a
real store: the rows to store, the rows to quarantine (reason, id, raw record), the in-batch
repeats and the errors the API answers must be identical, for random batches of good, mutated and
arbitrary records, and for records made to sit just beside the plain path's edges.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.events import CATEGORIES
from data.push import push_frame
from tests.support.push_reference import push_frame_per_record
from tests.support.records import JSON_VALUES, NOW, PROPS, assert_same_batch, batches, edge_batches


def prepared(pipeline, source, frame):
    return pipeline._prepare(source, frame, f"push:{source}", NOW)


def assert_same(pipeline, source, records) -> None:
    new = prepared(pipeline, source, push_frame(source, records))
    old = prepared(pipeline, source, push_frame_per_record(source, records))
    assert_same_batch(new, old)


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
