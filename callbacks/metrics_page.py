"""Callbacks of the response metrics page (``/metrics``): each calls one function of
``data.cases`` inside the signed-in user's scope and hands the values to
:mod:`layouts.metrics_page`."""

from __future__ import annotations

from dash import Input, Output

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data.cases import desk, metrics
from data.times import utc_now as _now
from layouts import ids
from layouts.i18n import normalise_language
from layouts.metrics_page import department_detail as detail_view
from layouts.metrics_page import head_tiles, rankings
from layouts.response_panel import response_panel

_wiring = Wiring(page="metrics")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


@callback(
    Output(ids.METRICS_HEAD, "children"),
    Output(ids.METRICS_RESPONSE, "children"),
    Output(ids.METRICS_DEPT_GRID, "rowData"),
    Output(ids.METRICS_DEPT_GRID, "columnDefs"),
    Output(ids.METRICS_COUNTY_GRID, "rowData"),
    Output(ids.METRICS_COUNTY_GRID, "columnDefs"),
    Output(ids.METRICS_DETAIL_DEPT, "options"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LANG, "data"),
)
def refresh_metrics(_n, lang):
    lang = normalise_language(lang)
    view = desk.metrics_view(_rt(), _scope(), _now())
    r = rankings(view, lang)
    return (
        head_tiles(view["summary"], view["effect"], lang),
        response_panel(view["wall"], lang),
        r["dept_rows"],
        r["dept_columns"],
        r["county_rows"],
        r["county_columns"],
        r["options"],
    )


@callback(
    Output(ids.METRICS_DETAIL, "children"),
    Input(ids.METRICS_DETAIL_DEPT, "value"),
    Input(ids.LANG, "data"),
)
def department_detail(dept, lang):
    if not dept:
        return ""
    rt = _rt()
    detail = metrics.department_detail(rt.db, _scope(), dept, now=_now())
    return detail_view(detail, normalise_language(lang), rt.timezone)
