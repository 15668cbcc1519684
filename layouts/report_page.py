"""The grid worker's report page (``/report``), sized for a phone: category, description, and the
place by tapping the map or typing coordinates. The report enters through the ingest pipeline as
a 12345 event with ``attributes.channel = "grid_worker"`` and becomes a case."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from layouts.figures import BACKGROUND, fit_view, offline_style
from layouts.shell import framed, i18n_text


def report_map(
    cells: pd.DataFrame, tile_url: str | None = None, picked: tuple[float, float] | None = None
) -> go.Figure:
    """The grid cells to tap and the picked point (offline style: nothing fetched from outside
    unless an intranet ``tile_url`` is configured)."""
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
        map={"style": offline_style(tile_url=tile_url), "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=BACKGROUND,
        uirevision="report",
        showlegend=False,
        clickmode="event",
    )
    return fig


def page() -> html.Div:
    return html.Div(
        className="og-report",
        style={"maxWidth": "480px", "margin": "0 auto"},
        children=[
            i18n_text("report.title", tag=html.H2),
            i18n_text("report.category", tag=html.Label),
            dcc.Dropdown(id=ids.REPORT_CATEGORY, clearable=False),
            i18n_text("report.text", tag=html.Label),
            dcc.Textarea(id=ids.REPORT_TEXT, style={"width": "100%", "height": "90px"}),
            i18n_text("report.map", tag=html.Label),
            dcc.Graph(
                id=ids.REPORT_MAP,
                config={"displayModeBar": False, "scrollZoom": True},
                style={"height": "320px"},
            ),
            html.Div(
                style={"display": "flex", "gap": "8px"},
                children=[
                    html.Div(
                        [
                            i18n_text("report.lon", tag=html.Label),
                            dcc.Input(id=ids.REPORT_LON, type="number", style={"width": "100%"}),
                        ]
                    ),
                    html.Div(
                        [
                            i18n_text("report.lat", tag=html.Label),
                            dcc.Input(id=ids.REPORT_LAT, type="number", style={"width": "100%"}),
                        ]
                    ),
                ],
            ),
            html.Button(
                i18n_text("report.submit"),
                id=ids.REPORT_SUBMIT,
                n_clicks=0,
                style={"width": "100%", "height": "48px", "marginTop": "12px"},
            ),
            html.Div(id=ids.REPORT_MSG, role="status"),
        ],
    )


layout = framed(page)
