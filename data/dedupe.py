"""De-duplication of a batch against the stored events (data.ingest's writer step).

A key is (source, source_event_id) on one UTC day of event time: it counts as stored when an
event with it exists on the same day, and two rows of a batch or of a group of batches repeat each
other only on the same day too. The look-up reads the 4-byte id digests (``events.id_hash``) of the
batch's days, and the ids only where a digest matches.
"""

from __future__ import annotations

import datetime as dt
import threading

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.schema import EVENT_ID_HASH_SQL, id_hash
from data.store import registered

DAY = dt.timedelta(days=1)
US_PER_DAY = 86_400_000_000

_hashing = threading.local()
# ids per batch from which their digests are computed by DuckDB (see id_hashes)
HASH_IN_DUCKDB_FROM = 2000


def id_hashes(ids: pa.Array) -> pa.Array:
    """:data:`data.schema.EVENT_ID_HASH_SQL` of each id (an Arrow string array), as int32.

    Computed by DuckDB on this thread's own in-memory connection, not the store's (preparing a
    batch must not wait for the writer): vectorised, about 1 µs per id, where hashlib one id at
    a time cost 3-4 µs, most of a bulk batch's preparation. A push-sized batch is hashed one id
    at a time: below a few thousand ids a DuckDB round trip (about 3 ms) costs more."""
    if len(ids) < HASH_IN_DUCKDB_FROM:
        return pa.array([id_hash(i) for i in ids.to_pylist()], pa.int32())
    con = getattr(_hashing, "con", None)
    if con is None:
        con = _hashing.con = duckdb.connect(config={"threads": 1})
    rel = con.from_arrow(pa.table({"source_event_id": ids}))
    out = rel.select(f"{EVENT_ID_HASH_SQL} AS h").to_arrow_table()["h"]
    return out.combine_chunks() if out.num_chunks != 1 else out.chunk(0)


def stored_rows(con, events: pa.Table) -> np.ndarray:
    """The positions of the rows of ``events`` whose key (see :func:`keys`) is already in the
    events table, ascending.

    The look-up is bounded by the batch's days: a key counts as stored when an event with it
    exists on the same UTC day of event time (a re-sent event carries its own time; the archive
    is searched the same way). Each run of consecutive days is one scan that the zone maps on
    event_time confine to those days, and it reads only the 4-byte id digests: the ids
    themselves are read only for the few rows whose digest matches one of the batch's, and the
    batch's keys are built only for its rows whose digest matches one of those (a bulk batch
    meets a few dozen digests of the million events stored before it on its days; building
    every one of its keys to compare them was a fortieth of a drop's writer time, issue 12).
    """
    none = np.empty(0, dtype=np.int64)
    if not events.num_rows:
        return none
    # the digests as they are: the IN below hashes them once anyway (unique first cost 20 ms
    # a bulk batch, and the days by integer day numbers a third of floor_temporal's 30 ms)
    rows: list[int] = []
    with registered(con, "e_digests", pa.table({"h": events["id_hash"]})):
        for lo, hi in day_runs(utc_days(events["event_time"]).to_numpy()):
            rows += [
                r[0]
                for r in con.execute(
                    "SELECT rowid FROM events WHERE event_time >= ? AND event_time < ?"
                    " AND id_hash IN (SELECT h FROM e_digests)",
                    [lo, hi],
                ).fetchall()
            ]
    if not rows:
        return none
    found = con.execute(
        "SELECT source, source_event_id, event_time, id_hash FROM events"
        " WHERE rowid = ANY(?::BIGINT[])",
        [rows],
    ).to_arrow_table()
    maybe = np.flatnonzero(
        pc.is_in(events["id_hash"], value_set=found["id_hash"].combine_chunks()).to_numpy(
            zero_copy_only=False
        )
    )
    if not len(maybe):
        return none
    hit = pc.is_in(keys(events.take(pa.array(maybe))), value_set=keys(found))
    return maybe[hit.to_numpy(zero_copy_only=False)]


def day_runs(day_numbers: np.ndarray) -> list[tuple[dt.datetime, dt.datetime]]:
    """The [start, end) runs of consecutive UTC days among ``day_numbers`` (days since
    1970-01-01, any order, repeats allowed), as the aware datetimes of their midnights."""
    first = int(day_numbers.min())
    present = np.flatnonzero(np.bincount(day_numbers - first)) + first
    breaks = np.flatnonzero(np.diff(present) > 1) + 1
    starts = present[np.r_[0, breaks]]
    ends = present[np.r_[breaks - 1, len(present) - 1]] + 1
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return [(epoch + int(a) * DAY, epoch + int(b) * DAY) for a, b in zip(starts, ends, strict=True)]


def keys(table: pa.Table) -> pa.Array:
    """The key of each row as one text: source, source_event_id and the UTC day of event_time
    (one-to-one: neither a source name nor a day number holds a NUL, so the first NUL ends the
    source and the last one starts the day)."""
    day = pc.cast(utc_days(table["event_time"]), pa.string())
    return pc.binary_join_element_wise(table["source"], table["source_event_id"], day, "\x00")


def utc_days(times) -> pa.Array:
    """Arrow timestamps (any unit and zone) as their UTC day numbers since 1970-01-01."""
    us = pc.cast(pc.cast(times, pa.timestamp("us", tz="UTC")), pa.int64())
    # integer floor division of the instants (the zone a table carries never enters)
    return pa.array(np.floor_divide(us.to_numpy(zero_copy_only=False), US_PER_DAY))


def repeated_in_batch(ids: pa.Array, digests: np.ndarray, times) -> np.ndarray:
    """True at each row whose key (id on the UTC day of its Arrow timestamp ``times``) an
    earlier row of the same batch holds: one source's batch, so the id and day make the key.
    ``digests``: the ids' digests (:func:`id_hashes`, int32).

    Only rows whose digest and day meet another row's can repeat one; their ids are compared
    (pandas' duplicated of every id and day was a seventh of a bulk batch's preparation)."""
    repeated = np.zeros(len(ids), dtype=bool)
    if len(ids) < 2:
        return repeated
    day = utc_days(times).to_numpy()
    code = (digests.astype(np.int64) << 32) | (day - day.min())
    meet = np.flatnonzero(pd.Series(code).duplicated(keep=False).to_numpy())
    if len(meet):
        key = pd.DataFrame(
            {"id": ids.take(pa.array(meet)).to_numpy(zero_copy_only=False), "day": day[meet]}
        )
        repeated[meet] = key.duplicated(keep="first").to_numpy()
    return repeated


def first_of_each(keys: pa.Array) -> np.ndarray:
    """True at the first row of every distinct key."""
    rank = pc.index_in(keys, value_set=pc.unique(keys)).to_numpy(zero_copy_only=False)
    first = np.zeros(len(rank), dtype=bool)
    first[np.unique(rank, return_index=True)[1]] = True
    return first


def first_in_group(events: pa.Table) -> np.ndarray:
    """True at the first row of every distinct key (see :func:`keys`) of ``events`` (rows with
    ``source``, ``source_event_id``, ``event_time`` and the id's ``id_hash``), the same as
    ``first_of_each(keys(events))``.

    The keys themselves are compared only among rows whose source and digest meet another row's:
    a group of batches rarely shares a key, and building and comparing every key of a bulk batch
    was a tenth of the writer's time while a drop folder's batches shared groups with live feeds.
    """
    n = events.num_rows
    first = np.ones(n, dtype=bool)
    if n < 2:
        return first
    source = pc.dictionary_encode(events["source"].combine_chunks()).indices
    code = (source.to_numpy(zero_copy_only=False).astype(np.int64) << 32) | (
        events["id_hash"].to_numpy().astype(np.int64) & 0xFFFFFFFF
    )
    _, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
    meet = np.flatnonzero(counts[inverse] > 1)
    if len(meet):
        first[meet] = first_of_each(keys(events.take(pa.array(meet))))
    return first
