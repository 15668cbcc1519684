"""Response metrics (行政问效): who handles on time, who passes work on, did the problem go away.

Every function takes an :class:`AreaScope` and reads with parameterised SQL. Definitions
(docs/CASES.md):

- The cases measured are the leaf cases (a joint parent is measured through its sub-cases) that
  were dispatched (``dispatched_at`` set): requests answered on the call and cases still waiting
  for a decision were never due from any department. A case is in a period when it was created
  in it. Cases flagged ``closed_before_created`` are left out of every figure.
- on-time closure rate = closed on time (closed_at <= deadline_at, the deadline after approved
  extensions) / (closed + open and overdue at ``now``). Open cases not yet due are not counted.
- median time to dispatch = dispatched_at - created_at; to accept = accepted_at - dispatched_at
  (first signing); to close = closed_at - created_at. Open cases never count as a time.
- rework rate = cases reworked at least once / cases whose handling was reported
  (handled_at set) or that were closed; extension rate = cases extended at least once /
  dispatched cases.
- returns and reassignments per department: transitions ``return`` by that department, and
  ``reassign`` away from it; both also per 100 cases dispatched to it.
- effect: for cases closed at least 7 days before ``now``, the events in the case's cell in the
  7 days after closing against the 7 days before.
"""

from __future__ import annotations

import pandas as pd

from data.areas import AreaScope
from data.store import Database
from data.times import to_py, utc_now

HOUR = 3600.0


def _base(scope: AreaScope, since=None, until=None, department: str | None = None, alias: str = ""):
    where, params = scope.where(alias)
    p = f"{alias}." if alias else ""
    conds = [where, f"NOT {p}joint", f"{p}dispatched_at IS NOT NULL", f"{p}flag IS NULL"]
    if since is not None:
        conds.append(f"{p}created_at >= ?")
        params.append(pd.Timestamp(since).to_pydatetime())
    if until is not None:
        conds.append(f"{p}created_at < ?")
        params.append(pd.Timestamp(until).to_pydatetime())
    if department is not None:
        conds.append(f"{p}department = ?")
        params.append(department)
    return " AND ".join(conds), params


_AGG = """
    count(*) AS cases,
    count(*) FILTER (closed_at IS NOT NULL) AS closed,
    count(*) FILTER (closed_at IS NOT NULL AND closed_at <= deadline_at) AS closed_on_time,
    count(*) FILTER (closed_at IS NULL AND deadline_at < $now) AS open_overdue,
    count(*) FILTER (closed_at IS NULL) AS open,
    median(date_diff('second', created_at, dispatched_at)) / 3600.0 AS median_dispatch_h,
    median(date_diff('second', dispatched_at, accepted_at)) / 3600.0 AS median_accept_h,
    median(date_diff('second', created_at, closed_at)) / 3600.0 AS median_close_h,
    count(*) FILTER (reworks > 0) AS reworked,
    count(*) FILTER (handled_at IS NOT NULL OR closed_at IS NOT NULL) AS due_for_closure,
    count(*) FILTER (extensions > 0) AS extended,
    sum(returns) AS returns_on_cases,
    sum(reassignments) AS reassignments_on_cases
"""


def _rates(df: pd.DataFrame) -> pd.DataFrame:
    denom = df["closed"] + df["open_overdue"]
    df["on_time_rate"] = (df["closed_on_time"] / denom.where(denom > 0)).astype("float64")
    df["rework_rate"] = df["reworked"] / df["due_for_closure"].where(df["due_for_closure"] > 0)
    df["extension_rate"] = df["extended"] / df["cases"].where(df["cases"] > 0)
    df["rework_rate"] = df["rework_rate"].astype("float64")
    df["extension_rate"] = df["extension_rate"].astype("float64")
    return df


def summary(
    db: Database,
    scope: AreaScope,
    *,
    now=None,
    since=None,
    until=None,
    department: str | None = None,
) -> dict:
    """The headline figures of the cases in scope (see the module's definitions): the wall's
    response panel and the indicator catalogue's case figures are this one query
    (:func:`grouped`, without groups)."""
    df = grouped(db, scope, [], now=now, since=since, until=until, department=department)
    out = {k: (None if pd.isna(v) else v) for k, v in df.iloc[0].to_dict().items()}
    for k in (
        "cases",
        "closed",
        "closed_on_time",
        "open_overdue",
        "open",
        "reworked",
        "due_for_closure",
        "extended",
        "returns_on_cases",
        "reassignments_on_cases",
    ):
        out[k] = int(out[k] or 0)
    return out


def by_department(db: Database, scope: AreaScope, *, now=None, since=None, until=None):
    """One row per department: the figures of :func:`summary` plus returns and reassignments
    it passed on (from the transitions), ranked best first (on-time rate, then median close)."""
    where, params = _base(scope, since, until)
    sql = f"""
        WITH c AS (SELECT * FROM cases WHERE {where}),
        agg AS (SELECT department, {_AGG} FROM c GROUP BY department),
        passed AS (
            SELECT t.department,
                   count(*) FILTER (t.action = 'return') AS returned,
                   count(*) FILTER (t.action = 'reassign') AS reassigned_away
            FROM (
                SELECT t.case_id, t.action,
                       CASE WHEN t.action = 'return' THEN t.department
                            ELSE lag(t.department) OVER (PARTITION BY t.case_id
                                                         ORDER BY t.occurred_at, t.id) END
                       AS department
                FROM case_transitions t
                WHERE t.action IN ('dispatch', 'reassign', 'return')
                  AND t.case_id IN (SELECT id FROM c)
            ) t
            WHERE t.action IN ('return', 'reassign') AND t.department IS NOT NULL
            GROUP BY t.department
        ),
        got AS (
            SELECT department, count(*) AS received FROM case_transitions
            WHERE action IN ('dispatch', 'reassign') AND case_id IN (SELECT id FROM c)
              AND department IS NOT NULL
            GROUP BY department
        )
        SELECT coalesce(agg.department, passed.department) AS department, agg.* EXCLUDE
               (department), coalesce(passed.returned, 0) AS returned,
               coalesce(passed.reassigned_away, 0) AS reassigned_away,
               coalesce(got.received, 0) AS received
        FROM agg FULL JOIN passed ON agg.department = passed.department
        LEFT JOIN got ON got.department = coalesce(agg.department, passed.department)
    """.replace("$now", "?")
    df = db.query_df(sql, [*params, to_py(utc_now(now))])
    df[["cases", "closed", "closed_on_time", "open_overdue", "open"]] = (
        df[["cases", "closed", "closed_on_time", "open_overdue", "open"]].fillna(0).astype("int64")
    )
    df = _rates(df)
    per = df["received"].where(df["received"] > 0)
    df["passed_on_per_100"] = 100.0 * (df["returned"] + df["reassigned_away"]) / per
    return _rank(df)


def _rank(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(
        ["on_time_rate", "median_close_h"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)
    df["rank"] = range(1, len(df) + 1)
    return df


def by_county(db: Database, scope: AreaScope, *, now=None, since=None, until=None):
    """One row per county (cases without a county, such as unplaced ones, are left out)."""
    where, params = _base(scope, since, until, alias="c")
    sql = f"""
        SELECT c.county_key, a.code, a.name_zh, a.name_en, {_AGG.replace("count(*)", "count(c.id)")}
        FROM cases c JOIN areas a ON a.key = c.county_key
        WHERE {where}
        GROUP BY ALL
    """.replace("$now", "?")
    return _rank(_rates(db.query_df(sql, [to_py(utc_now(now)), *params])))


def weekly(
    db: Database,
    scope: AreaScope,
    *,
    by: str = "department",
    now=None,
    weeks: int = 8,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """The on-time rate per week (of creation, local weeks starting Monday) per department or
    county for the last ``weeks`` weeks: the trend beside a ranking."""
    if by not in ("department", "county_key"):
        raise ValueError("by must be 'department' or 'county_key'")
    now_ts = pd.Timestamp(to_py(utc_now(now)))
    since = now_ts - pd.Timedelta(weeks=weeks)
    where, params = _base(scope, since, None)
    sql = f"""
        SELECT {by} AS key,
               date_trunc('week', timezone(?, created_at)) AS week, {_AGG}
        FROM cases WHERE {where} AND {by} IS NOT NULL
        GROUP BY ALL ORDER BY key, week
    """.replace("$now", "?")
    return _rates(db.query_df(sql, [timezone, now_ts.to_pydatetime(), *params]))


def close_times(db: Database, scope: AreaScope, *, include_flagged: bool = False):
    """Per department: closed cases, median and mean created-to-closed hours, open cases, and
    cases flagged as closing before they were created (excluded unless ``include_flagged``)."""
    where, params = scope.where()
    flag = "" if include_flagged else "AND flag IS NULL"
    return db.query_df(
        f"""
        SELECT department,
               count(*) FILTER (closed_at IS NOT NULL {flag}) AS closed,
               median(date_diff('second', created_at, closed_at)) FILTER (WHERE
                   closed_at IS NOT NULL {flag}) / 3600.0 AS median_close_h,
               count(*) FILTER (closed_at IS NULL) AS open,
               count(*) FILTER (flag = 'closed_before_created') AS flagged
        FROM cases WHERE {where} AND NOT joint AND dispatched_at IS NOT NULL
        GROUP BY department ORDER BY closed DESC
        """,
        params,
    )


def department_detail(db: Database, scope: AreaScope, department: str, *, now=None) -> dict:
    """A department's page: its figures, its open cases by deadline, and its weekly trend."""
    now_ts = to_py(utc_now(now))
    where, params = scope.where()
    open_cases = db.query_df(
        f"""
        SELECT id, title, category, state, deadline_at, created_at,
               date_diff('second', deadline_at, ?) / 3600.0 AS overdue_h
        FROM cases WHERE {where} AND department = ? AND state <> 'closed' AND NOT joint
        ORDER BY deadline_at NULLS LAST LIMIT 200
        """,
        [now_ts, *params, department],
    )
    w = weekly(db, scope, by="department", now=now_ts)
    return {
        "summary": summary(db, scope, now=now_ts, department=department),
        "open": open_cases,
        "weekly": w[w["key"] == department].reset_index(drop=True),
    }


def effect(
    db: Database, scope: AreaScope, *, now=None, days: int = 7, since=None, until=None
) -> dict:
    """Did the grid calm down? For cases closed at least ``days`` days before ``now`` (and in
    ``[since, until)`` when given), events in the cases' cells ``days`` days before closing
    against after (docs/CASES.md, "effect").

    ``before``/``after`` count each event at most once per cell: for each cell, the events in
    the union of its closed cases' before windows, and in the union of their after windows (two
    cases closed an hour apart in one cell share almost the same week before; summing per case
    counted those events twice). ``per_cell`` holds those counts with the cell's area keys (for
    figures per area: cells partition every area, so sums per area count an event once).
    ``per_case`` keeps each case's own windows (``calmer`` counts the cases whose after is
    below their before).
    """
    now_ts = pd.Timestamp(to_py(utc_now(now)))
    where, params = scope.where("c")
    span = pd.Timedelta(days=days)
    conds = [
        where,
        "NOT c.joint",
        "c.closed_at IS NOT NULL",
        "c.cell_key IS NOT NULL",
        "c.dispatched_at IS NOT NULL",
        "c.flag IS NULL",
        "c.closed_at <= ?",
    ]
    params = [*params, (now_ts - span).to_pydatetime()]
    if since is not None:
        conds.append("c.closed_at >= ?")
        params.append(pd.Timestamp(since).to_pydatetime())
    if until is not None:
        conds.append("c.closed_at < ?")
        params.append(pd.Timestamp(until).to_pydatetime())
    closed = f"SELECT * FROM cases c WHERE {' AND '.join(conds)}"
    window = f"INTERVAL {int(days)} DAY"
    per_case = db.query_df(
        f"""
        SELECT c.id, c.cell_key, c.department, c.community_key, c.township_key, c.county_key,
               c.city_key,
               coalesce(sum(k.n) FILTER (k.bucket < c.closed_at), 0) AS before,
               coalesce(sum(k.n) FILTER (k.bucket >= c.closed_at), 0) AS after
        FROM ({closed}) c LEFT JOIN cell_counts k
          ON k.cell_key = c.cell_key
         AND k.bucket >= c.closed_at - {window}
         AND k.bucket < c.closed_at + {window}
        GROUP BY ALL ORDER BY c.id
        """,
        params,
    )
    # each count row (cell, source, bucket) once per side: inside any before (after) window
    per_cell = db.query_df(
        f"""
        WITH c AS ({closed}),
        cells AS (
            SELECT cell_key, any_value(community_key) AS community_key,
                   any_value(township_key) AS township_key, any_value(county_key) AS county_key,
                   any_value(city_key) AS city_key
            FROM c GROUP BY cell_key
        ),
        sides AS (
            SELECT k.cell_key, k.n,
                   bool_or(k.bucket < c.closed_at) AS in_before,
                   bool_or(k.bucket >= c.closed_at) AS in_after
            FROM cell_counts k JOIN c
              ON k.cell_key = c.cell_key
             AND k.bucket >= c.closed_at - {window}
             AND k.bucket < c.closed_at + {window}
            GROUP BY k.cell_key, k.source, k.bucket, k.n
        )
        SELECT cells.*,
               coalesce(sum(s.n) FILTER (s.in_before), 0) AS before,
               coalesce(sum(s.n) FILTER (s.in_after), 0) AS after
        FROM cells LEFT JOIN sides s ON s.cell_key = cells.cell_key
        GROUP BY ALL ORDER BY cells.cell_key
        """,
        params,
    )
    before, after = int(per_cell["before"].sum()), int(per_cell["after"].sum())
    return {
        "cases": len(per_case),
        "before": before,
        "after": after,
        "change": (after - before) / before if before else None,
        "calmer": int((per_case["after"] < per_case["before"]).sum()),
        "per_case": per_case,
        "per_cell": per_cell,
    }


def wall(db: Database, scope: AreaScope, *, now=None, worst: int = 5, days: int = 30) -> dict:
    """What the wall shows: the on-time gauge (cases of the last ``days`` days), overdue open
    cases per county, and the ``worst`` most overdue open cases."""
    now_ts = pd.Timestamp(to_py(utc_now(now)))
    head = summary(db, scope, now=now_ts, since=now_ts - pd.Timedelta(days=days))
    where, params = scope.where("c")
    overdue = db.query_df(
        f"""
        SELECT a.key AS county_key, a.code, a.name_zh, a.name_en, count(c.id) AS overdue
        FROM cases c JOIN areas a ON a.key = c.county_key
        WHERE {where} AND NOT c.joint AND c.closed_at IS NULL AND c.deadline_at < ?
        GROUP BY ALL ORDER BY overdue DESC, a.code
        """,
        [*params, now_ts.to_pydatetime()],
    )
    worst_df = db.query_df(
        f"""
        SELECT c.id, c.title, c.category, c.department, c.state, c.deadline_at,
               a.name_zh AS county_zh, a.name_en AS county_en,
               date_diff('second', c.deadline_at, ?) / 3600.0 AS overdue_h
        FROM cases c LEFT JOIN areas a ON a.key = c.county_key
        WHERE {where} AND NOT c.joint AND c.closed_at IS NULL AND c.deadline_at < ?
        ORDER BY c.deadline_at, c.id LIMIT {int(worst)}
        """,
        [now_ts.to_pydatetime(), *params, now_ts.to_pydatetime()],
    )
    return {
        "on_time_rate": head["on_time_rate"],
        "closed": int(head["closed"] or 0),
        "open_overdue": int(head["open_overdue"] or 0),
        "overdue_by_county": overdue,
        "worst": worst_df,
    }


# the columns cases may be grouped by in :func:`grouped` (a fixed list: never user text)
GROUP_COLUMNS = frozenset(
    {"city_key", "county_key", "township_key", "community_key", "cell_key", "department"}
)


def grouped(
    db: Database,
    scope: AreaScope,
    by: list[str],
    *,
    now=None,
    since=None,
    until=None,
    department: str | None = None,
) -> pd.DataFrame:
    """The response figures per group of ``by`` columns (area keys of one level and/or
    ``department``), one row per group that has cases; without ``by``, one row for the whole
    scope (:func:`summary`). The indicator catalogue (data/indicators) reads cases through
    here, so a figure on the wall, in an export and in a briefing is one definition."""
    bad = [c for c in by if c not in GROUP_COLUMNS]
    if bad:
        raise ValueError(f"cannot group cases by {bad}")
    where, params = _base(scope, since, until, department)
    cols = ", ".join(by)
    select, group = (f"{cols}, {_AGG}", f" GROUP BY {cols}") if by else (_AGG, "")
    df = db.query_df(
        f"SELECT {select} FROM cases WHERE {where}{group}".replace("$now", "?"),
        [to_py(utc_now(now)), *params],
    )
    return _rates(df)


# --- any period (the metrics page): figures, trend, rankings against the previous period -------

# a period up to this many days is drawn per day, a longer one per week
DAILY_UP_TO_DAYS = 62


def trend_unit(since, until) -> str:
    """``day`` for a period of up to :data:`DAILY_UP_TO_DAYS` days, else ``week``."""
    span = pd.Timestamp(until) - pd.Timestamp(since)
    return "day" if span <= pd.Timedelta(days=DAILY_UP_TO_DAYS) else "week"


def trend(
    db: Database,
    scope: AreaScope,
    *,
    since,
    until,
    now=None,
    timezone: str = "UTC",
    department: str | None = None,
) -> pd.DataFrame:
    """The figures of :func:`summary` per local day (or week, starting Monday, for a long period:
    :func:`trend_unit`) of creation over ``[since, until)``, read at ``now``; one row per day or
    week that has cases (``bucket``: the local day's or week's start, a naive local time)."""
    unit = trend_unit(since, until)  # a fixed word, never user text
    where, params = _base(scope, since, until, department)
    sql = f"""
        SELECT date_trunc('{unit}', timezone(?, created_at)) AS bucket, {_AGG}
        FROM cases WHERE {where} GROUP BY ALL ORDER BY bucket
    """.replace("$now", "?")
    return _rates(db.query_df(sql, [timezone, to_py(utc_now(now)), *params]))


def overdue_at(
    db: Database, scope: AreaScope, at, *, department: str | None = None, limit: int = 500
) -> pd.DataFrame:
    """The cases open past their deadline at ``at`` (created before it, not closed by then),
    whenever they were opened, most overdue first: the catalogue's ``cases.overdue_at_end``
    (data/indicators/definitions.py) counts these. A case closed after ``at`` was open then
    (right-censored at ``at``: docs/CASES.md)."""
    where, params = scope.where("c")
    at_py = to_py(utc_now(at))
    dept = "AND c.department = ?" if department is not None else ""
    return db.query_df(
        f"""
        SELECT c.id, c.title, c.category, c.department, c.deadline_at, c.created_at,
               a.name_zh AS county_zh, a.name_en AS county_en,
               date_diff('second', c.deadline_at, ?) / 3600.0 AS overdue_h
        FROM cases c LEFT JOIN areas a ON a.key = c.county_key
        WHERE {where} AND NOT c.joint AND c.dispatched_at IS NOT NULL AND c.flag IS NULL {dept}
          AND c.created_at < ? AND c.deadline_at < ? AND (c.closed_at IS NULL OR c.closed_at > ?)
        ORDER BY c.deadline_at, c.id LIMIT {int(limit)}
        """,
        [at_py, *params, *([department] if department is not None else []), at_py, at_py, at_py],
    )


def overdue_count_at(db: Database, scope: AreaScope, at, *, department: str | None = None) -> int:
    """How many cases :func:`overdue_at` finds (all of them, not only the listed ones)."""
    where, params = scope.where()
    at_py = to_py(utc_now(at))
    dept = "AND department = ?" if department is not None else ""
    row = db.query_one(
        f"SELECT count(*) FROM cases WHERE {where} AND NOT joint AND dispatched_at IS NOT NULL "
        f"AND flag IS NULL {dept} AND created_at < ? AND deadline_at < ? "
        "AND (closed_at IS NULL OR closed_at > ?)",
        [*params, *([department] if department is not None else []), at_py, at_py, at_py],
    )
    return int(row[0] or 0)


def period_ranking(
    db: Database, scope: AreaScope, *, by: str = "department", since, until, now=None
) -> pd.DataFrame:
    """The ranking (:func:`by_department` or :func:`by_county`) of the cases opened in
    ``[since, until)``, read at ``now``, with ``previous_rate``: the on-time rate of the period
    of the same length just before, and ``trend``: this period's rate minus that one (None when
    either is missing)."""
    if by not in ("department", "county"):
        raise ValueError("by must be 'department' or 'county'")
    since, until = pd.Timestamp(since), pd.Timestamp(until)
    fn, key = (by_department, "department") if by == "department" else (by_county, "county_key")
    table = fn(db, scope, now=now, since=since, until=until)
    prev = fn(db, scope, now=now, since=since - (until - since), until=since)
    rates = prev.dropna(subset=[key]).set_index(key)["on_time_rate"]
    table["previous_rate"] = table[key].map(rates).astype("float64")
    table["trend"] = (table["on_time_rate"] - table["previous_rate"]).astype("float64")
    return table
