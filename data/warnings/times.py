"""Time conversion of the warnings engine: every time is UTC; DuckDB gets naive-free datetimes."""

from __future__ import annotations

import pandas as pd

from data.schema import BUCKET_SECONDS

BUCKET = pd.Timedelta(seconds=BUCKET_SECONDS)
WEEK = pd.Timedelta(days=7)


def _utc(ts) -> pd.Timestamp:
    """``ts`` as a UTC timestamp (naive times are taken as UTC)."""
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _py(ts: pd.Timestamp):
    """``ts`` as a UTC ``datetime`` for a query parameter."""
    return _utc(ts).to_pydatetime()


def _floor(ts: pd.Timestamp) -> pd.Timestamp:
    """``ts`` rounded down to its 5-minute ``cell_counts`` bucket."""
    return _utc(ts).floor(f"{BUCKET_SECONDS}s")
