"""Response metrics (page ``/metrics``): rankings per department and per county with trend, a
department's detail, the effect check, and the wall's response panel."""

from __future__ import annotations

import dash_ag_grid as dag
import pandas as pd
from dash import dcc, html

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME, category_name, department_name
from layouts.i18n import format_moment, t
from layouts.shell import framed, i18n_text

# the ranking's columns after rank and name; each one's header is ``metrics.<field>``
METRIC_FIELDS = (
    *("cases", "on_time", "overdue", "median_dispatch", "median_accept", "median_close"),
    *("rework_rate", "extension_rate", "returned", "reassigned", "trend"),
)


def _pct(v) -> str | None:
    return None if v is None or pd.isna(v) else f"{100 * v:.1f}%"


def _num(v, nd: int = 1):
    return None if v is None or pd.isna(v) else round(float(v), nd)


def metric_rows(table: pd.DataFrame, key: str, label, lang: str) -> list[dict]:
    """A ranking's grid rows (``key``: ``department`` or ``county``; ``label(row)``: its name)."""
    rows = []
    for r in table.to_dict("records"):
        trend = r.get("trend")
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
                "returned": int(r.get("returned", 0) or 0) if key == "department" else None,
                "reassigned": int(r.get("reassigned_away", 0) or 0)
                if key == "department"
                else None,
                "trend": None if trend is None or pd.isna(trend) else f"{100 * trend:+.1f}",
            }
        )
    return rows


def metric_columns(lang: str, key: str) -> list[dict]:
    """The ranking grid's column definitions for ranking by ``key`` in ``lang``."""
    name_key = "cases.department" if key == "department" else "metrics.county"
    names = {"rank": "metrics.rank", "name": name_key}
    names |= {f: f"metrics.{f}" for f in METRIC_FIELDS}
    if key != "department":
        names.pop("returned")
        names.pop("reassigned")
    return [{"field": f, "headerName": t(k, lang)} for f, k in names.items()]


def head_tiles(summary: dict, effect: dict, lang: str) -> html.Div:
    """The figures at the top of the page and the effect line."""
    tiles = [
        html.Div([html.Span(t(k, lang)), html.B(v, id=f"metric-{k.split('.')[-1]}")])
        for k, v in (
            ("metrics.on_time", _pct(summary["on_time_rate"]) or "–"),
            ("metrics.cases", str(summary["cases"])),
            ("metrics.closed", str(summary["closed"])),
            ("metrics.overdue", str(summary["open_overdue"])),
            ("metrics.median_close", str(_num(summary["median_close_h"]) or "–")),
            ("metrics.rework_rate", _pct(summary["rework_rate"]) or "–"),
        )
    ]
    if effect["cases"]:
        line = t("metrics.effect", lang).format(
            **{k: effect[k] for k in ("after", "before", "cases")}
        )
    else:
        line = t("metrics.effect.none", lang)
    return html.Div(className="og-metric-tiles", children=[*tiles, html.P(line)])


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


def department_detail(detail: dict, lang: str, timezone: str) -> html.Div:
    """One department's figures, weekly on-time rates and open cases (from
    :func:`data.cases.metrics.department_detail`)."""
    s, weekly = detail["summary"], detail["weekly"]
    on_time = f"{t('metrics.on_time', lang)}: {_pct(s['on_time_rate']) or '–'}"
    cases = f"{t('metrics.cases', lang)}: {s['cases']}"
    overdue = f"{t('metrics.overdue', lang)}: {s['open_overdue']}"
    weeks = zip(weekly["week"], weekly["on_time_rate"], strict=True)
    week_lines = [f"{format_moment(w, timezone, lang, 'date')}: {_pct(r) or '–'}" for w, r in weeks]

    def open_line(r: dict) -> str:
        name = r["title"] or category_name(r["category"], lang)
        return f"#{r['id']} {name} · {t('case.state.' + r['state'], lang)}"

    open_lines = [open_line(r) for r in detail["open"].head(20).to_dict("records")]
    return html.Div(
        [
            html.P(f"{on_time} · {cases} · {overdue}"),
            html.Ul([html.Li(x) for x in week_lines]),
            html.Ul([html.Li(x) for x in open_lines]),
        ]
    )


def _grid(grid_id: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        rowData=[],
        columnDefs=[],
        dashGridOptions={"theme": {"function": OFFICE_GRID_THEME}},
        columnSize="responsiveSizeToFit",
        style={"height": "300px", "width": "100%"},
    )


def page() -> html.Div:
    return html.Div(
        className="og-metrics",
        children=[
            html.Div(id=ids.METRICS_HEAD, className="og-metrics-head"),
            html.Div(id=ids.METRICS_RESPONSE),
            i18n_text("metrics.by_department", tag=html.H3),
            _grid(ids.METRICS_DEPT_GRID),
            i18n_text("metrics.by_county", tag=html.H3),
            _grid(ids.METRICS_COUNTY_GRID),
            i18n_text("metrics.detail", tag=html.H3),
            dcc.Dropdown(id=ids.METRICS_DETAIL_DEPT, style={"maxWidth": "420px"}),
            html.Div(id=ids.METRICS_DETAIL),
        ],
    )


layout = framed(page)
