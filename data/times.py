"""Time conversion, in one place: every time in OneGrid is UTC.

Naive timestamps are taken as UTC (the store's session zone); DuckDB query parameters are UTC
``datetime`` objects; JSON gets ISO 8601 text with an offset; the simulator counts microseconds
since the epoch. Local time (a mapping's zone, the working calendar) is converted at the edges.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from data.schema import BUCKET_SECONDS

# Width of a ``cell_counts`` bucket, and one week (the warnings baselines' period).
BUCKET = pd.Timedelta(seconds=BUCKET_SECONDS)
WEEK = pd.Timedelta(days=7)


def utc(ts: Any) -> pd.Timestamp:
    """``ts`` as a UTC timestamp (naive times are taken as UTC)."""
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def utc_now(now: Any = None) -> pd.Timestamp:
    """``now`` as a UTC timestamp, or the current time when ``now`` is None (callers' clock)."""
    return pd.Timestamp.now(tz="UTC") if now is None else utc(now)


def to_py(ts: Any):
    """``ts`` as a UTC ``datetime`` for a query parameter; None (or NaT) stays None."""
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return None
    return utc(ts).to_pydatetime()


def iso(v: Any) -> str | None:
    """``v`` as ISO 8601 text in UTC (``...+00:00``); None / NaT / NaN give None."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return utc(v).isoformat()


def utc_series(s: pd.Series) -> pd.Series:
    """A column of times as ``datetime64[us, UTC]`` (DuckDB's TIMESTAMPTZ resolution)."""
    return pd.to_datetime(s, utc=True).astype("datetime64[us, UTC]")


def floor_bucket(ts: Any) -> pd.Timestamp:
    """``ts`` rounded down to its 5-minute ``cell_counts`` bucket."""
    return utc(ts).floor(f"{BUCKET_SECONDS}s")


def to_us(ts: Any) -> int:
    """Microseconds since the epoch (UTC; naive times are UTC), rounded up."""
    ns = utc(ts).value
    return -(-ns // 1000)  # ceil: a row is kept when time_us >= start (and < end)


def from_us(us: int) -> pd.Timestamp:
    """UTC timestamp of microseconds since the epoch."""
    return pd.Timestamp(int(us), unit="us", tz="UTC")
