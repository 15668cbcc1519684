"""The warnings analyst page (``/warnings``): the list with filters, a warning's evidence, the
events behind it, its history, and the acknowledge / clear actions. No SQL here."""

from __future__ import annotations

import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from layouts.i18n import DEFAULT_LANGUAGE, t
from layouts.shell import framed, i18n_text

LEVEL_NAMES = ("blue", "yellow", "orange", "red")
STATE_NAMES = ("raised", "acknowledged", "cleared")
LEVEL_COLOURS = {"blue": "#2f7bf5", "yellow": "#f5d90a", "orange": "#ff7e00", "red": "#ff2d2d"}
GRID_THEME = (
    "themeQuartz.withParams({backgroundColor: '#0b1526', foregroundColor: '#e6edf7', "
    "headerBackgroundColor: '#13223b', borderColor: '#22324d', accentColor: '#38bdf8', "
    "fontSize: 15, headerFontSize: 15, rowHeight: 32, headerHeight: 36})"
)


def level_options(lang: str) -> list[dict]:
    return [{"label": t(f"warn.level.{n}", lang), "value": n} for n in LEVEL_NAMES]


def state_options(lang: str) -> list[dict]:
    return [{"label": t(f"warn.state.{n}", lang), "value": n} for n in STATE_NAMES]


def list_columns(lang: str) -> list[dict]:
    """Column definitions of the warnings list (rows come from the callback)."""
    return [
        {"field": "id", "headerName": t("warn.col.id", lang), "width": 80},
        {
            "field": "level_label",
            "headerName": t("warn.col.level", lang),
            "width": 120,
            "cellClassRules": {
                f"og-warn-cell-{n}": f"params.data.level == '{n}'" for n in LEVEL_NAMES
            },
        },
        {"field": "rule_label", "headerName": t("warn.col.rule", lang), "flex": 2},
        {"field": "area_label", "headerName": t("warn.col.area", lang), "flex": 2},
        {"field": "subject", "headerName": t("warn.col.subject", lang), "width": 110},
        {"field": "state_label", "headerName": t("warn.col.state", lang), "width": 110},
        {"field": "value", "headerName": t("warn.col.value", lang), "width": 100},
        {"field": "raised_label", "headerName": t("warn.col.raised", lang), "width": 170},
        {"field": "escalated_label", "headerName": t("warn.col.escalated", lang), "width": 150},
    ]


def event_columns(lang: str) -> list[dict]:
    return [
        {"field": "time_label", "headerName": t("warn.col.time", lang), "width": 170},
        {"field": "source_label", "headerName": t("wall.col.source", lang), "width": 120},
        {"field": "category_label", "headerName": t("wall.col.category", lang), "width": 130},
        {"field": "value", "headerName": t("warn.col.value", lang), "width": 90},
        {"field": "cell", "headerName": t("warn.col.area", lang), "width": 150},
        {"field": "incident_id", "headerName": "#", "width": 70},
        {"field": "text", "headerName": t("wall.col.text", lang), "flex": 1},
    ]


def history_columns(lang: str) -> list[dict]:
    return [
        {"field": "time_label", "headerName": t("warn.col.time", lang), "width": 170},
        {"field": "action_label", "headerName": t("warn.col.action", lang), "width": 120},
        {"field": "level_label", "headerName": t("warn.col.level", lang), "width": 160},
        {"field": "actor", "headerName": t("warn.col.actor", lang), "width": 130},
        {"field": "note", "headerName": t("warn.col.note", lang), "flex": 1},
    ]


def _grid(id_, columns, height, selectable=False):
    options = {"theme": {"function": GRID_THEME}}
    if selectable:
        options["rowSelection"] = {
            "mode": "singleRow",
            "checkboxes": False,
            "enableClickSelection": True,
        }
    return dag.AgGrid(
        id=id_,
        className="og-warn-grid",
        columnDefs=columns,
        rowData=[],
        defaultColDef={"resizable": True, "sortable": True, "filter": True},
        dashGridOptions=options,
        getRowId="String(params.data.id)" if selectable else None,
        style={"height": height, "width": "100%"},
    )


def evidence_figure(series: dict | None, lang: str) -> go.Figure:
    """The warning's evidence: what the rule measured, point by point, against its limits or its
    baseline (the same hours of past weeks)."""
    fig = go.Figure()
    if series and series.get("times"):
        fig.add_bar(
            x=series["times"],
            y=series["values"],
            name=t("warn.series.value", lang),
            marker_color="#38bdf8",
        )
        if series.get("baseline"):
            fig.add_scatter(
                x=series["times"],
                y=series["baseline"],
                name=t("warn.series.baseline", lang),
                mode="lines",
                line={"color": "#e6edf7", "dash": "dot", "width": 2},
            )
        for name, value in (series.get("limits") or {}).items():
            fig.add_scatter(
                x=[series["times"][0], series["times"][-1]],
                y=[value, value],
                mode="lines",
                name=t("warn.series.limit", lang).format(level=t(f"warn.level.{name}", lang)),
                line={"color": LEVEL_COLOURS[name], "width": 2, "dash": "dash"},
            )
    fig.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        height=260,
        legend={"orientation": "h", "y": -0.2},
        font={"size": 13},
    )
    return fig


def page(lang: str = DEFAULT_LANGUAGE) -> html.Div:
    """The page body (inside the app frame)."""
    return html.Div(
        className="og-warn-page",
        children=[
            dcc.Store(id=ids.WARN_SELECTED, data=None),
            dcc.Store(id=ids.WARN_VERSION, data=0),
            html.Div(
                className="og-warn-head",
                children=[
                    i18n_text("warn.title", lang, tag=html.H2),
                    html.Div(id=ids.WARN_COUNTS, className="og-warn-counts"),
                    html.Button(
                        i18n_text("warn.evaluate", lang),
                        id=ids.WARN_EVALUATE,
                        n_clicks=0,
                        className="og-button",
                    ),
                ],
            ),
            html.Div(
                className="og-warn-filters",
                children=[
                    html.Label(
                        [
                            i18n_text("warn.filter.level", lang),
                            dcc.Dropdown(
                                id=ids.WARN_LEVELS, options=level_options(lang), multi=True
                            ),
                        ]
                    ),
                    html.Label(
                        [
                            i18n_text("warn.filter.rule", lang),
                            dcc.Dropdown(id=ids.WARN_RULES, options=[], multi=True),
                        ]
                    ),
                    html.Label(
                        [
                            i18n_text("warn.filter.state", lang),
                            dcc.Dropdown(
                                id=ids.WARN_STATES,
                                options=state_options(lang),
                                value=["raised", "acknowledged"],
                                multi=True,
                            ),
                        ]
                    ),
                    html.Label(
                        [
                            i18n_text("warn.filter.area", lang),
                            dcc.Input(
                                id=ids.WARN_AREA, type="text", debounce=True, className="og-input"
                            ),
                        ]
                    ),
                ],
            ),
            _grid(ids.WARN_GRID, list_columns(lang), "340px", selectable=True),
            html.Div(
                className="og-warn-detail",
                children=[
                    html.H3(t("warn.detail.empty", lang), id=ids.WARN_TITLE),
                    html.Div(id=ids.WARN_SUMMARY, className="og-warn-summary"),
                    html.Div(
                        className="og-warn-actions",
                        children=[
                            dcc.Input(
                                id=ids.WARN_COMMENT,
                                type="text",
                                className="og-input",
                                placeholder=t("warn.comment", lang),
                            ),
                            html.Button(
                                i18n_text("warn.ack", lang),
                                id=ids.WARN_ACK,
                                n_clicks=0,
                                className="og-button",
                                disabled=True,
                            ),
                            dcc.Input(
                                id=ids.WARN_REASON,
                                type="text",
                                className="og-input",
                                placeholder=t("warn.reason", lang),
                            ),
                            html.Button(
                                i18n_text("warn.clear", lang),
                                id=ids.WARN_CLEAR,
                                n_clicks=0,
                                className="og-button og-button-danger",
                                disabled=True,
                            ),
                            html.Button(
                                i18n_text("warn.dispatch", lang),
                                id=ids.WARN_DISPATCH,
                                n_clicks=0,
                                className="og-button",
                            ),
                            html.Span(id=ids.WARN_MESSAGE, className="og-warn-message"),
                        ],
                    ),
                    i18n_text("warn.detail.evidence", lang, tag=html.H4),
                    dcc.Graph(
                        id=ids.WARN_FIGURE,
                        figure=evidence_figure(None, lang),
                        config={"displayModeBar": False},
                    ),
                    i18n_text("warn.detail.events", lang, tag=html.H4),
                    _grid(ids.WARN_EVENTS, event_columns(lang), "260px"),
                    i18n_text("warn.detail.history", lang, tag=html.H4),
                    _grid(ids.WARN_HISTORY, history_columns(lang), "200px"),
                ],
            ),
        ],
    )


layout = framed(page)
