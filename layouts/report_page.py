"""The grid worker's report page (``/report``), made for a phone (375 px wide and up): the place
from the phone's location (or the worker's own area), adjusted by tapping the map; category,
description, up to three photos; and the worker's own reports with their cases' state. The
report enters through the ingest pipeline as a 12345 event with ``attributes.channel =
"grid_worker"`` and becomes a case; its photos are attached to the case."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from layouts.cases_page import category_name
from layouts.figures import DESK_MAP_BACKGROUND, fit_view, offline_style
from layouts.i18n import format_moment, t
from layouts.shell import framed, i18n_text

MAX_PHOTOS = 3  # as data.attachments.MAX_PHOTOS (layouts take plain values, not the store)


def report_map(
    cells: pd.DataFrame, tile_url: str | None = None, picked: tuple[float, float] | None = None
) -> go.Figure:
    """The grid cells to tap and the picked point (offline style: nothing fetched from outside
    unless an intranet ``tile_url`` is configured). The picked point is always the second trace
    (empty when none), so the page moves it with a small patch."""
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
        ),
        go.Scattermap(
            lon=[picked[0]] if picked else [],
            lat=[picked[1]] if picked else [],
            mode="markers",
            marker={"size": 18, "color": "#f78c3a"},
            hoverinfo="skip",
        ),
    ]
    bounds = (cells["lon"].min(), cells["lat"].min(), cells["lon"].max(), cells["lat"].max())
    center, zoom = fit_view(bounds, width_px=360, height_px=280)
    fig = go.Figure(traces)
    fig.update_layout(
        map={"style": offline_style(DESK_MAP_BACKGROUND, tile_url), "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=DESK_MAP_BACKGROUND,
        uirevision="report",
        showlegend=False,
        clickmode="event",
    )
    return fig


def photo_note(names: list[str] | None, lang: str) -> str:
    """The line under the photo picker: how many of the allowed photos are chosen, and which."""
    names = [n for n in (names or []) if n]
    if not names:
        return t("report.photos.none", lang).format(max=MAX_PHOTOS)
    return t("report.photos.chosen", lang).format(
        n=len(names), max=MAX_PHOTOS, names="、".join(names)
    )


def my_reports_list(frame: pd.DataFrame, lang: str, timezone: str):
    """The reporter's latest reports (data.field_reports.my_reports) with each case's state."""
    if frame is None or not len(frame):
        return html.P(t("report.mine.none", lang))
    items = [
        html.Li(
            [
                html.Span(f"#{int(r['case_id'])}", className="og-report-case"),
                html.Span(category_name(r["category"], lang)),
                html.Span(
                    t(f"case.state.{r['state']}", lang), className=f"og-state og-{r['state']}"
                ),
                html.Span(format_moment(r["created_at"], timezone, lang, "day_time")),
                html.Span(
                    t("report.mine.photos", lang).format(n=int(r["photos"])) if r["photos"] else ""
                ),
            ]
        )
        for r in frame.to_dict("records")
    ]
    return html.Ul(items, className="og-report-mine")


def page() -> html.Div:
    """The report form for a phone (375 px wide and up): place (the phone's location, adjusted
    on the map), category, text, up to three photos; then the reporter's own reports."""
    return html.Div(
        className="og-report",
        children=[
            i18n_text("report.title", tag=html.H2),
            dcc.Store(id=ids.REPORT_GEO_TEXT),
            html.Section(
                className="og-report-block",
                children=[
                    i18n_text("report.map", tag=html.Label),
                    html.Button(
                        i18n_text("report.locate"),
                        id=ids.REPORT_LOCATE,
                        n_clicks=0,
                        className="og-report-locate",
                    ),
                    html.Span(id=ids.REPORT_GEO_MSG, className="og-report-geo", role="status"),
                    dcc.Graph(
                        id=ids.REPORT_MAP,
                        config={"displayModeBar": False, "scrollZoom": True},
                        className="og-report-map",
                    ),
                    html.Div(
                        className="og-report-coords",
                        children=[
                            html.Div(
                                [
                                    i18n_text("report.lon", tag=html.Label),
                                    dcc.Input(id=ids.REPORT_LON, type="number", step="any"),
                                ]
                            ),
                            html.Div(
                                [
                                    i18n_text("report.lat", tag=html.Label),
                                    dcc.Input(id=ids.REPORT_LAT, type="number", step="any"),
                                ]
                            ),
                        ],
                    ),
                ],
            ),
            html.Section(
                className="og-report-block",
                children=[
                    i18n_text("report.category", tag=html.Label),
                    dcc.Dropdown(id=ids.REPORT_CATEGORY, clearable=False, searchable=False),
                    i18n_text("report.text", tag=html.Label),
                    dcc.Textarea(id=ids.REPORT_TEXT, className="og-report-text"),
                ],
            ),
            html.Section(
                className="og-report-block",
                children=[
                    i18n_text("report.photos", tag=html.Label),
                    dcc.Upload(
                        id=ids.REPORT_PHOTOS,
                        multiple=True,
                        accept="image/jpeg,image/png,image/webp",
                        className="og-report-upload",
                        children=i18n_text("report.photos.pick", tag=html.Span),
                    ),
                    html.P(id=ids.REPORT_PHOTO_NOTE, className="og-report-note"),
                ],
            ),
            html.Button(
                i18n_text("report.submit"),
                id=ids.REPORT_SUBMIT,
                n_clicks=0,
                className="og-report-submit",
            ),
            html.Div(id=ids.REPORT_MSG, role="status", className="og-report-msg"),
            html.Section(
                className="og-report-block",
                children=[
                    i18n_text("report.mine", tag=html.H3),
                    html.Div(id=ids.REPORT_MINE),
                ],
            ),
        ],
    )


layout = framed(page)
