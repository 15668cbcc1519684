"""Bulk intake: every 12345 request becomes a case, thousands at a time, without a Python loop.

One statement, ``UPDATE events SET case_id = nextval('cases_seq') ... RETURNING``, selects the
new hotline events (attributes read with DuckDB's JSON functions), gives each its case id and
links it to that case; the routing (a loop over the list's area rules, never over the rows), the
states and the working-time deadlines (the one part left to pandas: the calendar) are computed
on the returned Arrow columns; the cases, transitions and notifications then take one
``INSERT ... SELECT`` each from a registered Arrow table.

Why this shape (issue 12): the intake runs inside the push API's single writer transaction for
every hotline batch, and under load each statement costs about the same whatever its size. The
pandas version (about 190 column look-ups, six statements) took ~150-200 ms of writer time per
batch of 500, this one ~40 ms (``python bench/intake.py``). Routing in SQL (a join and a window
per row) was tried: its planning and window cost ~20 ms, more than it saved.

- ``attributes.channel == "grid_worker"``: a grid worker's report (origin ``grid_report``).
- ``attributes.type`` in the list's ``answered_on_call``: answered on the call, closed at once,
  never dispatched (so outside every department's metrics).
- the list's ``department_attribute`` (``agency`` by default) present: a publisher already routed
  it (historical replays): that value is the department; ``attributes.created`` / ``closed`` /
  ``due`` / ``status`` give the real times and state. A close before the creation is kept but
  flagged ``closed_before_created`` and left out of every timing.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.cases.responsibility import LEVEL_KEY_COLUMNS
from data.cases.states import INITIAL, after
from data.store import read_arrow, registered, unregister
from data.times import utc_now

HANDLING_STATUSES = ("started", "in progress")
# the states the intake gives, derived from the one state machine (data/cases/states.py)
DISPATCHED = after("dispatch", INITIAL)  # routed by the list (or by the publisher)
HANDLING = after("accept", DISPATCHED)  # the publisher's status says work has started
CLOSED = after("close", INITIAL)  # answered on the call; a publisher's close also ends here
# build_cases gives each case an index into these
_STATES = pa.array([INITIAL, HANDLING, DISPATCHED, CLOSED], pa.string())

# every column of a hotline event's case that does not depend on the routing (_-names are the
# intake's own). No parameters: DuckDB prepares none in an UPDATE's RETURNING; the attribute
# naming the publisher's department comes from the list, so it is a session variable
# (intake_department_attribute) set with a parameter just before.
_HANDLING = "(" + ", ".join(f"'{s}'" for s in HANDLING_STATUSES) + ")"  # this file's constants
# the attributes the intake reads, parsed once per event: one json_extract_string of a list of
# paths (DuckDB computes the repeated expression once) took a third of the time of one call per
# attribute (issue 12)
_PARSED = (
    "json_extract_string(attributes, ['$.channel', '$.created', '$.closed', '$.due', "
    "'$.' || getvariable('intake_department_attribute'), '$.type', '$.status'])"
)
# the list's elements, in order ("department": the list's department_attribute)
_ATTRIBUTES = ("channel", "created", "closed", "due", "department", "type", "status")


def _attr(name: str) -> str:
    """The SQL of one attribute of :data:`_PARSED` (text, or NULL when absent)."""
    return f"{_PARSED}[{_ATTRIBUTES.index(name) + 1}]"


_COLUMNS_SQL = f"""
    CASE WHEN {_attr("channel")} = 'grid_worker' THEN 'grid_report' ELSE 'hotline' END AS origin,
    'hotline:' || source_event_id AS origin_ref, 'hotline.' || category AS category,
    coalesce(cell_key, city_key) AS area_key,
    CASE WHEN cell_key IS NOT NULL THEN 'grid' ELSE 'city' END AS area_level,
    cell_key, community_key, township_key, county_key, city_key, lon, lat,
    substr(text, 1, 120) AS title, text AS description,
    severity,
    coalesce(TRY_CAST({_attr("created")} AS TIMESTAMPTZ), event_time) AS created_at,
    TRY_CAST({_attr("closed")} AS TIMESTAMPTZ) AS _closed,
    TRY_CAST({_attr("due")} AS TIMESTAMPTZ) AS _due,
    {_attr("department")} AS _pub,
    {_attr("type")} AS _type,
    lower(coalesce({_attr("status")}, '')) IN {_HANDLING} AS _handling,
    source_event_id AS _ref, received_at AS _received_at
"""
_NEW = "source = 'hotline' AND case_id IS NULL"
# the stored events: each new one gets its case's id and gives back its case's columns, in one
# statement (the select, the id and the events' link: three statements in the pandas version)
LINK_SQL = (
    f"UPDATE events SET case_id = nextval('cases_seq') WHERE {_NEW} {{cond}} "
    f"RETURNING case_id AS id, {_COLUMNS_SQL}"
)
# a bulk batch's hotline events on the thread preparing it, before the writer: every row is a
# new case (the writer keeps those its de-duplication keeps), its id given there
PREPARE_SQL = f"SELECT {_COLUMNS_SQL} FROM intake_prepare"
# a batch of at least this many hotline events has its cases built while it is prepared (a
# bulk load's chunks); a smaller one (a push) in the writer's transaction, where one query
# costs less than in a request thread waiting for the GIL
PREPARE_MIN_ROWS = 5_000
# a registered frame of the events' columns (requests kept out of the events table, a group's
# events before they are stored); {extra}: more of its columns, given back as they are
SELECT_SQL = (
    f"SELECT nextval('cases_seq') AS id, {_COLUMNS_SQL} {{extra}} FROM {{relation}} "
    f"WHERE {_NEW} {{cond}}"
)

CASE_COLUMNS = (
    "id",
    "origin",
    "origin_ref",
    "category",
    "area_key",
    "area_level",
    "cell_key",
    "community_key",
    "township_key",
    "county_key",
    "city_key",
    "lon",
    "lat",
    "title",
    "description",
    "urgency",
    "urgent",
    "department",
    "dept_level",
    "needs_decision",
    "state",
    "created_at",
    "dispatched_at",
    "accepted_at",
    "closed_at",
    "deadline_at",
    "flag",
    "updated_at",
)
TRANSITION_COLUMNS = (
    "case_id",
    "from_state",
    "to_state",
    "action",
    "actor",
    "department",
    "reason",
    "occurred_at",
)
NOTICE_COLUMNS = (
    "department",
    "case_id",
    "kind",
    "urgent",
    "created_at",
    "deliver_at",
    "delivered",
    "delivered_at",
)
TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class _ListTables:
    """The responsibility list in the intake's form (built once per list)."""

    rules: pa.Table  # department, dept_level, deadline_urgent, deadline_normal; list order
    area_rules: list[tuple[str, str, int, int]]  # (category, key column, area key, position)
    plain_categories: pa.Array  # each category's first rule without an area ...
    plain_positions: pa.Array  # ... and its position in the list
    dept_ids: pa.Array
    dept_levels: pa.Array


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _list_tables(rules) -> _ListTables:
    """The intake's form of ``rules`` (a Responsibilities), built on first use."""
    got = _TABLES.get(rules)
    if got is None:
        t = rules.rule_table().reset_index(drop=True)
        cols = ("department", "dept_level", "deadline_urgent", "deadline_normal")
        table = pa.table({c: pa.array(t[c], pa.string(), from_pandas=True) for c in cols})
        # the deepest area rule wins, the first in the list among equally deep ones; a rule
        # without an area only when no area rule holds the row (Responsibilities.route_frame)
        placed = t[t["area_key"].notna()].sort_values("depth", ascending=False, kind="stable")
        area_rules = [
            (r.category, LEVEL_KEY_COLUMNS[r.area_level], int(r.area_key), int(i))
            for i, r in placed.iterrows()
        ]
        plain = t[t["area_key"].isna()].reset_index().drop_duplicates("category", keep="first")
        got = _ListTables(
            rules=table,
            area_rules=area_rules,
            plain_categories=pa.array(plain["category"].tolist(), pa.string()),
            plain_positions=pa.array(plain["index"].tolist(), pa.int64()),
            dept_ids=pa.array(list(rules.departments), pa.string()),
            dept_levels=pa.array([d.level for d in rules.departments.values()], pa.string()),
        )
        _TABLES[rules] = got
    return got


def _route(lists: _ListTables, raw: pa.Table) -> pa.Table:
    """The list's rule of every row (department, dept_level, deadline_*; nulls without one):
    a loop over the list's area rules, never over the rows."""
    n = raw.num_rows
    category = raw.column("category")
    pos = pc.fill_null(
        lists.plain_positions.take(pc.index_in(category, value_set=lists.plain_categories)), -1
    ).to_numpy()
    if lists.area_rules:
        keys = {}
        won = np.zeros(n, dtype=bool)
        for cat, col, key, i in lists.area_rules:
            if col not in keys:
                keys[col] = pc.fill_null(raw.column(col), -1).to_numpy()
            # Arrow compares the text (NumPy's == on an object array: a Python call per row)
            hit = ~won & _is(category, cat) & (keys[col] == key)
            pos = np.where(hit, i, pos)
            won |= hit
    return lists.rules.take(pa.array(pos, pa.int64(), mask=pos < 0))


def _us(col) -> tuple[np.ndarray, np.ndarray]:
    """A timestamp column as (microseconds since the epoch, valid)."""
    col = pc.cast(col, TS)
    return pc.fill_null(col.cast(pa.int64()), 0).to_numpy(), pc.is_valid(col).to_numpy()


def _ts(us: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(us, pa.int64(), mask=~valid).cast(TS)


def _np(col) -> np.ndarray:
    return col.to_numpy(zero_copy_only=False)


def _repeat(text: str | None, n: int) -> pa.Array:
    """``text`` n times. Arrow repeats a scalar in one copy; a Python list of n strings took
    10-30 ms per column of a bulk group's cases (issue 12)."""
    return pa.repeat(pa.scalar(text, pa.string()), n)


def _choose(mask: np.ndarray, yes: str | None, no: str | None) -> pa.Array:
    """``yes`` where ``mask`` holds, else ``no`` (either may be None), as Arrow text."""
    return pc.if_else(
        pa.array(mask, pa.bool_()), pa.scalar(yes, pa.string()), pa.scalar(no, pa.string())
    )


def _is(col, *values: str) -> np.ndarray:
    """Where a text column equals one of ``values`` (Arrow's comparison: no Python strings)."""
    return _np(pc.fill_null(pc.is_in(col, value_set=pa.array(values, pa.string())), False))


def select_cases(con, svc, *, relation="events", cond="", params=None, extra="") -> pa.Table:
    """The new hotline events of ``relation`` (rows passing ``cond``, an SQL condition with
    $-named ``params``) with their case ids, as an Arrow table in id order. In the events table
    they are linked to those ids at once (``events.case_id``); from another relation, ``extra``
    (``", col, ..."``) gives more of its columns back."""
    _set_department_attribute(con, svc)
    if relation == "events":  # an UPDATE ... RETURNING: run now, once (a relation runs when read)
        raw = con.execute(LINK_SQL.format(cond=cond), params or {}).to_arrow_table()
    else:
        sql = SELECT_SQL.format(relation=relation, cond=cond, extra=extra)
        raw = read_arrow(con, sql, params)
    # cases, transitions and notifications go in in id order (as the pandas version did)
    return raw.take(pc.sort_indices(raw.column("id")))


def _set_department_attribute(con, svc) -> None:
    """The session variable naming the attribute of the publisher's department (see _PARSED),
    on the connection or cursor about to run the intake's query."""
    con.execute(
        "SET VARIABLE intake_department_attribute = $attr",
        {"attr": svc.rules.hotline.department_attribute or "agency"},
    )


def build_cases(svc, raw: pa.Table, now: pd.Timestamp) -> pa.Table:
    """The case rows of :func:`select_cases`'s rows (routed; states, times and deadlines),
    columnar: the list's rules loop, the rows never do."""
    rules = svc.rules
    lists = _list_tables(rules)
    n = raw.num_rows
    routed = _route(lists, raw)
    pub = raw.column("_pub")
    has_pub = _np(pc.is_valid(pub))
    pub_level = lists.dept_levels.take(pc.index_in(pub, value_set=lists.dept_ids))
    department = pc.coalesce(pub, routed.column("department"))
    dept_level = pc.if_else(pa.array(has_pub), pub_level, routed.column("dept_level"))
    answered = pa.array(list(rules.hotline.answered_on_call), pa.string())
    on_call = ~has_pub & _np(pc.is_in(raw.column("_type"), value_set=answered))
    routed_ok = _np(pc.is_valid(department))
    dispatched = routed_ok & ~on_call
    severity = _np(pc.fill_null(raw.column("severity"), 0))
    urgent = severity >= rules.hotline.urgent_severity
    created, _ = _us(raw.column("created_at"))
    closed, has_closed = _us(raw.column("_closed"))
    due, has_due = _us(raw.column("_due"))
    # the state as an index into STATES, taken from them at the end
    state = np.zeros(n, dtype=np.int8)
    handling = _np(raw.column("_handling")).astype(bool)
    state[dispatched] = np.where(handling[dispatched], 1, 2)
    state[(dispatched & has_closed) | on_call] = 3
    # time limit: the publisher's due date, else the list's limit for the urgency class
    deadline = np.where(dispatched & has_due, due, 0)
    calc = dispatched & ~has_due
    if calc.any():
        limit = np.where(
            urgent, _np(routed.column("deadline_urgent")), _np(routed.column("deadline_normal"))
        )
        limit = np.where(
            pd.isna(limit),
            np.where(urgent, rules.defaults["urgent"], rules.defaults["normal"]),
            limit,
        )
        idx = np.flatnonzero(calc)
        at = svc.calendar.add(
            pd.to_datetime(created[idx], unit="us", utc=True), limit[idx].tolist()
        )
        deadline[idx] = pd.DatetimeIndex(at).astype("datetime64[us, UTC]").asi8
    # the case columns the statement gave as they are (the others are computed below)
    out = raw.select([c for c in CASE_COLUMNS if c in raw.column_names] + ["_ref"])
    columns = {
        "urgency": _choose(urgent, "urgent", "normal"),
        "urgent": pa.array(urgent),
        "department": pc.if_else(pa.array(on_call), pa.scalar(None, pa.string()), department),
        "dept_level": pc.if_else(pa.array(on_call), pa.scalar(None, pa.string()), dept_level),
        "needs_decision": pa.array(~routed_ok & ~on_call),
        "state": _STATES.take(pa.array(state)),
        "dispatched_at": _ts(created, dispatched),
        "accepted_at": pa.nulls(n, TS),
        "closed_at": _ts(np.where(on_call, created, closed), on_call | (dispatched & has_closed)),
        "deadline_at": _ts(deadline, dispatched),
        "flag": _choose(
            dispatched & has_closed & (closed < created), "closed_before_created", None
        ),
        "updated_at": pa.array(np.full(n, pd.Timestamp(now).value // 1000), pa.int64()).cast(TS),
        "_on_call": pa.array(on_call),
    }
    for name, col in columns.items():
        out = out.append_column(name, col)
    return out


def _transitions(cases: pa.Table) -> pa.Table:
    """Registered, then dispatched (routed) and closed (publisher or on the call): each group
    in case order (the ids follow)."""
    n = cases.num_rows
    on_call = _np(cases.column("_on_call")).astype(bool)
    d = _np(pc.is_valid(cases.column("dispatched_at")))
    c = _is(cases.column("state"), CLOSED)
    parts = [
        pa.table(
            {
                "case_id": cases.column("id"),
                "from_state": pa.nulls(n, pa.string()),
                "to_state": _repeat(INITIAL, n),
                "action": _repeat("register", n),
                "actor": _repeat("12345", n),
                "department": pa.nulls(n, pa.string()),
                "reason": pa.nulls(n, pa.string()),
                "occurred_at": cases.column("created_at").cast(TS),
            }
        )
    ]
    # only the columns used are filtered (a filter of the whole table copies every description)
    disp = cases.select(["id", "department", "dispatched_at"]).filter(pa.array(d))
    k = disp.num_rows
    parts.append(
        pa.table(
            {
                "case_id": disp.column("id"),
                "from_state": _repeat(INITIAL, k),
                "to_state": _repeat(DISPATCHED, k),
                "action": _repeat("dispatch", k),
                "actor": _repeat("system", k),
                "department": disp.column("department"),
                "reason": _repeat("responsibility list", k),
                "occurred_at": disp.column("dispatched_at"),
            }
        )
    )
    close = cases.select(["id", "department", "closed_at"]).filter(pa.array(c))
    k, oc = close.num_rows, on_call[c]
    parts.append(
        pa.table(
            {
                "case_id": close.column("id"),
                "from_state": _choose(oc, INITIAL, DISPATCHED),
                "to_state": _repeat(CLOSED, k),
                "action": _repeat("close", k),
                "actor": _repeat("12345", k),
                "department": close.column("department"),
                "reason": _choose(oc, "answered on the call", "closed by the publisher"),
                "occurred_at": close.column("closed_at"),
            }
        )
    )
    return pa.concat_tables(parts)


def _notices(svc, cases: pa.Table, now: pd.Timestamp) -> pa.Table:
    """Open dispatched cases to their department, undecided ones to the hall (urgent); a
    normal one waits for the next working instant."""
    used = cases.select(["id", "department", "urgent"])
    o = used.filter(pa.array(_is(cases.column("state"), DISPATCHED, HANDLING)))
    hall = used.filter(cases.column("needs_decision"))
    urgent = np.r_[_np(o.column("urgent")).astype(bool), np.ones(hall.num_rows, dtype=bool)]
    n = len(urgent)
    now_us = pd.Timestamp(now).value // 1000
    later_us = svc.calendar.next_working_one(now).value // 1000
    deliver = np.where(urgent, now_us, later_us)
    delivered = deliver <= now_us
    return pa.table(
        {
            "department": pa.concat_arrays(
                [
                    o.column("department").combine_chunks(),
                    _repeat(svc.rules.hall.id, hall.num_rows),
                ]
            ),
            "case_id": pa.concat_arrays(
                [o.column("id").combine_chunks(), hall.column("id").combine_chunks()]
            ),
            "kind": pa.concat_arrays(
                [_repeat("dispatched", o.num_rows), _repeat("needs_decision", hall.num_rows)]
            ),
            "urgent": pa.array(urgent),
            "created_at": _ts(np.full(n, now_us), np.ones(n, dtype=bool)),
            "deliver_at": _ts(deliver, np.ones(n, dtype=bool)),
            "delivered": pa.array(delivered),
            "delivered_at": _ts(np.full(n, now_us), delivered),
        }
    )


def _insert_all(con, parts: list[tuple[str, tuple[str, ...], pa.Table]]) -> None:
    """Insert each (table, columns, rows) in one script: one call into DuckDB for them all (each
    call back into Python waits for the GIL behind the threads preparing batches)."""
    names = [f"intake_rows_{i}" for i in range(len(parts))]
    script = []
    for name, (table, columns, rows) in zip(names, parts, strict=True):
        con.register(name, rows)
        cols = ", ".join(columns)
        script.append(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
    try:
        con.execute(";\n".join(script))
    finally:
        unregister(con, *names)


def insert_cases(con, svc, cases: pa.Table, now: pd.Timestamp, *, link: bool = False) -> int:
    """Insert the cases of :func:`build_cases`, their transitions and notifications (inside the
    writer's transaction). Returns the number of cases.

    ``link``: also set ``events.case_id`` of hotline events with the cases' references (rows
    that came from another relation than the events table; :func:`select_cases` links those)."""
    if not cases.num_rows:
        return 0
    parts = [("cases", CASE_COLUMNS, cases)]
    parts.append(("case_transitions", TRANSITION_COLUMNS, _transitions(cases)))
    notes = _notices(svc, cases, now)
    if notes.num_rows:
        parts.append(("notifications", NOTICE_COLUMNS, notes))
    _insert_all(con, parts)
    if link:
        with registered(con, "new_cases", cases):
            con.execute(
                "UPDATE events SET case_id = n.id FROM new_cases n "
                "WHERE events.source = 'hotline' AND events.source_event_id = n._ref"
            )
    return cases.num_rows


def take_in(con, svc, now, *, relation="events", cond="", params=None) -> tuple[int, object]:
    """Cases for the new hotline events of ``relation`` (see :func:`select_cases`), inserted;
    returns (number of cases, latest received_at among their events, or None)."""
    raw = select_cases(con, svc, relation=relation, cond=cond, params=params)
    if not raw.num_rows:
        return 0, None
    latest = pc.max(raw.column("_received_at")).as_py()
    cases = build_cases(svc, raw, now)
    return insert_cases(con, svc, cases, now, link=relation != "events"), latest


@dataclass(frozen=True)
class PreparedCases:
    """One batch's cases built before the writer (:func:`prepare_rows`): ``cases`` hold no
    ids yet (``id`` is each case's row in the batch, ``_ref`` its event's id); ``transitions``
    and ``notices`` point at those rows in their ``case_id``."""

    cases: pa.Table
    transitions: pa.Table
    notices: pa.Table


def prepare_rows(cur, svc, events: pa.Table, now: pd.Timestamp) -> PreparedCases | None:
    """The cases of a hotline batch's events (``events``: the pipeline's prepared table, before
    de-duplication; ``cur``: this thread's read cursor), routed with their transitions and
    notices, ``now`` their received_at; None for a batch under ``PREPARE_MIN_ROWS`` (its cases
    are built in the writer). About two fifths of the intake's writer time is this (issue 12)."""
    if events.num_rows < PREPARE_MIN_ROWS:
        return None
    _set_department_attribute(cur, svc)
    # as one record batch on purpose: DuckDB reads a registered table's batches on all its
    # threads, one batch on one, and its other thread is the writer's (issue 12: in parts of
    # 50,000 rows this query took 0.15 s instead of 0.20 s, but the writer, then the drop's
    # bottleneck, spent 0.3 s more per 1 M-event drop)
    with registered(cur, "intake_prepare", events):
        raw = read_arrow(cur, PREPARE_SQL)
    raw = raw.add_column(0, "id", pa.array(np.arange(raw.num_rows), pa.int64()))
    cases = build_cases(svc, raw, now)
    return PreparedCases(cases, _transitions(cases), _notices(svc, cases, now))


def _insert_prepared(con, ready: list[PreparedCases], refs: pa.Array) -> tuple[np.ndarray, ...]:
    """Insert the prepared cases of the events ``refs`` (the group's new hotline events' ids),
    with their transitions and notices; returns (positions in ``refs`` that had one, their
    case ids). A batch's events the writer dropped as duplicates have none; an id sent by two
    batches of a group, the first one's."""
    rows = np.cumsum([0] + [p.cases.num_rows for p in ready])
    cases = pa.concat_tables([p.cases for p in ready])
    known = cases.column("_ref").combine_chunks()
    if len(refs) == len(known) and refs.equals(known):
        # every prepared event was kept, in order (a bulk load's usual case): no look-up
        covered, pos = np.ones(len(refs), dtype=bool), np.arange(len(refs))
    else:
        found = pc.index_in(refs, value_set=known)  # the first case of each id
        covered = _np(pc.is_valid(found)).astype(bool)
        pos = _np(pc.fill_null(found, 0))[covered].astype(np.int64)
    # the kept cases in order, each once (NumPy's unique of a quarter-million ints took 250 ms
    # on its hash path, a mark per row takes 1 ms)
    marked = np.zeros(cases.num_rows, dtype=bool)
    marked[pos] = True
    kept = np.flatnonzero(marked)
    ids = np.sort(
        con.execute("SELECT nextval('cases_seq') AS id FROM range(?)", [len(kept)])
        .fetchnumpy()["id"]
        .astype(np.int64)
    )
    new_id = np.full(cases.num_rows, -1, dtype=np.int64)
    new_id[kept] = ids
    everything = len(kept) == cases.num_rows  # a bulk load's usual case: nothing to drop
    if not everything:
        cases = cases.take(pa.array(kept))
    cases = cases.set_column(cases.column_names.index("id"), "id", pa.array(ids, pa.int64()))
    parts = [("cases", CASE_COLUMNS, cases)]
    for table, columns, name in (
        ("case_transitions", TRANSITION_COLUMNS, "transitions"),
        ("notifications", NOTICE_COLUMNS, "notices"),
    ):
        rows_of = [getattr(p, name) for p in ready]
        at = np.concatenate(
            [_np(t.column("case_id")).astype(np.int64) + rows[i] for i, t in enumerate(rows_of)]
        )
        mine = new_id[at]
        keep = mine >= 0
        t = pa.concat_tables(rows_of)
        if not everything:
            t = t.filter(pa.array(keep))
        t = t.set_column(t.column_names.index("case_id"), "case_id", pa.array(mine[keep]))
        if t.num_rows:
            parts.append((table, columns, t))
    if cases.num_rows:
        _insert_all(con, parts)
    return np.flatnonzero(covered), new_id[pos]


def take_in_rows(con, svc, events: pa.Table, prepared=()) -> pa.Table:
    """Cases for the hotline events of ``events`` (a group's new events, every source, about to
    be stored: the pipeline's insert hook), inserted; returns ``events`` with each hotline
    event's case id in a ``case_id`` column (null for the other sources).

    The ids go into the events' own INSERT: linking the stored rows afterwards (an UPDATE, as
    :func:`take_in` does) makes DuckDB write every column of rows inserted in the same
    transaction to the write-ahead log (190,000 rows: 38 MB of log against none), and the log's
    size sets how often a checkpoint runs inside a commit (issue 12). Each batch's cases take
    its received_at as their ``now``, as they did batch by batch. ``prepared``: each batch's
    :class:`PreparedCases` or None; the events of the others get theirs built here."""
    hot = np.flatnonzero(_np(pc.equal(events.column("source"), "hotline")))
    if not len(hot):
        return events
    case_id = np.zeros(events.num_rows, dtype=np.int64)
    linked = np.zeros(events.num_rows, dtype=bool)
    ready = [p for p in prepared if p is not None]
    if ready:
        refs = events.column("source_event_id").take(pa.array(hot)).combine_chunks()
        done, ids = _insert_prepared(con, ready, refs)
        case_id[hot[done]], linked[hot[done]] = ids, True
        hot = np.delete(hot, done)
    if len(hot):
        at, ids = _insert_built(con, svc, events, hot)
        case_id[at], linked[at] = ids, True
    return events.append_column("case_id", pa.array(case_id, pa.int64(), mask=~linked))


def _insert_built(con, svc, events: pa.Table, hot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Build and insert, in the writer, the cases of the rows ``hot`` of ``events`` (each
    batch's with its own received_at as ``now``); returns (those rows, their case ids)."""
    rows = events.take(pa.array(hot))
    rows = rows.append_column("case_id", pa.nulls(len(hot), pa.int64()))
    rows = rows.append_column("_row", pa.array(hot, pa.int64()))
    with registered(con, "intake_events", rows):
        raw = select_cases(con, svc, relation="intake_events", extra=", _row")
    received = raw.column("_received_at")
    batches = pc.unique(received)
    for now in batches.to_pylist():
        mine = raw if len(batches) == 1 else raw.filter(pc.equal(received, pa.scalar(now, TS)))
        now = pd.Timestamp(now)
        insert_cases(con, svc, build_cases(svc, mine, now), now)
    return _np(raw.column("_row")), _np(raw.column("id"))


def register_unplaced(svc, frame: pd.DataFrame, now: pd.Timestamp | None = None) -> int:
    """Cases for hotline requests that carry no usable location (a canonical frame of mapped
    rows): a 12345 request is a case even when it cannot be put in a grid cell. They sit at city
    level (no cell) and count in department metrics; the events stay in quarantine."""
    now = utc_now(now)
    if not len(frame):
        return 0
    city = svc.db.query_one("SELECT key FROM areas WHERE level = 'city' LIMIT 1")[0]
    rows = pd.DataFrame(
        {
            "source": "hotline",
            "source_event_id": frame["id"].astype(str).to_numpy(),
            "category": frame["category"].astype(str).to_numpy(),
            "severity": pd.array(frame["severity"], dtype="Int64"),
            "event_time": frame["time"].to_numpy(),
            "received_at": pd.Series([now] * len(frame), dtype="datetime64[us, UTC]").to_numpy(),
            "cell_key": pd.array([None] * len(frame), dtype="Int32"),
            "community_key": pd.array([None] * len(frame), dtype="Int32"),
            "township_key": pd.array([None] * len(frame), dtype="Int32"),
            "county_key": pd.array([None] * len(frame), dtype="Int32"),
            "city_key": pd.array([city] * len(frame), dtype="Int32"),
            "lon": frame["lon"].to_numpy(dtype="float64"),
            "lat": frame["lat"].to_numpy(dtype="float64"),
            "text": frame["text"].astype("object").to_numpy(),
            "attributes": frame["attributes"].astype("object").to_numpy(),
            "case_id": pd.array([None] * len(frame), dtype="Int64"),
        }
    )

    def write(con) -> int:
        with registered(con, "unplaced", rows):
            # skip requests that already have a case (a second replay of the same file)
            n, _ = take_in(
                con,
                svc,
                now,
                relation="unplaced",
                cond="AND 'hotline:' || source_event_id NOT IN "
                "(SELECT origin_ref FROM cases WHERE origin_ref LIKE 'hotline:%')",
            )
        return n

    return svc.db.write(write)
