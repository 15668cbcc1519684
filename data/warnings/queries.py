"""What the screens read about warnings. Every function takes the caller's AreaScope and never
returns a warning outside it (a warning belongs to a scope when its area lies inside the scope).
Times are returned as ISO 8601 UTC strings.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from data import archive
from data.areas import LEVEL_COLUMN, AreaScope
from data.store import Database
from data.times import iso, to_py, utc
from data.warnings.learning import learning_state
from data.warnings.rules import LEVELS, RuleSet

ACTIVE_STATES = ("raised", "acknowledged")
STATES = ("raised", "acknowledged", "cleared")
SERIES_POINTS = 24


def _scope(scope: AreaScope, alias: str = "w") -> tuple[str, list]:
    col = "cell_key" if scope.level == "grid" else LEVEL_COLUMN[scope.level]
    return f"{alias}.{col} = ?", [int(scope.key)]


def level_name(rank) -> str:
    """blue / yellow / orange / red for rank 1..4."""
    return LEVELS[int(rank) - 1]


def counts_by_colour(db: Database, scope: AreaScope, since=None, until=None) -> dict:
    """Active (raised or acknowledged) warnings per colour, plus raised-only and escalated counts;
    with a period (``since`` included, ``until`` excluded, UTC): the warnings raised in it, in
    whatever state they are now (the list's rows for that period)."""
    cond, params = _scope(scope)
    if since is None and until is None:
        cond += " AND state IN ('raised', 'acknowledged')"
    if since is not None:
        cond += " AND w.raised_at >= ?"
        params = [*params, to_py(since)]
    if until is not None:
        cond += " AND w.raised_at < ?"
        params = [*params, to_py(until)]
    rows = db.query(
        f"""
        SELECT level_rank, count(*), count(*) FILTER (WHERE state = 'raised'),
               count(*) FILTER (WHERE escalated_to IS NOT NULL AND state = 'raised')
        FROM warnings w WHERE {cond} GROUP BY level_rank
        """,
        params,
    )
    out = {name: 0 for name in LEVELS}
    out.update({"unacknowledged": 0, "escalated": 0})
    for rank, n, raised, esc in rows:
        out[level_name(rank)] = int(n)
        out["unacknowledged"] += int(raised)
        out["escalated"] += int(esc)
    out["total"] = sum(out[name] for name in LEVELS)
    return out


_LIST_COLS = """
    w.id, w.rule_id, w.kind, w.area_key, w.area_level, a.code AS area_code,
    a.name_zh AS area_name_zh, a.name_en AS area_name_en, w.subject, w.level_rank, w.state,
    w.value, w.limit_value, w.baseline, w.detail, w.raised_at, w.updated_at, w.acknowledged_by,
    w.acknowledged_at, w.ack_comment, w.cleared_at, w.cleared_by, w.clear_reason,
    w.escalated_to, w.escalated_at, w.cell_key, t.name_zh AS township_zh, t.name_en AS township_en
"""


def _records(rows: pd.DataFrame | list[dict]) -> list[dict]:
    out = []
    if isinstance(rows, pd.DataFrame):
        rows = rows.to_dict(orient="records")
    for rec in rows:
        for k in ("raised_at", "updated_at", "acknowledged_at", "cleared_at", "escalated_at"):
            if k in rec:
                rec[k] = iso(rec[k])
        for k, v in list(rec.items()):
            if v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                rec[k] = None
            elif isinstance(v, np.integer):
                rec[k] = int(v)
            elif isinstance(v, np.floating):
                rec[k] = float(v)
        if "level_rank" in rec:
            rec["level"] = level_name(rec["level_rank"])
        if "detail" in rec:
            rec["detail"] = json.loads(rec["detail"]) if rec["detail"] else {}
        if "escalated_to" in rec:
            rec["escalated"] = rec["escalated_to"] is not None
        out.append(rec)
    return out


def list_warnings(
    db: Database,
    scope: AreaScope,
    *,
    levels: list[str] | None = None,
    rules: list[str] | None = None,
    states: list[str] | None = ACTIVE_STATES,
    area_code: str | None = None,
    area_level: str | None = None,
    since=None,
    until=None,
    limit: int = 500,
) -> list[dict]:
    """Warnings inside ``scope``, most severe then newest first, filtered by level names, rule ids,
    states (default: the active ones; None: all), an area (code, which the warning's area must be
    or lie in), the warnings' area level, or a period of raising (``since`` included, ``until``
    excluded, UTC; the read API's ``since``/``until`` on /api/warnings)."""
    cond, params = _scope(scope)
    conds = [cond]
    if since is not None:
        conds.append("w.raised_at >= ?")
        params.append(to_py(since))
    if until is not None:
        conds.append("w.raised_at < ?")
        params.append(to_py(until))
    if levels:
        ranks = [LEVELS.index(x) + 1 for x in levels if x in LEVELS]
        conds.append(f"w.level_rank IN ({', '.join('?' for _ in ranks) or 'NULL'})")
        params += ranks
    if rules:
        conds.append(f"w.rule_id IN ({', '.join('?' for _ in rules)})")
        params += list(rules)
    if states:
        conds.append(f"w.state IN ({', '.join('?' for _ in states)})")
        params += list(states)
    if area_level:
        conds.append("w.area_level = ?")
        params.append(area_level)
    if area_code:
        row = db.query_one("SELECT level, key FROM areas WHERE code = ?", [str(area_code)])
        if row is None:
            return []
        sub = AreaScope(row[0], int(row[1]))
        c, p = _scope(sub)
        conds.append(f"({c} OR w.area_key = ?)")
        params += [*p, int(row[1])]
    params.append(int(limit))
    df = db.query_df(
        f"""
        SELECT {_LIST_COLS} FROM warnings w
        JOIN areas a ON a.key = w.area_key
        LEFT JOIN areas t ON t.key = w.township_key
        WHERE {" AND ".join(conds)}
        ORDER BY (w.state = 'cleared'), w.level_rank DESC, w.raised_at DESC, w.id DESC
        LIMIT ?
        """,
        params,
    )
    return _records(df)


def newest(db: Database, scope: AreaScope, *, limit: int = 8) -> list[dict]:
    """The newest active warnings (the wall's ticker), newest first."""
    cond, params = _scope(scope)
    df = db.query_records(
        f"""
        SELECT {_LIST_COLS} FROM warnings w
        JOIN areas a ON a.key = w.area_key LEFT JOIN areas t ON t.key = w.township_key
        WHERE {cond} AND w.state IN ('raised', 'acknowledged')
        ORDER BY w.raised_at DESC, w.id DESC LIMIT ?
        """,
        [*params, int(limit)],
    )
    return _records(df)


def escalations(db: Database, scope: AreaScope, *, limit: int = 20) -> list[dict]:
    """Escalated warnings still unacknowledged, most recently escalated first."""
    cond, params = _scope(scope)
    df = db.query_records(
        f"""
        SELECT {_LIST_COLS} FROM warnings w
        JOIN areas a ON a.key = w.area_key LEFT JOIN areas t ON t.key = w.township_key
        WHERE {cond} AND w.state = 'raised' AND w.escalated_to IS NOT NULL
        ORDER BY w.level_rank DESC, w.escalated_at DESC LIMIT ?
        """,
        [*params, int(limit)],
    )
    return _records(df)


def map_cells(db: Database, scope: AreaScope, *, min_level: str = "orange") -> list[dict]:
    """Grid cells with an active warning of ``min_level`` or above (default: red and orange),
    one row per cell with its highest level: cell_key, code, level_rank, level."""
    cond, params = _scope(scope)
    rows = db.query(
        f"""
        SELECT w.cell_key, a.code, max(w.level_rank) FROM warnings w JOIN areas a ON a.key = w.cell_key
        WHERE {cond} AND w.state IN ('raised', 'acknowledged') AND w.cell_key IS NOT NULL
          AND w.level_rank >= ?
        GROUP BY w.cell_key, a.code ORDER BY 3 DESC, 1
        """,
        [*params, LEVELS.index(min_level) + 1],
    )
    return [
        {"cell_key": int(k), "code": c, "level_rank": int(r), "level": level_name(r)}
        for k, c, r in rows
    ]


def red_orange_cells(db: Database, scope: AreaScope) -> list[int]:
    """Keys of the grid cells to mark on the map (active red or orange warnings)."""
    return [c["cell_key"] for c in map_cells(db, scope, min_level="orange")]


def rule_names(rules: RuleSet) -> dict[str, dict[str, str]]:
    """rule id -> {"zh": ..., "en": ...} (names come from the rules file)."""
    return {r.id: {"zh": r.name_zh, "en": r.name_en} for r in rules.rule}


def history(db: Database, scope: AreaScope, warning_id: int) -> list[dict]:
    """A warning's history rows, oldest first (empty when outside the scope)."""
    cond, params = _scope(scope)
    df = db.query_df(
        f"""
        SELECT h.changed_at, h.action, h.from_rank, h.to_rank, h.state, h.actor, h.note, h.value
        FROM warning_history h JOIN warnings w ON w.id = h.warning_id
        WHERE h.warning_id = ? AND {cond} ORDER BY h.changed_at, h.id
        """,
        [int(warning_id), *params],
    )
    out = []
    for rec in df.to_dict(orient="records"):
        rec["changed_at"] = iso(rec["changed_at"])
        for k in ("from_rank", "to_rank"):
            rec[k] = None if pd.isna(rec[k]) else int(rec[k])
        rec["from_level"] = level_name(rec["from_rank"]) if rec["from_rank"] else None
        rec["to_level"] = level_name(rec["to_rank"]) if rec["to_rank"] else None
        rec["value"] = None if pd.isna(rec["value"]) else float(rec["value"])
        rec["actor"] = None if pd.isna(rec["actor"]) else rec["actor"]
        rec["note"] = None if pd.isna(rec["note"]) else rec["note"]
        out.append(rec)
    return out


def warning_record(db: Database, scope: AreaScope, warning_id: int) -> dict | None:
    """Warning ``warning_id``'s id, rule, kind, area and level rank as plain Python values (what
    a case made from it needs); ``None`` when it is unknown or its area lies outside ``scope``."""
    row = db.query_df(
        "SELECT id, rule_id, kind, area_key, level_rank FROM warnings WHERE id = ?",
        [int(warning_id)],
    )
    if row.empty or not scope.contains(db, int(row.iloc[0]["area_key"])):
        return None
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.iloc[0].items()}


def warning_detail(
    db: Database, scope: AreaScope, warning_id: int, rules: RuleSet, *, now=None
) -> dict | None:
    """One warning with its evidence: ``series`` (times, values, baseline, limits per level),
    ``events`` (the reports behind it, newest first, at most 200) and ``history``.
    None when the warning does not exist or lies outside ``scope``."""
    cond, params = _scope(scope)
    df = db.query_df(
        f"""SELECT {_LIST_COLS}, w.last_true_at FROM warnings w JOIN areas a ON a.key = w.area_key
        LEFT JOIN areas t ON t.key = w.township_key WHERE w.id = ? AND {cond}""",
        [int(warning_id), *params],
    )
    if df.empty:
        return None
    w = _records(df)[0]
    w["last_true_at"] = iso(df["last_true_at"].iloc[0])
    rule = rules.get(w["rule_id"])
    now = utc(now) if now is not None else pd.Timestamp.now(tz="UTC")
    end = utc(w["cleared_at"]) if w["cleared_at"] else now
    out = {"warning": w, "history": history(db, scope, warning_id), "series": None, "events": []}
    if rule is None:
        return out
    # an old warning's events may have moved to the archive: read them through it, in one snapshot
    since = min(utc(w["raised_at"]), end) - _lookback(rule)
    with archive.snapshot(db):
        ev = archive.events_relation(db, since, end + pd.Timedelta(microseconds=1))
        out["series"] = _series(db, rule, w, end, ev)
        out["events"] = _events(db, rule, w, end, ev=ev)
    return out


def _lookback(rule) -> pd.Timedelta:
    """How far before a warning (or its end) its evidence reaches, at most (every rule kind)."""
    return (
        SERIES_POINTS * pd.Timedelta(minutes=rule.window_min)
        + pd.Timedelta(days=7 * rule.weeks)
        + pd.Timedelta(hours=rule.hours + 49)
    )


def _area_cond(rule, w, alias="e") -> tuple[str, list]:
    lv = w["area_level"]
    col = "cell_key" if lv == "grid" else LEVEL_COLUMN[lv]
    return f"{alias}.{col} = ?", [int(w["area_key"])]


def _rule_filter(rule, alias="e") -> tuple[str, list]:
    conds, params = [], []
    if rule.sources:
        conds.append(f"{alias}.source IN ({', '.join('?' for _ in rule.sources)})")
        params += rule.sources
    if rule.categories:
        conds.append(f"{alias}.category IN ({', '.join('?' for _ in rule.categories)})")
        params += rule.categories
    if rule.exclude_categories:
        conds.append(f"{alias}.category NOT IN ({', '.join('?' for _ in rule.exclude_categories)})")
        params += rule.exclude_categories
    return " AND ".join(conds) or "TRUE", params


def _limits(rule) -> dict[str, float]:
    return {level_name(r): v for r, v in rule.levels.items()}


def _series(db: Database, rule, w: dict, end: pd.Timestamp, ev: tuple[str, list]) -> dict:
    """The evidence series: what the rule measured, point by point, against its limits.

    ``ev``: the events relation and its parameters (data/archive.py).
    """
    events, ev_params = ev
    if rule.kind == "persistence":
        start = end - pd.Timedelta(hours=48)
        rows = db.query(
            f"""
            SELECT date_trunc('hour', e.event_time) AS h, max(e.value) FROM {events} e
            WHERE e.source = ? AND e.category = ? AND e.cell_key = ?
              AND json_extract_string(e.attributes, ?) = ? AND e.event_time > ? AND e.event_time <= ?
            GROUP BY 1 ORDER BY 1
            """,
            [
                *ev_params,
                rule.sources[0],
                rule.categories[0],
                int(w["area_key"]),
                f"$.{rule.station_attr}",
                w["subject"],
                start.to_pydatetime(),
                end.to_pydatetime(),
            ],
        )
        return {
            "kind": "reading",
            "times": [iso(r[0]) for r in rows],
            "values": [float(r[1]) for r in rows],
            "baseline": None,
            "limits": _limits(rule),
        }
    if rule.kind == "silence":
        start = end - pd.Timedelta(hours=6)
        rows = db.query(
            "SELECT bucket, sum(n) FROM cell_counts WHERE source = ? AND bucket >= ? AND bucket <= ?"
            " GROUP BY 1 ORDER BY 1",
            [w["subject"], start.to_pydatetime(), end.to_pydatetime()],
        )
        return {
            "kind": "events_per_bucket",
            "times": [iso(r[0]) for r in rows],
            "values": [int(r[1]) for r in rows],
            "baseline": None,
            "limits": {},
        }
    step = pd.Timedelta(minutes=rule.window_min)
    weeks = range(0, rule.weeks + 1) if rule.kind == "anomaly" else range(0, 1)
    area, ap = _area_cond(rule, w)
    filt, fp = _rule_filter(rule)
    step_s = step.total_seconds()
    parts, params = [], []
    for k in weeks:
        e_k = end - k * pd.Timedelta(days=7)
        parts.append(
            f"SELECT {k} AS wk, floor((epoch(?::TIMESTAMPTZ) - epoch(e.event_time)) / {step_s})::INT"
            f" AS j, count(*) AS n FROM {events} e WHERE {area} AND {filt}"
            " AND e.event_time > ? AND e.event_time <= ? GROUP BY ALL"
        )
        params += [
            e_k.to_pydatetime(),
            *ev_params,
            *ap,
            *fp,
            (e_k - SERIES_POINTS * step).to_pydatetime(),
            e_k.to_pydatetime(),
        ]
    if rule.kind == "cross_domain":
        rows = db.query(
            f"""SELECT floor((epoch(?::TIMESTAMPTZ) - epoch(e.event_time)) / {step_s})::INT AS j,
                   count(DISTINCT e.source) FROM {events} e WHERE {area} AND {filt}
                   AND e.event_time > ? AND e.event_time <= ? GROUP BY 1""",
            [
                end.to_pydatetime(),
                *ev_params,
                *ap,
                *fp,
                (end - SERIES_POINTS * step).to_pydatetime(),
                end.to_pydatetime(),
            ],
        )
        vals = np.zeros(SERIES_POINTS)
        for j, n in rows:
            if 0 <= j < SERIES_POINTS:
                vals[SERIES_POINTS - 1 - j] = n
        base = None
    else:
        rows = db.query(" UNION ALL ".join(parts), params)
        grid = np.zeros((len(weeks), SERIES_POINTS))
        for wk, j, n in rows:
            if 0 <= j < SERIES_POINTS:
                grid[wk, SERIES_POINTS - 1 - j] += n
        vals = grid[0]
        base = grid[1:].mean(axis=0).round(2).tolist() if rule.kind == "anomaly" else None
    times = [iso(end - (SERIES_POINTS - 1 - i) * step) for i in range(SERIES_POINTS)]
    limits = {} if rule.kind == "anomaly" else _limits(rule)
    return {
        "kind": rule.kind,
        "times": times,
        "values": vals.tolist(),
        "baseline": base,
        "limits": limits,
        "window_min": rule.window_min,
    }


def _events(
    db: Database,
    rule,
    w: dict,
    end: pd.Timestamp,
    limit: int = 200,
    ev: tuple[str, list] = ("events", []),
) -> list[dict]:
    """The reports behind a warning: matching events in its area from one window before it was
    raised until it cleared (or now). ``ev``: the events relation (data/archive.py)."""
    start = utc(w["raised_at"]) - pd.Timedelta(minutes=rule.window_min)
    if rule.kind == "persistence":
        start = utc(w["raised_at"]) - pd.Timedelta(hours=rule.hours + 1)
        cond = (
            "e.source = ? AND e.category = ? AND e.cell_key = ?"
            " AND json_extract_string(e.attributes, ?) = ?"
        )
        params = [
            rule.sources[0],
            rule.categories[0],
            int(w["area_key"]),
            f"$.{rule.station_attr}",
            w["subject"],
        ]
    elif rule.kind == "silence":
        start = end - pd.Timedelta(hours=6)
        cond, params = "e.source = ?", [w["subject"]]
    else:
        area, ap = _area_cond(rule, w)
        filt, fp = _rule_filter(rule)
        cond, params = f"{area} AND {filt}", ap + fp
    df = db.query_df(
        f"""
        SELECT e.source, e.source_event_id AS id, e.category, e.severity, e.value, e.event_time,
               g.code AS cell, e.text, ie.incident_id
        FROM {ev[0]} e JOIN areas g ON g.key = e.cell_key
        LEFT JOIN incident_events ie ON ie.source = e.source AND ie.source_event_id = e.source_event_id
        WHERE {cond} AND e.event_time > ? AND e.event_time <= ?
        ORDER BY e.event_time DESC LIMIT ?
        """,
        [*ev[1], *params, start.to_pydatetime(), end.to_pydatetime(), int(limit)],
    )
    out = []
    for rec in df.to_dict(orient="records"):
        rec["event_time"] = iso(rec["event_time"])
        for k in ("severity", "incident_id"):
            rec[k] = None if pd.isna(rec[k]) else int(rec[k])
        rec["value"] = None if pd.isna(rec["value"]) else float(rec["value"])
        rec["text"] = None if pd.isna(rec["text"]) else rec["text"]
        out.append(rec)
    return out


def incidents(db: Database, scope: AreaScope, *, since, limit: int = 100) -> list[dict]:
    """Fused incidents inside ``scope`` that started at or after ``since``, newest first, each
    with its linked reports (source, id, event_time)."""
    col = "cell_key" if scope.level == "grid" else LEVEL_COLUMN[scope.level]
    df = db.query_df(
        f"""
        SELECT i.id, i.group_id, g.code AS cell, i.first_time, i.last_time, i.sources, i.n_reports,
               list({{'source': ie.source, 'id': ie.source_event_id, 'time': ie.event_time}}
                    ORDER BY ie.event_time) AS reports
        FROM incidents i JOIN areas g ON g.key = i.cell_key
        JOIN incident_events ie ON ie.incident_id = i.id
        WHERE i.{col} = ? AND i.first_time >= ?
        GROUP BY ALL ORDER BY i.first_time DESC LIMIT ?
        """,
        [int(scope.key), utc(since).to_pydatetime(), int(limit)],
    )
    out = []
    for rec in df.to_dict(orient="records"):
        rec["first_time"], rec["last_time"] = iso(rec["first_time"]), iso(rec["last_time"])
        rec["reports"] = [
            {"source": r["source"], "id": r["id"], "time": iso(r["time"])} for r in rec["reports"]
        ]
        rec["sources"] = rec["sources"].split(",")
        out.append(rec)
    return out


def _named(records: list[dict], names: dict[str, dict[str, str]]) -> list[dict]:
    for r in records:
        n = names.get(r["rule_id"], {})
        r["rule_name_zh"], r["rule_name_en"] = n.get("zh", r["rule_id"]), n.get("en", r["rule_id"])
    return records


def wall_summary(db: Database, scope: AreaScope, rules: RuleSet, *, newest_n: int = 6) -> dict:
    """Everything the wall shows about warnings, in one call: ``counts`` (by colour, with
    ``unacknowledged`` and ``escalated``), ``newest`` and ``escalations`` (records with rule names
    in both languages), ``cells`` (keys of grid cells with an active red or orange warning) and
    ``map_cells`` (the same cells with their level, for marking the map) and ``learning``
    (:func:`data.warnings.learning.learning_state`: rules still gathering their history)."""
    names = rule_names(rules)
    marked = map_cells(db, scope, min_level="orange")
    return {
        "counts": counts_by_colour(db, scope),
        "newest": _named(newest(db, scope, limit=newest_n), names),
        "escalations": _named(escalations(db, scope), names),
        "cells": [c["cell_key"] for c in marked],
        "map_cells": marked,
        "learning": learning_state(db, rules),
    }
