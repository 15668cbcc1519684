"""Callbacks of the warnings analyst page (``/warnings``): thin functions between
``data.warnings`` and ``layouts.warnings_page``. Every query runs inside the signed-in user's
scope; the acknowledging or clearing user is the signed-in one."""

from __future__ import annotations

import dash
from dash import Input, Output, State, ctx

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data import search
from data.times import iso
from data.warnings import desk
from layouts import ids
from layouts.desk_period import ADDRESS_JS, export_href, placeholders
from layouts.i18n import normalise_language, t
from layouts.warnings_page import (
    ACTIVE_STATES,
    action_message,
    api_filters,
    counts_line,
    detail_outputs,
    event_columns,
    history_columns,
    level_options,
    list_columns,
    rule_options,
    state_options,
)
from layouts.warnings_page import list_rows as _list_rows
from web.session import current_user

_wiring = Wiring(page="warnings")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


def _rules(rt):
    """The running engine's rules (:func:`data.warnings.desk.rules`)."""
    return desk.rules(rt)


def list_rows(rt, scope, filters: dict, lang: str) -> list[dict]:
    """The list's rows for ``filters`` (levels, rules, states, area) in ``lang``."""
    return _list_rows(desk.list_view(rt, scope, filters), lang, rt.timezone)


@callback(
    Output(ids.WARN_PERIOD, "start_date"),
    Output(ids.WARN_PERIOD, "end_date"),
    Output(ids.WARN_STATES, "value"),
    Input(ids.URL, "search"),
    Input(ids.WARN_PERIOD, "start_date"),
    Input(ids.WARN_PERIOD, "end_date"),
    State(ids.WARN_STATES, "value"),
)
def period_from_address(query, start_date, end_date, states):
    """The address's period (a shared link) in the date picker, read as the read API reads
    ``since`` and ``until``. With a period the list holds every warning raised in it, not only
    the active ones: the state filter's default (the active states) is let go, whether the
    period came with the address or was picked."""
    if ctx.triggered_id == ids.URL or not ctx.triggered:
        start_date, end_date = search.picker_days(
            query if isinstance(query, str) else "", _rt().timezone
        )
        picked = (start_date, end_date)
    else:
        picked = (dash.no_update, dash.no_update)
    default = sorted(states or []) == sorted(ACTIVE_STATES)
    if (start_date or end_date) and default:
        return *picked, []
    return *picked, dash.no_update


@callback(
    Output(ids.WARN_GRID, "rowData"),
    Output(ids.WARN_GRID, "columnDefs"),
    Output(ids.WARN_COUNTS, "children"),
    Output(ids.WARN_RULES, "options"),
    Output(ids.WARN_LEVELS, "options"),
    Output(ids.WARN_STATES, "options"),
    Output(ids.WARN_CSV, "href"),
    Output(ids.WARN_XLSX, "href"),
    Output(ids.WARN_QUERY, "data"),
    Output(ids.WARN_PERIOD, "start_date_placeholder_text"),
    Output(ids.WARN_PERIOD, "end_date_placeholder_text"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.WARN_LEVELS, "value"),
    Input(ids.WARN_RULES, "value"),
    Input(ids.WARN_STATES, "value"),
    Input(ids.WARN_AREA, "value"),
    Input(ids.WARN_PERIOD, "start_date"),
    Input(ids.WARN_PERIOD, "end_date"),
    Input(ids.WARN_VERSION, "data"),
    Input(ids.LANG, "data"),
)
def refresh_list(_n, levels, rules, states, area, start_date, end_date, _version, lang):
    """The list (the warnings raised in the picked period, if one is picked), the counts
    line, the filters' options, the export links (the same filters) and the address's period."""
    lang = normalise_language(lang)
    rt = _rt()
    filters = {"levels": levels, "rules": rules, "states": states, "area": area}
    view = desk.list_view(rt, _scope(), filters | {"start_date": start_date, "end_date": end_date})
    api = api_filters(filters | {"since": iso(view["since"]), "until": iso(view["until"])})
    return (
        _list_rows(view, lang, rt.timezone),
        list_columns(lang),
        counts_line(view["counts"], lang, view.get("learning"), view["since"] is not None),
        rule_options(view["rules"], lang),
        level_options(lang),
        state_options(lang),
        export_href("/api/warnings", "csv", api),
        export_href("/api/warnings", "xlsx", api),
        view["days"],
        *placeholders(lang),
    )


# the address follows the period (since/until; the other parameters stay), without reloading
clientside_callback(
    ADDRESS_JS,
    Output(ids.WARN_URL_SYNC, "data"),
    Input(ids.WARN_QUERY, "data"),
    prevent_initial_call=True,
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


def detail_view(rt, scope, warning_id, lang: str) -> dict:
    """Everything the detail pane shows for one warning (labels in ``lang``)."""
    return detail_outputs(desk.detail_view(rt, scope, warning_id), lang, rt.timezone, rt.catalogue)


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
    Output(ids.WARN_DISPATCH, "disabled"),
    Output(ids.WARN_COMMENT, "placeholder"),
    Output(ids.WARN_REASON, "placeholder"),
    Input(ids.WARN_SELECTED, "data"),
    Input(ids.WARN_VERSION, "data"),
    Input(ids.LANG, "data"),
)
def show_detail(warning_id, _version, lang):
    """The selected warning's evidence, events and history; which actions are possible (none
    before a warning is shown: a click then would act on nothing)."""
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
        not v["can_dispatch"],
        t("warn.comment", lang),
        t("warn.reason", lang),
    )


# the page action of each button (data.warnings.desk.ACTIONS)
ACTIONS = {
    ids.WARN_ACK: "ack",
    ids.WARN_CLEAR: "clear",
    ids.WARN_DISPATCH: "dispatch",
    ids.WARN_EVALUATE: "evaluate",
}


def run_action(rt, scope, action: str, warning_id, user: str, text: str | None, lang: str):
    """Acknowledge or clear ``warning_id`` as ``user``; returns the message to show."""
    return action_message(*desk.apply(rt, scope, action, warning_id, user, text), lang)


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
    action = ACTIONS.get(ctx.triggered_id)
    if action is None:
        raise dash.exceptions.PreventUpdate
    text = reason if action == "clear" else comment
    outcome = desk.act(_rt(), _scope(), current_user(), action, warning_id, text)
    return action_message(*outcome, normalise_language(lang)), (version or 0) + 1
