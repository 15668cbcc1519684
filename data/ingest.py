"""One ingest pipeline for every feed.

validate -> quarantine with a reason -> de-duplicate on (source, source_event_id) within the
event's UTC day -> place in the grid cell -> commit (one writer transaction) -> only then
acknowledge (return the counts).

Everything before the commit is vectorised and runs in the caller's thread; only the write itself
goes through the store's single writer.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data import archive
from data.areas import cell_lineage, install_region, lineage_arrays
from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.dedupe import first_in_group, id_hashes, repeated_in_batch, stored_rows
from data.events import (
    MAX_FUTURE,
    MIN_TIME,
    TIME_IN_FUTURE,
    TIME_TOO_OLD,
    normalise_frame,
    storable_text,
    validate_frame,
)
from data.placement import OUTSIDE, Placer
from data.push import plain_columns, push_frame
from data.quarantine import (
    MAX_REASON_LEN,
    quarantine_rows,
    raw_text,
    records_as_json,
)
from data.schema import BUCKET_SECONDS, SEARCH_SEPARATOR
from data.store import Database, unregister

OUTSIDE_REASON = "outside region"
# Rows per bulk batch (folder drops, replays): four of DuckDB's row groups (122,880 rows each).
# An insert of at least a row group's rows is written straight to the database file instead of
# through the write-ahead log, so each row is written once, not twice (a checkpoint copies what
# the WAL holds): measured in bench/ingest.py, 245,760-row batches against 100,000 gave
# 244,000-254,000 events/s against 192,000-227,000. (A smaller insert goes through the log.)
# Four, not two: DuckDB spreads an insert of several row groups over its threads, where one of
# one or two runs on one, and a group's fixed costs (the rollups' merge, the de-duplication's
# look-up, the commit) are paid half as often; a 12345 file's cases then go in as one batch. The
# writer's time per 1.09 M-event drop fell from 4.0-4.3 s to 3.2-3.4 s (issue 12)
ROW_GROUP_ROWS = 122_880
BULK_ROWS = 4 * ROW_GROUP_ROWS
MAX_ERRORS_REPORTED = 100
# sends of a stream in flight while its next batch is read and prepared: with one, the writer
# sat idle while a slow batch (hotline events, whose cases are built too) was prepared, though
# the thread preparing had waited for the writer just before (measured: 141,896-149,005 events/s
# in process against 127,071-136,823 with one); each costs a prepared batch's memory
READ_AHEAD = 2
# the writer fetches the ids it looks up as Arrow on purpose (see data.dedupe.stored_rows); DuckDB warns
# that this copies them once, which costs far less than making Python strings of them
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)

# a group's writes, sent as one script (Pipeline._commit_group); the views are registered Arrow
QUARANTINE_SQL = (
    "INSERT INTO quarantine (source, feed, received_at, reason, source_event_id, raw) "
    "SELECT source, feed, received_at, reason, source_event_id, raw FROM q_batch"
)
EVENTS_SQL = "INSERT INTO events BY NAME SELECT * FROM e_batch"
# the table has no key index (migration 21): MERGE finds a batch's existing groups by a join
# whose build side (the batch's groups) bounds the scan of cell_counts to their buckets through
# the zone maps, where ON CONFLICT consulted a three-column index for every group; a bulk
# batch's groups are mostly new (measured: 0.5 s against 1.5-1.7 s for 1.13 M events, 525,906
# groups; a 50-event batch 11.5 ms against 11.9 ms over 17 M stored groups). The writer is the
# only one to write the table, so no second writer can add a group between the join and the insert
CELL_COUNTS_SQL = f"""
MERGE INTO cell_counts c
USING (
    SELECT time_bucket(INTERVAL {BUCKET_SECONDS} SECOND, event_time) AS bucket, cell_key, source,
           count(*) AS n, coalesce(sum(severity), 0) AS severity_sum, max(value) AS value_max
    FROM e_batch GROUP BY ALL
) b
ON b.bucket = c.bucket AND b.cell_key = c.cell_key AND b.source = c.source
WHEN MATCHED THEN UPDATE SET n = c.n + b.n, severity_sum = c.severity_sum + b.severity_sum,
    value_max = greatest(c.value_max, b.value_max)
WHEN NOT MATCHED THEN INSERT VALUES (b.bucket, b.cell_key, b.source, b.n, b.severity_sum,
    b.value_max)
"""
MINUTES_SQL = """
INSERT INTO ingest_minutes SELECT minute, source, accepted, duplicates, quarantined FROM g_minutes
ON CONFLICT DO UPDATE SET accepted = ingest_minutes.accepted + excluded.accepted,
    duplicates = ingest_minutes.duplicates + excluded.duplicates,
    quarantined = ingest_minutes.quarantined + excluded.quarantined
"""
STATUS_SQL = """
INSERT INTO feed_status (source, last_event_time, last_received_at, accepted, duplicates,
                         quarantined) VALUES {rows}
ON CONFLICT (source) DO UPDATE SET
    last_event_time = greatest(feed_status.last_event_time, excluded.last_event_time),
    last_received_at = excluded.last_received_at,
    accepted = feed_status.accepted + excluded.accepted,
    duplicates = feed_status.duplicates + excluded.duplicates,
    quarantined = feed_status.quarantined + excluded.quarantined
"""


@dataclass
class IngestResult:
    """What happened to one batch. ``errors``: the quarantined records' reasons (first 100)."""

    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The push API's answer body."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "errors": self.errors,
        }

    def __iadd__(self, other: IngestResult) -> IngestResult:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        room = MAX_ERRORS_REPORTED - len(self.errors)
        self.errors.extend(other.errors[: max(room, 0)])
        return self


@dataclass
class _Batch:
    """One prepared batch: rows to store, rows to quarantine, in-batch repeats."""

    source: str
    now: pd.Timestamp
    events: pa.Table
    quarantine: pd.DataFrame
    repeats: int
    errors: list[dict]
    # what each insert hook prepared for it (see add_insert_hook), by hook
    prepared: dict = field(default_factory=dict)


class Pipeline:
    """Validate, de-duplicate, place and commit events of any source.

    ``placer`` places lon/lat (WGS84) in grid cells; ``lineage`` gives each cell's ancestors;
    ``catalogue`` the sources and categories accepted (the settings' ``catalogue``).
    """

    def __init__(
        self,
        db: Database,
        placer: Placer,
        lineage: pd.DataFrame,
        catalogue: Catalogue = DEFAULT_CATALOGUE,
    ) -> None:
        self.db = db
        self.catalogue = catalogue
        self.placer = placer
        self._lineage = lineage_arrays(lineage)
        self._listeners: list = []
        self._write_hooks: list = []
        self._insert_hooks: list = []
        self._lock = threading.Lock()
        # group commit: batches waiting for the writer, and whether a group write is queued
        self._pending: list[tuple[_Batch, Future]] = []
        self._group_queued = False
        self._pending_lock = threading.Lock()
        self.groups = 0  # group transactions committed (for figures and tests)
        self.grouped_batches = 0  # batches they held
        self._streams = 0  # bulk loads (ingest_stream) under way

    @classmethod
    def for_region(cls, db: Database, region, catalogue: Catalogue = DEFAULT_CATALOGUE) -> Pipeline:
        """Install ``region`` in ``db`` (or check it is the one there) and build the pipeline."""
        install_region(db, region)
        return cls(db, Placer.for_region(region), cell_lineage(db), catalogue)

    def add_write_hook(self, fn) -> None:
        """Run ``fn(con, source, now)`` inside every batch's write transaction, after its events
        are stored (``now`` is their received_at). Work done there commits atomically with the
        events, so a crash can never keep one without the other."""
        with self._lock:
            self._write_hooks.append(fn)

    def add_insert_hook(self, fn, prepare=None) -> None:
        """Run ``fn(con, events, prepared)`` inside every write transaction, just before the
        new events (an Arrow table, every source of the group, de-duplicated) are stored; it
        returns the table to store, which may carry more of the events table's columns (by
        name): values of its own, such as the case ids (an UPDATE of rows inserted in the same
        transaction makes DuckDB write all their columns to the write-ahead log; issue 12).
        Atomic with them.

        ``prepare(source, events, now)``, if given, runs on the thread preparing each batch of
        a bulk load (before the de-duplication); ``prepared`` is its result for each batch of
        the group (None for the others): work taken off the writer, the pipeline's one serial
        step."""
        with self._lock:
            self._insert_hooks.append((fn, prepare))

    def add_listener(self, fn) -> None:
        """Call ``fn(source, result)`` after every committed batch (for live screens)."""
        with self._lock:
            self._listeners.append(fn)

    # ------------------------------------------------------------------------------------------

    def ingest_frame(
        self,
        source: str,
        frame: pd.DataFrame,
        *,
        feed: str | None = None,
        now: pd.Timestamp | None = None,
    ) -> IngestResult:
        """Ingest a canonical event frame (docs/ARCHITECTURE.md) from ``source``.

        Returns after the batch is committed; the counts are the acknowledgement.
        """
        batch = self._prepare(source, frame, feed, now)
        return self._finish(batch, self._submit(batch).result())

    def ingest_frames(
        self,
        batches: Iterable[tuple[str, pd.DataFrame]],
        *,
        feed: str | None = None,
        now: pd.Timestamp | None = None,
    ) -> IngestResult:
        """Ingest many (source, frame) batches, preparing the next while the last one commits.

        The bulk path (replay, folder drop): validation and placement of batch i+1 overlap the
        write of batch i. Returns the summed counts once every batch is committed; raises the
        first batch's error (the batches before it are committed).
        """
        total = IngestResult()
        items = ((None, source, frame) for source, frame in batches)
        for _, outcome in self.ingest_stream(items, feed=feed, now=now):
            if isinstance(outcome, BaseException):
                raise outcome
            total += outcome
        return total

    def ingest_stream(
        self,
        items: Iterable[tuple[object, str | None, pd.DataFrame | None]],
        *,
        feed: str | None = None,
        now: pd.Timestamp | None = None,
    ) -> Iterator[tuple[object, IngestResult | BaseException | None]]:
        """Ingest (tag, source, frame) items in order, preparing the next batch while the last
        one commits; yields (tag, outcome) for each item in the same order, once its batch is
        committed: its counts, or the exception that stopped it (that batch only). A batch of
        fewer events than a row group (``ROW_GROUP_ROWS``) is committed with the next one.

        An item whose frame is None is a marker: it yields (tag, None) once every item before
        it is committed, e.g. the end of a file, whose report may then be written while the
        next file is already being read (a drop folder of many files keeps the writer busy).
        """
        with self._lock:
            self._streams += 1
        try:
            yield from self._stream(items, feed, now)
        finally:
            with self._lock:
                self._streams -= 1

    @property
    def bulk_running(self) -> bool:
        """True while a bulk load (a drop folder's files, a pull, a replay) is under way."""
        return self._streams > 0

    def _stream(self, items, feed, now):
        waiting: deque[tuple[object, _Batch | BaseException | None, Future | None]] = deque()
        # a batch of fewer events than a row group (a file's last rows, a small file) waits for
        # the next one and shares its transaction: alone, all its rows would go to the WAL
        held: list[tuple[_Batch, Future]] = []
        sent: deque[Future] = deque()  # the first batch of each send in flight
        for tag, source, frame in items:
            if frame is None:
                waiting.append((tag, None, None))
                continue
            try:
                batch = self._prepare(source, frame, feed, now)
                for fn, prepare in list(self._insert_hooks):
                    if prepare is not None:
                        batch.prepared[fn] = prepare(source, batch.events, batch.now)
            except Exception as exc:  # noqa: BLE001 - this batch's failure, told to its caller
                # told at once (after the batches before it): a caller that stops there has
                # no batch after it in flight
                self._send(held)
                held = []
                waiting.append((tag, exc, None))
                while waiting:
                    yield self._outcome(*waiting.popleft())
                continue
            fut: Future = Future()
            waiting.append((tag, batch, fut))
            held.append((batch, fut))
            if sum(b.events.num_rows for b, _ in held) < ROW_GROUP_ROWS:
                continue
            self._send(held)
            sent.append(held[0][1])
            held = []
            # READ_AHEAD sends in flight while the next is read and prepared: settle everything
            # before the oldest of them (waiting on the last one would leave the writer idle
            # meanwhile, and with one only it waited while a slow batch was prepared)
            if len(sent) > READ_AHEAD:
                sent.popleft()
            while waiting[0][2] is not sent[0]:
                yield self._outcome(*waiting.popleft())
        self._send(held)
        while waiting:
            yield self._outcome(*waiting.popleft())

    def _send(self, batches: list[tuple[_Batch, Future]]) -> None:
        """:meth:`_submit_all` for a stream: a refusal (the store closed) is in each Future."""
        with contextlib.suppress(Exception):
            self._submit_all(batches)

    def _outcome(self, tag, batch, future):
        """(tag, counts) of a queued batch once committed; a marker or an error as it is."""
        if future is None:
            return tag, batch
        try:
            return tag, self._finish(batch, future.result())
        except Exception as exc:  # noqa: BLE001 - the write's failure, told to its caller
            return tag, exc

    def ingest_records(
        self,
        source: str,
        records: list,
        *,
        feed: str | None = None,
        now: pd.Timestamp | None = None,
    ) -> IngestResult:
        """Ingest pushed records (parsed JSON objects, the push API's and MQTT's form) from
        ``source``: a batch of plain records goes straight to Arrow columns, any other through
        the canonical frame (:func:`data.push.push_frame`); both end alike. Returns after the
        batch is committed; the counts are the acknowledgement."""
        batch = self._prepare_records(source, records, feed, now)
        return self._finish(batch, self._submit(batch).result())

    def _prepare_records(self, source, records, feed, now) -> _Batch:
        """``_prepare`` for pushed records, without pandas when every record is plain."""
        if source not in self.catalogue.categories:
            raise ValueError(self.catalogue.unknown(source))
        now = now if now is not None else pd.Timestamp.now(tz="UTC")
        cols = plain_columns(source, records, self.catalogue)
        if cols is None:
            return self._prepare(source, push_frame(source, records, self.catalogue), feed, now)
        reasons = cols.reason.copy()
        free = pd.isna(reasons)
        # validate_frame's checks a plain record can still fail, in its order
        t = cols.time.to_numpy(zero_copy_only=False)
        for mask, why in (
            (t < MIN_TIME.to_datetime64(), TIME_TOO_OLD),
            (t > (now + MAX_FUTURE).to_datetime64(), TIME_IN_FUTURE),
        ):
            take = mask & free
            reasons[take] = why
            free &= ~take
        cells, ok, repeated, bad, digests = self._split(
            reasons, cols.lon, cols.lat, cols.ids, cols.time
        )
        severity = cols.severity
        default_severity = self.catalogue.source(source).default_severity
        if default_severity is not None:
            severity = [default_severity if s is None else s for s in severity]
        keep = pa.array(ok)
        event_cols = {
            "id": cols.ids.filter(keep),
            "id_hash": pa.array(digests[ok], pa.int32()),
            "category": cols.category.filter(keep),
            "severity": pa.array(severity, pa.int8()).filter(keep),
            "value": cols.value.filter(keep),
            "time": cols.time.filter(keep),
            "lon": cols.lon[ok],
            "lat": cols.lat[ok],
            "text": cols.text.filter(keep),
            "attributes": cols.attributes.filter(keep),
        }
        which = np.flatnonzero(bad)
        return _Batch(
            source=source,
            now=now,
            events=self._event_table(source, event_cols, cells[ok], feed, now),
            quarantine=quarantine_rows(
                source,
                feed,
                now,
                reasons[bad],
                cols.ids.filter(pa.array(bad)).to_pylist(),
                [raw_text(records[i]) for i in which],
            ),
            repeats=int(repeated.sum()),
            errors=self._errors(cols.ids, bad, reasons),
        )

    def _split(self, reasons: np.ndarray, lon, lat, ids: pa.Array, times: pa.Array):
        """Place the rows without a reason (lon/lat in WGS84 degrees) and split the batch:
        (cells, ok, repeated, bad, digests). A row outside every cell gets its reason in
        ``reasons``; ``ids`` are the rows' ids (Arrow text), ``times`` their event times (Arrow
        timestamps), whose UTC days key them; ``digests`` the valid rows' id digests (int32,
        see data.dedupe.id_hashes; 0 elsewhere)."""
        ok = pd.isna(reasons)
        cells = np.full(len(reasons), OUTSIDE, dtype=np.int64)
        idx = np.flatnonzero(ok)
        cells[idx] = self.placer.place(lon[idx], lat[idx])
        outside = ok & (cells == OUTSIDE)
        reasons[outside] = OUTSIDE_REASON
        ok &= ~outside
        # a key repeated inside one batch is a duplicate, like one already stored; only valid
        # rows count: an invalid record must not make a later valid one with its id a duplicate
        repeated = np.zeros(len(reasons), dtype=bool)
        digests = np.zeros(len(reasons), dtype=np.int32)
        idx = np.flatnonzero(ok)
        if len(idx):
            valid = pa.array(idx)
            ids = ids.take(valid)
            # the digests here, before the writer's queue (the writer is the pipeline's one
            # serial step; MD5 in its INSERT cost it about 1.5 µs per event), and they find
            # the few rows that may repeat another
            digests[idx] = id_hashes(ids).to_numpy(zero_copy_only=False)
            repeated[idx] = repeated_in_batch(ids, digests[idx], times.take(valid))
        ok &= ~repeated
        return cells, ok, repeated, ~ok & ~repeated, digests

    def _prepare(self, source, frame, feed, now) -> _Batch:
        """Validate, place and split one batch into rows to store and rows to quarantine."""
        if source not in self.catalogue.categories:
            raise ValueError(self.catalogue.unknown(source))
        now = now if now is not None else pd.Timestamp.now(tz="UTC")
        # the frame as given: a quarantined row without a ``_raw`` record is kept as it came
        given = frame.reset_index(drop=True)
        frame = normalise_frame(given)
        default_severity = self.catalogue.source(source).default_severity
        if default_severity is not None and frame["severity"].isna().any():
            # the source's configured severity for events sent without one
            frame["severity"] = frame["severity"].fillna(default_severity)
        reasons = validate_frame(source, frame, now=now, catalogue=self.catalogue)
        reasons = reasons.to_numpy(dtype=object, copy=True)
        ids = _text(frame["id"])
        times = pa.array(frame["time"], pa.timestamp("us", tz="UTC"))
        cells, ok, repeated, bad, digests = self._split(
            reasons, frame["lon"].to_numpy(), frame["lat"].to_numpy(), ids, times
        )
        sel = frame.loc[ok]
        event_cols = {
            "id": ids.filter(pa.array(ok)),
            "id_hash": pa.array(digests[ok], pa.int32()),
            "category": _text(sel["category"]),
            "severity": pa.array(sel["severity"].astype("Int8"), pa.int8()),
            "value": pa.array(sel["value"].to_numpy(), pa.float64(), from_pandas=True),
            "time": times.filter(pa.array(ok)),
            "lon": sel["lon"].to_numpy(),
            "lat": sel["lat"].to_numpy(),
            "text": _text(sel["text"]),
            "attributes": _text(sel["attributes"]),
        }
        return _Batch(
            source=source,
            now=now,
            events=self._event_table(source, event_cols, cells[ok], feed, now),
            quarantine=self._quarantine_table(source, frame, given, bad, reasons, feed, now),
            repeats=int(repeated.sum()),
            errors=self._errors(ids, bad, reasons),
        )

    def _submit(self, b: _Batch) -> Future:
        """Queue ``b`` for the writer; returns a Future of its accepted count, set only after
        the transaction holding it has committed (see :meth:`_submit_all`)."""
        fut: Future = Future()
        self._submit_all([(b, fut)])
        return fut

    def _submit_all(self, batches: list[tuple[_Batch, Future]]) -> None:
        """Queue batches for the writer at once, so that they share a transaction; each
        Future is given the batch's accepted count after that transaction has committed.

        Group commit: every batch that arrives while the writer is busy waits in ``_pending``,
        and the next group write takes them all into one transaction (one insert per table for
        the whole group). If that transaction fails, each of its batches is written again in a
        transaction of its own, so one bad batch neither loses nor wrongly acknowledges another.
        """
        if not batches:
            return
        with self._pending_lock:
            self._pending.extend(batches)
            if not self._group_queued:
                self._queue_group()

    def _queue_group(self) -> None:
        """Queue one group write (called with ``_pending_lock`` held)."""
        taken: list[tuple[_Batch, Future]] = []

        def write(con) -> list[int]:
            with self._pending_lock:
                taken.extend(self._pending)
                self._pending = []
                self._group_queued = False
            return self._write_group(con, [b for b, _ in taken])

        try:
            done = self.db.submit(write)
        except BaseException as exc:
            # nothing was queued (the store is closed: StoreClosed), so nothing waits for this
            # group: each of its batches is told why
            group, self._pending = self._pending, []
            for _, f in group:
                f.set_exception(exc)
            raise
        self._group_queued = True
        done.add_done_callback(lambda d: self._settle(taken, d))

    def _settle(self, taken: list[tuple[_Batch, Future]], done: Future) -> None:
        """After a group's transaction: acknowledge its batches, or retry them one by one."""
        exc = done.exception()
        if exc is None:
            self.groups += 1
            self.grouped_batches += len(taken)
            for (_, f), accepted in zip(taken, done.result(), strict=True):
                f.set_result(accepted)
            return
        if len(taken) == 1:
            taken[0][1].set_exception(exc)
            return
        for b, f in taken:
            try:
                alone = self.db.submit(lambda con, b=b: self._write_group(con, [b])[0])
            except BaseException as err:  # noqa: BLE001 - the store closed meanwhile
                f.set_exception(err)
                continue
            alone.add_done_callback(lambda d, f=f: _pass_on(d, f))

    def _write_group(self, con, group: list[_Batch]) -> list[int]:
        """Store a group of batches in the writer's transaction; their accepted counts."""
        hooks = list(self._write_hooks)
        accepted = self._commit_group(con, group, list(self._insert_hooks))
        # hooks read a batch's rows by (source, received_at): once per distinct pair
        seen = set()
        for b, n in zip(group, accepted, strict=True):
            if n and (b.source, b.now) not in seen:
                seen.add((b.source, b.now))
                for hook in hooks:
                    hook(con, b.source, b.now)
        return accepted

    def _finish(self, b: _Batch, accepted: int) -> IngestResult:
        result = IngestResult(
            accepted=accepted,
            duplicates=b.repeats + b.events.num_rows - accepted,
            quarantined=len(b.quarantine),
            errors=b.errors,
        )
        for fn in list(self._listeners):
            fn(b.source, result)
        return result

    def record_error(self, source: str, message: str) -> None:
        """Count a feed error (a failed pull, an unreadable file) in the feed's health."""
        self.db.write(
            lambda con: con.execute(
                """
                INSERT INTO feed_status (source, errors, last_error, last_error_at)
                VALUES (?, 1, ?, now())
                ON CONFLICT (source) DO UPDATE SET errors = feed_status.errors + 1,
                    last_error = excluded.last_error, last_error_at = excluded.last_error_at
                """,
                [source, storable_text(message)[:2000]],
            )
        )

    # ------------------------------------------------------------------------------------------

    def _event_table(self, source, cols: dict, cell, feed, now) -> pa.Table:
        """The events table of one batch: ``cols`` the valid rows' canonical columns (Arrow
        text, times and numbers; NumPy lon/lat in WGS84 degrees), ``cell`` their grid cells."""
        lin = self._lineage
        n = len(cell)
        ids = cols["id"]
        return pa.table(
            {
                # Arrow repeats a scalar in one copy (a list of n strings: 10-30 ms a column)
                "source": pa.repeat(pa.scalar(source, pa.string()), n),
                "source_event_id": ids,
                "id_hash": cols["id_hash"],
                "category": cols["category"],
                "severity": cols["severity"],
                "value": cols["value"],
                "event_time": cols["time"],
                "received_at": pa.array(np.full(n, now.value // 1000), pa.int64()).cast(
                    pa.timestamp("us", tz="UTC")
                ),
                "lon": pa.array(cols["lon"], pa.float64()),
                "lat": pa.array(cols["lat"], pa.float64()),
                "cell_key": pa.array(cell, pa.int32()),
                "community_key": pa.array(lin["community_key"][cell], pa.int32()),
                "township_key": pa.array(lin["township_key"][cell], pa.int32()),
                "county_key": pa.array(lin["county_key"][cell], pa.int32()),
                "city_key": pa.array(lin["city_key"][cell], pa.int32()),
                "text": cols["text"],
                "attributes": cols["attributes"],
                "feed": pa.repeat(pa.scalar(feed or source, pa.string()), n),
                "search": self._search_text(cols["text"], cols["attributes"]),
            }
        )

    @staticmethod
    def _search_text(text: pa.Array, attributes: pa.Array) -> pa.Array:
        """The ``events.search`` column of a batch's rows: :data:`data.schema.EVENT_SEARCH_SQL`
        computed by Arrow, which gives the same text (tests/test_search_text.py) in about a third
        of DuckDB's time (0.02-0.03 s against 0.06-0.09 s for 227,000 rows) and without the
        store's worker thread (issue 12)."""
        # concat_ws skips a NULL part; Arrow's join with null_handling="skip" drops a row whose
        # parts are all null (pyarrow 26: the array comes back shorter), so nulls are spelt out
        attrs = pc.fill_null(attributes, "")
        both = pc.binary_join_element_wise(pc.fill_null(text, ""), attrs, SEARCH_SEPARATOR)
        one = pc.if_else(pc.is_null(text), attrs, text)
        return pc.utf8_lower(
            pc.if_else(pc.and_(pc.is_valid(text), pc.is_valid(attributes)), both, one)
        )

    def _quarantine_table(self, source, frame, given, bad, reasons, feed, now) -> pd.DataFrame:
        """The quarantine rows of a frame batch: ``frame`` normalised, ``given`` as it came."""
        rows = frame.loc[bad]
        if "_raw" in rows:
            # feeds may hand over the parsed record: it is serialised only when quarantined
            raw = [raw_text(r) for r in rows["_raw"].to_numpy(dtype=object)]
        else:
            # a file's rows are serialised only when quarantined, as they came (serialising
            # every row up front was most of a Parquet drop's time)
            raw = records_as_json(given.loc[bad])
        ids = rows["id"].astype("object").tolist()
        return quarantine_rows(source, feed, now, reasons[bad], ids, raw)

    @staticmethod
    def _errors(ids: pa.Array, bad, reasons) -> list[dict]:
        """The push API's errors: the first quarantined records' index, id (Arrow text) and
        reason."""
        idx = np.flatnonzero(bad)[:MAX_ERRORS_REPORTED]
        return [
            {
                "index": int(i),
                "id": ids[int(i)].as_py(),
                "reason": storable_text(str(reasons[i]))[:MAX_REASON_LEN],
            }
            for i in idx
        ]

    @staticmethod
    def _commit_group(con, group: list[_Batch], insert_hooks=()) -> list[int]:
        """Write a group of batches (quarantine, events, rollups, minute counts, feed status)
        with one statement per table, sent as one script; returns each batch's accepted count.
        ``insert_hooks``: see :meth:`add_insert_hook`."""
        # every write of the group goes to DuckDB as one script: each call back into Python
        # waits for the GIL behind the threads preparing the next batches (about 10 ms a call
        # on a busy server), so the number of calls, not their size, sets the writer's pace
        script: list[str] = []
        views: list[str] = []
        quarantine = [b.quarantine for b in group if len(b.quarantine)]
        if quarantine:
            q = quarantine[0] if len(quarantine) == 1 else pd.concat(quarantine, ignore_index=True)
            con.register("q_batch", q)
            views.append("q_batch")
            script.append(QUARANTINE_SQL)
        offered = np.array([b.events.num_rows for b in group], dtype=np.int64)
        # events whose day is already archived are de-duplicated against the archive too
        tables = [b.events for b in group]
        old = [i for i, t in enumerate(tables) if archive.may_be_archived(t)]
        # one look at the archive's index for the group, not one per batch (replays and
        # late pushes are old; while nothing is archived there is nothing to look up)
        if old and con.execute("SELECT count(*) FROM archive_parts").fetchall()[0][0]:
            for i in old:
                tables[i] = archive.drop_archived(con, group[i].source, tables[i])
        accepted = np.zeros(len(group), dtype=np.int64)
        last_event: dict[str, object] = {}
        if sum(t.num_rows for t in tables):
            events = pa.concat_tables(tables)
            owner = np.repeat(np.arange(len(group)), [t.num_rows for t in tables])
            if _source_repeats(group):
                # a key sent by two batches of the group: the first one stores it, as if they
                # had been committed one after the other (one INSERT must not hold it twice).
                # A key holds its source, and each batch's own repeats were dropped when it was
                # prepared: batches of different sources cannot share one
                first = first_in_group(events)
                if not first.all():
                    events = events.filter(pa.array(first))
                    owner = owner[first]
            stored = stored_rows(con, events)
            if len(stored):
                fresh = np.ones(events.num_rows, dtype=bool)
                fresh[stored] = False
                events = events.filter(pa.array(fresh))
                owner = owner[fresh]
            accepted = np.bincount(owner, minlength=len(group)).astype(np.int64)
            if events.num_rows:
                for hook, _ in insert_hooks:
                    events = hook(con, events, [b.prepared.get(hook) for b in group])
                # every row left is new: no RETURNING, no index to consult
                con.register("e_batch", events)
                views.append("e_batch")
                script += [EVENTS_SQL, CELL_COUNTS_SQL]
                last_event = _newest_by_source(events, {b.source for b in group})
        duplicates = offered - accepted + np.array([b.repeats for b in group])
        # the counts per minute and per source (a group holds a handful of batches)
        minutes: dict[tuple, list[int]] = {}
        status: dict[str, list] = {}
        for i, b in enumerate(group):
            n = (int(accepted[i]), int(duplicates[i]), len(b.quarantine))
            m = minutes.setdefault((b.now.floor("min"), b.source), [0, 0, 0])
            row = status.setdefault(b.source, [b.now, 0, 0, 0])
            row[0] = b.now  # the last batch received sets last_received_at, as one by one
            for k in range(3):
                m[k] += n[k]
                row[k + 1] += n[k]
        con.register("g_minutes", _minutes_table(minutes))
        views.append("g_minutes")
        script.append(MINUTES_SQL)
        # parameters only in the script's last statement (DuckDB's rule for scripts)
        script.append(
            STATUS_SQL.format(rows=", ".join(["(?, ?::TIMESTAMPTZ, ?, ?, ?, ?)"] * len(status)))
        )
        try:
            con.execute(
                ";\n".join(script),
                [v for src, r in status.items() for v in (src, last_event.get(src), *r)],
            )
        finally:
            unregister(con, *views)
        return [int(n) for n in accepted]


def _source_repeats(group: list[_Batch]) -> bool:
    """True when two batches of ``group`` come from one source."""
    sources = [b.source for b in group]
    return len(set(sources)) < len(sources)


def _newest_by_source(events: pa.Table, sources: set[str]) -> dict[str, object]:
    """The newest event time of each source in ``events`` (a bulk group holds one source:
    a maximum then, not a grouping by source's text)."""
    if len(sources) == 1:
        return {next(iter(sources)): pc.max(events["event_time"]).as_py()}
    newest = events.group_by("source").aggregate([("event_time", "max")])
    return dict(
        zip(newest["source"].to_pylist(), newest["event_time_max"].to_pylist(), strict=True)
    )


def _minutes_table(minutes: dict[tuple, list[int]]) -> pa.Table:
    """The group's counts per (minute, source) as an Arrow table for MINUTES_SQL."""
    keys = list(minutes)
    return pa.table(
        {
            "minute": pa.array([k[0] for k in keys], pa.timestamp("us", tz="UTC")),
            "source": pa.array([k[1] for k in keys], pa.string()),
            "accepted": pa.array([v[0] for v in minutes.values()], pa.int64()),
            "duplicates": pa.array([v[1] for v in minutes.values()], pa.int64()),
            "quarantined": pa.array([v[2] for v in minutes.values()], pa.int64()),
        }
    )


def _pass_on(done: Future, fut: Future) -> None:
    """Hand a retried batch's outcome to the Future its caller waits on."""
    exc = done.exception()
    if exc is None:
        fut.set_result(done.result())
    else:
        fut.set_exception(exc)


def _text(s: pd.Series) -> pa.Array:
    """An Arrow string column from a (preferably Arrow-backed) pandas string Series."""
    return pa.array(s, type=pa.string(), from_pandas=True)
