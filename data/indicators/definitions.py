"""The catalogue's entries: one function per indicator, each one parameterised query.

Each function gets an :class:`~data.indicators.Ask` and returns ``area_key``, ``key``, ``value``
rows grouped by ``ask.group`` (the area column of the level asked for). Definitions in words are
in the translation tables (``indicator.<id>.definition``); the code below is what they say:

- events are counted by event time (``event_time``) inside the area and period;
- warnings are counted by the time they were raised (raised, acknowledged in time) or cleared;
  a warning's level is the level it was raised at (its ``raised`` history entry);
- cases are read through :func:`data.cases.metrics.grouped`, the same SQL as the response
  metrics the wall and the metrics page show: dispatched leaf cases created in the period.
"""

from __future__ import annotations

import pandas as pd

from data import queries
from data.areas import LEVEL_COLUMN
from data.cases import metrics
from data.catalogue import SOURCES
from data.indicators.core import Ask, areas_at, indicator
from data.times import to_py
from data.warnings.lifecycle import DEFAULT_ESCALATE
from data.warnings.rules import LEVELS as WARNING_LEVELS

TOP_SUBJECTS = 10  # hotline subjects listed per area


def _events(ask: Ask, key_sql: str, extra: str = "", extra_params: list | None = None):
    where, params = ask.window("event_time")
    return ask.db.query_df(
        f"SELECT {ask.group} AS area_key, {key_sql} AS key, count(*)::DOUBLE AS value "
        f"FROM events WHERE {where} {extra} GROUP BY ALL",
        [*params, *(extra_params or [])],
    )


@indicator("events.total", "count")
def events_total(ask: Ask) -> pd.DataFrame:
    """Events whose event time lies in the period, inside the area."""
    return _events(ask, "NULL")


@indicator("events.by_source", "count", dimension="source", keys=SOURCES)
def events_by_source(ask: Ask) -> pd.DataFrame:
    """Events per source (domain: police, traffic, environment, market, hotline)."""
    return _events(ask, "source")


@indicator("events.by_category", "count", dimension="category")
def events_by_category(ask: Ask) -> pd.DataFrame:
    """Events per category (``<source>.<category>``), only categories that occurred."""
    return _events(ask, "source || '.' || category")


@indicator("events.per_10k", "per_10k", zero=None)
def events_per_10k(ask: Ask) -> pd.DataFrame:
    """Events per 10,000 residents: events / population x 10,000; null without a population
    (an area whose population is unknown has no rate, not a rate of zero)."""
    counts = events_total(ask)
    areas = areas_at(ask.db, ask.scope, _level(ask))
    out = areas.merge(counts, on="area_key", how="left")
    pop = pd.to_numeric(out["population"], errors="coerce").astype("float64")
    n = out["value"].astype("float64").fillna(0.0)
    out["value"] = (n / pop.where(pop > 0) * 10_000).astype("float64")
    out["key"] = None
    return out[["area_key", "key", "value"]]


def _level(ask: Ask) -> str:
    """The level whose area column ``ask.group`` is."""
    return next(lv for lv, col in LEVEL_COLUMN.items() if col == ask.group)


USUAL_DAYS = 28  # an area's usual: its events over the 4 weeks before the period


@indicator("events.usual", "count", zero=None)
def events_usual(ask: Ask) -> pd.DataFrame:
    """An area's usual number of events for a period as long as this one: its events in the 28
    days before the period, scaled to the period's length (read from the 5-minute buckets);
    unknown (null) when the store's first event is later than the start of those 28 days."""
    span = ask.until - ask.since
    start = ask.since - pd.Timedelta(days=USUAL_DAYS)
    where, params = ask.scope.where("g")
    column = "g.key" if ask.group == "cell_key" else f"g.{ask.group}"  # areas has no cell_key
    if ask.scope.level == "grid":
        where = "g.key = ?"
    df = ask.db.query_df(
        f"SELECT {column} AS area_key, NULL AS key, sum(cc.n)::DOUBLE AS value "
        "FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key "
        f"WHERE {where} AND cc.bucket >= ? AND cc.bucket < ? GROUP BY ALL",
        [*params, to_py(start), to_py(ask.since)],
    )
    df["value"] = df["value"] * (span / pd.Timedelta(days=USUAL_DAYS))
    out = areas_at(ask.db, ask.scope, _level(ask))[["area_key"]].merge(
        df, on="area_key", how="left"
    )
    first = ask.db.query_one("SELECT min(bucket) FROM cell_counts")[0]
    covered = first is not None and pd.Timestamp(first) <= start
    # a store younger than the 4 weeks has no usual yet: unknown, not zero
    out["value"] = out["value"].astype("float64").fillna(0.0) if covered else float("nan")
    out["key"] = None
    return out[["area_key", "key", "value"]]


def _end(ask: Ask) -> pd.Timestamp:
    """The moment a state "at the end of the period" is read: the period's end, or the time of
    reading when the period has not ended yet."""
    return min(ask.until, ask.now)


@indicator("risk.index", "index", zero=None)
def risk_index(ask: Ask) -> pd.DataFrame:
    """The risk index over the period against the area's own usual: the wall's formula
    (data.queries.risk_between) with the 4 weeks before the period as the baseline:
    100 x (S + a) / (E + a), S the severity-weighted events in the period, E the same area's in
    the 4 weeks before scaled to the period's length, a the mean of E over every area of the same
    level in the region (so an area's value is the same whoever reads it and however it is
    broken down). 100 is usual, 200 twice the usual. (The wall's live index, over its last hours,
    takes the 7 days before as its usual.)"""
    df = queries.risk_between(
        ask.db,
        ask.scope,
        level=_level(ask),
        since=ask.since,
        until=ask.until,
        baseline=RISK_BASELINE,
    )
    return pd.DataFrame({"area_key": df["key"], "key": None, "value": df["n"].astype("float64")})


RISK_BASELINE = pd.Timedelta(weeks=4)  # risk.index's baseline: the 4 weeks before the period


@indicator("hotline.top_subjects", "count", dimension="subject")
def hotline_top_subjects(ask: Ask) -> pd.DataFrame:
    """The most frequent 12345 hotline subjects (categories), at most ten per area."""
    where, params = ask.window("event_time")
    return ask.db.query_df(
        f"SELECT {ask.group} AS area_key, category AS key, count(*)::DOUBLE AS value "
        f"FROM events WHERE {where} AND source = 'hotline' GROUP BY {ask.group}, category "
        f"QUALIFY row_number() OVER (PARTITION BY {ask.group} ORDER BY count(*) DESC, category)"
        " <= ?",
        [*params, TOP_SUBJECTS],
    )


# --- warnings ---------------------------------------------------------------------------------

# the level a warning was raised at: its "raised" history entry, else its level now
_RAISED_RANK = """
    coalesce((SELECT h.to_rank FROM warning_history h
              WHERE h.warning_id = w.id AND h.action = 'raised'
              ORDER BY h.id LIMIT 1), w.level_rank)
"""


def _by_level(df: pd.DataFrame) -> pd.DataFrame:
    df["key"] = df["rank"].map(lambda r: WARNING_LEVELS[int(r) - 1])
    return df[["area_key", "key", "value"]]


@indicator("warnings.raised", "count", dimension="level", keys=WARNING_LEVELS)
def warnings_raised(ask: Ask) -> pd.DataFrame:
    """Warnings raised in the period, by the level they were raised at."""
    where, params = ask.window("raised_at", "w")
    df = ask.db.query_df(
        f"SELECT w.{ask.group} AS area_key, {_RAISED_RANK} AS rank, count(*)::DOUBLE AS value "
        f"FROM warnings w WHERE {where} GROUP BY ALL",
        params,
    )
    return _by_level(df)


@indicator("warnings.acknowledged_in_time", "count", dimension="level", keys=WARNING_LEVELS)
def warnings_acknowledged_in_time(ask: Ask) -> pd.DataFrame:
    """Warnings raised in the period and acknowledged within their level's escalation time
    (settings ``warnings_escalate_after_s``: by default blue 2 h, yellow 1 h, orange 30 min,
    red 15 min), by the level they were raised at."""
    limits = {**DEFAULT_ESCALATE, **ask.escalate_after}
    where, params = ask.window("raised_at", "w")
    df = ask.db.query_df(
        f"""
        SELECT area_key, rank, count(*)::DOUBLE AS value FROM (
            SELECT w.{ask.group} AS area_key, {_RAISED_RANK} AS rank,
                   epoch(w.acknowledged_at) - epoch(w.raised_at) AS took
            FROM warnings w WHERE {where} AND w.acknowledged_at IS NOT NULL
        ) WHERE took <= CASE rank WHEN 1 THEN ? WHEN 2 THEN ? WHEN 3 THEN ? ELSE ? END
        GROUP BY ALL
        """,
        [*params, *(float(limits[lv]) for lv in WARNING_LEVELS)],
    )
    return _by_level(df)


@indicator("warnings.cleared", "count", dimension="level", keys=WARNING_LEVELS)
def warnings_cleared(ask: Ask) -> pd.DataFrame:
    """Warnings cleared in the period (by a person or by the system), by their level when
    cleared."""
    where, params = ask.window("cleared_at", "w")
    df = ask.db.query_df(
        f"SELECT w.{ask.group} AS area_key, w.level_rank AS rank, count(*)::DOUBLE AS value "
        f"FROM warnings w WHERE {where} GROUP BY ALL",
        params,
    )
    return _by_level(df)


@indicator("warnings.unacknowledged_late", "count", dimension="level", keys=WARNING_LEVELS)
def warnings_unacknowledged_late(ask: Ask) -> pd.DataFrame:
    """Warnings raised in the period whose escalation time (as in
    warnings.acknowledged_in_time) had passed by the end of the period without anyone
    acknowledging or clearing them within it, by the level they were raised at."""
    limits = {**DEFAULT_ESCALATE, **ask.escalate_after}
    where, params = ask.window("raised_at", "w")
    df = ask.db.query_df(
        f"""
        SELECT area_key, rank, count(*)::DOUBLE AS value FROM (
            SELECT area_key, rank, raised, handled,
                   CASE rank WHEN 1 THEN ? WHEN 2 THEN ? WHEN 3 THEN ? ELSE ? END AS lim
            FROM (
                SELECT w.{ask.group} AS area_key, {_RAISED_RANK} AS rank,
                       epoch(w.raised_at) AS raised,
                       epoch(CASE WHEN w.acknowledged_at IS NULL THEN w.cleared_at
                                  WHEN w.cleared_at IS NULL THEN w.acknowledged_at
                                  ELSE least(w.acknowledged_at, w.cleared_at) END) AS handled
                FROM warnings w WHERE {where}
            )
        ) WHERE raised + lim <= epoch(?::TIMESTAMPTZ) AND (handled IS NULL OR handled - raised > lim)
        GROUP BY ALL
        """,
        [*(float(limits[lv]) for lv in WARNING_LEVELS), *params, to_py(_end(ask))],
    )
    return _by_level(df)


# --- cases (the response metrics' own definitions) --------------------------------------------


def _cases(ask: Ask, column: str, department: bool = False) -> pd.DataFrame:
    by = [ask.group, "department"] if department else [ask.group]
    df = metrics.grouped(ask.db, ask.scope, by, now=ask.now, since=ask.since, until=ask.until)
    df = df.rename(columns={ask.group: "area_key"})
    df["key"] = df["department"] if department else None
    if department:
        df = df[df["key"].notna()]
    df["value"] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    return df[["area_key", "key", "value"]]


@indicator("cases.opened", "count")
def cases_opened(ask: Ask) -> pd.DataFrame:
    """Cases created in the period and dispatched to a department (leaf cases)."""
    return _cases(ask, "cases")


@indicator("cases.closed", "count")
def cases_closed(ask: Ask) -> pd.DataFrame:
    """Of the cases opened in the period, those closed by the time of reading."""
    return _cases(ask, "closed")


@indicator("cases.on_time_rate", "share", zero=None)
def cases_on_time_rate(ask: Ask) -> pd.DataFrame:
    """Closed on time / (closed + open past the deadline), of the cases opened in the period."""
    return _cases(ask, "on_time_rate")


@indicator("cases.median_close_hours", "hours", zero=None)
def cases_median_close_hours(ask: Ask) -> pd.DataFrame:
    """Median hours from creation to closing of the closed cases opened in the period."""
    return _cases(ask, "median_close_h")


@indicator("cases.reworked", "count")
def cases_reworked(ask: Ask) -> pd.DataFrame:
    """Cases opened in the period sent back for rework at least once."""
    return _cases(ask, "reworked")


@indicator("cases.returns", "count")
def cases_returns(ask: Ask) -> pd.DataFrame:
    """Times departments returned the cases opened in the period to the hall."""
    return _cases(ask, "returns_on_cases")


@indicator("cases.extended", "count")
def cases_extended(ask: Ask) -> pd.DataFrame:
    """Cases opened in the period whose deadline was extended at least once."""
    return _cases(ask, "extended")


@indicator("cases.overdue_open", "count")
def cases_overdue_open(ask: Ask) -> pd.DataFrame:
    """Cases opened in the period still open past their deadline at the time of reading."""
    return _cases(ask, "open_overdue")


def _overdue_at_end(ask: Ask, department: bool) -> pd.DataFrame:
    where, params = ask.scope.where()
    end = to_py(_end(ask))
    key = "department" if department else "NULL"
    dept = "AND department IS NOT NULL" if department else ""
    return ask.db.query_df(
        f"SELECT {ask.group} AS area_key, {key} AS key, count(*)::DOUBLE AS value FROM cases "
        f"WHERE {where} AND NOT joint AND dispatched_at IS NOT NULL AND flag IS NULL {dept} "
        "AND created_at < ? AND deadline_at < ? AND (closed_at IS NULL OR closed_at > ?) "
        "GROUP BY ALL",
        [*params, end, end, end],
    )


@indicator("cases.overdue_at_end", "count")
def cases_overdue_at_end(ask: Ask) -> pd.DataFrame:
    """Cases open past their deadline at the end of the period (or at the time of reading, if
    earlier), whenever they were opened: the backlog an inspection finds."""
    return _overdue_at_end(ask, department=False)


@indicator("cases.department_overdue_at_end", "count", dimension="department")
def cases_department_overdue_at_end(ask: Ask) -> pd.DataFrame:
    """The overdue backlog (as cases.overdue_at_end) per department."""
    return _overdue_at_end(ask, department=True)


@indicator("cases.department_reworked", "count", dimension="department")
def cases_department_reworked(ask: Ask) -> pd.DataFrame:
    """Cases reworked (as cases.reworked) per department."""
    return _cases(ask, "reworked", department=True)


@indicator("cases.department_returns", "count", dimension="department")
def cases_department_returns(ask: Ask) -> pd.DataFrame:
    """Times each department returned cases opened in the period to the hall (its ``return``
    transitions; as the response metrics' "returned")."""
    where, params = ask.window("created_at", "c")
    return ask.db.query_df(
        f"SELECT c.{ask.group} AS area_key, t.department AS key, count(*)::DOUBLE AS value "
        "FROM case_transitions t JOIN cases c ON c.id = t.case_id "
        f"WHERE {where} AND NOT c.joint AND c.dispatched_at IS NOT NULL AND c.flag IS NULL "
        "AND t.action = 'return' AND t.department IS NOT NULL GROUP BY ALL",
        params,
    )


@indicator("cases.department_opened", "count", dimension="department")
def cases_department_opened(ask: Ask) -> pd.DataFrame:
    """Cases opened in the period per department they were dispatched to."""
    return _cases(ask, "cases", department=True)


@indicator("cases.department_on_time_rate", "share", dimension="department", zero=None)
def cases_department_on_time_rate(ask: Ask) -> pd.DataFrame:
    """The on-time rate (as cases.on_time_rate) per department."""
    return _cases(ask, "on_time_rate", department=True)


@indicator("cases.department_median_close_hours", "hours", dimension="department", zero=None)
def cases_department_median_close_hours(ask: Ask) -> pd.DataFrame:
    """The median handling time (as cases.median_close_hours) per department."""
    return _cases(ask, "median_close_h", department=True)


EFFECT_DAYS = 7  # the response metrics' window before and after closing


@indicator("cases.effect", "share", zero=None)
def cases_effect(ask: Ask) -> pd.DataFrame:
    """Did the problem go away? For the cases closed in the period (and at least 7 days before
    the time of reading), events in each case's cell in the 7 days after closing against the 7
    days before, each event counted once per cell and side: (after - before) / before; negative
    means calmer (metrics.effect)."""
    eff = metrics.effect(
        ask.db, ask.scope, now=ask.now, days=EFFECT_DAYS, since=ask.since, until=ask.until
    )
    # per cell: an event inside two cases' windows in one cell counts once (docs/CASES.md)
    per = eff["per_cell"].rename(columns={ask.group: "area_key"})
    sums = per.groupby("area_key")[["before", "after"]].sum().reset_index()
    before = sums["before"].astype("float64")
    sums["value"] = (sums["after"] - before) / before.where(before > 0)
    sums["key"] = None
    return sums[["area_key", "key", "value"]]
