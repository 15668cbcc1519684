"""Pushed records straight to Arrow columns (``Pipeline.ingest_records``) against the frame path.

A batch whose records are all plain skips pandas (data/push.py ``plain_columns``); any other
batch takes the canonical frame (``push_frame``, then ``Pipeline._prepare``). Both must prepare
the same batch: the rows to store, the rows to quarantine (reason, id, raw record), the in-batch
repeats and the errors the API answers. Plain batches are made to hold every reason a plain
record can still earn (unknown category, a required value missing, a placeholder date, a future
time, outside the region, a repeated id), and the frame path's random and edge batches are
checked too (they mostly fall back, which must change nothing).
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import data.ingest as ingest
from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.events import SOURCES
from data.ingest import Pipeline
from data.push import plain_columns, push_frame
from tests.support.records import NOW, PROPS, assert_same_batch, batches, edge_batches, good_records
from tests.support.region import tiny_cell_center

# plain changes that make a good record invalid, or odd but valid
PLAIN_CHANGES = {
    "unknown category": lambda rec, draw: rec | {"category": "no-such-category"},
    "placeholder date": lambda rec, draw: rec | {"time": "1999-12-31T23:59:59+08:00"},
    "just before 2000": lambda rec, draw: rec | {"time": "1999-12-31T23:59:59.999999Z"},
    "future": lambda rec, draw: rec | {"time": (NOW + pd.Timedelta(hours=2)).isoformat()},
    "just inside the hour ahead": lambda rec, draw: (
        rec | {"time": (NOW + pd.Timedelta(minutes=59)).isoformat()}
    ),
    "outside the region": lambda rec, draw: rec | {"lon": 100.5, "lat": 30.25},
    "no value": lambda rec, draw: {k: v for k, v in rec.items() if k != "value"},
    "no severity": lambda rec, draw: {k: v for k, v in rec.items() if k != "severity"},
    "integer id": lambda rec, draw: rec | {"id": draw(st.integers(0, 10**12))},
    "no attributes": lambda rec, draw: {k: v for k, v in rec.items() if k != "attributes"},
    "nested attributes": lambda rec, draw: rec | {"attributes": {"a": [1, {"b": None}], "c": 1.5}},
    "fraction and offset": lambda rec, draw: rec | {"time": "2026-11-20T01:02:03.5-05:30"},
}


@st.composite
def plain_batches(draw):
    """(source, records): plain records, some changed to earn a reason, some ids repeated."""
    source = draw(st.sampled_from(SOURCES))
    records = []
    for _ in range(draw(st.integers(1, 12))):
        rec = dict(draw(good_records(source)))
        # good records may carry text or attribute keys with surrounding space (pydantic
        # strips them): plain records carry none
        rec["attributes"] = {k.strip(): v for k, v in rec["attributes"].items()}
        if rec["text"] is not None:
            rec["text"] = rec["text"].strip()
        for change in draw(st.lists(st.sampled_from(sorted(PLAIN_CHANGES)), max_size=2)):
            rec = PLAIN_CHANGES[change](rec, draw)
        if records and draw(st.integers(0, 4)) == 0:
            rec["id"] = draw(st.sampled_from(records))["id"]
        records.append(rec)
    return source, records


def frame_path(pipeline, source, records):
    return pipeline._prepare(source, push_frame(source, records, pipeline.catalogue), "f", NOW)


def assert_same(pipeline, source, records) -> None:
    new = pipeline._prepare_records(source, records, "f", NOW)
    old = frame_path(pipeline, source, records)
    assert_same_batch(new, old)


@PROPS
@given(batch=plain_batches())
def test_a_plain_batch_takes_the_arrow_path_and_ends_as_the_frame_path(runtime, batch):
    source, records = batch
    assert plain_columns(source, records, runtime.pipeline.catalogue) is not None
    assert_same(runtime.pipeline, source, records)


@PROPS
@given(batch=batches(max_size=10))
def test_random_batches_end_the_same(runtime, batch):
    source, records, _ = batch
    assert_same(runtime.pipeline, source, records)


@PROPS
@given(batch=edge_batches())
def test_records_beside_the_plain_edges_end_the_same(runtime, batch):
    source, records = batch
    assert_same(runtime.pipeline, source, records)


@PROPS
@given(batch=plain_batches())
def test_a_source_default_severity_fills_both_paths_alike(runtime, batch):
    source, records = batch
    specs = [
        s.model_copy(update={"default_severity": 4}) if s.id == source else s
        for s in DEFAULT_CATALOGUE.sources
    ]
    catalogue = Catalogue(sources=tuple(specs))
    pipeline = Pipeline(
        runtime.db, runtime.pipeline.placer, ingest.cell_lineage(runtime.db), catalogue
    )
    assert_same(pipeline, source, records)


def test_a_plain_push_batch_is_stored_without_the_frame(runtime, monkeypatch):
    """The common batch: no pandas frame is built, and every record is stored and counted."""
    calls = []
    monkeypatch.setattr(ingest, "push_frame", lambda *a: calls.append(a))
    good = {"time": NOW.isoformat(), "lon": 0, "lat": 0, "category": "criminal"}
    lon, lat = tiny_cell_center(1, 0, 0)
    records = [good | {"id": f"p{i}", "lon": lon, "lat": lat} for i in range(5)]
    records.append(good | {"id": "p0", "lon": lon, "lat": lat})  # repeated in the batch
    records.append(good | {"id": "late", "lon": lon, "lat": lat, "time": "1999-01-01T00:00:00Z"})
    result = runtime.pipeline.ingest_records("police", records, feed="push:police", now=NOW)
    assert calls == []
    assert (result.accepted, result.duplicates, result.quarantined) == (5, 1, 1)
    assert result.errors == [
        {"index": 6, "id": "late", "reason": "time before 2000-01-01 (placeholder date)"}
    ]
    stored = runtime.db.query_one(
        "SELECT count(*), count(DISTINCT source_event_id) FROM events WHERE source = 'police'"
    )
    assert stored == (5, 5)
    raw = runtime.db.query_one("SELECT raw FROM quarantine WHERE source_event_id = 'late'")[0]
    assert '"1999-01-01T00:00:00Z"' in raw
