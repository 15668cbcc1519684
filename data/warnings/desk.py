"""What the warnings analyst page (``/warnings``) reads and does, as plain values.

Each of the page's callbacks calls one function here (reads inside the caller's
:class:`~data.areas.AreaScope`, actions as the signed-in user under :mod:`data.policy`) and
hands the result to ``layouts.warnings_page``; display text is the layouts' business. ``rt`` is
the running :class:`~data.runtime.Runtime` (its store, its warnings engine, its case service).
"""

from __future__ import annotations

from data import policy, search
from data.areas import AreaScope
from data.cases import case_from_warning
from data.warnings import WarningActionError, acknowledge, clear
from data.warnings import queries as wq
from data.warnings.learning import learning_state
from data.warnings.rules import RuleSet

# the policy action of each of the page's actions
ACTIONS = {"ack": "acknowledge", "clear": "clear", "dispatch": "dispatch", "evaluate": "evaluate"}


def rules(rt) -> RuleSet:
    """The warning rules of the running engine (started on first use, under the runtime's lock)."""
    return rt.ensure_warnings().rules


def list_view(rt, scope: AreaScope, filters: dict) -> dict:
    """The list for ``filters`` (``levels``, ``rules``, ``states``, ``area`` code, and
    ``start_date``/``end_date``: the picked period of raising, local days, the last one
    included, as :func:`data.search.desk_period` reads them) inside ``scope``: ``since``,
    ``until`` (UTC, None without a period), ``days`` (the address's period),
    ``rows`` (records of :func:`data.warnings.queries.list_warnings`, no ``detail``),
    ``counts`` by colour, ``rules`` (id -> ``{"zh", "en"}`` names, in the rules' order) and
    ``learning`` (:func:`data.warnings.learning.learning_state`)."""
    ruleset = rules(rt)
    try:
        since, until, days = search.desk_period(
            filters.get("start_date"), filters.get("end_date"), rt.timezone
        )
    except ValueError:  # a picker gives dates; anything else reads as no period
        since, until, days = None, None, {}
    rows = wq.list_warnings(
        rt.db,
        scope,
        levels=filters.get("levels") or None,
        rules=filters.get("rules") or None,
        states=filters.get("states") or None,
        area_code=(filters.get("area") or "").strip() or None,
        since=since,
        until=until,
    )
    for r in rows:
        r.pop("detail", None)
    return {
        "since": since,
        "until": until,
        "days": days,
        "rows": rows,
        "counts": wq.counts_by_colour(rt.db, scope, since, until),
        "rules": rule_names(ruleset),
        "learning": learning_state(rt.db, ruleset),
    }


def rule_names(ruleset: RuleSet) -> dict[str, dict[str, str]]:
    """Rule id -> its names (``zh``, ``en``), in the rules file's order."""
    return {r.id: {"zh": r.name_zh, "en": r.name_en} for r in ruleset.rule}


def detail_view(rt, scope: AreaScope, warning_id) -> dict | None:
    """One warning inside ``scope`` (:func:`data.warnings.queries.warning_detail`: the warning,
    its evidence series, events and history) plus ``rules`` names and the lifecycle's word on
    what can still be done (``can_ack``, ``can_clear``, ``can_dispatch``); None when it is not
    there."""
    if not warning_id:
        return None
    ruleset = rules(rt)
    d = wq.warning_detail(rt.db, scope, warning_id, ruleset)
    if d is None:
        return None
    state = d["warning"]["state"]
    return d | {
        "rules": rule_names(ruleset),
        "can_ack": state == "raised",
        "can_clear": state != "cleared",
        # a warning becomes a case whatever its state (a cleared one can still need follow-up)
        "can_dispatch": True,
    }


def may(user, action: str, db, warning_id: int | None = None) -> bool:
    """The policy's word on a page action (a key of :data:`ACTIONS`): the hall does all;
    analysts acknowledge and evaluate; read-only roles nothing. With ``warning_id``: on that
    warning (its area)."""
    what = ACTIONS.get(action)
    if user is None or what is None:
        return False
    if what == "evaluate":
        return policy.may(user, what)
    if warning_id is None:
        return policy.may_some(user, what, "warning")
    return policy.may(user, what, policy.warning_target(db, int(warning_id)))


def act(rt, scope: AreaScope, user, action: str, warning_id, text: str | None = None):
    """Do ``action`` (``ack``, ``clear``, ``dispatch``, ``evaluate``) as ``user`` on the warning
    ``warning_id`` inside ``scope``, if the policy allows it.

    Returns ``(outcome, values)``: the outcome's name (``acknowledged``, ``cleared``,
    ``dispatched``, ``evaluated``, or ``not_allowed``, ``need_reason``, ``failed``) and the
    values its message shows. ``text``: the comment (acknowledge) or the reason (clear, needed).
    """
    if warning_id is not None and not isinstance(warning_id, int | str):
        raise ValueError(f"warning id {warning_id!r}")
    wid = int(warning_id) if warning_id not in (None, "") else None
    if not may(user, action, rt.db, None if action == "evaluate" else wid):
        return "not_allowed", {}
    actor = getattr(user, "username", None) or "anonymous"
    if action == "evaluate":
        res = rt.evaluate_warnings()
        return "evaluated", {"raised": len(res.raised), "cleared": len(res.cleared)}
    if action == "dispatch":
        return _dispatch(rt, scope, wid, actor)
    return apply(rt, scope, action, wid, actor, text)


def apply(rt, scope: AreaScope, action: str, warning_id, actor: str, text: str | None = None):
    """Acknowledge (``ack``) or clear (``clear``, a reason needed) the warning ``warning_id``
    inside ``scope`` as ``actor`` (the policy already asked); ``(outcome, values)`` as
    :func:`act`. A warning outside the scope or whose state moved on gives ``failed``."""
    if action not in ("ack", "clear"):
        raise ValueError(f"unknown warning action {action!r}")
    if not warning_id or wq.warning_detail(rt.db, scope, warning_id, rules(rt)) is None:
        return "failed", {}
    try:
        if action == "ack":
            acknowledge(rt.db, warning_id, actor, text or "")
            return "acknowledged", {"id": warning_id}
        if not (text or "").strip():
            return "need_reason", {}
        clear(rt.db, warning_id, actor, text)
        return "cleared", {"id": warning_id}
    except WarningActionError:
        return "failed", {}


def _dispatch(rt, scope: AreaScope, warning_id: int | None, actor: str):
    """Make the warning a case routed by the responsibility list."""
    if not warning_id:
        return "failed", {}
    rec = wq.warning_record(rt.db, scope, warning_id)
    if rec is None:
        return "failed", {}
    case_id = case_from_warning(rt.db, rec, actor=actor)
    case = rt.cases.get(case_id)
    return "dispatched", {"case": case_id, "department": case.get("department") or "-"}
