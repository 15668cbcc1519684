"""Random push records for property tests (hypothesis strategies), shared by the tests that
feed them to the push API, the pipeline and the column-wise push frame."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st

from data.events import CATEGORIES, SOURCES
from tests.support.region import TINY_STEP, TINY_X0, TINY_Y0

# -- strategies ----------------------------------------------------------------------------------

SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc80b", "\ud83d"])
TEXT = st.one_of(
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=4), SURROGATES, st.text(max_size=4)),
    st.text(max_size=12),
    st.text(st.characters(codec="utf-8"), max_size=12),
)
POOL = [f"k{i}" for i in range(8)] + ["0", "1"]
GOOD_IDS = st.sampled_from(POOL)
ID_POOL = st.one_of(GOOD_IDS, st.sampled_from(["", " ", " k1", "k1 "]))
IDS = st.one_of(ID_POOL, ID_POOL, TEXT, st.integers(-(10**30), 10**30))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
ANY_TIME = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:59:59-05:00",
            "0001-01-01T00:00:00+01:00",
            "2026-13-45T99:00:00Z",
            "1900-01-01T00:00:00Z",
            "",
        ]
    ),
    st.datetimes(timezones=st.one_of(st.none(), OFFSETS)).map(lambda t: t.isoformat()),
    TEXT,
)


@st.composite
def good_records(draw, source: str) -> dict:
    """A record valid by construction: recent, inside the tiny region, a known category."""
    ago = draw(st.integers(0, 30 * 24 * 60))
    tz = draw(OFFSETS)
    when = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=ago + 1)).tz_convert(tz)
    rec = {
        "id": draw(
            st.one_of(
                GOOD_IDS,
                st.text(st.characters(codec="utf-8"), min_size=1, max_size=8).filter(
                    lambda s: s.strip() == s and s
                ),
            )
        ),
        "time": when.isoformat(),
        # strictly inside the tiny region (8 x 4 cells from TINY_X0, TINY_Y0)
        "lon": draw(st.floats(TINY_X0 + 1e-4, TINY_X0 + 8 * TINY_STEP - 1e-4)),
        "lat": draw(st.floats(TINY_Y0 + 1e-4, TINY_Y0 + 4 * TINY_STEP - 1e-4)),
        "category": draw(st.sampled_from(CATEGORIES[source])),
        "severity": draw(st.one_of(st.none(), st.integers(1, 5))),
        "value": draw(st.floats(-1e6, 1e6)),
        "text": draw(st.one_of(st.none(), st.text(st.characters(codec="utf-8"), max_size=20))),
        "attributes": draw(
            st.dictionaries(
                st.text(st.characters(codec="utf-8"), max_size=5),
                st.integers() | st.text(st.characters(codec="utf-8"), max_size=5),
                max_size=3,
            )
        ),
    }
    return rec


FIELDS = ("id", "time", "lon", "lat", "category", "severity", "value", "text", "attributes")


@st.composite
def mutated_records(draw, source: str):
    """A good record with some fields replaced by anything, removed, or an extra field."""
    rec = dict(draw(good_records(source)))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            rec.pop(name)
        elif name == "time":
            rec[name] = draw(ANY_TIME)
        elif name == "id":
            rec[name] = draw(IDS)
        else:
            rec[name] = draw(JSON_VALUES)
    if draw(st.booleans()) and draw(st.booleans()):
        rec[draw(TEXT)] = draw(JSON_VALUES)
    return rec


@st.composite
def batches(draw, max_size: int = 12):
    """(source, records, indexes of the records valid by construction).

    Kinds: g a good record, t an invalid twin (same id) and then a good record, m a good record
    with fields replaced by anything, x any JSON value."""
    source = draw(st.sampled_from(SOURCES))
    kinds = draw(st.lists(st.sampled_from("ggtmmx"), max_size=max_size))
    records, good = [], []
    for kind in kinds:
        if kind in "gt":
            rec = draw(good_records(source))
            if kind == "t":
                records.append(rec | {"category": "no-such-category"})
            good.append(len(records))
            records.append(rec)
        elif kind == "m":
            records.append(draw(mutated_records(source)))
        else:
            records.append(draw(JSON_VALUES))
    return source, records, good


# -- batches beside the plain push path's edges (data/push.py) -------------------------------

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


def assert_same_batch(new, old) -> None:
    """Two prepared batches (``data.ingest._Batch``) of the same records are identical: rows to
    store, rows to quarantine (reason, id, raw record), in-batch repeats and errors."""
    note(f"old reasons {old.quarantine['reason'].tolist()}")
    note(f"new reasons {new.quarantine['reason'].tolist()}")
    assert new.events.equals(old.events), (new.events.to_pylist(), old.events.to_pylist())
    pd.testing.assert_frame_equal(new.quarantine, old.quarantine)
    assert new.repeats == old.repeats
    assert new.errors == old.errors
