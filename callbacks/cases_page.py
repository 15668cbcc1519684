"""Callbacks of the case board (``/cases``): thin functions between ``data.cases`` (with the
access policy) and the layouts. Every query runs inside the signed-in user's scope."""

from __future__ import annotations

import dash
import pandas as pd
from dash import ALL, Input, Output, State, ctx, html

from callbacks.wiring import Wiring
from callbacks.wiring import actor as _actor
from callbacks.wiring import runtime as _rt
from data import policy
from data.areas import AreaScope, scope_for_code
from data.cases import CaseNotFound, InvalidTransition, board
from data.catalogue import CATEGORIES
from data.times import utc_now as _now
from layouts import ids
from layouts.i18n import normalise_language, t

_wiring = Wiring(page="cases")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


def _user():
    from web.session import signed_in

    return signed_in()


def _board_department(requested: str | None) -> str | None:
    """The board's department for the signed-in user (:func:`data.policy.board_department`)."""
    return policy.board_department(_user(), requested)


def _check_may(action: str, case_id: int | None = None) -> None:
    """The policy's word on ``action`` (:func:`data.policy.require_case_action`)."""
    policy.require_case_action(_rt().db, _user(), action, case_id)


def _board_scope() -> AreaScope:
    """The area the board reads for the signed-in user (:func:`data.policy.board_scope`)."""
    rt = _rt()
    return policy.board_scope(rt.db, _user(), rt.scope)


def category_name(category: str, lang: str) -> str:
    """Display name of a case category (the code itself for warning rules without a name)."""
    try:
        return t(f"category.{category}", lang)
    except KeyError:
        return category


def department_options(
    rt, lang: str, *, with_hall: bool = True, scope: AreaScope | None = None
) -> list[dict]:
    """Departments of the responsibility list plus those already owning cases.

    ``scope``: below the city, only city-level departments and those owning cases inside it
    (another county's own bureaus are not shown to a county's team).
    """
    rules = rt.cases.rules
    found = board.department_choices(rt.db, rules, with_hall=with_hall, scope=scope)
    return [{"label": rules.department_name(d, lang), "value": d} for d in found]


def selected_id(selected) -> int | None:
    """The selected case id from the grid's ``selectedRows`` (rows, or ``{"ids": [...]}`` right
    after the board re-selects a row)."""
    if isinstance(selected, dict):
        got = selected.get("ids") or []
        return int(got[0]) if got else None
    if selected:
        return int(selected[0]["id"])
    return None


def _fmt_time(ts, tz: str) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert(tz).strftime("%m-%d %H:%M")


# --- the board -------------------------------------------------------------------------------


@callback(
    Output(ids.CASES_DEPT, "options"),
    Output(ids.CASES_DEPT, "value"),
    Output(ids.CASES_TARGET, "options"),
    Output(ids.CASES_NEW_CATEGORY, "options"),
    Output(ids.CASES_NEW_CATEGORY, "value"),
    Input(ids.LANG, "data"),
    State(ids.CASES_DEPT, "value"),
    State(ids.CASES_NEW_CATEGORY, "value"),
)
def board_options(lang, dept, category):
    lang = normalise_language(lang)
    rt = _rt()
    scope = _board_scope()
    opts = department_options(rt, lang, scope=scope)
    own = _board_department(None)
    if own is not None:
        opts = [o for o in opts if o["value"] == own]
        dept = own
    cats = [f"{s}.{c}" for s, cs in CATEGORIES.items() for c in cs]
    cat_opts = [{"label": f"{category_name(c, lang)} ({c})", "value": c} for c in cats]
    return (
        opts,
        dept or rt.cases.rules.hall.id,
        # dispatch targets: only for those who may dispatch (the hall)
        department_options(rt, lang, with_hall=False, scope=scope)
        if policy.may_some(_user(), "dispatch", "case:dispatch")
        else [],
        cat_opts,
        category or "hotline.heating",
    )


def board_rows(rt, department: str, scope: AreaScope, lang: str, now: pd.Timestamp) -> list[dict]:
    """The board's rows for ``department`` inside ``scope`` (display-ready)."""
    df = rt.cases.board(department, scope, now=now)
    rules = rt.cases.rules
    rows = []
    for r in df.to_dict("records"):
        rows.append(
            {
                "id": int(r["id"]),
                "state": t(f"case.state.{r['state']}", lang),
                "state_code": r["state"],
                "category": category_name(r["category"], lang),
                "title": r["title"] or "",
                "department": rules.department_name(r["department"], lang)
                if r["department"]
                else t("cases.needs_decision", lang)
                if r["needs_decision"]
                else "",
                "deadline": _fmt_time(r["deadline_at"], rt.timezone),
                "overdue": t("cases.yes", lang) if r["overdue"] else "",
                "urgent": t("cases.yes", lang) if r["urgent"] else "",
                "returns": int(r["returns"]),
                "reworks": int(r["reworks"]),
            }
        )
    return rows


BOARD_COLUMNS = (
    *("id", "state", "category", "title", "department"),
    *("deadline", "overdue", "urgent", "returns", "reworks"),
)
HISTORY_COLUMNS = ("time", "action", "actor", "department", "reason")


def board_columns(lang: str) -> list[dict]:
    """The board grid's column definitions in ``lang``."""
    return [{"field": c, "headerName": t(f"cases.col.{c}", lang)} for c in BOARD_COLUMNS]


def _inbox_line(note: dict, tz: str, lang: str) -> str:
    when = _fmt_time(note["deliver_at"], tz)
    kind = t("note." + note["kind"], lang)
    return f"{when} · {kind} · #{note['case_id']} {note['title'] or ''}"


@callback(
    Output(ids.CASES_GRID, "rowData"),
    Output(ids.CASES_GRID, "columnDefs"),
    Output(ids.CASES_INBOX, "children"),
    Output(ids.CASES_GRID, "selectedRows"),
    Input(ids.CASES_DEPT, "value"),
    Input(ids.CASES_VERSION, "data"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LANG, "data"),
    State(ids.CASES_GRID, "selectedRows"),
)
def refresh_board(dept, _version, _n, lang, selected):
    dept = _board_department(dept)
    if not dept:
        raise dash.exceptions.PreventUpdate
    lang = normalise_language(lang)
    rt = _rt()
    now = _now()
    scope = _board_scope()
    rows = board_rows(rt, dept, scope, lang, now)
    # the inbox holds notes about cases anywhere: only those inside the reader's scope
    inbox = rt.cases.inbox(dept, now=now, limit=20, scope=scope)
    items = [html.Li(_inbox_line(r, rt.timezone, lang)) for r in inbox.to_dict("records")]
    # keep the selected case selected across refreshes while it is still on the board
    sid = selected_id(selected)
    # (never clear it from here: the State may predate a click made while this request ran)
    sel = {"ids": [str(sid)]} if any(x["id"] == sid for x in rows) else dash.no_update
    inbox_view = html.Ul(items) if items else t("cases.inbox.empty", lang)
    return rows, board_columns(lang), inbox_view, sel


@callback(
    Output(ids.CASES_HISTORY, "children"),
    Input(ids.CASES_GRID, "selectedRows"),
    Input(ids.CASES_VERSION, "data"),
    Input(ids.LANG, "data"),
)
def show_history(selected, _version, lang):
    lang = normalise_language(lang)
    sid = selected_id(selected)
    if sid is None:
        return ""
    rt = _rt()
    if not policy.may(_user(), "view", policy.case_target(rt.db, sid)):
        return ""  # another county's or department's case: nothing, as for an unknown id
    hist = rt.cases.transitions(sid)
    head = html.Tr([html.Th(t(f"cases.col.{c}", lang)) for c in HISTORY_COLUMNS])
    rules = rt.cases.rules

    def row(r: dict) -> html.Tr:
        dept = r["department"]
        dept_name = rules.department_name(dept, lang) if isinstance(dept, str) else ""
        return html.Tr(
            [
                html.Td(_fmt_time(r["occurred_at"], rt.timezone)),
                html.Td(t(f"case.action.{r['action']}", lang)),
                html.Td(r["actor"]),
                html.Td(dept_name),
                html.Td(r["reason"] if isinstance(r["reason"], str) else ""),
            ]
        )

    body = [row(r) for r in hist.to_dict("records")]
    return html.Table([head, *body], className="og-history")


@callback(
    Output(ids.CASES_MSG, "children"),
    Output(ids.CASES_VERSION, "data"),
    Input({"type": ids.CASE_ACTION, "action": ALL}, "n_clicks"),
    Input(ids.CASES_NEW_BTN, "n_clicks"),
    State(ids.CASES_GRID, "selectedRows"),
    State(ids.CASES_DEPT, "value"),
    State(ids.CASES_REASON, "value"),
    State(ids.CASES_TARGET, "value"),
    State(ids.CASES_EXTENSION, "value"),
    State(ids.CASES_NEW_CATEGORY, "value"),
    State(ids.CASES_NEW_CELL, "value"),
    State(ids.CASES_NEW_TITLE, "value"),
    State(ids.CASES_VERSION, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def act(
    _clicks, _new, selected, dept, reason, targets, extension, category, cell, title, version, lang
):
    """Run the clicked action on the selected case as the board's department."""
    lang = normalise_language(lang)
    trig = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        raise dash.exceptions.PreventUpdate
    rt = _rt()
    svc = rt.cases
    actor = _actor()
    targets = [targets] if isinstance(targets, str) else list(targets or [])
    try:
        dept = _board_department(dept)
        _check_may("create" if trig == ids.CASES_NEW_BTN else trig["action"])
        if trig == ids.CASES_NEW_BTN:
            area = None
            if cell:
                found = scope_for_code(rt.db, str(cell).strip())
                policy.require(_user(), "create", policy.area_target(rt.db, key=found.key))
                area = found.key
            cid = svc.create(
                category,
                origin="operator",
                actor=actor,
                title=title or None,
                area_key=area,
                dispatch=False,
            )
            return t("cases.new.done", lang).format(id=cid), (version or 0) + 1
        cid = selected_id(selected)
        if cid is None:
            return t("cases.select_first", lang), dash.no_update
        action = trig["action"]
        svc.get(cid)  # CaseNotFound first: an unknown id is not a refusal
        _check_may(action, cid)
        if action == "joint_dispatch":
            svc.joint_dispatch(cid, targets, actor=actor, reason=reason)
        else:
            own = board.acting_department(action, dept, targets)
            svc.act(
                cid, action, actor=actor, department=own, reason=reason, extension=extension or None
            )
    except (InvalidTransition, CaseNotFound, ValueError, KeyError, PermissionError) as exc:
        return t("cases.error", lang).format(error=exc), dash.no_update
    done = t("cases.done", lang).format(id=cid, action=t(f"case.action.{action}", lang))
    return done, (version or 0) + 1
