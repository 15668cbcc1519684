"""The wall on a past period, and its after-action review (复盘): the state as it was at a time T.

A period is ``[since, until)`` (UTC; bare dates in the URL are the region's local midnights, see
:func:`data.times.parse_bound`). The wall on a period shows it as it was at one moment ``at``
inside it (the replay's slider; by default the period's end):

* the map and the KPI tiles count the events of ``[since, at)``;
* the ticker shows the significant events of the day before ``at`` (within the period);
* warnings are those raised by ``at`` and not cleared by then, in the state they had at ``at``
  (acknowledged only when acknowledged by then), at the level they had then (the history);
* cases are those created by ``at``, in the state they had at ``at`` (their transitions): a case
  closed after ``at`` is open at ``at``, and overdue only if its deadline had passed by then
  (right-censored: never overdue against today, docs/CASES.md).

Everything here is plain values (no dash); all SQL is parameterised.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd

from data.areas import AreaScope
from data.store import Database
from data.times import parse_bound, utc

# the replay's slider steps: five minutes up to two days, an hour above
SHORT_STEP = pd.Timedelta(minutes=5)
LONG_STEP = pd.Timedelta(hours=1)
SHORT_SPAN = pd.Timedelta(days=2)
# the longest period the wall replays (a slider over more would have too many steps)
MAX_PERIOD = pd.Timedelta(days=31)


def period_of(view: dict | None, timezone: str, now: pd.Timestamp) -> dict | None:
    """The period a view asks for (``since``, ``until``, ``at`` in the view; text as in the URL),
    or None for the live wall. Raises ValueError (with the reason) for a bound that is not a
    date or time, an empty or reversed period, one longer than ``MAX_PERIOD`` or one that starts
    in the future. ``until`` after ``now`` is cut to ``now``; ``at`` outside the period is
    pulled inside it (default: the period's end).

    ``at`` is a slider position (whole steps from ``since``) or a time in the period.
    Returns since, until, at (UTC timestamps), step (Timedelta), steps (int), index (int: the
    slider position of ``at``)."""
    view = view or {}
    if not view.get("since") and not view.get("until"):
        return None
    if not view.get("since") or not view.get("until"):
        raise ValueError("a period needs both since and until")
    since = parse_bound(view["since"], timezone)
    until = parse_bound(view["until"], timezone)
    if until <= since:
        raise ValueError(f"until ({view['until']}) must be after since ({view['since']})")
    if until - since > MAX_PERIOD:
        raise ValueError(f"a period on the wall is at most {MAX_PERIOD.days} days")
    now = utc(now)
    if since >= now:
        raise ValueError(f"the period starts in the future ({view['since']})")
    step = SHORT_STEP if until - since <= SHORT_SPAN else LONG_STEP
    steps = max(1, math.ceil((until - since) / step))
    index = steps
    if view.get("at") not in (None, ""):
        index = _position(str(view["at"]), since, step, timezone)
        index = max(0, min(index, steps))
    at = min(since + step * index, until)
    return {"since": since, "until": until, "at": at, "step": step, "steps": steps, "index": index}


def _position(at: str, since: pd.Timestamp, step: pd.Timedelta, timezone: str) -> int:
    """The slider position ``at`` names: a whole number of steps, or a time (ISO 8601 with an
    offset, or a bare date: local midnight), rounded down to its step."""
    try:
        return int(at)
    except ValueError:
        pass
    try:
        t = parse_bound(at, timezone)
    except ValueError as exc:
        raise ValueError(f"at must be a slider position or a time: {exc}") from None
    return int((t - since) // step)


def moment(period: dict, now: pd.Timestamp) -> pd.Timestamp:
    """The time the wall shows for ``period``: its slider time, but never after ``now``."""
    return min(period["at"], utc(now))


def day_period(day: str | None, kind: str | None) -> tuple[str, str] | None:
    """The wall's period picker as the URL gives it: (since, until) as bare dates, a day or a
    week (seven days) from ``day`` (``YYYY-MM-DD``); None when no valid day is picked."""
    try:
        first = date.fromisoformat(str(day or "")[:10])
    except ValueError:
        return None
    last = first + timedelta(days=7 if kind == "week" else 1)
    return first.isoformat(), last.isoformat()


def warnings_at(
    db: Database, scope: AreaScope, at: pd.Timestamp, *, newest_n: int = 6
) -> dict[str, object]:
    """The warnings of ``scope`` as they stood at ``at``: raised by then and not yet cleared,
    with the level and state they had then. Returns ``counts`` (per colour, ``unacknowledged``,
    ``escalated``, ``total``), ``newest`` (records, newest first), ``escalations`` and
    ``map_cells`` (red and orange cells), the shapes of
    :func:`data.warnings.queries.wall_summary`."""
    from data.warnings import queries as wq
    from data.warnings.rules import LEVELS

    cond, params = wq._scope(scope)
    t = utc(at).to_pydatetime()
    # the level at ``at``: the last level change recorded by then (the raise is one)
    df = db.query_df(
        f"""
        WITH lv AS (
            SELECT warning_id, arg_max(to_rank, (changed_at, id)) AS rank_then
            FROM warning_history WHERE changed_at <= ? AND to_rank IS NOT NULL
            GROUP BY warning_id
        )
        SELECT {wq._LIST_COLS}, coalesce(lv.rank_then, w.level_rank) AS rank_then
        FROM warnings w
        JOIN areas a ON a.key = w.area_key LEFT JOIN areas t ON t.key = w.township_key
        LEFT JOIN lv ON lv.warning_id = w.id
        WHERE {cond} AND w.raised_at <= ? AND (w.cleared_at IS NULL OR w.cleared_at > ?)
        ORDER BY w.raised_at DESC, w.id DESC
        """,
        [t, *params, t, t],
    )
    records = wq._records(df)
    for r in records:
        acked = r["acknowledged_at"] is not None and utc(r["acknowledged_at"]) <= utc(at)
        escalated = r["escalated_at"] is not None and utc(r["escalated_at"]) <= utc(at)
        r["level_rank"] = int(r.pop("rank_then"))
        r["level"] = wq.level_name(r["level_rank"])
        r["state"] = "acknowledged" if acked else "raised"
        r["escalated"] = escalated
        r["cleared_at"] = None
    counts = {name: 0 for name in LEVELS}
    counts.update({"unacknowledged": 0, "escalated": 0})
    for r in records:
        counts[r["level"]] += 1
        counts["unacknowledged"] += r["state"] == "raised"
        counts["escalated"] += r["state"] == "raised" and r["escalated"]
    counts["total"] = len(records)
    cells: dict[int, int] = {}
    for r in records:
        if r["cell_key"] is not None and r["level_rank"] >= LEVELS.index("orange") + 1:
            cells[r["cell_key"]] = max(cells.get(r["cell_key"], 0), r["level_rank"])
    escalations = [r for r in records if r["state"] == "raised" and r["escalated"]]
    return {
        "counts": counts,
        "newest": records[:newest_n],
        "escalations": sorted(escalations, key=lambda r: -r["level_rank"])[:20],
        "map_cells": [
            {"cell_key": k, "level_rank": v, "level": wq.level_name(v)}
            for k, v in sorted(cells.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def cases_at(db: Database, scope: AreaScope, at: pd.Timestamp) -> pd.DataFrame:
    """The cases of ``scope`` created by ``at``, each with the state it had at ``at`` (the last
    transition by then; a case closed later is open at ``at``) and whether it was overdue then
    (open at ``at`` with its deadline before ``at``). Columns: id, created_at, deadline_at,
    closed_at (None unless closed by ``at``), state_then, open_then, overdue_then."""
    where, params = scope.where("c")
    t = utc(at).to_pydatetime()
    df = db.query_df(
        f"""
        WITH last AS (
            SELECT case_id, arg_max(to_state, (occurred_at, id)) AS state_then
            FROM case_transitions WHERE occurred_at <= ? GROUP BY case_id
        )
        SELECT c.id, c.created_at, c.deadline_at,
               CASE WHEN c.closed_at <= ? THEN c.closed_at END AS closed_at,
               coalesce(last.state_then, c.state) AS state_then,
               (c.closed_at IS NULL OR c.closed_at > ?) AS open_then,
               (c.closed_at IS NULL OR c.closed_at > ?) AND c.deadline_at < ? AS overdue_then
        FROM cases c LEFT JOIN last ON last.case_id = c.id
        WHERE {where} AND NOT c.joint AND c.created_at <= ?
        ORDER BY c.id
        """,
        [t, t, t, t, t, *params, t],
    )
    df["overdue_then"] = df["overdue_then"].fillna(False).astype(bool)
    return df


def response_at(
    db: Database, scope: AreaScope, at: pd.Timestamp, *, days: int = 30, worst: int = 5
) -> dict:
    """The wall's response panel as it stood at ``at`` (the shape of
    :func:`data.cases.metrics.wall`): the on-time rate of the cases closed in the ``days``
    before ``at``, the cases open and overdue at ``at`` per county, and the ``worst`` of them."""
    t = utc(at)
    start = (t - pd.Timedelta(days=days)).to_pydatetime()
    where, params = scope.where("c")
    tp = t.to_pydatetime()
    # the definitions of data.cases.metrics (cases created in the ``days`` before ``at`` and
    # dispatched by then), with "closed" and "open" read at ``at`` instead of today
    head = db.query_one(
        f"""
        SELECT count(*) FILTER (WHERE c.closed_at <= ?),
               count(*) FILTER (WHERE c.closed_at <= ? AND c.closed_at <= c.deadline_at),
               count(*) FILTER (WHERE (c.closed_at IS NULL OR c.closed_at > ?)
                                AND c.deadline_at < ?)
        FROM cases c WHERE {where} AND NOT c.joint AND c.flag IS NULL
          AND c.dispatched_at <= ? AND c.created_at >= ? AND c.created_at <= ?
        """,
        [tp, tp, tp, tp, *params, tp, start, tp],
    )
    closed, on_time, overdue = (int(v or 0) for v in head)
    denom = closed + overdue
    overdue_by_county = db.query_df(
        f"""
        SELECT a.key AS county_key, a.code, a.name_zh, a.name_en, count(c.id) AS overdue
        FROM cases c JOIN areas a ON a.key = c.county_key
        WHERE {where} AND NOT c.joint AND c.created_at <= ?
          AND (c.closed_at IS NULL OR c.closed_at > ?) AND c.deadline_at < ?
        GROUP BY ALL ORDER BY overdue DESC, a.code
        """,
        [*params, tp, tp, tp],
    )
    worst_df = db.query_df(
        f"""
        WITH last AS (
            SELECT case_id, arg_max(to_state, (occurred_at, id)) AS state_then
            FROM case_transitions WHERE occurred_at <= ? GROUP BY case_id
        )
        SELECT c.id, c.title, c.category, c.department,
               coalesce(last.state_then, c.state) AS state, c.deadline_at,
               a.name_zh AS county_zh, a.name_en AS county_en,
               date_diff('second', c.deadline_at, ?) / 3600.0 AS overdue_h
        FROM cases c LEFT JOIN areas a ON a.key = c.county_key
        LEFT JOIN last ON last.case_id = c.id
        WHERE {where} AND NOT c.joint AND c.created_at <= ?
          AND (c.closed_at IS NULL OR c.closed_at > ?) AND c.deadline_at < ?
        ORDER BY c.deadline_at, c.id LIMIT {int(worst)}
        """,
        [tp, tp, *params, tp, tp, tp],
    )
    return {
        "on_time_rate": (on_time / denom) if denom else None,
        "closed": closed,
        "open_overdue": overdue,
        "overdue_by_county": overdue_by_county,
        "worst": worst_df,
    }
