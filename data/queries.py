"""Read queries. All SQL the screens and the read API use lives here, parameterised.

Every function takes the caller's :class:`~data.areas.AreaScope`; nothing outside the scope is ever
returned. Times are timezone-aware UTC ``pandas.Timestamp``s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from data import archive, catalogue
from data.areas import LEVEL_COLUMN, AreaScope
from data.events import SOURCES
from data.schema import BUCKET_SECONDS
from data.store import Database
from data.times import floor_bucket, iso, utc

# Window over which "events per minute" is averaged.
RATE_WINDOW_MIN = 5


def feed_health(
    db: Database,
    *,
    now: pd.Timestamp,
    stale_after: dict[str, float] | float,
    sources: Sequence[str] = SOURCES,
) -> list[dict]:
    """Health of every feed of ``sources`` (the catalogue's).

    ``stale_after``: seconds of silence (no batch received) after which a feed is stale, one number
    or a dict per source. Returns one dict per source: last event time, last receipt, events per
    minute over the last 5 minutes, totals and whether it is stale.
    """
    now = utc(now)
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
    for source in sources:
        r = rows.get(source)
        limit = stale_after.get(source, 300.0) if isinstance(stale_after, dict) else stale_after
        last_rx = utc(r[2]) if r and r[2] else None
        silent = (now - last_rx).total_seconds() if last_rx is not None else None
        out.append(
            {
                "source": source,
                "last_event_time": iso(r[1]) if r else None,
                "last_received_at": iso(r[2]) if r else None,
                "events_per_min": round(float(rates.get(source, 0)) / RATE_WINDOW_MIN, 2),
                "accepted": int(r[3]) if r else 0,
                "duplicates": int(r[4]) if r else 0,
                "quarantined": int(r[5]) if r else 0,
                "errors": int(r[6]) if r else 0,
                "last_error": r[7] if r else None,
                "last_error_at": iso(r[8]) if r else None,
                "stale_after_s": limit,
                "silent_s": None if silent is None else round(silent, 1),
                "stale": silent is None or silent > limit,
            }
        )
    return out


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
    department: str | None = None,
) -> list[dict]:
    """The newest events inside ``scope`` (and ``area`` when given), newest first.

    ``since``/``until`` bound the event time (UTC, half-open [since, until)). ``limit`` ≤ 10,000.
    ``department``: only the events of that department's cases (a department user's scope).
    """
    from data.policy import department_case_sql

    cond, params = scope.where("e")
    conds = [cond]
    if department is not None:
        conds.append(f"e.case_id IN ({department_case_sql()})")
        params += [department, department]
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
        params.append(utc(since).to_pydatetime())
    if until is not None:
        conds.append("e.event_time < ?")
        params.append(utc(until).to_pydatetime())
    params.append(int(limit))
    sql = f"""
        SELECT e.source, e.source_event_id AS id, e.category, e.severity, e.value,
               e.event_time, e.received_at, e.lon, e.lat, g.code AS cell,
               cm.code AS community, t.code AS township, c.code AS county, e.text, e.attributes
        FROM <events> e
        JOIN areas g ON g.key = e.cell_key
        LEFT JOIN areas cm ON cm.key = e.community_key
        LEFT JOIN areas t ON t.key = e.township_key
        LEFT JOIN areas c ON c.key = e.county_key
        WHERE {" AND ".join(conds)}
        ORDER BY e.event_time DESC, e.source, e.source_event_id
        LIMIT ?
        """
    # a period reaching back past the archive horizon reads the archived days too
    with archive.snapshot(db):
        events, rel_params = archive.events_relation(db, since, until)
        rows = db.query_df(sql.replace("<events>", "events"), params)
        newest_archived = archive.newest_time(db, since, until) if rel_params else None
        # newest first: when the database alone fills the page with events newer than anything
        # archived in the period, the archive cannot change it (an open-ended period stays fast)
        if newest_archived is not None and not (
            len(rows) == limit and utc(rows["event_time"].min()) > utc(newest_archived)
        ):
            rows = db.query_df(sql.replace("<events>", events), [*rel_params, *params])
    out = []
    for rec in rows.to_dict(orient="records"):
        for k in ("text", "community", "township", "county"):
            # a missing text came out as NaN (invalid JSON): it is null
            if not isinstance(rec[k], str):
                rec[k] = None
        rec["event_time"] = iso(rec["event_time"])
        rec["received_at"] = iso(rec["received_at"])
        rec["severity"] = None if pd.isna(rec["severity"]) else int(rec["severity"])
        rec["value"] = None if pd.isna(rec["value"]) else float(rec["value"])
        attrs = rec["attributes"]
        rec["attributes"] = json.loads(attrs) if isinstance(attrs, str) and attrs else {}
        out.append(rec)
    return out


def events_per_day(
    db: Database, scope: AreaScope, *, since: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """Events per UTC day and source inside ``scope`` with event time in [since, until).

    Counted from the events themselves, archived days included (data/archive.py): the figure a
    distributed engine reading the archive must reproduce. Columns day (date), source, n.
    """
    cond, params = scope.where("e")
    with archive.snapshot(db):
        events, rel_params = archive.events_relation(db, since, until)
        return db.query_df(
            f"""
            SELECT timezone('UTC', e.event_time)::DATE AS day, e.source, count(*) AS n
            FROM {events} e
            WHERE {cond} AND e.event_time >= ? AND e.event_time < ?
            GROUP BY ALL ORDER BY day, e.source
            """,
            [*rel_params, *params, utc(since).to_pydatetime(), utc(until).to_pydatetime()],
        )


def events_by_source(
    db: Database, scope: AreaScope, sources: Sequence[str] = SOURCES
) -> dict[str, int]:
    """All events ever stored inside ``scope``, per source of ``sources`` (from the per-cell
    buckets)."""
    cond, params = scope.where("g")
    if scope.level == "grid":
        cond, params = "g.key = ?", [int(scope.key)]
    got = dict(
        db.query(
            f"SELECT cc.source, sum(cc.n) FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key "
            f"WHERE {cond} GROUP BY cc.source",
            params,
        )
    )
    return {s: int(got.get(s) or 0) for s in sources}


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
    db: Database,
    scope: AreaScope,
    area: AreaScope,
    *,
    since: pd.Timestamp,
    until: pd.Timestamp,
    sources: Sequence[str] = SOURCES,
) -> dict:
    """Counts per source of ``sources`` (the catalogue's: zero when none) inside ``area``
    (which must lie in ``scope``) for [since, until).

    Read from the per-cell time buckets, so the window is rounded out to whole buckets.
    """
    if not _within(db, scope, area):
        raise PermissionError("area outside your scope")
    since, until = utc(since), utc(until)
    df = db.query_df(
        f"""
        SELECT cc.source, sum(cc.n) AS n, sum(cc.severity_sum) AS severity_sum
        FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key
        WHERE {_level_key(area.level)} = ?
          AND cc.bucket >= time_bucket(INTERVAL {BUCKET_SECONDS} SECOND, ?::TIMESTAMPTZ)
          AND cc.bucket < ?
        GROUP BY cc.source
        """,
        [int(area.key), since.to_pydatetime(), until.to_pydatetime()],
    )
    counts = {s: 0 for s in sources}
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


# --- the wall ----------------------------------------------------------------------------------

# the metrics the wall can colour the map by (plain values, for the layouts too)
WALL_METRICS = catalogue.WALL_METRICS
# Significant events (the wall's ticker): severity at least this, from these sources. Environment
# readings are measurements, shown through the map's metric rather than one by one.
SIGNIFICANT_MIN_SEVERITY = 4
SIGNIFICANT_SOURCES: tuple[str, ...] = ("police", "traffic", "market", "hotline")
# Risk index: severity-weighted events in the window against the same area's own severity-weighted
# rate over the 7 days before the window, scaled to the window's length. 100 = usual; 200 = twice.
RISK_BASELINE = pd.Timedelta(days=7)


def _level_key(level: str) -> str:
    """The areas column (alias g) holding the key of a grid cell's area at ``level``."""
    return "g.key" if level == "grid" else f"g.{LEVEL_COLUMN[level]}"


def area_values(
    db: Database,
    scope: AreaScope,
    *,
    level: str,
    since: pd.Timestamp,
    until: pd.Timestamp | None = None,
    source: str | None = None,
    weight: str = "n",
) -> pd.DataFrame:
    """Events per area at ``level`` inside ``scope``, read from the 5-minute cell buckets.

    The window [since, until) is rounded out to whole buckets (``since`` down). ``weight`` is
    ``"n"`` (events) or ``"severity_sum"`` (severity-weighted events). Returns columns key, n;
    areas with no event are absent.
    """
    if weight not in ("n", "severity_sum"):
        raise ValueError(f"unknown weight {weight!r}")
    if level not in LEVEL_COLUMN or level == "city":
        raise ValueError(f"unknown map level {level!r}")
    cond, params = scope.where("g")
    if scope.level == "grid":
        cond, params = "g.key = ?", [int(scope.key)]
    conds = [cond, "cc.bucket >= ?"]
    params.append(floor_bucket(since).to_pydatetime())
    if until is not None:
        conds.append("cc.bucket < ?")
        params.append(utc(until).to_pydatetime())
    if source is not None:
        conds.append("cc.source = ?")
        params.append(source)
    if scope.level == "city" and level == "grid":
        # every cell is in the city: no join with the hierarchy needed
        conds[0], params = "TRUE", params[1:]
    key = _level_key(level)
    if scope.level == "city" and level == "grid":
        return db.query_df(
            f"""
            SELECT cc.cell_key AS key, sum(cc.{weight})::BIGINT AS n FROM cell_counts cc
            WHERE {" AND ".join(conds)} GROUP BY cc.cell_key
            """,
            params,
        )
    return db.query_df(
        f"""
        SELECT {key} AS key, sum(cc.{weight})::BIGINT AS n
        FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key
        WHERE {" AND ".join(conds)}
        GROUP BY {key}
        """,
        params,
    )


def risk_values(
    db: Database, scope: AreaScope, *, level: str, now: pd.Timestamp, window: pd.Timedelta
) -> pd.DataFrame:
    """The combined risk index per area at ``level`` inside ``scope`` (columns key, n) for the
    window [now - window, now): :func:`risk_between` over that window (rounded down to whole
    5-minute buckets), the baseline scaled by ``window`` itself."""
    now = utc(now)
    start = floor_bucket(now - window)
    return risk_between(db, scope, level=level, since=start, scale=window / RISK_BASELINE)


def risk_between(
    db: Database,
    scope: AreaScope,
    *,
    level: str,
    since: pd.Timestamp,
    until: pd.Timestamp | None = None,
    scale: float | None = None,
    baseline: pd.Timedelta = RISK_BASELINE,
) -> pd.DataFrame:
    """The combined risk index per area at ``level`` inside ``scope`` over [since, until)
    (columns key, n; ``until`` None: up to the newest bucket).

    risk = 100 x (S + a) / (E + a), where S is the area's severity-weighted events in the period,
    E the same area's severity-weighted events in the ``baseline`` before it (the wall: 7 days)
    scaled to the period's length (``scale``, default (until - since) / baseline), and a the mean
    of E over every area of the level in the city (a prior that keeps a quiet area with one event
    from reading as an emergency, and the same for every reader).
    100 means usual, 200 twice the usual. Every area of the level inside the scope is returned
    (areas with no events read 100). Read from the 5-minute cell buckets.
    """
    start = utc(since)
    if scale is None:
        if until is None:
            raise ValueError("risk_between needs until or scale")
        scale = (utc(until) - start) / baseline
    base_start = start - baseline
    cond, params = scope.where("g")
    if scope.level == "grid":
        cond, params = "g.key = ?", [int(scope.key)]
    upper, upper_params = "", []
    if until is not None:
        upper, upper_params = "AND cc.bucket < ?", [utc(until).to_pydatetime()]
    key = _level_key(level)
    df = db.query_df(
        f"""
        SELECT {key} AS key,
               sum(CASE WHEN cc.bucket >= ? THEN cc.severity_sum ELSE 0 END)::DOUBLE AS s,
               sum(CASE WHEN cc.bucket < ? THEN cc.severity_sum ELSE 0 END)::DOUBLE AS b
        FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key
        WHERE {cond} AND cc.bucket >= ? {upper}
        GROUP BY {key}
        """,
        [
            start.to_pydatetime(),
            start.to_pydatetime(),
            *params,
            base_start.to_pydatetime(),
            *upper_params,
        ],
    )
    keys = area_keys(db, scope, level)
    full = pd.DataFrame({"key": keys}).merge(df, on="key", how="left").fillna(0.0)
    expected = full["b"] * scale
    prior = max(scale * _mean_baseline(db, level, base_start, start), 1e-9)
    risk = 100.0 * (full["s"] + prior) / (expected + prior)
    return pd.DataFrame({"key": full["key"].astype("int64"), "n": risk.round().astype("int64")})


def _mean_baseline(db: Database, level: str, since: pd.Timestamp, until: pd.Timestamp) -> float:
    """The city's severity-weighted events in [since, until) per area of ``level``: the risk
    index's prior, the same whoever looks (a county leader's view of a community reads what the
    city's view of it reads)."""
    total = db.query_one(
        "SELECT coalesce(sum(severity_sum), 0)::DOUBLE FROM cell_counts "
        "WHERE bucket >= ? AND bucket < ?",
        [utc(since).to_pydatetime(), utc(until).to_pydatetime()],
    )[0]
    areas = db.query_one("SELECT count(*) FROM areas WHERE level = ?", [level])[0]
    return float(total) / areas if areas else 0.0


def area_keys(db: Database, scope: AreaScope, level: str) -> list[int]:
    """Keys of the areas at ``level`` inside ``scope``, in key order."""
    return [int(r[0]) for r in _areas_at(db, scope, level, "a.key")]


def areas_at(db: Database, scope: AreaScope, level: str) -> pd.DataFrame:
    """The areas at ``level`` inside ``scope``: key, code, name_zh, name_en, lon, lat (key order)."""
    rows = _areas_at(db, scope, level, "a.key, a.code, a.name_zh, a.name_en, a.lon, a.lat")
    return pd.DataFrame(rows, columns=["key", "code", "name_zh", "name_en", "lon", "lat"])


def _areas_at(db: Database, scope: AreaScope, level: str, cols: str) -> list[tuple]:
    if level not in LEVEL_COLUMN:
        raise ValueError(f"unknown level {level!r}")
    if scope.level == level:
        return db.query(f"SELECT {cols} FROM areas a WHERE a.key = ?", [int(scope.key)])
    return db.query(
        f"SELECT {cols} FROM areas a WHERE a.level = ? AND a.{scope.column} = ? ORDER BY a.key",
        [level, int(scope.key)],
    )


def area_lineage(db: Database, scope: AreaScope, key: int) -> dict | None:
    """An area inside ``scope`` with its ancestors' codes: level, code, county, township.

    None when ``key`` is unknown or outside the scope.
    """
    if scope.level != "city" and not scope.contains(db, int(key)):
        return None
    row = db.query_one(
        """
        SELECT a.level, a.code, c.code, t.code FROM areas a
        LEFT JOIN areas c ON c.key = a.county_key
        LEFT JOIN areas t ON t.key = a.township_key
        WHERE a.key = ?
        """,
        [int(key)],
    )
    if row is None:
        return None
    level, code, county, township = row
    if level == "county":
        county = code
    if level == "township":
        township = code
    return {"level": level, "code": code, "county": county, "township": township}


def counts_by_source_between(
    db: Database, scope: AreaScope, since: pd.Timestamp, until: pd.Timestamp
) -> dict[str, int]:
    """Events per source in ``scope`` with event time in [since, until) (whole 5-minute buckets).

    ``until`` is rounded up to the end of its bucket, so "today so far" and "the same time last
    week" are measured alike.
    """
    return counts_by_source_spans(db, scope, [(since, until)])[0]


def counts_by_source_spans(
    db: Database,
    scope: AreaScope,
    spans: list[tuple[pd.Timestamp, pd.Timestamp]],
    sources: Sequence[str] = SOURCES,
) -> list[dict[str, int]]:
    """:func:`counts_by_source_between` for several spans in one pass over the rollups (the
    wall's KPI tiles: today, the same span last week, the last hour). One dict per span."""
    cond, params = scope.where("g")
    if scope.level == "grid":
        cond, params = "g.key = ?", [int(scope.key)]
    bounds = [
        (floor_bucket(a), floor_bucket(b) + pd.Timedelta(seconds=BUCKET_SECONDS)) for a, b in spans
    ]
    sums = ", ".join("sum(cc.n) FILTER (WHERE cc.bucket >= ? AND cc.bucket < ?)" for _ in bounds)
    flat = [t.to_pydatetime() for pair in bounds for t in pair]
    rows = db.query(
        f"""
        SELECT cc.source, {sums} FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key
        WHERE {cond} AND cc.bucket >= ? AND cc.bucket < ? GROUP BY cc.source
        """,
        [
            *flat,
            *params,
            min(a for a, _ in bounds).to_pydatetime(),
            max(b for _, b in bounds).to_pydatetime(),
        ],
    )
    out = [{s: 0 for s in sources} for _ in bounds]
    for r in rows:
        for i in range(len(bounds)):
            out[i][r[0]] = int(r[1 + i] or 0)
    return out


def significant_events(
    db: Database,
    scope: AreaScope,
    *,
    since: pd.Timestamp,
    until: pd.Timestamp | None = None,
    min_severity: int = SIGNIFICANT_MIN_SEVERITY,
    sources: tuple[str, ...] = SIGNIFICANT_SOURCES,
    limit: int = 12,
    place_level: str = "township",
) -> list[dict]:
    """The newest events of severity ≥ ``min_severity`` from ``sources`` in ``scope`` since ``since``
    (and before ``until``, when given: the wall on a past period).

    Time is bounded by ``since`` (a constant window), never by a scan of the whole history.
    Each dict: source, id, category, severity, event_time (ISO UTC), text, cell, township_zh,
    township_en: the names of the event's area at ``place_level`` (township, or the region's
    only named level: region.toml ``place_level``).
    """
    if place_level not in ("county", "township", "community"):
        raise ValueError(f"place_level must be county, township or community, not {place_level!r}")
    place_key = f"{place_level}_key"
    cond, params = scope.where("e")
    marks = ", ".join("?" for _ in sources)
    upper, upper_params = "", []
    if until is not None:
        upper, upper_params = "AND e.event_time < ?", [utc(until).to_pydatetime()]
    df = db.query_df(
        f"""
        SELECT e.source, e.source_event_id AS id, e.category, e.severity, e.event_time, e.text,
               g.code AS cell, t.name_zh AS township_zh, t.name_en AS township_en
        FROM events e
        JOIN areas g ON g.key = e.cell_key
        LEFT JOIN areas t ON t.key = e.{place_key}
        WHERE {cond} AND e.event_time >= ? {upper} AND e.severity >= ? AND e.source IN ({marks})
        ORDER BY e.event_time DESC, e.source, e.source_event_id
        LIMIT ?
        """,
        [
            *params,
            utc(since).to_pydatetime(),
            *upper_params,
            int(min_severity),
            *sources,
            int(limit),
        ],
    )
    out = []
    for rec in df.to_dict(orient="records"):
        rec["event_time"] = iso(rec["event_time"])
        rec["severity"] = int(rec["severity"])
        out.append({k: (None if v is pd.NA else v) for k, v in rec.items()})
    return out


def area_points(db: Database, keys: list[int]) -> dict[int, tuple[float, float]]:
    """A representative point (lon, lat, WGS84) inside each area of ``keys``."""
    if not keys:
        return {}
    rows = db.query(
        "SELECT key, lon, lat FROM areas WHERE key IN (SELECT unnest(?::INTEGER[]))",
        [[int(k) for k in keys]],
    )
    return {int(k): (float(x), float(y)) for k, x, y in rows}


def grid_cells(db: Database, scope: AreaScope) -> pd.DataFrame:
    """The grid cells inside ``scope``: key, code and representative point (lon, lat), by key."""
    if scope.level == "grid":  # a grid worker's own cell: the areas table keys it by ``key``
        where, params = "key = ?", [int(scope.key)]
    else:
        where, params = scope.where()
    sql = f"SELECT key, code, lon, lat FROM areas WHERE level = 'grid' AND {where} ORDER BY key"
    return db.query_df(sql, params)


def area_point(db: Database, key: int) -> tuple[float, float] | None:
    """The representative point (lon, lat) of area ``key``; ``None`` for an unknown key."""
    return area_points(db, [key]).get(int(key))
