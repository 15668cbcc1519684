"""Callbacks of the response metrics page (``/metrics``): each calls one function of
:mod:`data.cases.desk` inside the signed-in user's scope and hands the values to
:mod:`layouts.metrics_page`.

The period lives in a store (``METRICS_PERIOD``), set from the address (``?since=&until=``,
ISO dates or times; a bare date is local midnight, ``until`` exclusive) on load and from the date
picker afterwards; the address follows it (a clientside ``history.replaceState``) so a link
opens the same period.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import dash
import pandas as pd
from dash import ALL, Input, Output, State, ctx

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data.cases import desk
from data.times import iso
from layouts import ids
from layouts import metrics_page as view_of
from layouts.i18n import normalise_language, t

_wiring = Wiring(page="metrics")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


def _asked(search, start, end) -> tuple[str | None, str | None, int]:
    """The bounds asked for and the rolling window's days: a window's button (no bounds: the
    last n days), the picker's days when the picker changed (its last day is included, so the
    period ends at the next local midnight), else the address's."""
    trigger = ctx.triggered_id
    if isinstance(trigger, dict) and trigger.get("type") == ids.METRICS_WINDOW:
        return None, None, int(trigger["days"])
    if trigger == ids.METRICS_PERIOD_PICKER:
        if not (start and end):
            raise dash.exceptions.PreventUpdate  # the second day is still being picked
        last = pd.Timestamp(str(end)[:10]) + pd.Timedelta(days=1)
        return str(start)[:10], str(last.date()), desk.DEFAULT_DAYS
    query = parse_qs(str(search or "").lstrip("?"))
    bounds = (query.get("since") or [None])[0], (query.get("until") or [None])[0]
    return *bounds, desk.DEFAULT_DAYS


@callback(
    Output(ids.METRICS_PERIOD, "data"),
    Output(ids.METRICS_PERIOD_PICKER, "start_date"),
    Output(ids.METRICS_PERIOD_PICKER, "end_date"),
    Output(ids.METRICS_MSG, "children"),
    Input(ids.URL, "search"),
    Input(ids.METRICS_PERIOD_PICKER, "start_date"),
    Input(ids.METRICS_PERIOD_PICKER, "end_date"),
    Input({"type": ids.METRICS_WINDOW, "days": ALL}, "n_clicks"),
    # a State: the address bar follows the picker by replaceState, which the Location's
    # ``search`` does not see, so switching language must not read the stale address again
    State(ids.LANG, "data"),
)
def choose_period(search, start, end, _windows, lang):
    """The period from the address (on load) or the picker; a bound that cannot be read is
    said so and the default period (the last 30 days up to the reading) is shown instead; a
    rolling window's button asks for the last n days."""
    rt = _rt()
    since, until, days = _asked(search, start, end)
    msg = ""
    try:
        period = desk.metrics_period(rt, since, until, days=days)
    except ValueError as exc:
        msg = t("metrics.bad_period", normalise_language(lang)).format(reason=exc)
        since = until = None
        period = desk.metrics_period(rt, None, None)
    days = view_of.picker_days(period["since"], period["until"], rt.timezone)
    since_text = since or days[0]
    until_text = until or str((pd.Timestamp(days[1]) + pd.Timedelta(days=1)).date())
    # what the page keeps: the bounds in UTC and as the address writes them
    data = {
        "since": iso(period["since"]),
        "until": iso(period["until"]),
        "since_text": since_text,
        "until_text": until_text,
    }
    return data, *days, msg


clientside_callback(
    """function (period) {
        if (!period) { return null; }
        const q = new URLSearchParams(window.location.search);
        q.set('since', period.since_text);
        q.set('until', period.until_text);
        const query = '?' + q.toString();
        if (window.location.search !== query) {
            window.history.replaceState(null, '', window.location.pathname + query);
        }
        return query;
    }""",
    Output(ids.METRICS_URL_SINK, "data"),
    Input(ids.METRICS_PERIOD, "data"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.METRICS_HEAD, "children"),
    Output(ids.METRICS_TREND, "figure"),
    Output(ids.METRICS_DEPT_GRID, "rowData"),
    Output(ids.METRICS_DEPT_GRID, "columnDefs"),
    Output(ids.METRICS_COUNTY_GRID, "rowData"),
    Output(ids.METRICS_COUNTY_GRID, "columnDefs"),
    Output(ids.METRICS_DETAIL_DEPT, "options"),
    Output(ids.METRICS_DEPT_CSV, "href"),
    Output(ids.METRICS_DEPT_XLSX, "href"),
    Output(ids.METRICS_COUNTY_CSV, "href"),
    Output(ids.METRICS_COUNTY_XLSX, "href"),
    Input(ids.METRICS_REFRESH, "n_intervals"),
    Input(ids.LANG, "data"),
    Input(ids.METRICS_PERIOD, "data"),
)
def refresh_metrics(_n, lang, period):
    """The page's figures for the chosen period inside the user's scope."""
    if not isinstance(period, dict):
        raise dash.exceptions.PreventUpdate  # the period is set first (choose_period)
    lang = normalise_language(lang)
    rt = _rt()
    view = desk.metrics_view(rt, _scope(), period["since"], period["until"])
    r = view_of.rankings(view, lang)
    return (
        view_of.head(view, lang, rt.timezone),
        view_of.trend_figure(view["trend"], view["unit"], lang),
        r["dept_rows"],
        r["dept_columns"],
        r["county_rows"],
        r["county_columns"],
        r["options"],
        *view_of.export_hrefs("departments", period, lang),
        *view_of.export_hrefs("counties", period, lang),
    )


@callback(
    Output(ids.METRICS_DETAIL, "children"),
    Output(ids.METRICS_DETAIL_TREND, "figure"),
    Output(ids.METRICS_DETAIL_GRID, "rowData"),
    Output(ids.METRICS_DETAIL_GRID, "columnDefs"),
    Output(ids.METRICS_DETAIL_CSV, "href"),
    Output(ids.METRICS_DETAIL_XLSX, "href"),
    Input(ids.METRICS_DETAIL_DEPT, "value"),
    Input(ids.LANG, "data"),
    Input(ids.METRICS_PERIOD, "data"),
)
def department_detail(dept, lang, period):
    """One department's figures, trend and overdue cases for the chosen period."""
    if not dept or not isinstance(dept, str) or not isinstance(period, dict):
        raise dash.exceptions.PreventUpdate
    lang = normalise_language(lang)
    rt = _rt()
    detail = desk.department_view(rt, _scope(), dept, period["since"], period["until"])
    return (
        view_of.department_detail(detail, lang),
        view_of.trend_figure(detail["trend"], detail["unit"], lang),
        view_of.overdue_rows(detail, lang, rt.timezone),
        view_of.overdue_columns(lang),
        *view_of.export_hrefs("department", period, lang, dept),
    )
