"""Callbacks of the grid worker's report page (``/report``).

A report goes through the same ingest pipeline as every feed: a 12345 (``hotline``) event with
``attributes.channel = "grid_worker"``; the pipeline's case listener makes it a case (origin
``grid_report``) and the page answers with the case number.
"""

from __future__ import annotations

import json
import uuid

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import policy
from data.events import CATEGORIES
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
        traces.append(go.Scattermap(lon=[picked[0]], lat=[picked[1]], mode="markers",
                                    marker={"size": 16, "color": "#f78c3a"}, hoverinfo="skip"))  # fmt: skip
    minx, miny, maxx, maxy = (cells["lon"].min(), cells["lat"].min(), cells["lon"].max(),
                              cells["lat"].max())  # fmt: skip
    center, zoom = fit_view((minx, miny, maxx, maxy), width_px=460, height_px=320)
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


def _cells(rt, scope) -> pd.DataFrame:
    where, params = scope.where()
    return rt.db.query_df(
        f"SELECT key, code, lon, lat FROM areas WHERE level = 'grid' AND {where} ORDER BY key",
        params,
    )


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
    return opts, value or "city_appearance", report_map(rt, _cells(rt, current_scope()))


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
        row = db.query_one("SELECT lon, lat FROM areas WHERE key = ?", [key])
        if row:
            return row[0], row[1]
    if "lon" in p and "lat" in p:
        return p["lon"], p["lat"]
    raise dash.exceptions.PreventUpdate


def submit_report(rt, category: str, text: str, lon: float, lat: float, reporter: str,
                  now: pd.Timestamp | None = None) -> tuple[int | None, str | None]:  # fmt: skip
    """Ingest a grid worker's report; returns (case id, None) or (None, the quarantine reason)."""
    now = now or pd.Timestamp.now(tz="UTC")
    event_id = f"grid-{uuid.uuid4().hex[:16]}"
    frame = pd.DataFrame(
        {
            "id": [event_id],
            "time": [now],
            "lon": [float(lon)],
            "lat": [float(lat)],
            "category": [category],
            "severity": [2],
            "text": [text],
            "attributes": [
                json.dumps(
                    {"channel": "grid_worker", "type": "complaint", "reporter": reporter},
                    ensure_ascii=False,
                )
            ],  # fmt: skip
        }
    )
    result = rt.pipeline.ingest_frame("hotline", frame, feed="grid_worker", now=now)
    if not result.accepted:
        return None, result.errors[0]["reason"] if result.errors else "duplicate"
    row = rt.db.query_one(
        "SELECT case_id FROM events WHERE source = 'hotline' AND source_event_id = ?", [event_id]
    )
    if row is None or row[0] is None:  # hotline intake turned off: make this one case now
        rt.cases.intake_hotline()
        row = rt.db.query_one(
            "SELECT case_id FROM events WHERE source = 'hotline' AND source_event_id = ?",
            [event_id],
        )
    return int(row[0]), None


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
    case_id, reason = submit_report(rt, category, str(text).strip(), lon, lat,
                                    getattr(user, "username", "grid_worker"))  # fmt: skip
    if case_id is None:
        return t("report.rejected", lang).format(reason=reason)
    from data import audit

    audit.record(_rt().db, getattr(user, "username", "grid_worker"), "field_report.submit",
                 object_type="case", object_id=case_id,
                 detail={"category": category, "lon": lon, "lat": lat})  # fmt: skip
    return t("report.done", lang).format(id=case_id)
