"""The read API's records as queries: events, cases and warnings inside a reader's scope, the
same SQL for a JSON page and for a file export (CSV, Excel) streamed in batches.

Each ``*_query`` function returns ``(sql, params)``; :func:`records` runs one for a JSON page
and :func:`stream` reads one batch by batch (its own DuckDB cursor, never the whole result in
memory). Values come out plain: times as ISO 8601 UTC text, JSON columns (an event's
``attributes``, a warning's ``detail``) parsed, so a CSV row and a JSON record say the same.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from data import archive
from data.areas import AreaScope
from data.policy import department_case_sql
from data.store import Database
from data.times import iso, utc
from data.warnings.rules import LEVELS

MAX_ROWS = 1_000_000  # the most rows one file export holds (docs/API.md)
BATCH_ROWS = 5_000  # rows read from DuckDB per batch while streaming


@dataclass
class Filters:
    """What a reader asked for, already checked (the HTTP layer parses and validates).

    ``scope``: the reader's area subtree (the city for city roles and departments);
    ``department``: a department reader's id (only its cases, and their events and warnings);
    ``area``: an area asked for, inside the scope; ``since``/``until``: UTC bounds, half-open.
    """

    scope: AreaScope
    department: str | None = None
    area: AreaScope | None = None
    since: object = None
    until: object = None
    # column -> value, or a tuple of values (any of them)
    equals: dict[str, str | tuple | None] = field(default_factory=dict)
    limit: int = 100


def _common(f: Filters, alias: str, time_col: str) -> tuple[list[str], list]:
    cond, params = f.scope.where(alias)
    conds = [cond]
    if f.area is not None:
        c, p = f.area.where(alias)
        conds.append(c)
        params += p
    for col, val in f.equals.items():
        if isinstance(val, tuple | list):  # a filter given more than once: any of its values
            conds.append(f"{alias}.{col} IN ({', '.join('?' for _ in val) or 'NULL'})")
            params += list(val)
        elif val is not None:
            conds.append(f"{alias}.{col} = ?")
            params.append(val)
    if f.since is not None:
        conds.append(f"{alias}.{time_col} >= ?")
        params.append(utc(f.since).to_pydatetime())
    if f.until is not None:
        conds.append(f"{alias}.{time_col} < ?")
        params.append(utc(f.until).to_pydatetime())
    return conds, params


EVENT_COLUMNS = (
    "source",
    "id",
    "category",
    "severity",
    "value",
    "event_time",
    "received_at",
    "lon",
    "lat",
    "cell",
    "community",
    "township",
    "county",
    "text",
    "attributes",
)


Extra = tuple[list[str], list]  # more conditions and their parameters (a search's text)


def events_conditions(f: Filters, extra: Extra = ([], [])) -> tuple[list[str], list]:
    """The conditions (alias ``e``) and parameters selecting the events ``f`` asks for."""
    conds, params = _common(f, "e", "event_time")
    if f.department is not None:
        conds.append(f"e.case_id IN ({department_case_sql()})")
        params += [f.department, f.department]
    return [*conds, *extra[0]], [*params, *extra[1]]


def events_query(
    db: Database,
    f: Filters,
    extra: Extra = ([], []),
    *,
    relation: tuple[str, list] | None = None,
) -> tuple[str, list]:
    """Events newest first (``equals`` on source, category, severity), archived days included
    when the period reaches them; the columns of :data:`EVENT_COLUMNS`. ``extra``: more
    conditions on ``e`` (data/search.py's text match). ``relation``: the period's relation and
    its parameters when the caller has it already (:func:`data.archive.events_relation`)."""
    conds, params = events_conditions(f, extra)
    relation, rel_params = relation or archive.events_relation(db, f.since, f.until)
    sql = f"""
        SELECT e.source, e.source_event_id AS id, e.category, e.severity::INTEGER AS severity,
               e.value, e.event_time, e.received_at, e.lon, e.lat, g.code AS cell,
               cm.code AS community, t.code AS township, c.code AS county, e.text, e.attributes
        FROM {relation} e
        JOIN areas g ON g.key = e.cell_key
        LEFT JOIN areas cm ON cm.key = e.community_key
        LEFT JOIN areas t ON t.key = e.township_key
        LEFT JOIN areas c ON c.key = e.county_key
        WHERE {" AND ".join(conds)}
        ORDER BY e.event_time DESC, e.source, e.source_event_id
        LIMIT ?
        """
    return sql, [*rel_params, *params, int(f.limit)]


CASE_COLUMNS = (
    "id",
    "parent_id",
    "state",
    "category",
    "title",
    "department",
    "urgency",
    "urgent",
    "warning_level",
    "origin",
    "origin_ref",
    "area",
    "cell",
    "county",
    "lon",
    "lat",
    "created_at",
    "dispatched_at",
    "accepted_at",
    "handled_at",
    "closed_at",
    "deadline_at",
    "extension_until",
    "extensions",
    "reworks",
    "returns",
    "reassignments",
    "flag",
)


def cases_conditions(f: Filters, extra: Extra = ([], [])) -> tuple[list[str], list]:
    """The conditions (alias ``k``) and parameters selecting the cases ``f`` asks for."""
    conds, params = _common(f, "k", "created_at")
    if f.department is not None:
        conds.append(f"k.id IN ({department_case_sql()})")
        params += [f.department, f.department]
    return [*conds, *extra[0]], [*params, *extra[1]]


def cases_query(f: Filters, extra: Extra = ([], [])) -> tuple[str, list]:
    """Cases newest first by creation (``equals`` on state, category, department; ``since``
    and ``until`` bound the creation time); the columns of :data:`CASE_COLUMNS`. ``extra``:
    more conditions on ``k``."""
    conds, params = cases_conditions(f, extra)
    sql = f"""
        SELECT k.id, k.parent_id, k.state, k.category, k.title, k.department, k.urgency,
               k.urgent, k.warning_level, k.origin, k.origin_ref, a.code AS area, g.code AS cell,
               c.code AS county, k.lon, k.lat, k.created_at, k.dispatched_at, k.accepted_at,
               k.handled_at, k.closed_at, k.deadline_at, k.extension_until, k.extensions,
               k.reworks, k.returns, k.reassignments, k.flag
        FROM cases k
        LEFT JOIN areas a ON a.key = k.area_key
        LEFT JOIN areas g ON g.key = k.cell_key
        LEFT JOIN areas c ON c.key = k.county_key
        WHERE {" AND ".join(conds)}
        ORDER BY k.created_at DESC, k.id DESC
        LIMIT ?
        """
    return sql, [*params, int(f.limit)]


WARNING_COLUMNS = (
    "id",
    "rule_id",
    "kind",
    "level",
    "state",
    "area",
    "area_level",
    "subject",
    "value",
    "limit_value",
    "baseline",
    "raised_at",
    "updated_at",
    "acknowledged_by",
    "acknowledged_at",
    "ack_comment",
    "cleared_at",
    "cleared_by",
    "clear_reason",
    "escalated_to",
    "escalated_at",
    "detail",
)

_LEVEL_SQL = "CASE w.level_rank " + " ".join(
    f"WHEN {i + 1} THEN '{n}'" for i, n in enumerate(LEVELS)
)


def warnings_conditions(
    f: Filters, level: str | tuple | None = None, extra: Extra = ([], [])
) -> tuple[list[str], list]:
    """The conditions (alias ``w``) and parameters selecting the warnings ``f`` asks for
    (``level`` a colour name; ``area``: the warnings inside it or on it)."""
    area, f = f.area, Filters(**{**f.__dict__, "area": None})
    conds, params = _common(f, "w", "raised_at")
    if area is not None:
        c, p = area.where("w")
        conds.append(f"({c} OR w.area_key = ?)")
        params += [*p, int(area.key)]
    if isinstance(level, tuple | list):  # several colours: any of them
        conds.append(f"w.level_rank IN ({', '.join('?' for _ in level) or 'NULL'})")
        params += [LEVELS.index(x) + 1 for x in level]
    elif level is not None:
        conds.append("w.level_rank = ?")
        params.append(LEVELS.index(level) + 1)
    if f.department is not None:
        # a department reads the warnings it works as cases
        conds.append(
            "CAST(w.id AS VARCHAR) IN (SELECT origin_ref FROM cases WHERE origin = 'warning'"
            f" AND id IN ({department_case_sql()}))"
        )
        params += [f.department, f.department]
    return [*conds, *extra[0]], [*params, *extra[1]]


def warnings_query(
    f: Filters, level: str | tuple | None = None, extra: Extra = ([], [])
) -> tuple[str, list]:
    """Warnings newest first by raising (``equals`` on state, rule_id; ``level`` a colour name;
    ``since``/``until`` bound the raising time); the columns of :data:`WARNING_COLUMNS`.
    ``area``: the warnings inside it or on it. ``extra``: more conditions on ``w``."""
    conds, params = warnings_conditions(f, level, extra)
    sql = f"""
        SELECT w.id, w.rule_id, w.kind, {_LEVEL_SQL} END AS level, w.state, a.code AS area,
               w.area_level, w.subject, w.value, w.limit_value, w.baseline, w.raised_at,
               w.updated_at, w.acknowledged_by, w.acknowledged_at, w.ack_comment, w.cleared_at,
               w.cleared_by, w.clear_reason, w.escalated_to, w.escalated_at, w.detail
        FROM warnings w JOIN areas a ON a.key = w.area_key
        WHERE {" AND ".join(conds)}
        ORDER BY w.raised_at DESC, w.id DESC
        LIMIT ?
        """
    return sql, [*params, int(f.limit)]


_JSON_COLUMNS = ("attributes", "detail")


def _plain(rec: dict) -> dict:
    for k, v in rec.items():
        if isinstance(v, dt.datetime):
            rec[k] = iso(v)
        elif k in _JSON_COLUMNS:
            rec[k] = json.loads(v) if isinstance(v, str) and v else {}
    return rec


def records(db: Database, query: tuple[str, list]) -> list[dict]:
    """Every row of ``query`` as a plain record (a JSON page; at most the API's page limit)."""
    sql, params = query
    return [_plain(r) for r in db.query_records(sql, params)]


def stream(db: Database, query: tuple[str, list]) -> Iterator[list[dict]]:
    """The rows of ``query`` as plain records, :data:`BATCH_ROWS` at a time, read from DuckDB
    batch by batch (see :meth:`data.store.Database.stream`)."""
    sql, params = query
    for batch in db.stream(sql, params, batch_rows=BATCH_ROWS):
        yield [_plain(r) for r in batch.to_pylist()]
