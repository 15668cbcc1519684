"""The grid worker's report page (``/report``), sized for a phone: category, description, and the
place by tapping the map or typing coordinates. The report enters through the ingest pipeline as
a 12345 event with ``attributes.channel = "grid_worker"`` and becomes a case."""

from __future__ import annotations

from dash import dcc, html

from layouts import ids
from layouts.shell import framed, i18n_text


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
