"""Callbacks of the rules page (``/rules``, administrators): thin functions between
``data.warnings.editing`` and ``layouts.rules_page``. The page's guard (``Wiring(page="rules")``)
refuses everyone else; backtest and save ask the policy again (``rules_edit``) in data/."""

from __future__ import annotations

import dash
from dash import Input, Output, State, ctx

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data.warnings import editing
from layouts import ids
from layouts.i18n import normalise_language, t
from layouts.rules_page import NEW, list_columns, list_rows, pick_options, result
from web.session import current_user
from web.signin import client_address

_wiring = Wiring(page="rules")
callback = _wiring.callback
register = _wiring.register


@callback(
    Output(ids.RULES_LIST, "rowData"),
    Output(ids.RULES_LIST, "columnDefs"),
    Output(ids.RULES_PICK, "options"),
    Input(ids.RULES_VERSION, "data"),
    Input(ids.LANG, "data"),
)
def show_rules(_version, lang):
    """The rules of the running engine's file, and the picker's options."""
    lang = normalise_language(lang)
    view = editing.rules_view(_rt())
    return list_rows(view["rules"], lang), list_columns(lang), pick_options(view["rules"], lang)


@callback(
    Output(ids.RULES_TEXT, "value"),
    Input(ids.RULES_PICK, "value"),
    prevent_initial_call=True,
)
def pick(rule_id):
    """The picked rule's ``[[rule]]`` table as it stands in the file (a template for a new one)."""
    if not rule_id:
        return dash.no_update
    if rule_id == NEW:
        return editing.NEW_RULE
    return editing.rules_view(_rt())["tables"].get(rule_id) or dash.no_update


@callback(
    Output(ids.RULES_RESULT, "children"),
    Output(ids.RULES_MESSAGE, "children", allow_duplicate=True),
    Input(ids.RULES_BACKTEST, "n_clicks"),
    State(ids.RULES_TEXT, "value"),
    State(ids.RULES_SINCE, "value"),
    State(ids.RULES_UNTIL, "value"),
    State(ids.RULES_STEP, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def run_backtest(n, table, since, until, step, lang):
    """What the edited rule would have raised over the period (the real engine, stored history)."""
    if not n:
        return dash.no_update, dash.no_update
    lang = normalise_language(lang)
    rt = _rt()
    try:
        view = editing.backtest_view(rt, current_user(), table or "", since, until, step or 10)
    except editing.RuleEditError as exc:
        return None, t("rules.error", lang).format(error=str(exc))
    return result(view, lang, rt.timezone), t("rules.bt.done", lang)


@callback(
    Output(ids.RULES_MESSAGE, "children"),
    Output(ids.RULES_VERSION, "data"),
    Input(ids.RULES_SAVE, "n_clicks"),
    State(ids.RULES_TEXT, "value"),
    State(ids.RULES_VERSION, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def save(n, table, version, lang):
    """Save the edited rule into the rules file (atomically) and reload the engine; audited."""
    if not n or ctx.triggered_id != ids.RULES_SAVE:
        return dash.no_update, dash.no_update
    lang = normalise_language(lang)
    try:
        done = editing.save_rule(_rt(), current_user(), table or "", address=client_address())
    except editing.RuleEditError as exc:
        return t("rules.error", lang).format(error=str(exc)), dash.no_update
    key = "rules.created" if done["created"] else "rules.saved"
    return t(key, lang).format(id=done["rule_id"]), (version or 0) + 1
