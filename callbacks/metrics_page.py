"""Callbacks of the response metrics page (``/metrics``): thin functions between
``data.cases.metrics`` and the layouts. Every query runs inside the signed-in user's scope."""

from __future__ import annotations

import pandas as pd
from dash import Input, Output, html

from callbacks.cases_page import category_name
from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data.cases import metrics
from data.times import utc_now as _now
from layouts import ids
from layouts.i18n import normalise_language, t
from layouts.response_panel import response_panel

_wiring = Wiring(page="metrics")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


def _pct(v) -> str | None:
    return None if v is None or pd.isna(v) else f"{100 * v:.1f}%"


def _num(v, nd: int = 1):
    return None if v is None or pd.isna(v) else round(float(v), nd)


def metric_rows(table: pd.DataFrame, key: str, label, lang: str) -> list[dict]:
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


# the ranking's columns after rank and name; each one's header is ``metrics.<field>``
METRIC_FIELDS = (
    *("cases", "on_time", "overdue", "median_dispatch", "median_accept", "median_close"),
    *("rework_rate", "extension_rate", "returned", "reassigned", "trend"),
)


def metric_columns(lang: str, key: str) -> list[dict]:
    """The ranking grid's column definitions for ranking by ``key`` in ``lang``."""
    name_key = "cases.department" if key == "department" else "metrics.county"
    names = {"rank": "metrics.rank", "name": name_key}
    names |= {f: f"metrics.{f}" for f in METRIC_FIELDS}
    if key != "department":
        names.pop("returned")
        names.pop("reassigned")
    return [{"field": f, "headerName": t(k, lang)} for f, k in names.items()]


@callback(
    Output(ids.METRICS_HEAD, "children"),
    Output(ids.METRICS_RESPONSE, "children"),
    Output(ids.METRICS_DEPT_GRID, "rowData"),
    Output(ids.METRICS_DEPT_GRID, "columnDefs"),
    Output(ids.METRICS_COUNTY_GRID, "rowData"),
    Output(ids.METRICS_COUNTY_GRID, "columnDefs"),
    Output(ids.METRICS_DETAIL_DEPT, "options"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LANG, "data"),
)
def refresh_metrics(_n, lang):
    lang = normalise_language(lang)
    rt = _rt()
    scope, now = _scope(), _now()
    rules = rt.cases.rules
    head = metrics.summary(rt.db, scope, now=now)
    eff = metrics.effect(rt.db, scope, now=now)
    tiles = html.Div(
        className="og-metric-tiles",
        children=[
            html.Div([html.Span(t(k, lang)), html.B(v, id=f"metric-{k.split('.')[-1]}")])
            for k, v in (
                ("metrics.on_time", _pct(head["on_time_rate"]) or "–"),
                ("metrics.cases", str(head["cases"])),
                ("metrics.closed", str(head["closed"])),
                ("metrics.overdue", str(head["open_overdue"])),
                ("metrics.median_close", str(_num(head["median_close_h"]) or "–")),
                ("metrics.rework_rate", _pct(head["rework_rate"]) or "–"),
            )
        ]
        + [
            html.P(
                t("metrics.effect", lang).format(
                    **{k: eff[k] for k in ("after", "before", "cases")}
                )
                if eff["cases"]
                else t("metrics.effect.none", lang)
            )
        ],
    )
    panel = response_panel(metrics.wall(rt.db, scope, now=now), lang)
    dept = metrics.ranking(rt.db, scope, by="department", now=now, timezone=rt.timezone)
    county = metrics.ranking(rt.db, scope, by="county", now=now, timezone=rt.timezone)

    def dept_name(r: dict) -> str:
        return rules.department_name(r["department"], lang)

    def county_name(r: dict) -> str:
        return r["name_en"] if lang == "en" else r["name_zh"]

    dept_rows = metric_rows(dept, "department", dept_name, lang)
    county_rows = metric_rows(county, "county", county_name, lang)
    departments = dept["department"].dropna()
    opts = [{"label": rules.department_name(d, lang), "value": d} for d in departments]
    dept_columns = metric_columns(lang, "department")
    county_columns = metric_columns(lang, "county")
    return tiles, panel, dept_rows, dept_columns, county_rows, county_columns, opts


@callback(
    Output(ids.METRICS_DETAIL, "children"),
    Input(ids.METRICS_DETAIL_DEPT, "value"),
    Input(ids.LANG, "data"),
)
def department_detail(dept, lang):
    if not dept:
        return ""
    lang = normalise_language(lang)
    rt = _rt()
    d = metrics.department_detail(rt.db, _scope(), dept, now=_now())
    s = d["summary"]
    weekly = d["weekly"]
    on_time = f"{t('metrics.on_time', lang)}: {_pct(s['on_time_rate']) or '–'}"
    cases = f"{t('metrics.cases', lang)}: {s['cases']}"
    overdue = f"{t('metrics.overdue', lang)}: {s['open_overdue']}"
    weeks = zip(weekly["week"], weekly["on_time_rate"], strict=True)
    week_lines = [f"{pd.Timestamp(w).strftime('%Y-%m-%d')}: {_pct(r) or '–'}" for w, r in weeks]

    def open_line(r: dict) -> str:
        name = r["title"] or category_name(r["category"], lang)
        return f"#{r['id']} {name} · {t('case.state.' + r['state'], lang)}"

    open_lines = [open_line(r) for r in d["open"].head(20).to_dict("records")]
    lines = [
        html.P(f"{on_time} · {cases} · {overdue}"),
        html.Ul([html.Li(x) for x in week_lines]),
        html.Ul([html.Li(x) for x in open_lines]),
    ]
    return html.Div(lines)
