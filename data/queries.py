"""Read queries. All SQL the screens and the read API use lives here, parameterised.

Every function takes the caller's :class:`~data.areas.AreaScope`; nothing outside the scope is ever
returned. Times are timezone-aware UTC ``pandas.Timestamp``s.
"""

from __future__ import annotations

import json

import pandas as pd

from data.areas import LEVEL_COLUMN, AreaScope
from data.events import SOURCES
from data.schema import BUCKET_SECONDS
from data.store import Database

# Window over which "events per minute" is averaged.
RATE_WINDOW_MIN = 5


def _utc(ts) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def feed_health(
    db: Database, *, now: pd.Timestamp, stale_after: dict[str, float] | float
) -> list[dict]:
    """Health of every source's feed.

    ``stale_after``: seconds of silence (no batch received) after which a feed is stale, one number
    or a dict per source. Returns one dict per source: last event time, last receipt, events per
    minute over the last 5 minutes, totals and whether it is stale.
    """
    now = _utc(now)
    rows = {
        r[0]: r
        for r in db.query(
            "SELECT source, last_event_time, last_received_at, accepted, duplicates, quarantined,"
            " errors, last_error, last_error_at FROM feed_status"
        )
    }
    rates = dict(
        db.query(
            "SELECT source, sum(accepted) FROM ingest_minutes WHERE minute >= ? GROUP BY source",
            [(now - pd.Timedelta(minutes=RATE_WINDOW_MIN)).to_pydatetime()],
        )
    )
    out = []
    for source in SOURCES:
        r = rows.get(source)
        limit = stale_after.get(source, 300.0) if isinstance(stale_after, dict) else stale_after
        last_rx = _utc(r[2]) if r and r[2] else None
        silent = (now - last_rx).total_seconds() if last_rx is not None else None
        out.append(
            {
                "source": source,
                "last_event_time": _iso(r[1]) if r else None,
                "last_received_at": _iso(r[2]) if r else None,
                "events_per_min": round(float(rates.get(source, 0)) / RATE_WINDOW_MIN, 2),
                "accepted": int(r[3]) if r else 0,
                "duplicates": int(r[4]) if r else 0,
                "quarantined": int(r[5]) if r else 0,
                "errors": int(r[6]) if r else 0,
                "last_error": r[7] if r else None,
                "last_error_at": _iso(r[8]) if r else None,
                "stale_after_s": limit,
                "silent_s": None if silent is None else round(silent, 1),
                "stale": silent is None or silent > limit,
            }
        )
    return out


def _iso(v) -> str | None:
    if v is None:
        return None
    return _utc(v).isoformat()


def list_events(
    db: Database,
    scope: AreaScope,
    *,
    source: str | None = None,
    category: str | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    area: AreaScope | None = None,
    limit: int = 100,
) -> list[dict]:
    """The newest events inside ``scope`` (and ``area`` when given), newest first.

    ``since``/``until`` bound the event time (UTC, half-open [since, until)). ``limit`` ≤ 10,000.
    """
    cond, params = scope.where("e")
    conds = [cond]
    if area is not None:
        c, p = area.where("e")
        conds.append(c)
        params += p
    for col, val in (("e.source", source), ("e.category", category)):
        if val is not None:
            conds.append(f"{col} = ?")
            params.append(val)
    if since is not None:
        conds.append("e.event_time >= ?")
        params.append(_utc(since).to_pydatetime())
    if until is not None:
        conds.append("e.event_time < ?")
        params.append(_utc(until).to_pydatetime())
    params.append(int(limit))
    rows = db.query_df(
        f"""
        SELECT e.source, e.source_event_id AS id, e.category, e.severity, e.value, e.event_time,
               e.received_at, e.lon, e.lat, g.code AS cell, cm.code AS community,
               t.code AS township, c.code AS county, e.text, e.attributes
        FROM events e
        JOIN areas g ON g.key = e.cell_key
        LEFT JOIN areas cm ON cm.key = e.community_key
        LEFT JOIN areas t ON t.key = e.township_key
        LEFT JOIN areas c ON c.key = e.county_key
        WHERE {" AND ".join(conds)}
        ORDER BY e.event_time DESC, e.source, e.source_event_id
        LIMIT ?
        """,
        params,
    )
    out = []
    for rec in rows.to_dict(orient="records"):
        rec["event_time"] = _iso(rec["event_time"])
        rec["received_at"] = _iso(rec["received_at"])
        rec["severity"] = None if pd.isna(rec["severity"]) else int(rec["severity"])
        rec["value"] = None if pd.isna(rec["value"]) else float(rec["value"])
        rec["attributes"] = json.loads(rec["attributes"]) if rec["attributes"] else {}
        out.append(rec)
    return out


def area_info(db: Database, key: int) -> dict:
    """One area's row (code, level, names, population, parent code)."""
    df = db.query_df(
        "SELECT a.key, a.code, a.level, a.name_zh, a.name_en, a.population, a.area_km2,"
        " a.lon, a.lat, p.code AS parent FROM areas a LEFT JOIN areas p ON p.key = a.parent_key"
        " WHERE a.key = ?",
        [int(key)],
    )
    if df.empty:
        raise KeyError(f"no area with key {key}")
    rec = df.iloc[0].to_dict()
    return {k: (None if pd.isna(v) else v) for k, v in rec.items()}


def area_summary(
    db: Database, scope: AreaScope, area: AreaScope, *, since: pd.Timestamp, until: pd.Timestamp
) -> dict:
    """Counts per source inside ``area`` (which must lie in ``scope``) for [since, until).

    Read from the per-cell time buckets, so the window is rounded out to whole buckets.
    """
    if not _within(db, scope, area):
        raise PermissionError("area outside your scope")
    since, until = _utc(since), _utc(until)
    df = db.query_df(
        f"""
        SELECT cc.source, sum(cc.n) AS n, sum(cc.severity_sum) AS severity_sum
        FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key
        WHERE g.{area.column if area.level != "grid" else "key"} = ?
          AND cc.bucket >= time_bucket(INTERVAL {BUCKET_SECONDS} SECOND, ?::TIMESTAMPTZ)
          AND cc.bucket < ?
        GROUP BY cc.source
        """,
        [int(area.key), since.to_pydatetime(), until.to_pydatetime()],
    )
    counts = {s: 0 for s in SOURCES}
    for rec in df.itertuples():
        counts[rec.source] = int(rec.n)
    return {
        "area": area_info(db, area.key),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "counts": counts,
        "total": int(sum(counts.values())),
    }


def _within(db: Database, scope: AreaScope, area: AreaScope) -> bool:
    if scope.level == "city":
        return True
    return scope.contains(db, area.key)


def counts_by_source_since(db: Database, scope: AreaScope, since: pd.Timestamp) -> dict[str, int]:
    """Events per source in ``scope`` with event time ≥ ``since`` (from the time buckets)."""
    col = LEVEL_COLUMN[scope.level]
    key_col = "g.key" if scope.level == "grid" else f"g.{col}"
    rows = db.query(
        f"""
        SELECT cc.source, sum(cc.n) FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key
        WHERE {key_col} = ? AND cc.bucket >= ? GROUP BY cc.source
        """,
        [int(scope.key), _utc(since).to_pydatetime()],
    )
    out = {s: 0 for s in SOURCES}
    out.update({r[0]: int(r[1]) for r in rows})
    return out


def cell_counts_window(
    db: Database, scope: AreaScope, *, since: pd.Timestamp, source: str | None = None
) -> pd.DataFrame:
    """Per grid cell in ``scope``: events with time ≥ ``since`` (optionally one source).

    Returns columns cell_key, n (cells with no event are absent).
    """
    col = LEVEL_COLUMN[scope.level]
    key_col = "g.key" if scope.level == "grid" else f"g.{col}"
    params: list = [int(scope.key), _utc(since).to_pydatetime()]
    src = ""
    if source is not None:
        src = "AND cc.source = ?"
        params.append(source)
    return db.query_df(
        f"""
        SELECT cc.cell_key, sum(cc.n)::BIGINT AS n
        FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key
        WHERE {key_col} = ? AND cc.bucket >= ? {src}
        GROUP BY cc.cell_key
        """,
        params,
    )
