"""Callbacks of the grid worker's report page (``/report``).

A report goes through the same ingest pipeline as every feed: a 12345 (``hotline``) event with
``attributes.channel = "grid_worker"``; the pipeline's case listener makes it a case (origin
``grid_report``) and the page answers with the case number.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import policy, queries
from data.catalogue import CATEGORIES
from data.field_reports import (
    file_report,
    submit_report,  # noqa: F401 - the page's helper, as tests call it
)
from layouts import ids
from layouts.i18n import normalise_language, t
from layouts.report_page import report_map

_wiring = Wiring(page="report")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


@callback(
    Output(ids.REPORT_CATEGORY, "options"),
    Output(ids.REPORT_CATEGORY, "value"),
    Output(ids.REPORT_MAP, "figure"),
    Input(ids.LANG, "data"),
    State(ids.REPORT_CATEGORY, "value"),
)
def report_options(lang, value):
    from web.session import current_scope

    lang = normalise_language(lang)
    rt = _rt()
    opts = [{"label": t(f"category.hotline.{c}", lang), "value": c} for c in CATEGORIES["hotline"]]
    return (
        opts,
        value or "city_appearance",
        report_map(queries.grid_cells(rt.db, current_scope()), rt.settings.tile_url),
    )


@callback(
    Output(ids.REPORT_LON, "value"),
    Output(ids.REPORT_LAT, "value"),
    Input(ids.REPORT_MAP, "clickData"),
    prevent_initial_call=True,
)
def pick_place(click):
    """A tap on a cell puts the report at the cell's representative point."""
    if not click or not click.get("points"):
        raise dash.exceptions.PreventUpdate
    p = click["points"][0]
    if "location" in p:
        from web.session import may

        db = _rt().db
        key = int(p["location"])
        if not may("report", policy.area_target(db, key=key)):
            raise dash.exceptions.PreventUpdate  # a cell outside the reporter's area
        point = queries.area_point(db, key)
        if point:
            return point
    if "lon" in p and "lat" in p:
        return p["lon"], p["lat"]
    raise dash.exceptions.PreventUpdate


@callback(
    Output(ids.REPORT_MSG, "children"),
    Input(ids.REPORT_SUBMIT, "n_clicks"),
    State(ids.REPORT_CATEGORY, "value"),
    State(ids.REPORT_TEXT, "value"),
    State(ids.REPORT_LON, "value"),
    State(ids.REPORT_LAT, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def report(_n, category, text, lon, lat, lang):
    from web.session import current_user

    lang = normalise_language(lang)
    if not text or not str(text).strip():
        return t("report.need_text", lang)
    if lon is None or lat is None:
        return t("report.need_place", lang)
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        return t("report.need_place", lang)
    case_id, reason = file_report(_rt(), current_user(), category, str(text).strip(), lon, lat)
    if reason == "not_allowed":
        return t("report.not_allowed", lang)
    if case_id is None:
        return t("report.rejected", lang).format(reason=reason)
    return t("report.done", lang).format(id=case_id)
