"""What the case board (``/cases``) and the response metrics page (``/metrics``) read and do, as
plain values (dicts, lists, DataFrames): one function per callback.

Every read runs inside the signed-in user's area and department, decided by :mod:`data.policy`;
every action is asked of the policy first. ``rt`` is the running :class:`~data.runtime.Runtime`
(its store, its case service and the responsibility list). Display text is the layouts'
business: departments come with their names in both languages (``names``: id ->
``{"zh", "en"}``), times in UTC.
"""

from __future__ import annotations

import pandas as pd

from data import attachments, policy, search
from data.areas import AreaScope, scope_for_code
from data.cases import board, metrics
from data.cases.responsibility import Responsibilities
from data.indicators import reading_time
from data.times import local_midnight, parse_bound

DEFAULT_CATEGORY = "hotline.heating"
INBOX_LIMIT = 20


def department_names(rules: Responsibilities, departments) -> dict[str, dict[str, str]]:
    """Department id -> its names (``zh``, ``en``); an id outside the list is its own name."""
    return {
        d: {"zh": rules.department_name(d, "zh"), "en": rules.department_name(d, "en")}
        for d in departments
        if d
    }


# the board choice meaning "every case of the reader's area" (not a department)
ALL_CASES = "*"


def board_options(rt, user, requested: str | None, category: str | None) -> dict:
    """The board's choices for ``user``: ``departments`` to read (a department user: their own
    only), the ``department`` chosen (their own, else ``requested``, else the command hall),
    dispatch ``targets`` (empty for those who may not dispatch), the case ``categories`` and the
    ``category`` chosen for a new case; ``names`` of every department shown."""
    scope = policy.board_scope(rt.db, user, rt.scope)
    rules = rt.cases.rules
    departments = board.department_choices(rt.db, rules, scope=scope)
    own = policy.board_department(user, None)
    if own is not None:
        departments = [d for d in departments if d == own]
    targets = (
        board.department_choices(rt.db, rules, with_hall=False, scope=scope)
        if policy.may_some(user, "dispatch", "case:dispatch")
        else []
    )
    if own is None:  # the hall and leaders may also read every case of their area at once
        departments = [ALL_CASES, *departments]
    return {
        "departments": departments,
        "department": own or requested or rules.hall.id,
        "targets": targets,
        # the deployment's sources (built-in and configured)
        "categories": [f"{s}.{c}" for s, cs in rt.catalogue.categories.items() for c in cs],
        "category": category or DEFAULT_CATEGORY,
        "names": department_names(rules, [*departments, *targets]),
    }


def board_view(
    rt, user, requested: str | None, now: pd.Timestamp, start_date=None, end_date=None
) -> dict | None:
    """The board of the department ``user`` reads (:func:`data.policy.board_department`) inside
    their area: ``department``, ``cases`` (the service's board frame), ``inbox`` (notes already
    due, only about cases inside that area) and department ``names``. None: no department.

    With a period picked (``start_date``/``end_date``: local days, the last one included, as
    :func:`data.search.desk_period` reads them): the cases created in it, in every state (the
    read API's /api/cases for the same period and department); a case still open at the
    period's end is overdue against that end, not against today. The view also holds
    ``since``/``until`` (UTC, None without a period) and ``days`` (the address's period)."""
    department = policy.board_department(user, requested)
    if not department:
        return None
    scope = policy.board_scope(rt.db, user, rt.scope)
    since, until, days = period_of(start_date, end_date, rt.timezone)
    chosen = None if department == ALL_CASES else department
    at = now if until is None else min(now, until)
    cases = rt.cases.board(chosen, scope, now=at, since=since, until=until)
    # every case of the area at once has no inbox; a department's inbox holds notes about
    # cases anywhere (only those inside the reader's scope), due now whatever the period
    inbox = (
        cases.iloc[0:0]
        if chosen is None
        else rt.cases.inbox(department, now=now, limit=INBOX_LIMIT, scope=scope)
    )
    names = department_names(rt.cases.rules, cases["department"].dropna().unique())
    return {
        "department": department,
        "cases": cases,
        "inbox": inbox,
        "names": names,
        "since": since,
        "until": until,
        "days": days,
    }


def period_of(start_date, end_date, timezone: str) -> tuple:
    """A desk page's picked days as (since, until, address days); no period (None, None, {})
    when none is picked or the days do not read (a picker gives dates)."""
    try:
        return search.desk_period(start_date, end_date, timezone)
    except ValueError:
        return None, None, {}


def history_view(rt, user, case_id: int | None) -> dict | None:
    """A case's history (oldest first) with department ``names``; None when no case is chosen
    or ``user`` may not see it (another county's or department's case: as for an unknown id)."""
    if case_id is None:
        return None
    if not policy.may(user, "view", policy.case_target(rt.db, case_id)):
        return None
    history = rt.cases.transitions(case_id)
    case = rt.cases.get(case_id)
    departments = [
        d for d in [*history["department"], case.get("department")] if isinstance(d, str)
    ]
    return {
        "case": case,
        "transitions": history,
        "names": department_names(rt.cases.rules, departments),
        "photos": attachments.of_case(rt.db, case_id),  # a field report's photos
        **evidence(rt.db, case),
    }


EVIDENCE_EVENTS = 50  # the case desk lists at most this many of a case's events


def evidence(db, case: dict) -> dict:
    """What a case came from: ``events`` (the events it holds: source, id, time, category, text;
    oldest first, at most :data:`EVIDENCE_EVENTS`) and ``warning`` (the warning it was
    dispatched from: id, rule_id, level_rank, state, raised_at, subject; None for others)."""
    events = db.query_df(
        "SELECT source, source_event_id AS id, event_time, category, text FROM events "
        "WHERE case_id = ? ORDER BY event_time LIMIT ?",
        [int(case["id"]), EVIDENCE_EVENTS],
    )
    warning = None
    if case.get("origin") == "warning" and str(case.get("origin_ref") or "").isdigit():
        found = db.query_records(
            "SELECT id, rule_id, level_rank, state, raised_at, subject FROM warnings WHERE id = ?",
            [int(case["origin_ref"])],
        )
        warning = found[0] if found else None
    return {"events": events, "warning": warning}


def act(
    rt,
    user,
    action: str,
    *,
    case_id: int | None = None,
    department: str | None = None,
    targets: list[str] | None = None,
    reason: str | None = None,
    extension: float | None = None,
    category: str | None = None,
    cell: str | None = None,
    title: str | None = None,
) -> int | None:
    """Do ``action`` (a case action, or ``create`` for a new case) as ``user`` on the board of
    ``department``; returns the case's id (None when an allowed action names no case).

    Raises :class:`~data.policy.PolicyDenied` when the policy refuses, ``CaseNotFound`` for an
    unknown case (asked before the policy, so an unknown id is not a refusal),
    ``InvalidTransition``, ``KeyError`` for an unknown cell, ``ValueError`` for bad values.
    """
    svc = rt.cases
    actor = getattr(user, "username", None) or "anonymous"
    targets = [targets] if isinstance(targets, str) else list(targets or [])
    department = policy.board_department(user, department)
    policy.require_case_action(rt.db, user, action)
    if action == "create":
        area = None
        if cell:
            found = scope_for_code(rt.db, str(cell).strip())
            policy.require(user, "create", policy.area_target(rt.db, key=found.key))
            area = found.key
        return svc.create(
            category,
            origin="operator",
            actor=actor,
            title=title or None,
            area_key=area,
            dispatch=False,
        )
    if case_id is None:
        return None  # allowed, but no case chosen: the page asks for one
    svc.get(case_id)  # CaseNotFound first: an unknown id is not a refusal
    policy.require_case_action(rt.db, user, action, case_id)
    if action == "joint_dispatch":
        svc.joint_dispatch(case_id, targets, actor=actor, reason=reason)
    else:
        own = board.acting_department(action, department, targets)
        svc.act(
            case_id,
            action,
            actor=actor,
            department=own,
            reason=reason,
            extension=extension or None,
        )
    return case_id


# the metrics page's default period: the last 30 local days up to the day of reading
DEFAULT_DAYS = 30


def metrics_period(
    rt, since: str | None, until: str | None, now=None, *, days: int = DEFAULT_DAYS
) -> dict:
    """The metrics page's period from the address's ``since`` and ``until`` (ISO dates or times
    with an offset; a bare date is local midnight in the region's zone; ``until`` exclusive), in
    UTC: ``since``, ``until`` and ``reading`` (when figures are read:
    :func:`data.indicators.reading_time`, so an imported file is read as of its own end).
    Missing bounds default to the last ``days`` (:data:`DEFAULT_DAYS`) local days up to the
    reading day (an imported file's own last days): the page's rolling windows. Raises ValueError with the reason for a bound that
    cannot be read or a period that does not run forwards."""
    reading = reading_time(rt.db, now)
    day = reading.tz_convert(rt.timezone).tz_localize(None).normalize()
    default_until = local_midnight(day + pd.Timedelta(days=1), rt.timezone)
    end = parse_bound(until, rt.timezone) if until else default_until
    start = (
        parse_bound(since, rt.timezone)
        if since
        else local_midnight(
            end.tz_convert(rt.timezone).tz_localize(None).normalize()
            - pd.Timedelta(days=int(days)),
            rt.timezone,
        )
    )
    if start >= end:
        raise ValueError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    return {"since": start, "until": end, "reading": reading}


def metrics_view(rt, scope: AreaScope, since, until, now=None) -> dict:
    """The response metrics page inside ``scope`` for the cases opened in ``[since, until)``,
    read at ``reading`` (:func:`data.indicators.reading_time`; the indicator catalogue's figures
    for the same period): ``summary`` (:func:`data.cases.metrics.summary`),
    ``overdue_at_end`` (cases open past their deadline at ``end``, the period's end or the
    reading if earlier: ``cases.overdue_at_end``), ``effect``, ``trend`` per ``unit`` (day or
    week), the ``departments`` and ``counties`` rankings with their trend against the period of
    the same length before, and department ``names``."""
    db = rt.db
    since, until = pd.Timestamp(since), pd.Timestamp(until)
    reading = reading_time(db, now)
    end = min(until, reading)
    return {
        "since": since,
        "until": until,
        "reading": reading,
        "end": end,
        "unit": metrics.trend_unit(since, until),
        "summary": metrics.summary(db, scope, now=reading, since=since, until=until),
        "overdue_at_end": metrics.overdue_count_at(db, scope, end),
        "effect": metrics.effect(db, scope, now=reading, since=since, until=until),
        "trend": metrics.trend(
            db, scope, since=since, until=until, now=reading, timezone=rt.timezone
        ),
        **rankings_view(rt, scope, since, until, reading),
    }


def rankings_view(rt, scope: AreaScope, since, until, now=None) -> dict:
    """The metrics page's two rankings alone (its tables' files, web/metrics_export.py), as
    :func:`metrics_view` reads them: ``departments``, ``counties`` and department ``names``."""
    since, until = pd.Timestamp(since), pd.Timestamp(until)
    reading = reading_time(rt.db, now)
    kw = {"since": since, "until": until, "now": reading}
    departments = metrics.period_ranking(rt.db, scope, by="department", **kw)
    return {
        "departments": departments,
        "counties": metrics.period_ranking(rt.db, scope, by="county", **kw),
        "names": department_names(rt.cases.rules, departments["department"].dropna()),
    }


def overdue_view(rt, scope: AreaScope, department: str, since, until, now=None) -> dict:
    """One department's cases open past their deadline at the period's end (or the reading, if
    earlier), as :func:`department_view` gives them: ``overdue``."""
    end = min(pd.Timestamp(until), reading_time(rt.db, now))
    return {"overdue": metrics.overdue_at(rt.db, scope, end, department=department)}


def department_view(rt, scope: AreaScope, department: str, since, until, now=None) -> dict:
    """One department on the metrics page, as :func:`metrics_view` reads the period: its
    ``summary``, ``previous`` (the same figures for the period of the same length before),
    ``trend`` per ``unit``, ``overdue_at_end`` and the ``overdue`` cases (open past their deadline
    at ``end``, most overdue first) and its ``name`` in both languages."""
    db = rt.db
    since, until = pd.Timestamp(since), pd.Timestamp(until)
    reading = reading_time(db, now)
    end = min(until, reading)
    kw = {"now": reading, "department": department}
    return {
        "department": department,
        "reading": reading,
        "end": end,
        "unit": metrics.trend_unit(since, until),
        "summary": metrics.summary(db, scope, since=since, until=until, **kw),
        "previous": metrics.summary(db, scope, since=since - (until - since), until=since, **kw),
        "trend": metrics.trend(db, scope, since=since, until=until, timezone=rt.timezone, **kw),
        "overdue_at_end": metrics.overdue_count_at(db, scope, end, department=department),
        **overdue_view(rt, scope, department, since, until, reading),
        "name": department_names(rt.cases.rules, [department]).get(
            department, {"zh": department, "en": department}
        ),
    }
