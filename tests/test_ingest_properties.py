"""Property tests (hypothesis): random records, batches and files never lose a record.

The promise (issue 8, item 5): every pushed or dropped record ends in exactly one of accepted,
duplicate or quarantined (with a reason); the answer's counts add up to what was sent, and agree
with the store's own counts (events table, quarantine table, feed_status totals). Any value a
record can carry (any date, any Unicode including lone surrogates, any nesting, any JSON type in
any field) ends in quarantine or a clear 400, never a 500 and never a failed batch.

The push API runs through Flask's test client, the folder drop reads real files; both write to a
real DuckDB file. Ids come from a small pool, so repeats within and across batches are common,
and a "good" record (valid by construction) must be stored whatever comes before it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from app import create_app
from data.events import CATEGORIES, SOURCES
from data.feeds.connectors import FolderDropFeed
from data.runtime import Runtime
from data.settings import FolderFeed, load_settings
from tests.support.region import TINY_STEP, TINY_X0, TINY_Y0

AUTH = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}
PROPS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # no example database in the work tree; failures print their example
)

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


_nonces = itertools.count()


def fresh(records: list) -> list:
    """The records with the pool's ids made new to the store (k3 -> n17-k3): repeats inside one
    example still collide, and the store never hides a lost record behind an older one."""
    nonce = f"n{next(_nonces)}-"
    out = []
    for r in records:
        if isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"].strip() in POOL:
            r = r | {"id": r["id"].replace(r["id"].strip(), nonce + r["id"].strip())}
        out.append(r)
    return out


# -- the store's own counts ----------------------------------------------------------------------


def store_counts(db) -> tuple[int, int, tuple[int, int, int]]:
    events = db.query_one("SELECT count(*) FROM events")[0]
    quarantine = db.query_one("SELECT count(*) FROM quarantine")[0]
    status = db.query_one(
        "SELECT coalesce(sum(accepted), 0), coalesce(sum(duplicates), 0), "
        "coalesce(sum(quarantined), 0) FROM feed_status"
    )
    return events, quarantine, tuple(int(x) for x in status)


def stored_ids(db, source: str) -> set[str]:
    return {r[0] for r in db.query("SELECT source_event_id FROM events WHERE source = ?", [source])}


def assert_conserved(db, before, sent: int, got: dict, source: str, records, good) -> None:
    accepted, duplicates, quarantined = got["accepted"], got["duplicates"], got["quarantined"]
    assert min(accepted, duplicates, quarantined) >= 0
    assert accepted + duplicates + quarantined == sent, got
    events, quarantine, status = store_counts(db)
    assert events - before[0] == accepted
    assert quarantine - before[1] == quarantined
    assert tuple(a - b for a, b in zip(status, before[2], strict=True)) == (
        accepted,
        duplicates,
        quarantined,
    )
    assert not db.query_one("SELECT count(*) FROM quarantine WHERE coalesce(reason, '') = ''")[0]
    ids = stored_ids(db, source)
    for i in good:
        # a valid record is stored, whatever invalid records with its id came before it
        assert records[i]["id"] in ids, (i, records[i])


# -- fixtures (module scope: hypothesis runs many examples against one real store) ---------------


@pytest.fixture(scope="module")
def live(tmp_path_factory, tiny_region_dir):
    folder = tmp_path_factory.mktemp("props")
    rt = Runtime(
        load_settings(
            db=folder / "onegrid.duckdb",
            region=str(tiny_region_dir),
            simulator=False,
            ingest_token="test-token",
            users_file=folder / "users.toml",
            secret_key="test-secret",
            auth=False,
        )
    )
    client = create_app(runtime=rt).server.test_client()
    yield rt, client, folder
    rt.stop()


# -- push API ------------------------------------------------------------------------------------


@PROPS
@given(batch=batches(), again=st.lists(st.integers(0, 30), max_size=6))
def test_push_conserves_every_record(live, batch, again):
    """A batch, then some of its records again (duplicates across batches)."""
    rt, client, _ = live
    source, records, good = batch
    records = fresh(records)
    resend = [records[i] for i in again if i < len(records)]
    for sent, ok in ((records, good), (resend, [])):
        before = store_counts(rt.db)
        body = json.dumps({"events": sent})  # lone surrogates travel as \ud800 escapes
        resp = client.post(f"/api/ingest/{source}", data=body, headers=AUTH)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        assert_conserved(rt.db, before, len(sent), resp.get_json(), source, sent, ok)
    if resend:
        # nothing sent twice is stored twice
        assert resp.get_json()["accepted"] == 0


@settings(max_examples=40, deadline=None, database=None)
@given(body=st.one_of(JSON_VALUES, st.binary(max_size=40), TEXT))
def test_push_any_body_is_a_clear_answer(live, body):
    rt, client, _ = live
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    if isinstance(data, str):
        # a lone surrogate as raw (invalid) UTF-8 bytes, which json.loads(bytes) lets through
        data = data.encode("utf-8", "surrogatepass")
    before = store_counts(rt.db)
    resp = client.post("/api/ingest/police", data=data, headers=AUTH)
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)[:500]
    if resp.status_code == 400:
        assert resp.get_json()["error"] and store_counts(rt.db) == before
    else:
        sent = len(json.loads(data)["events"])
        assert_conserved(rt.db, before, sent, resp.get_json(), "police", [], [])


# -- folder drop ---------------------------------------------------------------------------------

_names = itertools.count()


def write_drop(folder, fmt: str, source: str, records: list) -> int:
    """Write ``records`` as one file; returns the rows the file holds."""
    path = folder / f"{source}__f{next(_names)}.{fmt}"
    tmp = path.with_name(path.name + ".part")  # written under a temporary name, then renamed
    if fmt == "json":
        tmp.write_text(json.dumps(records), encoding="utf-8")
    elif fmt == "jsonl":
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:  # CSV holds text: nested values are written as their text; one row per record
        rows = [
            {k: v for k, v in (r.items() if isinstance(r, dict) else []) if isinstance(k, str)}
            for r in records
        ]
        frame = pd.DataFrame(
            rows,
            columns=["id", "time", "lon", "lat", "category", "severity", "value", "text"],
            dtype=object,
        )
        # RFC 4180 line ends: a field holding a bare CR is then quoted (with "\n" pandas leaves
        # it bare, and any reader sees a line break there)
        text = frame.to_csv(index=False, lineterminator="\r\n")
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
    tmp.rename(path)
    return len(records)


@PROPS
@given(
    batch=batches(max_size=15),
    fmt=st.sampled_from(["json", "jsonl", "csv"]),
    twice=st.booleans(),
)
def test_folder_drop_conserves_every_record(live, batch, fmt, twice):
    """A file, and sometimes the same records dropped again (duplicates across files)."""
    rt, _, folder = live
    source, records, good = batch
    records = fresh(records)
    if fmt == "csv":
        # CSV has no types: a good record survives, anything else is whatever its text says
        good = [i for i in good if isinstance(records[i]["id"], str)]
    drop = folder / "drop"
    feed = FolderDropFeed(FolderFeed(name="props-drop", path=drop), rt.pipeline)
    before = store_counts(rt.db)
    sent = write_drop(drop, fmt, source, records)

    reports = feed.scan_once()

    if not records and fmt == "csv":
        # a CSV of only a header has no records: nothing to count
        assert all(r["rows"] == 0 for r in reports)
        return
    (report,) = reports
    note(f"{fmt} {records!r}")
    assert report["status"] == "done", report["error"]
    assert report["rows"] == sent
    assert_conserved(rt.db, before, sent, report, source, records, good)
    if twice:
        before = store_counts(rt.db)
        write_drop(drop, fmt, source, records)
        (report,) = feed.scan_once()
        assert report["status"] == "done", report["error"]
        assert_conserved(rt.db, before, sent, report, source, records, [])
        assert report["accepted"] == 0  # nothing dropped twice is stored twice
