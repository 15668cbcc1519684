"""The figures builder (page ``/figures``, "qushu"): pick indicators, areas and a period (and a
comparison period), run, read the table and the chart, export CSV, Excel or Word; keep requests
and run them again for the next period. ``callbacks/figures_page.py`` fills it."""

from __future__ import annotations

import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME
from layouts.figures_table import COMPARE_FIELDS, FIELDS, display_rows, indicator_name
from layouts.i18n import DEFAULT_LANGUAGE, area_name, format_moment, t
from layouts.shell import framed, i18n_text

COMPARE_CHOICES = ("none", "previous", "same_last_year", "custom")
NUMERIC = ("value", "compare_value", "change", "change_pct")
CHART_MAX_INDICATORS = 6  # one panel per indicator; more make a chart nobody reads
CHART_COLOURS = ("#38bdf8", "#64748b")  # this period, the comparison period
PANEL_HEIGHT = 260
# the grid's narrowest columns (px): names need room, numbers less
MIN_WIDTH = {"indicator": 170, "unit": 70, "area": 120, "level": 135, "member": 120, "code": 100}


def indicator_options(items: list[dict], lang: str) -> list[dict]:
    """The indicators grouped by domain: "<domain> · <name>" (from data.figures'
    indicator_choices, already in domain order)."""
    return [
        {
            "label": f"{t('figures.domain.' + i['domain'], lang)} · {indicator_name(i['id'], lang)}",
            "value": i["id"],
        }
        for i in items
    ]


def compare_options(lang: str) -> list[dict]:
    """The comparison choices in ``lang``."""
    return [{"label": t(f"figures.compare.{c}", lang), "value": c} for c in COMPARE_CHOICES]


def area_options(areas: pd.DataFrame, lang: str) -> list[dict]:
    """Areas as "<level> · <name> (<code>)"."""
    return [
        {
            "label": f"{t('level.' + r['level'], lang)} · {area_name(r, lang)} ({r['code']})",
            "value": r["code"],
        }
        for r in areas.to_dict("records")
    ]


def _day(text: str | None, timezone: str, *, last: bool = False) -> str | None:
    """A request bound as the date picker shows it; ``last``: an exclusive end as the last day
    included (a bare date's day before; a time's own local day)."""
    if not text:
        return None
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    if len(text) == 10:
        return str((ts - pd.Timedelta(days=1 if last else 0)).date())
    local = ts.tz_convert(timezone) if ts.tzinfo else ts
    if last:
        local -= pd.Timedelta(microseconds=1)
    return str(local.date())  # the date picker's own value format, not a display


def form_values(request: dict, timezone: str) -> tuple:
    """The form's values for ``request`` (a request as a dict): the dropdowns' choices
    (indicators, areas, compare: set with their options), the period's first and last day, the
    comparison's first and last day."""
    chosen = {
        "indicators": list(request.get("indicators") or []),
        "areas": list(request.get("areas") or []),
        "compare": request.get("compare") or "none",
    }
    return (
        chosen,
        _day(request.get("since"), timezone),
        _day(request.get("until"), timezone, last=True),
        _day(request.get("compare_since"), timezone),
        _day(request.get("compare_until"), timezone, last=True),
    )


def saved_options(saved: pd.DataFrame, me: str, lang: str, timezone: str) -> list[dict]:
    """The saved requests: name, the day it was saved, and its owner when not ``me``."""
    out = []
    for r in saved.to_dict("records"):
        day = format_moment(r["created_at"], timezone, lang, "date")
        who = "" if r["owner"] == me else f" · {r['owner']}"
        out.append({"label": f"{r['name']} ({day}){who}", "value": int(r["id"])})
    return out


def columns(compared: bool, lang: str) -> list[dict]:
    """The grid's column definitions (the comparison's three only with a comparison)."""
    cols = []
    for f in FIELDS:
        if f in COMPARE_FIELDS and not compared:
            continue
        col = {
            "field": f,
            "headerName": t(f"figures.col.{f}", lang),
            "minWidth": MIN_WIDTH.get(f, 90),
        }
        if f in NUMERIC:
            col |= {"type": "rightAligned", "filter": "agNumberColumnFilter"}
        if f in ("change", "change_pct"):
            col["cellClassRules"] = {
                "og-fig-up": "params.value > 0",
                "og-fig-down": "params.value < 0",
            }
        cols.append(col)
    return cols


def table(tab: pd.DataFrame, names: dict, lang: str) -> list[dict]:
    """The grid's rows (``tab``: data.figures' table)."""
    return display_rows(tab, names, lang)


def chart(tab: pd.DataFrame, names: dict, compared: bool, lang: str) -> go.Figure:
    """One bar panel per indicator (at most :data:`CHART_MAX_INDICATORS`): bars grouped by area
    (under a dimension, each area's members side by side beneath its name), this period and,
    beside it, the comparison period."""
    rows = pd.DataFrame(display_rows(tab, names, lang))
    if not len(rows):
        return _empty(lang)
    rows["ind"] = tab["indicator"].to_numpy()
    inds = list(dict.fromkeys(rows["ind"]))[:CHART_MAX_INDICATORS]
    titles = [
        f"{indicator_name(i, lang)} ({rows.loc[rows.ind == i, 'unit'].iloc[0]})" for i in inds
    ]
    fig = make_subplots(
        rows=len(inds),
        cols=1,
        subplot_titles=titles,
        vertical_spacing=min(0.3, 0.5 / len(inds)),
    )
    series = [("value", 0)] + ([("compare_value", 1)] if compared else [])
    for n, ind in enumerate(inds, start=1):
        part = rows[rows.ind == ind]
        # a dimension: two-level categories (area, member), so members sit under their area
        x = [part["area"], part["member"]] if part["member"].any() else part["area"]
        for field, colour in series:
            fig.add_bar(
                x=x,
                y=part[field],
                name=t(f"figures.col.{field}", lang),
                marker_color=CHART_COLOURS[colour],
                legendgroup=field,
                showlegend=n == 1,
                row=n,
                col=1,
            )
    fig.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        barmode="group",
        height=max(340, PANEL_HEIGHT * len(inds) + 80),
        margin={"l": 50, "r": 16, "t": 56, "b": 40},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        font={"size": 13},
    )
    fig.update_annotations(font_size=14, xanchor="left", x=0)
    return fig


def _empty(lang: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        height=320,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": t("figures.chart.empty", lang),
                "showarrow": False,
                "font": {"size": 16, "color": "#8ea3c2"},
            }
        ],
    )
    return fig


def empty_chart(lang: str) -> go.Figure:
    """The chart before a request is run (or after a refusal)."""
    return _empty(lang)


def _field(key: str, control, *, wide: bool = False) -> html.Label:
    return html.Label(
        [i18n_text(key, tag=html.Span, className="og-fig-label"), control],
        className="og-fig-field og-fig-wide" if wide else "og-fig-field",
    )


def _button(key: str, cid: str, *, primary: bool = False) -> html.Button:
    return html.Button(
        i18n_text(key),
        id=cid,
        n_clicks=0,
        className="og-fig-btn og-fig-primary" if primary else "og-fig-btn",
    )


def page() -> html.Div:
    """The builder: the request form on top, the table and the chart beside each other below,
    the exports and the saved requests in the bar between them."""
    date_kw = {"display_format": "YYYY-MM-DD", "first_day_of_week": 1, "clearable": False}
    return html.Div(
        className="og-figures",
        children=[
            dcc.Store(id=ids.FIG_REQUEST),
            dcc.Store(id=ids.FIG_FORM),
            dcc.Store(id=ids.FIG_QUERY),
            dcc.Store(id=ids.FIG_URL_SYNC),
            dcc.Store(id=ids.FIG_SAVED_VERSION, data=0),
            dcc.Download(id=ids.FIG_DOWNLOAD),
            html.Div(
                className="og-fig-head",
                children=[
                    i18n_text("figures.title", tag=html.H2),
                    i18n_text("figures.lead", tag=html.P, className="og-fig-lead"),
                ],
            ),
            html.Section(
                className="og-fig-form",
                children=[
                    _field(
                        "figures.indicators",
                        dcc.Dropdown(id=ids.FIG_INDICATORS, multi=True, options=[]),
                        wide=True,
                    ),
                    _field(
                        "figures.areas",
                        dcc.Dropdown(id=ids.FIG_AREAS, multi=True, options=[]),
                        wide=True,
                    ),
                    _field("figures.period", dcc.DatePickerRange(id=ids.FIG_PERIOD, **date_kw)),
                    _field(
                        "figures.compare",
                        dcc.Dropdown(id=ids.FIG_COMPARE, options=[], clearable=False),
                    ),
                    _field(
                        "figures.compare_period",
                        dcc.DatePickerRange(id=ids.FIG_COMPARE_PERIOD, **date_kw),
                    ),
                    html.Div(
                        className="og-fig-run",
                        children=[_button("figures.run", ids.FIG_RUN, primary=True)],
                    ),
                ],
            ),
            html.Section(
                className="og-fig-bar",
                children=[
                    html.Div(
                        className="og-fig-group",
                        children=[
                            i18n_text("figures.export", className="og-fig-label"),
                            _button("figures.export.csv", ids.FIG_EXPORT_CSV),
                            _button("figures.export.xlsx", ids.FIG_EXPORT_XLSX),
                            _button("figures.export.docx", ids.FIG_EXPORT_DOCX),
                        ],
                    ),
                    html.Div(
                        className="og-fig-group",
                        children=[
                            i18n_text("figures.save_name", className="og-fig-label"),
                            dcc.Input(
                                id=ids.FIG_SAVE_NAME,
                                type="text",
                                maxLength=80,
                                className="og-fig-input",
                            ),
                            _button("figures.save", ids.FIG_SAVE),
                        ],
                    ),
                    html.Div(
                        className="og-fig-group og-fig-saved",
                        children=[
                            i18n_text("figures.saved", className="og-fig-label"),
                            dcc.Dropdown(id=ids.FIG_SAVED, options=[], className="og-fig-saved-dd"),
                            _button("figures.saved.run", ids.FIG_SAVED_RUN),
                            _button("figures.saved.next", ids.FIG_SAVED_NEXT),
                            _button("figures.saved.delete", ids.FIG_SAVED_DELETE),
                        ],
                    ),
                ],
            ),
            html.Div(id=ids.FIG_MSG, className="og-fig-msg", role="status"),
            dcc.Loading(
                type="circle",
                color="#38bdf8",
                delay_show=400,  # a large request takes seconds: say it is being answered
                children=html.Section(
                    className="og-fig-result",
                    children=[
                        dag.AgGrid(
                            id=ids.FIG_GRID,
                            rowData=[],
                            columnDefs=[],
                            dashGridOptions={
                                "theme": {"function": OFFICE_GRID_THEME},
                                "enableCellTextSelection": True,
                            },
                            defaultColDef={"sortable": True, "resizable": True, "filter": True},
                            columnSize="responsiveSizeToFit",
                            className="og-fig-grid",
                            # the grid's own default is 400 px; assets/figures.css has the laptop's
                            style={"height": "calc(100vh - 370px)", "minHeight": "360px"},
                        ),
                        html.Div(
                            className="og-fig-chart",
                            children=dcc.Graph(
                                id=ids.FIG_CHART,
                                config={"displaylogo": False},
                                figure=empty_chart(DEFAULT_LANGUAGE),
                            ),
                        ),
                    ],
                ),
            ),
        ],
    )


layout = framed(page)
