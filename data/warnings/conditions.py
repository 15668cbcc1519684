"""Conditions of the warning rules, registered by kind: ``CONDITIONS[kind](engine, rule, now)``
returns one row per (area, subject) at a level, read with parameterised SQL (windowed counts from
the 5-minute ``cell_counts`` buckets, raw ``events`` only inside constant time windows).

A new kind is one function decorated with ``@condition("kind")`` (and the kind added to
``data.warnings.rules.KINDS``); the engine looks builders up here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data.areas import LEVEL_COLUMN
from data.schema import BUCKET_SECONDS
from data.times import BUCKET, WEEK, floor_bucket, to_py, utc
from data.warnings.rules import Rule
from data.warnings.statistics import negbin_tail_scores

if TYPE_CHECKING:
    from data.warnings.engine import WarningEngine

COND_COLUMNS = ["rule_id", "area_key", "subject", "rank", "value", "limit", "baseline", "detail"]

Builder = Callable[["WarningEngine", Rule, pd.Timestamp], pd.DataFrame]
# rule kind -> the function that reads its conditions
CONDITIONS: dict[str, Builder] = {}


def condition(kind: str) -> Callable[[Builder], Builder]:
    """Register ``fn`` as the condition builder of rule ``kind``."""

    def register(fn: Builder) -> Builder:
        CONDITIONS[kind] = fn
        return fn

    return register


# -- counting ------------------------------------------------------------------------------------


def filters(rule: Rule, alias: str, raw: bool) -> tuple[str, list]:
    """WHERE clause and parameters of a rule's source / category filters on table ``alias``."""
    conds, params = [], []
    if rule.sources:
        conds.append(f"{alias}.source IN ({', '.join('?' for _ in rule.sources)})")
        params += rule.sources
    if raw and rule.categories:
        conds.append(f"{alias}.category IN ({', '.join('?' for _ in rule.categories)})")
        params += rule.categories
    if raw and rule.exclude_categories:
        marks = ", ".join("?" for _ in rule.exclude_categories)
        conds.append(f"{alias}.category NOT IN ({marks})")
        params += rule.exclude_categories
    return (" AND ".join(conds) or "TRUE"), params


def counts_sql(
    rule: Rule, windows: list[tuple[int, pd.Timestamp, pd.Timestamp]], by_source=False
) -> tuple[str, list]:
    """SQL of events per (area at the rule's level, window index[, source]) for half-open
    windows (start, end]; rules without a category filter read whole 5-minute buckets from
    ``cell_counts`` (start rounded down to its bucket) and raw events only after the last
    bucket boundary, so ``now`` is exact and raw reads stay within 5 minutes."""
    lv = rule.area_level
    ev_key = "e.cell_key" if lv == "grid" else f"e.{LEVEL_COLUMN[lv]}"
    cc_key = "cc.cell_key" if lv == "grid" else f"g.{LEVEL_COLUMN[lv]}"
    join = "" if lv == "grid" else "JOIN areas g ON g.key = cc.cell_key"
    src_e = ", e.source" if by_source else ""
    src_c = ", cc.source" if by_source else ""
    parts, params = [], []
    for w, start, end in windows:
        if rule.uses_raw:
            cond, p = filters(rule, "e", True)
            parts.append(
                f"SELECT {ev_key} AS area_key, {int(w)} AS w{src_e}, count(*) AS n FROM events e"
                f" WHERE {cond} AND e.event_time > ? AND e.event_time <= ? GROUP BY ALL"
            )
            params += [*p, to_py(start), to_py(end)]
        else:
            b0, b1 = floor_bucket(start), floor_bucket(end)
            cond, p = filters(rule, "cc", False)
            parts.append(
                f"SELECT {cc_key} AS area_key, {int(w)} AS w{src_c}, sum(cc.n) AS n"
                f" FROM cell_counts cc {join}"
                f" WHERE {cond} AND cc.bucket >= ? AND cc.bucket < ? GROUP BY ALL"
            )
            params += [*p, to_py(b0), to_py(b1)]
            cond, p = filters(rule, "e", False)
            parts.append(
                f"SELECT {ev_key} AS area_key, {int(w)} AS w{src_e}, count(*) AS n FROM events e"
                f" WHERE {cond} AND e.event_time >= ? AND e.event_time <= ? GROUP BY ALL"
            )
            params += [*p, to_py(b1), to_py(end)]
    return " UNION ALL ".join(parts), params


def rank_of(values: np.ndarray, rule: Rule, strict: bool = False) -> np.ndarray:
    """Level rank (0 = none) of each value against the rule's thresholds."""
    rank = np.zeros(len(values), dtype=np.int64)
    for r, thr in rule.levels.items():
        hit = values > thr if strict else values >= thr
        rank = np.where(hit, r, rank)
    return rank


def ranked(
    rule: Rule,
    area_keys,
    values: np.ndarray,
    detail: list[str],
    *,
    subject="",
    strict: bool = False,
) -> pd.DataFrame:
    """Conditions of a rule whose level follows from ``values`` against its thresholds."""
    rank = rank_of(values, rule, strict=strict)
    limits = dict(rule.levels.items())
    return pd.DataFrame(
        {
            "area_key": area_keys,
            "subject": subject,
            "rank": rank,
            "value": values,
            "limit": [limits[r] for r in rank],
            "baseline": np.nan,
            "detail": detail,
        }
    )


# -- rule kinds ----------------------------------------------------------------------------------


@condition("threshold")
def threshold(engine: WarningEngine, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
    """Areas whose event count in the window reached a level's threshold."""
    sql, params = counts_sql(rule, [(0, now - rule.window, now)])
    blue = rule.levels.items()[0][1]
    df = engine.db.query_df(
        f"SELECT area_key, sum(n)::BIGINT AS n FROM ({sql}) GROUP BY area_key HAVING sum(n) >= ?",
        [*params, blue],
    )
    if df.empty:
        return df
    n = df["n"].to_numpy(dtype="float64")
    detail = [json.dumps({"n": int(v), "window_min": rule.window_min}) for v in n]
    return ranked(rule, df["area_key"], n, detail)


@condition("anomaly")
def anomaly(engine: WarningEngine, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
    """Areas whose count in the window is improbable against the same window of past weeks."""
    weeks = engine.history_weeks(now, rule.weeks, rule.window)
    if not weeks:
        return pd.DataFrame()
    windows = [(0, now - rule.window, now)] + [
        (w, now - w * WEEK - rule.window, now - w * WEEK) for w in weeks
    ]
    sql, params = counts_sql(rule, windows)
    df = engine.db.query_df(
        f"""
        SELECT area_key, coalesce(sum(n) FILTER (WHERE w = 0), 0)::BIGINT AS obs,
               coalesce(sum(n) FILTER (WHERE w > 0), 0)::BIGINT AS base
        FROM ({sql}) GROUP BY area_key
        HAVING coalesce(sum(n) FILTER (WHERE w = 0), 0) >= ?
           AND coalesce(sum(n) FILTER (WHERE w = 0), 0) * ? > coalesce(sum(n) FILTER (WHERE w > 0), 0)
        """,
        [*params, rule.min_count, len(weeks)],
    )
    if df.empty:
        return df
    k = len(weeks)
    score = negbin_tail_scores(df["obs"].to_numpy("float64"), df["base"].to_numpy("float64"), k)
    rank = rank_of(score, rule)
    keep = rank > 0
    df, score, rank = df[keep], score[keep], rank[keep]
    base = df["base"].to_numpy(dtype="float64") / k
    return pd.DataFrame(
        {
            "area_key": df["area_key"].to_numpy(),
            "subject": "",
            "rank": rank,
            "value": df["obs"].to_numpy(dtype="float64"),
            "limit": [dict(rule.levels.items())[r] for r in rank],
            "baseline": base,
            "detail": [
                json.dumps(
                    {
                        "n": int(o),
                        "baseline": round(float(b), 3),
                        "score": round(float(s), 2),
                        "weeks": k,
                        "window_min": rule.window_min,
                    }
                )
                for o, b, s in zip(df["obs"], base, score, strict=True)
            ],
        }
    )


@condition("persistence")
def persistence(engine: WarningEngine, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
    """Stations whose hourly value stayed above a threshold for the last ``hours`` hours."""
    k = rule.hours
    blue = rule.levels.items()[0][1]
    path = f"$.{rule.station_attr}"
    df = engine.db.query_df(
        f"""
        WITH r AS (
            SELECT json_extract_string(e.attributes, ?) AS station,
                   any_value(e.cell_key) AS cell_key,
                   date_trunc('hour', e.event_time) AS hour, max(e.value) AS v
            FROM events e
            WHERE e.source = ? AND e.category = ? AND e.event_time > ? AND e.event_time <= ?
            GROUP BY ALL
        ), ranked AS (
            SELECT *, row_number() OVER (PARTITION BY station ORDER BY hour DESC) AS rn FROM r
            WHERE station IS NOT NULL
        )
        SELECT station, any_value(cell_key) AS cell_key, min(v) AS vmin, max(v) AS vmax,
               max(hour) AS last_hour
        FROM ranked WHERE rn <= {int(k)} GROUP BY station
        HAVING count(*) = {int(k)} AND max(hour) - min(hour) = INTERVAL {int(k) - 1} HOUR
           AND min(v) > ? AND max(hour) >= ?
        """,
        [
            path,
            rule.sources[0],
            rule.categories[0],
            to_py(now - pd.Timedelta(hours=k + 1)),
            to_py(now),
            blue,
            to_py(now.floor("h") - pd.Timedelta(hours=1)),
        ],
    )
    if df.empty:
        return df
    v = df["vmin"].to_numpy(dtype="float64")
    detail = [
        json.dumps({"station": s, "hours": k, "min": float(a), "max": float(b)})
        for s, a, b in zip(df["station"], v, df["vmax"], strict=True)
    ]
    return ranked(
        rule,
        df["cell_key"].astype("int64"),
        v,
        detail,
        subject=df["station"].astype(str),
        strict=True,
    )


@condition("cross_domain")
def cross_domain(engine: WarningEngine, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
    """Areas where several sources each reported at least ``min_per_source`` events."""
    sql, params = counts_sql(rule, [(0, now - rule.window, now)], by_source=True)
    blue = rule.levels.items()[0][1]
    df = engine.db.query_df(
        f"""
        SELECT area_key, count(*) AS k, string_agg(source || ':' || n, ',' ORDER BY source) AS s
        FROM (SELECT area_key, source, sum(n) AS n FROM ({sql}) GROUP BY ALL HAVING sum(n) >= ?)
        GROUP BY area_key HAVING count(*) >= ?
        """,
        [*params, rule.min_per_source, blue],
    )
    if df.empty:
        return df
    kk = df["k"].to_numpy(dtype="float64")
    detail = [json.dumps({"sources": dict(p.split(":") for p in s.split(","))}) for s in df["s"]]
    return ranked(rule, df["area_key"], kk, detail)


@condition("silence")
def silence(engine: WarningEngine, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
    """Feeds silent for a multiple of their stale limit (city level, subject = source)."""
    sources = rule.sources
    limits = {s: engine.stale_seconds(s) for s in sources}
    top = rule.levels.items()[-1][1]
    lookback = pd.Timedelta(seconds=max(limits.values()) * top) + BUCKET
    marks = ", ".join("?" for _ in sources)
    status = {
        r[0]: r[1]
        for r in engine.db.query(
            f"SELECT source, last_received_at FROM feed_status WHERE source IN ({marks})"
            " AND accepted > 0",
            sources,
        )
    }
    if not status:
        return pd.DataFrame()
    known = [s for s in sources if s in status]
    marks = ", ".join("?" for _ in known)
    # the newest event up to now: raw events of the current (partial) bucket, else the last
    # whole bucket before it found in cell_counts, then its events (bounded reads only)
    b_now = floor_bucket(now)
    last_event = dict(
        engine.db.query(
            f"""
            WITH cur AS (
                SELECT source, max(event_time) AS t FROM events
                WHERE source IN ({marks}) AND event_time >= ? AND event_time <= ? GROUP BY source
            ), lb AS (
                SELECT source, max(bucket) AS b FROM cell_counts
                WHERE source IN ({marks}) AND bucket >= ? AND bucket < ? GROUP BY source
            ), prev AS (
                SELECT e.source, max(e.event_time) AS t FROM events e
                JOIN lb ON e.source = lb.source AND e.event_time >= lb.b
                       AND e.event_time < lb.b + INTERVAL {BUCKET_SECONDS} SECOND
                WHERE e.event_time >= ? AND e.event_time < ? GROUP BY e.source
            )
            SELECT source, max(t) FROM (SELECT * FROM cur UNION ALL SELECT * FROM prev)
            GROUP BY source
            """,
            [
                *known,
                to_py(b_now),
                to_py(now),
                *known,
                to_py(now - lookback),
                to_py(b_now),
                to_py(now - lookback),
                to_py(b_now),
            ],
        )
    )
    rows = []
    for s in known:
        seen = [utc(t) for t in (status.get(s), last_event.get(s)) if t is not None]
        seen = [t for t in seen if t <= now]
        last = max(seen) if seen else now - lookback
        silent = (now - last).total_seconds()
        mult = silent / limits[s]
        rank = int(rank_of(np.array([mult]), rule)[0])
        if rank:
            rows.append((s, rank, silent, mult, last))
    if not rows:
        return pd.DataFrame()
    city = engine.db.query_one("SELECT key FROM areas WHERE level = 'city' LIMIT 1")[0]
    out = []
    for s, rank, silent, _mult, last in rows:
        expected = None
        if rule.min_expected > 0:
            span = pd.Timedelta(seconds=silent)
            weeks = engine.history_weeks(now, rule.weeks, span)
            if weeks:
                parts = " UNION ALL ".join(
                    "SELECT sum(n) AS n FROM cell_counts WHERE source = ? AND bucket >= ?"
                    " AND bucket < ?"
                    for _ in weeks
                )
                params = []
                for w in weeks:
                    # whole buckets strictly after the last event seen (its own bucket is out)
                    b0 = floor_bucket(now - w * WEEK - span) + BUCKET
                    params += [s, to_py(b0), to_py(now - w * WEEK)]
                total = engine.db.query_one(f"SELECT coalesce(sum(n), 0) FROM ({parts})", params)
                expected = float(total[0]) / len(weeks)
                if expected < rule.min_expected:
                    continue
        out.append(
            {
                "area_key": int(city),
                "subject": s,
                "rank": rank,
                "value": round(silent, 1),
                "limit": limits[s] * dict(rule.levels.items())[rank],
                "baseline": np.nan if expected is None else expected,
                "detail": json.dumps(
                    {
                        "source": s,
                        "silent_s": round(silent, 1),
                        "stale_after_s": limits[s],
                        "last_seen": last.isoformat(),
                        "expected": expected,
                    }
                ),
            }
        )
    return pd.DataFrame(out)
