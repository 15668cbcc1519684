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


def parse_bound(text: str, timezone: str) -> pd.Timestamp:
    """A period bound given as text, in UTC: a bare date (``2026-11-26``) is that day's local
    midnight in ``timezone`` (the region's zone); a time must carry a UTC offset, because a
    naive time could be read in either zone. Raises ValueError with the reason."""
    s = str(text).strip()
    if len(s) == 10 and s[4] == "-" and s[7] == "-":
        try:
            day = pd.Timestamp(s)
        except (ValueError, TypeError, OverflowError):
            raise ValueError(f"{s!r} is not a date (YYYY-MM-DD)") from None
        return local_midnight(day, timezone)
    try:
        t = pd.Timestamp(s)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(
            f"{s!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 time with an offset"
        ) from None
    if t is pd.NaT:
        raise ValueError(f"{s!r} is not a time")
    if t.tzinfo is None:
        raise ValueError(f"{s!r} needs a UTC offset, e.g. 2026-11-26T08:00:00+08:00")
    return t.tz_convert("UTC")


def local_midnight(day: Any, timezone: str) -> pd.Timestamp:
    """The start of calendar day ``day`` (a date) in ``timezone``, in UTC."""
    d = pd.Timestamp(day)
    d = d.tz_localize(None) if d.tzinfo is not None else d
    return d.normalize().tz_localize(timezone).tz_convert("UTC")


PERIODS: tuple[str, ...] = ("day", "week", "month")


def calendar_period(kind: str, day: Any, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[since, until) in UTC of the local calendar ``kind`` containing date ``day``: the day;
    the ISO week (Monday to Sunday); the calendar month. Boundaries are local midnights, so a
    day across a daylight-saving change lasts 23 or 25 hours."""
    d = pd.Timestamp(day)
    d = (d.tz_localize(None) if d.tzinfo is not None else d).normalize()
    if kind == "day":
        start, end = d, d + pd.Timedelta(days=1)
    elif kind == "week":
        start = d - pd.Timedelta(days=d.weekday())
        end = start + pd.Timedelta(days=7)
    elif kind == "month":
        start = d.replace(day=1)
        end = start + pd.offsets.MonthBegin(1)
    else:
        raise ValueError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
    return local_midnight(start, timezone), local_midnight(end, timezone)


def previous_period(kind: str, since: pd.Timestamp, timezone: str, *, years: int = 0):
    """The period of the same ``kind`` before the one starting at ``since`` (or, with
    ``years``, the same period that many years earlier), as [since, until) in UTC."""
    local = since.tz_convert(timezone).tz_localize(None)
    if years:
        day = local - pd.DateOffset(years=years)
    elif kind == "day":
        day = local - pd.Timedelta(days=1)
    elif kind == "week":
        day = local - pd.Timedelta(days=7)
    else:
        day = local - pd.offsets.MonthBegin(1)
    return calendar_period(kind, day, timezone)


def query_bounds(
    query: str | None, timezone: str
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``since`` and ``until`` of an address's query string (``?since=...&until=...``), read as
    :func:`parse_bound` reads them, in UTC; None for a bound absent or unreadable (a page then
    shows its default rather than an error)."""
    from urllib.parse import parse_qs

    args = {k: v[-1] for k, v in parse_qs(str(query or "").lstrip("?")).items()}
    out = []
    for key in ("since", "until"):
        try:
            out.append(parse_bound(args[key], timezone))
        except (KeyError, ValueError):
            out.append(None)
    return out[0], out[1]


def picked_period(start_date, end_date, timezone: str) -> tuple[Any, Any, dict]:
    """A date picker's days (local, the last one included) as [since, until) in UTC, a bound
    not picked None, and as the address's ``since``/``until`` (local dates, ``until`` the day
    after the last one: exclusive, as the read API reads them). ValueError for a bad date."""
    since = parse_bound(str(start_date)[:10], timezone) if start_date else None
    until = None
    if end_date:
        last = pd.Timestamp(str(end_date)[:10])
        until = local_midnight(last + pd.Timedelta(days=1), timezone)
    return since, until, period_days(since, until, timezone)


def period_days(since, until, timezone: str) -> dict:
    """[since, until) (UTC, either may be None) as the address's ``since``/``until``: local
    dates, ``until`` exclusive; a missing bound is left out."""
    return {
        k: v.tz_convert(timezone).date().isoformat()
        for k, v in (("since", since), ("until", until))
        if v is not None
    }
