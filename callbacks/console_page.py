"""Callbacks of the hall's console (``/console``): show a channel, give it a view.

Walls follow channels through ``callbacks/wall.py``'s ``follow_channel``; the checks on names and
views are in :mod:`data.console`, the setter's scope comes from the server session.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State

from callbacks.wiring import Wiring, actor
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data import console
from layouts import ids
from layouts.console_page import choice_options, state_text
from layouts.i18n import area_name, normalise_language, t

_wiring = Wiring(page="console")
callback = _wiring.callback
register = _wiring.register


def _problem(exc: console.ConsoleError, lang: str) -> str:
    params = dict(exc.params)
    if exc.code == "choice":  # the choice's own label, in the reader's language
        params["key"] = t(f"console.{params['key']}", lang)
    return t(f"console.error.{exc.code}", lang).format(**params)


@callback(
    Output(ids.CONSOLE_COUNTY, "options"),
    Output(ids.CONSOLE_LEVEL, "options"),
    Output(ids.CONSOLE_METRIC, "options"),
    Output(ids.CONSOLE_WINDOW, "options"),
    Output(ids.CONSOLE_CHANNELS, "children"),
    Output(ids.CONSOLE_STATE, "children"),
    Output(ids.CONSOLE_LINK, "children"),
    Output(ids.CONSOLE_LINK, "href"),
    Input(ids.LANG, "data"),
    Input(ids.CONSOLE_CHANNEL, "value"),
    Input(ids.CONSOLE_MSG, "children"),
)
def show(lang, name, _sent):
    """The choices in the page's language, the known channels, and what ``name`` shows now."""
    rt, lang = _rt(), normalise_language(lang)
    page = rt.channels.page(name, _scope() or rt.scope)
    names = {c["code"]: area_name(c, lang) for c in page.counties}
    known = [dash.html.Option(value=n) for n in page.known]
    choices = choice_options(page.counties, lang, rt.catalogue)
    if page.error is not None:
        return *choices, known, _problem(page.error, lang), "", None
    link = f"/?channel={page.name}"
    state = state_text(page.channel, names, rt.timezone, lang, rt.catalogue)
    return *choices, known, state, link, link


@callback(
    Output(ids.CONSOLE_MSG, "children"),
    Output(ids.CONSOLE_SINCE, "value"),
    Output(ids.CONSOLE_UNTIL, "value"),
    Input(ids.CONSOLE_SEND, "n_clicks"),
    Input(ids.CONSOLE_LIVE, "n_clicks"),
    State(ids.CONSOLE_CHANNEL, "value"),
    State(ids.CONSOLE_COUNTY, "value"),
    State(ids.CONSOLE_LEVEL, "value"),
    State(ids.CONSOLE_METRIC, "value"),
    State(ids.CONSOLE_WINDOW, "value"),
    State(ids.CONSOLE_SINCE, "value"),
    State(ids.CONSOLE_UNTIL, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def send(n, n_live, name, county, level, metric, window, since, until, lang):
    """Give the channel the chosen view (with the review period, when one is given); every wall
    following it takes it at its next refresh. "Back to live" sends the view without a period
    and empties the period's fields. A refused view keeps what was typed (nothing is lost)."""
    live = dash.ctx.triggered_id == ids.CONSOLE_LIVE
    if not (n_live if live else n):
        raise dash.exceptions.PreventUpdate
    rt, lang = _rt(), normalise_language(lang)
    if live:
        since = until = None
    view = {
        "county": county,
        "level": level,
        "metric": metric,
        "window": window,
        "since": since,
        "until": until,
    }
    try:
        channel = rt.channels.set(name, view, _scope() or rt.scope, actor())
    except console.ConsoleError as exc:
        return _problem(exc, lang), dash.no_update, dash.no_update
    sent = t("console.sent", lang).format(channel=channel.name, version=channel.version)
    if live:
        return sent, "", ""
    return sent, dash.no_update, dash.no_update
