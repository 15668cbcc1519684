"""Callbacks of the warnings analyst page (``/warnings``): thin functions between
``data.warnings`` and ``layouts.warnings_page``. Every query runs inside the signed-in user's
scope; the acknowledging or clearing user is the signed-in one."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, ctx

from callbacks.wiring import Wiring
from callbacks.wiring import actor as _actor
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data import policy
from data.warnings import WarningActionError, acknowledge, clear
from data.warnings import queries as wq
from layouts import ids
from layouts.i18n import area_name, normalise_language, t
from layouts.warnings_page import (
    event_columns,
    evidence_figure,
    history_columns,
    level_options,
    list_columns,
    state_options,
)

_wiring = Wiring(page="warnings")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


def _time(v, tz: str) -> str | None:
    if v is None:
        return None
    return pd.Timestamp(v).tz_convert(tz).strftime("%Y-%m-%d %H:%M")


def _rules(rt):
    return rt.ensure_warnings().rules


def rule_label(rules, rule_id: str, lang: str) -> str:
    r = rules.get(rule_id)
    if r is None:
        return rule_id
    return r.name_en if lang == "en" else r.name_zh


def list_rows(rt, scope, filters: dict, lang: str) -> list[dict]:
    """The list's rows for ``filters`` (levels, rules, states, area) in ``lang``."""
    rules = _rules(rt)
    rows = wq.list_warnings(
        rt.db,
        scope,
        levels=filters.get("levels") or None,
        rules=filters.get("rules") or None,
        states=filters.get("states") or None,
        area_code=(filters.get("area") or "").strip() or None,
    )
    for r in rows:
        r["level_label"] = t(f"warn.level.{r['level']}", lang)
        r["rule_label"] = rule_label(rules, r["rule_id"], lang)
        r["area_label"] = area_name(
            {"name_zh": r["area_name_zh"], "name_en": r["area_name_en"], "code": r["area_code"]},
            lang,
        )
        r["state_label"] = t(f"warn.state.{r['state']}", lang)
        r["raised_label"] = _time(r["raised_at"], rt.timezone)
        r["escalated_label"] = t(f"level.{r['escalated_to']}", lang) if r["escalated_to"] else ""
        r["value"] = None if r["value"] is None else round(r["value"], 1)
        r.pop("detail", None)
    return rows


@callback(
    Output(ids.WARN_GRID, "rowData"),
    Output(ids.WARN_GRID, "columnDefs"),
    Output(ids.WARN_COUNTS, "children"),
    Output(ids.WARN_RULES, "options"),
    Output(ids.WARN_LEVELS, "options"),
    Output(ids.WARN_STATES, "options"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.WARN_LEVELS, "value"),
    Input(ids.WARN_RULES, "value"),
    Input(ids.WARN_STATES, "value"),
    Input(ids.WARN_AREA, "value"),
    Input(ids.WARN_VERSION, "data"),
    Input(ids.LANG, "data"),
)
def refresh_list(_n, levels, rules, states, area, _version, lang):
    """The list, the counts line and the filters' options."""
    lang = normalise_language(lang)
    rt, scope = _rt(), _scope()
    filters = {"levels": levels, "rules": rules, "states": states, "area": area}
    rows = list_rows(rt, scope, filters, lang)
    counts = wq.counts_by_colour(rt.db, scope)
    rule_opts = [
        {"label": rule_label(_rules(rt), r.id, lang), "value": r.id} for r in _rules(rt).rule
    ]
    return (
        rows,
        list_columns(lang),
        t("warn.counts", lang).format(**counts),
        rule_opts,
        level_options(lang),
        state_options(lang),
    )


@callback(
    Output(ids.WARN_SELECTED, "data"),
    Input(ids.WARN_GRID, "selectedRows"),
    prevent_initial_call=True,
)
def select(rows):
    """The selected warning's id."""
    if not rows:
        raise dash.exceptions.PreventUpdate
    return int(rows[0]["id"])


def _history_levels(h: dict, lang: str) -> str:
    """A history entry's levels: "from → to" for a level change, else the level it names."""
    if h["action"] in ("upgraded", "downgraded"):
        steps = [x for x in (h["from_level"], h["to_level"]) if x]
        return " → ".join(t(f"warn.level.{x}", lang) for x in steps)
    return t(f"warn.level.{h['to_level']}", lang) if h["to_level"] else ""


def detail_view(rt, scope, warning_id, lang: str) -> dict:
    """Everything the detail pane shows for one warning (labels in ``lang``)."""
    d = wq.warning_detail(rt.db, scope, warning_id, _rules(rt)) if warning_id else None
    if d is None:
        empty = {"title": t("warn.detail.empty", lang), "summary": ""}
        empty |= {"figure": evidence_figure(None, lang), "events": [], "history": []}
        return empty | {"can_ack": False, "can_clear": False}
    w = d["warning"]
    rules = _rules(rt)
    area = area_name(
        {"name_zh": w["area_name_zh"], "name_en": w["area_name_en"], "code": w["area_code"]}, lang
    )
    if w["subject"]:
        area = f"{area} · {w['subject']}"
    summary = t("warn.detail.summary", lang).format(
        level=t(f"warn.level.{w['level']}", lang),
        state=t(f"warn.state.{w['state']}", lang),
        value="-" if w["value"] is None else round(w["value"], 1),
        raised=_time(w["raised_at"], rt.timezone),
    )
    if w["escalated_to"] and w["state"] == "raised":
        summary += " · " + t("warn.escalated_to", lang).format(
            level=t(f"level.{w['escalated_to']}", lang)
        )
    events = []
    for e in d["events"]:
        events.append(
            {
                **e,
                "time_label": _time(e["event_time"], rt.timezone),
                "source_label": t(f"source.{e['source']}", lang),
                "category_label": _category(e["source"], e["category"], lang),
            }
        )
    history = []
    for h in d["history"]:
        levels = _history_levels(h, lang)
        note = h["note"] or ""
        if h["action"] == "escalated" and note:
            note = t(f"level.{note}", lang)
        history.append(
            {
                "time_label": _time(h["changed_at"], rt.timezone),
                "action_label": t(f"warn.action.{h['action']}", lang),
                "level_label": levels,
                "actor": t("warn.system", lang) if h["actor"] == "system" else h["actor"],
                "note": note,
            }
        )
    return {
        "title": t("warn.detail.title", lang).format(
            id=w["id"], rule=rule_label(rules, w["rule_id"], lang), area=area
        ),
        "summary": summary,
        "figure": evidence_figure(d["series"], lang),
        "events": events,
        "history": history,
        "can_ack": w["state"] == "raised",
        "can_clear": w["state"] != "cleared",
    }


def _category(source: str, category: str, lang: str) -> str:
    try:
        return t(f"category.{source}.{category}", lang)
    except KeyError:
        return category


@callback(
    Output(ids.WARN_TITLE, "children"),
    Output(ids.WARN_SUMMARY, "children"),
    Output(ids.WARN_FIGURE, "figure"),
    Output(ids.WARN_EVENTS, "rowData"),
    Output(ids.WARN_EVENTS, "columnDefs"),
    Output(ids.WARN_HISTORY, "rowData"),
    Output(ids.WARN_HISTORY, "columnDefs"),
    Output(ids.WARN_ACK, "disabled"),
    Output(ids.WARN_CLEAR, "disabled"),
    Output(ids.WARN_COMMENT, "placeholder"),
    Output(ids.WARN_REASON, "placeholder"),
    Input(ids.WARN_SELECTED, "data"),
    Input(ids.WARN_VERSION, "data"),
    Input(ids.LANG, "data"),
)
def show_detail(warning_id, _version, lang):
    """The selected warning's evidence, events and history; which actions are possible."""
    lang = normalise_language(lang)
    v = detail_view(_rt(), _scope(), warning_id, lang)
    return (
        v["title"],
        v["summary"],
        v["figure"],
        v["events"],
        event_columns(lang),
        v["history"],
        history_columns(lang),
        not v["can_ack"],
        not v["can_clear"],
        t("warn.comment", lang),
        t("warn.reason", lang),
    )


# the policy action of each button
ACTIONS = {
    ids.WARN_ACK: "acknowledge",
    ids.WARN_CLEAR: "clear",
    ids.WARN_DISPATCH: "dispatch",
    ids.WARN_EVALUATE: "evaluate",
}


def _may(trigger, warning_id=None) -> bool:
    """The policy's word on a button: the hall (admin, operator) does all; analysts acknowledge
    and evaluate; read-only roles nothing. With ``warning_id``: on that warning (its area)."""
    from web.session import current_user

    user = current_user()
    action = ACTIONS.get(trigger)
    if user is None or action is None:
        return False
    if action == "evaluate":
        return policy.may(user, action)
    if warning_id is None:
        return policy.may_some(user, action, "warning")
    return policy.may(user, action, policy.warning_target(_rt().db, int(warning_id)))


def dispatch_case(rt, scope, warning_id, user: str, lang: str) -> str:
    """Make the warning a case routed by the responsibility list; returns the message."""
    from data.cases import case_from_warning

    if not warning_id:
        return t("warn.msg.failed", lang)
    rec = wq.warning_record(rt.db, scope, int(warning_id))
    if rec is None:
        return t("warn.msg.failed", lang)
    case_id = case_from_warning(rt.db, rec, actor=user)
    case = rt.cases.get(case_id)
    return t("warn.msg.dispatched", lang).format(
        case=case_id, department=case.get("department") or "-"
    )


def run_action(rt, scope, action: str, warning_id, user: str, text: str | None, lang: str):
    """Acknowledge or clear ``warning_id`` as ``user``; returns the message to show."""
    if not warning_id or wq.warning_detail(rt.db, scope, warning_id, _rules(rt)) is None:
        return t("warn.msg.failed", lang)
    try:
        if action == "ack":
            acknowledge(rt.db, warning_id, user, text or "")
            return t("warn.msg.acknowledged", lang).format(id=warning_id)
        if not (text or "").strip():
            return t("warn.msg.need_reason", lang)
        clear(rt.db, warning_id, user, text)
        return t("warn.msg.cleared", lang).format(id=warning_id)
    except WarningActionError:
        return t("warn.msg.failed", lang)


@callback(
    Output(ids.WARN_MESSAGE, "children"),
    Output(ids.WARN_VERSION, "data"),
    Input(ids.WARN_ACK, "n_clicks"),
    Input(ids.WARN_CLEAR, "n_clicks"),
    Input(ids.WARN_EVALUATE, "n_clicks"),
    Input(ids.WARN_DISPATCH, "n_clicks"),
    State(ids.WARN_SELECTED, "data"),
    State(ids.WARN_COMMENT, "value"),
    State(ids.WARN_REASON, "value"),
    State(ids.WARN_VERSION, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def act(_ack, _clear, _eval, _dispatch, warning_id, comment, reason, version, lang):
    """The action buttons; bumping the version refreshes the list and the detail."""
    lang = normalise_language(lang)
    rt = _rt()
    if warning_id is not None and not isinstance(warning_id, int | str):
        raise ValueError(f"warning id {warning_id!r}")
    wid = int(warning_id) if warning_id not in (None, "") else None
    if not _may(ctx.triggered_id, None if ctx.triggered_id == ids.WARN_EVALUATE else wid):
        return t("warn.msg.not_allowed", lang), dash.no_update
    if ctx.triggered_id == ids.WARN_DISPATCH:
        msg = dispatch_case(rt, _scope(), warning_id, _actor(), lang)
    elif ctx.triggered_id == ids.WARN_EVALUATE:
        res = rt.evaluate_warnings()
        msg = t("warn.msg.evaluated", lang).format(raised=len(res.raised), cleared=len(res.cleared))
    elif ctx.triggered_id == ids.WARN_ACK:
        msg = run_action(rt, _scope(), "ack", warning_id, _actor(), comment, lang)
    elif ctx.triggered_id == ids.WARN_CLEAR:
        msg = run_action(rt, _scope(), "clear", warning_id, _actor(), reason, lang)
    else:
        raise dash.exceptions.PreventUpdate
    return msg, (version or 0) + 1
