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

import itertools
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from app import create_app
from data.feeds.connectors import FolderDropFeed
from data.runtime import Runtime
from data.settings import FolderFeed, load_settings
from tests.support.records import (
    JSON_VALUES,
    POOL,
    TEXT,
    batches,
)

AUTH = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}
PROPS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # no example database in the work tree; failures print their example
)

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
