"""Callbacks of the case board (``/cases``): each reads its inputs, calls one function of
:mod:`data.cases.desk` (which asks :mod:`data.policy` and reads inside the signed-in user's
scope) and hands the plain values to :mod:`layouts.cases_page`."""

from __future__ import annotations

import hashlib
import json

import dash
from dash import ALL, Input, Output, State, ctx

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import policy
from data.cases import CaseNotFound, InvalidTransition, desk
from data.cases.states import OPEN_STATES
from data.times import iso
from data.times import utc_now as _now
from layouts import ids
from layouts.cases_page import (
    board_api_filters,
    board_columns,
    board_rows,
    category_options,
    department_options,
    history_table,
    inbox_list,
)
from layouts.desk_period import ADDRESS_JS, export_href, placeholders
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


def row_digest(row: dict) -> str:
    """A short digest of a board row: it changes when anything shown of the case changes."""
    text = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def selected_id(selected) -> int | None:
    """The selected case id from the grid's ``selectedRows`` (rows, or ``{"ids": [...]}`` right
    after the board re-selects a row)."""
    if isinstance(selected, dict):
        got = selected.get("ids") or []
        return int(got[0]) if got else None
    if selected:
        return int(selected[0]["id"])
    return None


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
    v = desk.board_options(rt, _user(), dept, category)
    return (
        department_options(v["departments"], v["names"], lang),
        v["department"],
        department_options(v["targets"], v["names"], lang),
        category_options(v["categories"], lang, rt.catalogue),
        v["category"],
    )


# the picker follows a shared link's since/until
_wiring.address_period(ids.CASES_PERIOD)


@callback(
    Output(ids.CASES_GRID, "rowData"),
    Output(ids.CASES_GRID, "columnDefs"),
    Output(ids.CASES_INBOX, "children"),
    Output(ids.CASES_GRID, "selectedRows"),
    Output(ids.CASES_CSV, "href"),
    Output(ids.CASES_XLSX, "href"),
    Output(ids.CASES_QUERY, "data"),
    Output(ids.CASES_PERIOD, "start_date_placeholder_text"),
    Output(ids.CASES_PERIOD, "end_date_placeholder_text"),
    Output(ids.CASES_SHOWN, "data"),
    Input(ids.CASES_DEPT, "value"),
    Input(ids.CASES_PERIOD, "start_date"),
    Input(ids.CASES_PERIOD, "end_date"),
    Input(ids.CASES_VERSION, "data"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LANG, "data"),
    State(ids.CASES_GRID, "selectedRows"),
    State(ids.CASES_SHOWN, "data"),
)
def refresh_board(dept, start_date, end_date, _version, _n, lang, selected, shown):
    """The board (the cases created in the picked period, if one is picked), its export links
    (the same department and period), the address's period, and the selected case's digest
    (a new one draws the detail again: the grid keeps its selection by row id, so a tick
    leaves the detail and its map alone while the case is unchanged)."""
    rt = _rt()
    view = desk.board_view(rt, _user(), dept, _now(), start_date, end_date)
    if view is None:
        raise dash.exceptions.PreventUpdate
    lang = normalise_language(lang)
    rows = board_rows(view, lang, rt.timezone, rt.catalogue)
    # keep the selected case selected across refreshes while it is still on the board
    sid = selected_id(selected)
    row = next((x for x in rows if x["id"] == sid), None)
    # (never clear it from here: the State may predate a click made while this request ran;
    # a grid that still shows it selected is not told again, which would redraw the detail)
    sel = {"ids": [str(sid)]} if row is not None and isinstance(selected, dict) else dash.no_update
    digest = row_digest(row) if row is not None else None
    chosen = None if view["department"] == desk.ALL_CASES else view["department"]
    api = board_api_filters(chosen, iso(view["since"]), iso(view["until"]), OPEN_STATES)
    return (
        rows,
        board_columns(lang),
        inbox_list(view["inbox"], lang, rt.timezone),
        sel,
        export_href("/api/cases", "csv", api),
        export_href("/api/cases", "xlsx", api),
        view["days"],
        *placeholders(lang),
        digest if digest is not None and digest != shown else dash.no_update,
    )


# the address follows the period (since/until; the other parameters stay), without reloading
clientside_callback(
    ADDRESS_JS,
    Output(ids.CASES_URL_SYNC, "data"),
    Input(ids.CASES_QUERY, "data"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.CASES_HISTORY, "children"),
    Input(ids.CASES_GRID, "selectedRows"),
    Input(ids.CASES_VERSION, "data"),
    Input(ids.CASES_SHOWN, "data"),
    Input(ids.LANG, "data"),
)
def show_history(selected, _version, _shown, lang):
    rt = _rt()
    view = desk.history_view(rt, _user(), selected_id(selected))
    return history_table(view, normalise_language(lang), rt.timezone)


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
    action = "create" if trig == ids.CASES_NEW_BTN else trig["action"]
    try:
        cid = desk.act(
            _rt(),
            _user(),
            action,
            case_id=selected_id(selected),
            department=dept,
            targets=targets,
            reason=reason,
            extension=extension,
            category=category,
            cell=cell,
            title=title,
        )
    except (InvalidTransition, CaseNotFound, ValueError, KeyError, PermissionError) as exc:
        return t("cases.error", lang).format(error=exc), dash.no_update
    if cid is None:
        return t("cases.select_first", lang), dash.no_update
    if action == "create":
        return t("cases.new.done", lang).format(id=cid), (version or 0) + 1
    done = t("cases.done", lang).format(id=cid, action=t(f"case.action.{action}", lang))
    return done, (version or 0) + 1
