"""Callbacks of the targeted inspection lists page (``/inspections``): one call of
:func:`data.inspections.for_runtime` inside the signed-in user's scope, handed to
:mod:`layouts.inspections_page`."""

from __future__ import annotations

from dash import Input, Output

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data import inspections
from data.times import iso, picked_period
from layouts import ids
from layouts import inspections_page as view_of
from layouts.desk_period import ADDRESS_JS
from layouts.i18n import normalise_language

_wiring = Wiring(page="inspections")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


@callback(
    Output(ids.INSPECT_GRID, "rowData"),
    Output(ids.INSPECT_GRID, "columnDefs"),
    Output(ids.INSPECT_EXEMPT_GRID, "rowData"),
    Output(ids.INSPECT_EXEMPT_GRID, "columnDefs"),
    Output(ids.INSPECT_SUMMARY, "children"),
    Output(ids.INSPECT_CSV, "href"),
    Output(ids.INSPECT_XLSX, "href"),
    Output(ids.INSPECT_LEVEL, "options"),
    Output(ids.INSPECT_PERIOD, "start_date_placeholder_text"),
    Output(ids.INSPECT_PERIOD, "end_date_placeholder_text"),
    Output(ids.INSPECT_QUERY, "data"),
    Input(ids.INSPECT_PERIOD, "start_date"),
    Input(ids.INSPECT_PERIOD, "end_date"),
    Input(ids.INSPECT_LEVEL, "value"),
    Input(ids.LANG, "data"),
)
def show_list(start_date, end_date, level, lang):
    lang = normalise_language(lang)
    rt = _rt()
    level = level or "county"
    # one bound may be picked alone: the list then runs from it, or up to it
    since, until, days = picked_period(start_date, end_date, rt.timezone)
    view = inspections.for_runtime(rt, _scope(), level=level, since=since, until=until)
    bounds = [iso(since), iso(until)]  # the export links ask the read API for the same period
    return (
        view_of.list_rows(view, lang, rt.catalogue),
        view_of.columns(view_of.LIST_COLUMNS, lang),
        view_of.exempt_rows(view, lang),
        view_of.columns(view_of.EXEMPT_COLUMNS, lang),
        view_of.summary(view, lang, rt.timezone),
        view_of.export_href("csv", level, *bounds, lang),
        view_of.export_href("xlsx", level, *bounds, lang),
        view_of.level_options(lang),
        *view_of.period_placeholders(lang),
        days,
    )


# the picker follows a shared link's since/until
_wiring.address_period(ids.INSPECT_PERIOD)


# the address follows the period (since/until; the other parameters stay), without reloading
clientside_callback(
    ADDRESS_JS,
    Output(ids.INSPECT_URL_SYNC, "data"),
    Input(ids.INSPECT_QUERY, "data"),
    prevent_initial_call=True,
)
