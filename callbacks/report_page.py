"""Callbacks of the grid worker's report page (``/report``).

A report goes through the same ingest pipeline as every feed: a 12345 (``hotline``) event with
``attributes.channel = "grid_worker"``; the pipeline's case listener makes it a case (origin
``grid_report``) and the page answers with the case number.
"""

from __future__ import annotations

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import audit, policy, queries
from data.catalogue import CATEGORIES
from data.field_reports import submit_report  # noqa: F401 - the page's helper, as tests call it
from layouts import ids
from layouts.figures import BACKGROUND, fit_view, offline_style
from layouts.i18n import normalise_language, t

_wiring = Wiring(page="report")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


def report_map(rt, cells: pd.DataFrame, picked: tuple[float, float] | None = None) -> go.Figure:
    """The grid cells to tap (offline style: nothing fetched from outside) and the picked point."""
    traces = [
        go.Choroplethmap(
            geojson="/geo/grid.json",
            featureidkey="id",
            locations=cells["key"].tolist(),
            z=[0] * len(cells),
            colorscale=[[0, "rgba(56,189,248,0.15)"], [1, "rgba(56,189,248,0.15)"]],
            showscale=False,
            marker={"line": {"width": 0.6, "color": "#5b6b86"}},
            customdata=cells["code"].tolist(),
            hovertemplate="%{customdata}<extra></extra>",
        )
    ]
    if picked:
        marker = {"size": 16, "color": "#f78c3a"}
        pick = go.Scattermap(
            lon=[picked[0]], lat=[picked[1]], mode="markers", marker=marker, hoverinfo="skip"
        )
        traces.append(pick)
    bounds = (cells["lon"].min(), cells["lat"].min(), cells["lon"].max(), cells["lat"].max())
    center, zoom = fit_view(bounds, width_px=460, height_px=320)
    fig = go.Figure(traces)
    fig.update_layout(
        map={"style": offline_style(tile_url=rt.settings.tile_url), "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=BACKGROUND,
        uirevision="report",
        showlegend=False,
        clickmode="event",
    )
    return fig


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
        report_map(rt, queries.grid_cells(rt.db, current_scope())),
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
    user = current_user()
    rt = _rt()
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        return t("report.need_place", lang)
    # only roles the policy lets report, and only inside their own area
    if not policy.may(user, "report", policy.point_target(rt.db, rt.pipeline.placer, lon, lat)):
        return t("report.not_allowed", lang)
    reporter = getattr(user, "username", "grid_worker")
    case_id, reason = submit_report(rt, category, str(text).strip(), lon, lat, reporter)
    if case_id is None:
        return t("report.rejected", lang).format(reason=reason)
    detail = {"category": category, "lon": lon, "lat": lat}
    audit.record(
        rt.db, reporter, "field_report.submit", object_type="case", object_id=case_id, detail=detail
    )
    return t("report.done", lang).format(id=case_id)
