"""Replay a historical publisher file through its field mapping, in bulk or paced in event time.

``replay_file(..., speed=None)`` ingests as fast as the pipeline goes (chunked, vectorised).
``speed=60`` delivers events in event-time order so one minute of event time takes one second of
wall time, in small delivery batches (at most ``BATCH_WALL_S`` of wall time each), which keeps
the file's time shape: bursts stay bursts, quiet nights stay quiet.

The replay needs only an ingest pipeline, which its caller passes. The command line
(``python app.py replay ...``, ``python app.py ingest-folder ...``) is in
:mod:`cli` at the top level.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from data.feeds.mapping import Mapping, load_mapping, map_file
from data.feeds.reconcile import MappedChunk, Reconciliation, classify, mapped_chunks
from data.ingest import BULK_ROWS, IngestResult, Pipeline

# A paced delivery batch spans at most this much wall time (seconds).
BATCH_WALL_S = 1.0

Progress = Callable[[int, int | None, IngestResult], None]


def _as_mapping(mapping: Mapping | str | Path) -> Mapping:
    return mapping if isinstance(mapping, Mapping) else load_mapping(mapping)


def time_span(
    mapping: Mapping | str | Path, path: str | Path, *, lookups=None, chunk_rows: int = BULK_ROWS
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first and last valid event time of a file (one pass through its mapping)."""
    first = last = None
    for frame in map_file(_as_mapping(mapping), path, lookups=lookups, chunksize=chunk_rows):
        t = frame["time"].dropna()
        if len(t):
            first = t.min() if first is None else min(first, t.min())
            last = t.max() if last is None else max(last, t.max())
    return first, last


def live_shift_to(
    first: pd.Timestamp, last: pd.Timestamp, speed: float | None, now: pd.Timestamp
) -> pd.Timestamp:
    """Where to shift the first event so a replay started ``now`` ends at ``now`` in event time.

    A paced replay at ``speed`` > 1 runs ahead of the clock; starting it ``span * (1 - 1/speed)``
    in the past makes every event already past when delivered (the pipeline quarantines events
    from the future), and the last one lands on the wall clock's "now".
    """
    span = last - first
    factor = 1.0 if speed is None else max(0.0, 1.0 - 1.0 / speed)
    return now - span * factor


def whole_day_shift(
    first: pd.Timestamp, last: pd.Timestamp, speed: float | None, now: pd.Timestamp
) -> pd.Timestamp:
    """Where to shift the first event for a replay that should end near ``now`` (``--shift-to-
    now``): :func:`live_shift_to` rounded down to a whole number of days, so the file's times
    of day (and its cases' created, closed and due times, shifted by the same amount) keep
    their clock times, and no event lands in the future."""
    target = live_shift_to(first, last, speed, now)
    days = (target - first) // pd.Timedelta(days=1)
    return first + pd.Timedelta(days=int(days))


# a time attribute as the mapping writes it into the attributes JSON (mapping/apply.py)
_ATTR_TIME = r'"{key}": "(\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"'


def _time_attributes(m: Mapping) -> list[str]:
    """The mapping's attributes of type time (a hotline's created, closed, due)."""
    return [k for k, r in m.attribute_rules().items() if getattr(r, "type", "str") == "time"]


def _shift(
    frame: pd.DataFrame, delta: pd.Timedelta | None, time_keys: list[str] | tuple = ()
) -> pd.DataFrame:
    """``frame`` with its event times, and the time attributes ``time_keys`` (a case's created,
    closed and due times), moved by ``delta``: event and case times move together."""
    if delta is None or delta == pd.Timedelta(0):
        return frame
    frame = frame.copy()
    frame["time"] = frame["time"] + delta
    if time_keys and "attributes" in frame.columns:
        attrs = frame["attributes"].astype("object")
        for key in time_keys:
            pattern = _ATTR_TIME.format(key=re.escape(key))
            found = attrs.str.extract(pattern, expand=False)
            has = found.notna()
            if not has.any():
                continue
            moved = (pd.to_datetime(found[has], utc=True) + delta).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            attrs = attrs.copy()
            attrs[has] = [
                a.replace(f'"{key}": "{old}"', f'"{key}": "{new}"', 1)
                for a, old, new in zip(attrs[has], found[has], moved, strict=True)
            ]
        frame["attributes"] = attrs
    return frame


def _delta(first: pd.Timestamp | None, shift_to: pd.Timestamp | None) -> pd.Timedelta | None:
    if shift_to is None or first is None:
        return None
    return pd.Timestamp(shift_to).tz_convert("UTC") - first


def replay_file(
    pipeline: Pipeline,
    mapping: Mapping | str | Path,
    path: str | Path,
    *,
    speed: float | None = None,
    lookups=None,
    shift_to: pd.Timestamp | None = None,
    chunk_rows: int = BULK_ROWS,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    feed: str | None = None,
    reconciliation: Reconciliation | None = None,
) -> IngestResult:
    """Replay ``path`` through ``mapping`` into ``pipeline``; returns the summed counts.

    ``speed=None``: as fast as possible, ``chunk_rows`` rows per pipeline call. ``speed=x``: paced
    so x seconds of event time take one second (``sleep``/``clock`` are injectable for tests).
    ``shift_to``: move all times so the first event is at that instant (default: keep them);
    the mapping's time attributes (a hotline's created, closed, due: the cases' times) move
    with the event times.
    ``progress(rows_done, rows_total_or_None, result_so_far)`` is called after each batch.
    ``reconciliation``: filled with where every row went (every reason counted, not only the
    first 100 the pipeline reports), then settled with the pipeline's committed counts.
    """
    if speed is not None and speed <= 0:
        raise ValueError("speed must be positive (omit it to replay as fast as possible)")
    m = _as_mapping(mapping)
    feed = feed or f"replay:{m.name}"
    recon = reconciliation
    if speed is None:
        total = _bulk(pipeline, m, path, feed, lookups, shift_to, chunk_rows, progress, recon)
        if recon is not None:
            recon.settle(total.accepted, total.quarantined)
        return total
    chunks = list(mapped_chunks(m, path, lookups=lookups, chunksize=chunk_rows))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    delta = _delta(frame["time"].min() if len(frame) else None, shift_to)
    keys = _time_attributes(m)
    frame = _shift(frame, delta, keys)
    for chunk in chunks:
        _count(recon, pipeline, m, chunk, _shift(chunk.frame, delta, keys))
    del chunks
    total = IngestResult()
    done = 0
    start = clock()
    for at, batch in paced_batches(frame, speed, chunk_rows):
        wait = start + at - clock()
        if wait > 0:
            sleep(wait)
        total += pipeline.ingest_frame(m.source, batch, feed=feed)
        done += len(batch)
        if progress:
            progress(done, len(frame), total)
    if recon is not None:
        recon.settle(total.accepted, total.quarantined)
    return total


def _count(
    recon: Reconciliation | None,
    pipeline: Pipeline,
    m: Mapping,
    chunk: MappedChunk,
    frame: pd.DataFrame,
) -> None:
    """Count ``frame`` (``chunk``'s mapped rows, shifted) in ``recon``: the pipeline's checks
    and placement, run here too because the pipeline reports only the first reasons."""
    if recon is not None:
        reasons = classify(m.source, frame, pipeline.placer)
        recon.add(frame, reasons, lambda i, r: chunk.describe(m, i, r))


def _bulk(pipeline, m, path, feed, lookups, shift_to, chunk_rows, progress, recon) -> IngestResult:
    delta = None
    if shift_to is not None:
        # streaming keeps memory flat, so the first time needs its own pass
        delta = _delta(time_span(m, path, lookups=lookups, chunk_rows=chunk_rows)[0], shift_to)
    total = IngestResult()
    done = 0
    keys = _time_attributes(m)
    for chunk in mapped_chunks(m, path, lookups=lookups, chunksize=chunk_rows):
        frame = _shift(chunk.frame, delta, keys)
        _count(recon, pipeline, m, chunk, frame)
        total += pipeline.ingest_frame(m.source, frame, feed=feed)
        done += len(frame)
        if progress:
            progress(done, None, total)
    return total


def paced_batches(
    frame: pd.DataFrame, speed: float, max_rows: int = 50_000
) -> Iterator[tuple[float, pd.DataFrame]]:
    """Split ``frame`` into (wall offset in seconds, batch) in event-time order.

    A batch holds events within one ``BATCH_WALL_S`` window of wall time (and at most
    ``max_rows``) and is due at its first event's offset. Rows without a valid time (to be
    quarantined) go with the first batch so they are not lost.
    """
    has_time = frame["time"].notna().to_numpy()
    timed = frame.loc[has_time].sort_values("time", kind="stable")
    untimed = frame.loc[~has_time]
    if not len(timed):
        if len(untimed):
            yield 0.0, untimed
        return
    t = timed["time"]
    offsets = ((t - t.iloc[0]).dt.total_seconds() / speed).to_numpy()
    window = np.floor(offsets / BATCH_WALL_S)
    # a new batch where the wall window changes or the current batch is full
    starts = np.flatnonzero(np.r_[True, window[1:] != window[:-1]])
    bounds = list(starts) + [len(timed)]
    first = True
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        for lo in range(a, b, max_rows):
            batch = timed.iloc[lo : min(lo + max_rows, b)]
            if first:
                batch = pd.concat([untimed, batch])
                first = False
            yield float(offsets[lo]), batch


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
