"""The wall's response panel: on-time gauge, overdue cases per county, the worst overdue cases.

``response_panel(metrics, lang)`` takes the dict of :func:`data.cases.metrics.wall` (the data
function: ``metrics.wall(db, scope, now=now)``) and builds the component tree.
"""

from __future__ import annotations

import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from layouts.figures import BACKGROUND
from layouts.i18n import area_name, normalise_language, t


def gauge_figure(rate: float | None, lang: str) -> go.Figure:
    """A 0-100 % gauge of the on-time closure rate (red below 70 %, amber below 90 %)."""
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=None if rate is None else round(100 * rate, 1),
            number={"suffix": "%", "font": {"size": 40}},
            title={"text": t("response.gauge", lang), "font": {"size": 18}},
            gauge={
                "axis": {"range": [0, 100]},
                "bar": {"color": "#38bdf8"},
                "steps": [
                    {"range": [0, 70], "color": "#5c1d22"},
                    {"range": [70, 90], "color": "#5a4514"},
                    {"range": [90, 100], "color": "#123d2e"},
                ],
            },
        )
    )
    fig.update_layout(
        margin={"l": 20, "r": 20, "t": 50, "b": 10},
        height=165,
        paper_bgcolor=BACKGROUND,
        font={"color": "#e2e8f0"},
    )
    return fig


def overdue_figure(overdue, lang: str) -> go.Figure:
    names = [area_name(r, lang) for r in overdue.to_dict("records")] if len(overdue) else []
    fig = go.Figure(
        go.Bar(
            x=overdue["overdue"].tolist() if len(overdue) else [],
            y=names,
            orientation="h",
            marker={"color": "#f78c3a"},
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": t("response.overdue_by_county", lang), "font": {"size": 16}},
        margin={"l": 10, "r": 10, "t": 40, "b": 20},
        height=40 + 18 * max(len(names), 1),
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        font={"color": "#e2e8f0"},
        yaxis={"autorange": "reversed"},
    )
    return fig


def response_panel(metrics: dict, lang: str | None = None) -> html.Div:
    """The panel for ``metrics`` (from :func:`data.cases.metrics.wall`) in ``lang``."""
    lang = normalise_language(lang)
    worst = metrics["worst"]
    items = [
        html.Li(
            [
                html.Span(f"#{r['id']} ", className="og-case-id"),
                html.Span(r["title"] or r["category"]),
                html.Span(
                    " · " + (r["county_en"] if lang == "en" else r["county_zh"] or "")
                    if r.get("county_zh")
                    else ""
                ),
                html.Span(
                    " · " + t("response.hours", lang).format(h=round(r["overdue_h"])),
                    className="og-overdue",
                ),
            ]
        )
        for r in worst.to_dict("records")
    ]
    return html.Div(
        className="og-response",
        children=[
            dcc.Graph(
                id=ids.RESPONSE_GAUGE,
                figure=gauge_figure(metrics["on_time_rate"], lang),
                config={"displayModeBar": False},
            ),
            dcc.Graph(
                figure=overdue_figure(metrics["overdue_by_county"], lang),
                config={"displayModeBar": False},
            ),
            html.H4(t("response.worst", lang)),
            html.Ul(items) if items else html.P(t("response.none", lang)),
        ],
    )
