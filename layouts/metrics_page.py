"""Response metrics (page ``/metrics``) for any period: KPI tiles, the trend over the period,
rankings per department and per county with their trend against the period before, and one
department's detail. Every figure carries the indicator catalogue's definition as its hover
title. ``callbacks/metrics_page.py`` fills it from :func:`data.cases.desk.metrics_view`."""

from __future__ import annotations

import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME, category_name, department_name
from layouts.desk_period import FORMATS, export_href, export_links
from layouts.i18n import format_moment, t
from layouts.shell import framed, i18n_text

# the ranking's columns after rank and name; each one's header is ``metrics.<field>``
METRIC_FIELDS = (
    *("cases", "on_time", "trend", "overdue", "median_dispatch", "median_accept"),
    *("median_close", "rework_rate", "extension_rate", "returned", "reassigned"),
)
# a figure's hover definition: the indicator catalogue's words where it has the figure, else the
# page's own (metrics.def.<name>); all of them are docs/CASES.md's definitions
DEFINITIONS = {
    "on_time": "indicator.cases.on_time_rate.definition",
    "cases": "indicator.cases.opened.definition",
    "closed": "indicator.cases.closed.definition",
    "median_dispatch": "metrics.def.median_dispatch",
    "median_accept": "metrics.def.median_accept",
    "median_close": "indicator.cases.median_close_hours.definition",
    "open": "metrics.def.open",
    "overdue_end": "indicator.cases.overdue_at_end.definition",
    "overdue": "indicator.cases.overdue_open.definition",
    "reworked": "indicator.cases.reworked.definition",
    "returns": "indicator.cases.returns.definition",
    "rework_rate": "metrics.def.rework_rate",
    "extension_rate": "metrics.def.extension_rate",
    "returned": "indicator.cases.department_returns.definition",
    "reassigned": "metrics.def.reassigned",
    "trend": "metrics.def.trend",
}
# the tiles at the top, in order: (name, field of the summary, kind)
TILES = (
    ("on_time", "on_time_rate", "pct"),
    ("cases", "cases", "int"),
    ("closed", "closed", "int"),
    ("open", "open", "int"),
    ("overdue_end", "overdue_at_end", "int"),
    ("median_dispatch", "median_dispatch_h", "hours"),
    ("median_accept", "median_accept_h", "hours"),
    ("median_close", "median_close_h", "hours"),
    ("reworked", "reworked", "int"),
    ("returns", "returns_on_cases", "int"),
)
CHART_COLOURS = ("#38bdf8", "#f59e0b")  # cases opened, on-time rate
# the page's figures are read again this often: a period's figures move slowly, and a second's
# refresh of a dozen aggregate queries loads a shared store for nothing
REFRESH_MS = 60_000
# the rolling windows beside the picker: the last n local days up to the reading day
WINDOWS = (1, 7, 30, 90)


def _pct(v) -> str | None:
    return None if v is None or pd.isna(v) else f"{100 * v:.1f}%"


def _num(v, nd: int = 1):
    return None if v is None or pd.isna(v) else round(float(v), nd)


def _shown(v, kind: str) -> str:
    if kind == "pct":
        return _pct(v) or "–"
    if kind == "hours":
        n = _num(v)
        return "–" if n is None else f"{n:g}"
    return str(int(v or 0))


def definition(name: str, lang: str) -> str:
    """The hover definition of figure ``name`` in ``lang``."""
    return t(DEFINITIONS[name], lang)


def trend_text(delta) -> str | None:
    """A change of the on-time rate in percentage points as an arrow and the signed change."""
    if delta is None or pd.isna(delta):
        return None
    points = 100 * float(delta)
    arrow = "▲" if points > 0.05 else "▼" if points < -0.05 else "▬"
    return f"{arrow} {points:+.1f}"


def metric_rows(table: pd.DataFrame, key: str, label, lang: str) -> list[dict]:
    """A ranking's grid rows (``key``: ``department`` or ``county``; ``label(row)``: its name)."""
    rows = []
    for r in table.to_dict("records"):
        trend = r.get("trend")
        dept = key == "department"
        rows.append(
            {
                "rank": r["rank"],
                "name": label(r),
                "cases": int(r["cases"] or 0),
                "on_time": _pct(r["on_time_rate"]),
                "overdue": int(r["open_overdue"] or 0),
                "median_dispatch": _num(r["median_dispatch_h"]),
                "median_accept": _num(r["median_accept_h"]),
                "median_close": _num(r["median_close_h"]),
                "rework_rate": _pct(r["rework_rate"]),
                "extension_rate": _pct(r["extension_rate"]),
                "returned": int(r.get("returned", 0) or 0) if dept else None,
                "reassigned": int(r.get("reassigned_away", 0) or 0) if dept else None,
                "trend": trend_text(trend),
                "trend_value": None if trend is None or pd.isna(trend) else float(trend),
            }
        )
    return rows


def metric_columns(lang: str, key: str) -> list[dict]:
    """The ranking grid's column definitions for ranking by ``key`` in ``lang`` (each figure's
    definition as its header's hover text)."""
    name_key = "cases.department" if key == "department" else "metrics.county"
    fields = [
        f for f in METRIC_FIELDS if key == "department" or f not in ("returned", "reassigned")
    ]
    cols = [
        {"field": "rank", "headerName": t("metrics.rank", lang), "minWidth": 70, "maxWidth": 90},
        {"field": "name", "headerName": t(name_key, lang), "minWidth": 220},
    ]
    for f in fields:
        col = {
            "field": f,
            "headerName": t(f"metrics.{f}", lang),
            "headerTooltip": definition(f, lang),
            "minWidth": 90,
        }
        if f == "trend":
            col["cellClassRules"] = {
                "og-mx-up": "params.data.trend_value > 0.0005",
                "og-mx-down": "params.data.trend_value < -0.0005",
            }
        cols.append(col)
    return cols


def _tile(name: str, value: str, lang: str, prefix: str) -> html.Div:
    return html.Div(
        className="og-mx-tile",
        title=definition(name, lang),
        children=[
            html.Span(t(f"metrics.{name}", lang), className="og-mx-tile-label"),
            html.B(value, id=f"{prefix}{name}", className="og-mx-tile-value"),
        ],
    )


def tiles(view: dict, lang: str, prefix: str = ids.METRICS_TILE_PREFIX) -> list[html.Div]:
    """The KPI tiles of ``view`` (:func:`data.cases.desk.metrics_view` or ``department_view``):
    each with its definition as the hover title."""
    figures = dict(view["summary"]) | {"overdue_at_end": view["overdue_at_end"]}
    return [_tile(name, _shown(figures.get(f), kind), lang, prefix) for name, f, kind in TILES]


def head(view: dict, lang: str, timezone: str) -> html.Div:
    """The tiles, the line saying when the figures are read, and the effect line."""
    effect = view["effect"]
    if effect["cases"]:
        line = t("metrics.effect", lang).format(
            **{k: effect[k] for k in ("after", "before", "cases")}
        )
    else:
        line = t("metrics.effect.none", lang)
    read = t("metrics.read_at", lang).format(
        end=format_moment(view["end"], timezone, lang),
        reading=format_moment(view["reading"], timezone, lang),
    )
    return html.Div(
        [
            html.Div(className="og-mx-tiles", children=tiles(view, lang)),
            html.P(
                [html.Span(read, title=t("metrics.def.reading", lang)), " · ", line],
                className="og-mx-note",
            ),
        ]
    )


def trend_figure(trend: pd.DataFrame, unit: str, lang: str) -> go.Figure:
    """Cases opened (bars) and the on-time rate (line, right axis) per local day or week."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = pd.to_datetime(trend["bucket"]) if len(trend) else []
    rate = (100 * trend["on_time_rate"]).round(1) if len(trend) else []
    fig.add_bar(
        x=x,
        y=trend["cases"] if len(trend) else [],
        name=f"{t('metrics.cases', lang)} ({t(f'metrics.per_{unit}', lang)})",
        marker_color=CHART_COLOURS[0],
        opacity=0.75,
    )
    fig.add_scatter(
        x=x,
        y=rate,
        name=t("metrics.on_time", lang) + " %",
        mode="lines+markers",
        line={"color": CHART_COLOURS[1], "width": 2},
        secondary_y=True,
    )
    fig.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 48, "r": 48, "t": 30, "b": 36},
        height=280,
        legend={"orientation": "h", "y": 1.12, "x": 0},
        font={"color": "#e6edf7", "size": 13},
        bargap=0.2,
    )
    fig.update_yaxes(title_text=t("metrics.cases", lang), secondary_y=False, gridcolor="#1c2b45")
    fig.update_yaxes(range=[0, 105], dtick=25, secondary_y=True, showgrid=False, ticksuffix="%")
    fig.update_xaxes(gridcolor="#1c2b45")
    return fig


def rankings(view: dict, lang: str) -> dict:
    """Both rankings' rows and columns and the detail dropdown's departments, for ``view``
    (from :func:`data.cases.desk.metrics_view`)."""
    names = view["names"]
    dept, county = view["departments"], view["counties"]

    def dept_name(r: dict) -> str:
        return department_name(names, r["department"], lang)

    def county_name(r: dict) -> str:
        return r["name_en"] if lang == "en" else r["name_zh"]

    departments = dept["department"].dropna()
    return {
        "dept_rows": metric_rows(dept, "department", dept_name, lang),
        "dept_columns": metric_columns(lang, "department"),
        "county_rows": metric_rows(county, "county", county_name, lang),
        "county_columns": metric_columns(lang, "county"),
        "options": [{"label": department_name(names, d, lang), "value": d} for d in departments],
    }


OVERDUE_FIELDS = ("id", "title", "county", "deadline", "overdue_h")


def overdue_rows(detail: dict, lang: str, timezone: str) -> list[dict]:
    """The department's cases open past their deadline at the period's end."""
    return [
        {
            "id": int(r["id"]),
            "title": r["title"] or category_name(r["category"], lang),
            "county": r["county_en"] if lang == "en" else r["county_zh"],
            "deadline": format_moment(r["deadline_at"], timezone, lang),
            "overdue_h": _num(r["overdue_h"]),
        }
        for r in detail["overdue"].to_dict("records")
    ]


def overdue_columns(lang: str) -> list[dict]:
    """The overdue list's column definitions in ``lang``."""
    return [{"field": f, "headerName": t(f"metrics.overdue_col.{f}", lang)} for f in OVERDUE_FIELDS]


def department_detail(detail: dict, lang: str) -> html.Div:
    """One department's tiles (from :func:`data.cases.desk.department_view`) and its on-time
    rate against the period before."""
    name = detail["name"]["en" if lang == "en" else "zh"]
    now, before = detail["summary"]["on_time_rate"], detail["previous"]["on_time_rate"]
    delta = None if now is None or before is None else now - before
    change = t("metrics.detail_trend", lang).format(
        now=_pct(now) or "–", before=_pct(before) or "–", trend=trend_text(delta) or "–"
    )
    return html.Div(
        [
            html.H4(name, className="og-mx-detail-name"),
            html.Div(
                className="og-mx-tiles og-mx-tiles-small",
                children=tiles(detail, lang, prefix=ids.METRICS_DEPT_TILE_PREFIX),
            ),
            html.P(change, title=definition("trend", lang), className="og-mx-note"),
        ]
    )


def _grid(grid_id: str, height: int | None = None) -> dag.AgGrid:
    """A grid in the desk's theme; without ``height`` it grows with its rows (a ranking holds
    a few dozen at most)."""
    options = {"theme": {"function": OFFICE_GRID_THEME}, "tooltipShowDelay": 200}
    if height is None:
        options["domLayout"] = "autoHeight"
    return dag.AgGrid(
        id=grid_id,
        rowData=[],
        columnDefs=[],
        dashGridOptions=options,
        columnSize="responsiveSizeToFit",
        style={"width": "100%"} if height is None else {"height": f"{height}px", "width": "100%"},
    )


def _graph(graph_id: str) -> dcc.Graph:
    return dcc.Graph(id=graph_id, config={"displayModeBar": False}, style={"height": "280px"})


def _panel(title_key: str, *children, place: str = "") -> html.Section:
    return html.Section(
        className="og-mx-panel",
        children=[i18n_text(title_key, tag=html.H3, place=place), *children],
    )


def _exports(csv_id: str, xlsx_id: str, place: str) -> html.Div:
    return html.Div(export_links(csv_id, xlsx_id, place=place), className="og-mx-exports")


def export_hrefs(table: str, period: dict, lang: str, department: str | None = None) -> list:
    """The CSV and Excel addresses of one of the page's tables (``departments``, ``counties``,
    ``department``) for the page's ``period`` (its store: ``since``/``until`` in UTC)."""
    params = {"since": period.get("since"), "until": period.get("until"), "lang": lang}
    params["department"] = department
    return [export_href(f"/api/metrics/{table}", fmt, params) for fmt in FORMATS]


def page() -> html.Div:
    return html.Div(
        className="og-mx",
        children=[
            dcc.Store(id=ids.METRICS_PERIOD),
            dcc.Store(id=ids.METRICS_URL_SINK),
            dcc.Interval(id=ids.METRICS_REFRESH, interval=REFRESH_MS, n_intervals=0),
            html.Div(
                className="og-mx-head",
                children=[
                    i18n_text("metrics.title", tag=html.H2),
                    html.Label(
                        className="og-mx-period",
                        children=[
                            i18n_text("metrics.period", className="og-mx-label"),
                            dcc.DatePickerRange(
                                id=ids.METRICS_PERIOD_PICKER,
                                display_format="YYYY-MM-DD",
                                first_day_of_week=1,
                            ),
                        ],
                    ),
                    html.Div(
                        className="og-mx-windows",
                        children=[
                            html.Button(
                                i18n_text(f"metrics.window.{n}"),
                                id={"type": ids.METRICS_WINDOW, "days": n},
                                className="og-mx-btn",
                            )
                            for n in WINDOWS
                        ],
                    ),
                    html.Span(id=ids.METRICS_MSG, className="og-mx-msg"),
                ],
            ),
            html.Div(id=ids.METRICS_HEAD, className="og-mx-headline"),
            _panel("metrics.trend_title", _graph(ids.METRICS_TREND)),
            html.Div(
                className="og-mx-rankings",
                children=[
                    _panel(
                        "metrics.by_department",
                        _exports(ids.METRICS_DEPT_CSV, ids.METRICS_DEPT_XLSX, "dept"),
                        _grid(ids.METRICS_DEPT_GRID),
                    ),
                    _panel(
                        "metrics.by_county",
                        _exports(ids.METRICS_COUNTY_CSV, ids.METRICS_COUNTY_XLSX, "county"),
                        _grid(ids.METRICS_COUNTY_GRID),
                    ),
                ],
            ),
            _panel(
                "metrics.detail",
                dcc.Dropdown(id=ids.METRICS_DETAIL_DEPT, className="og-mx-dept"),
                html.Div(id=ids.METRICS_DETAIL),
                html.Div(
                    className="og-mx-detail-body",
                    children=[
                        _graph(ids.METRICS_DETAIL_TREND),
                        html.Div(
                            [
                                i18n_text("metrics.overdue_list", tag=html.H4),
                                _exports(ids.METRICS_DETAIL_CSV, ids.METRICS_DETAIL_XLSX, "detail"),
                                _grid(ids.METRICS_DETAIL_GRID, height=260),
                            ]
                        ),
                    ],
                ),
            ),
        ],
    )


layout = framed(page)


def picker_days(since, until, timezone: str) -> tuple[str, str]:
    """The date picker's first and last day (local) of the period ``[since, until)``: the last
    day is the one holding the moment just before ``until``."""
    first = pd.Timestamp(since).tz_convert(timezone).date()
    last = (pd.Timestamp(until) - pd.Timedelta(microseconds=1)).tz_convert(timezone).date()
    return str(first), str(last)  # the date picker's own value format, not a display
