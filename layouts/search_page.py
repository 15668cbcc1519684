"""The search page (``/search``): one box over events, cases and warnings, with facets (source,
category, area at any level, severity, state, period), the matches as a table, on a map and as a
time histogram, and the read API's CSV / Excel export of the same search.

The address holds the search (``?q=...&kind=...&since=...&until=...&area=...``, the read API's
parameter names); :func:`page` starts from it, and the page writes every change back.
"""

from __future__ import annotations

from urllib.parse import urlencode

import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import dcc, html

from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME, category_name
from layouts.figures import BACKGROUND, DESK_MAP_BACKGROUND, fit_view, offline_style
from layouts.i18n import DEFAULT_LANGUAGE, LANGUAGES, format_moment, format_number, label, t
from layouts.shell import frame, i18n_text

KINDS = ("events", "cases", "warnings")
# the URL's keys (the read API's names) and the control each sets
URL_KEYS = ("q", "kind", "since", "until", "area", "source", "category", "severity", "state")
SEVERITIES = ("1", "2", "3", "4", "5")
LEVELS = ("blue", "yellow", "orange", "red")  # a warning's severity facet (level_rank 1..4)
CASE_STATES = ("registered", "dispatched", "handling", "verification", "returned", "closed")
WARNING_STATES = ("raised", "acknowledged", "cleared")
# which facets apply to which kind (the others are greyed out)
FACETS = {
    "events": ("source", "category", "severity"),
    "cases": ("category", "state"),
    "warnings": ("severity", "state"),
}
COLUMNS = {
    "events": ("event_time", "source", "category", "severity", "text", "county", "cell", "id"),
    "cases": ("created_at", "id", "state", "category", "title", "department", "county", "area"),
    "warnings": ("raised_at", "id", "level", "state", "rule_id", "subject", "area"),
}
TIME_COLUMNS = ("event_time", "created_at", "raised_at")


def search_labels(catalogue: Catalogue = DEFAULT_CATALOGUE) -> dict[str, tuple[str, ...]]:
    """Display names of every source and event category of ``catalogue`` (the deployment's
    sources) in every language ("police", "police.criminal" -> names), so the search finds a
    source or category by its Chinese or English name."""
    out: dict[str, tuple[str, ...]] = {}
    for source, cats in catalogue.categories.items():
        out[source] = tuple(label(f"source.{source}", lang, catalogue) for lang in LANGUAGES)
        for cat in cats:
            key = f"{source}.{cat}"
            out[key] = tuple(category_name(key, lang, catalogue) for lang in LANGUAGES)
    return out


def _choice(value, allowed) -> str | None:
    return value if isinstance(value, str) and value in allowed else None


def start_values(query: dict, catalogue: Catalogue = DEFAULT_CATALOGUE) -> dict:
    """The controls' starting values from the address's query (unknown values dropped; the
    period comes from the address through a callback, read as the read API reads it)."""
    kind = _choice(query.get("kind"), KINDS) or "events"
    return {
        "q": str(query.get("q") or "")[:100],
        "kind": kind,
        "area": str(query["area"]) if query.get("area") else None,
        "source": _choice(query.get("source"), catalogue.ids),
        "category": query.get("category") if isinstance(query.get("category"), str) else None,
        "severity": _choice(query.get("severity"), (*SEVERITIES, *LEVELS)),
        "state": _choice(query.get("state"), (*CASE_STATES, *WARNING_STATES)),
    }


def address(values: dict) -> str:
    """The address query of a search (empty values left out; ``until`` exclusive)."""
    return "?" + urlencode({k: values[k] for k in URL_KEYS if values.get(k)})


def kind_options(lang: str) -> list[dict]:
    return [{"label": t(f"search.kind.{k}", lang), "value": k} for k in KINDS]


def _counted(label: str, n: int | None, lang: str) -> str:
    return f"{label} ({format_number(n, lang)})" if n is not None else label


def facet_options(
    kind: str, facets: dict, lang: str, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> dict[str, list[dict]]:
    """The facet dropdowns' choices for ``kind``, each with its count among the matches
    (``facets``: :func:`data.search.results`' counts)."""
    counts = {name: facets.get(name, {}) for name in ("source", "category", "severity", "state")}
    out: dict[str, list[dict]] = {"source": [], "category": [], "severity": [], "state": []}
    if kind == "events":
        out["source"] = [
            {
                "label": _counted(
                    label(f"source.{s}", lang, catalogue), counts["source"].get(s, 0), lang
                ),
                "value": s,
            }
            for s in catalogue.ids
        ]
        seen: dict[str, str] = {}
        for source, cats in catalogue.categories.items():
            for cat in cats:
                seen.setdefault(cat, category_name(f"{source}.{cat}", lang, catalogue))
        out["category"] = [
            {"label": _counted(name, counts["category"].get(cat, 0), lang), "value": cat}
            for cat, name in sorted(seen.items(), key=lambda kv: -counts["category"].get(kv[0], 0))
        ]
        out["severity"] = [
            {"label": _counted(s, counts["severity"].get(s, 0), lang), "value": s}
            for s in SEVERITIES
        ]
    elif kind == "cases":
        out["category"] = [
            {"label": _counted(category_name(c, lang), n, lang), "value": c}
            for c, n in sorted(counts["category"].items(), key=lambda kv: -kv[1])
        ]
        out["state"] = [
            {
                "label": _counted(t(f"case.state.{s}", lang), counts["state"].get(s, 0), lang),
                "value": s,
            }
            for s in CASE_STATES
        ]
    else:
        out["severity"] = [
            {
                "label": _counted(
                    t(f"warn.level.{lv}", lang), counts["severity"].get(str(i + 1), 0), lang
                ),
                "value": lv,
            }
            for i, lv in enumerate(LEVELS)
        ]
        out["state"] = [
            {
                "label": _counted(t(f"warn.state.{s}", lang), counts["state"].get(s, 0), lang),
                "value": s,
            }
            for s in WARNING_STATES
        ]
    return out


def columns(kind: str, lang: str) -> list[dict]:
    """The results grid's columns for ``kind`` (the text and title columns take the rest)."""
    out = []
    for c in COLUMNS[kind]:
        col: dict = {"field": c, "headerName": t(f"search.col.{c}", lang)}
        col |= {"flex": 3} if c in ("text", "title", "subject") else {"width": 150}
        out.append(col)
    return out


def rows(
    kind: str,
    records: list[dict],
    lang: str,
    timezone: str,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> list[dict]:
    """The grid's rows: the read API's records, times in local time, codes named (configured
    sources' with their configured names)."""
    out = []
    for r in records:
        row = {c: r.get(c) for c in COLUMNS[kind]}
        for c in TIME_COLUMNS:
            if c in row and row[c]:
                row[c] = format_moment(row[c], timezone, lang, "date_time")
        if kind == "events":
            row["source"] = label(f"source.{r['source']}", lang, catalogue)
            row["category"] = category_name(f"{r['source']}.{r['category']}", lang, catalogue)
        elif kind == "cases":
            row["category"] = category_name(str(r["category"]), lang, catalogue)
            row["state"] = t(f"case.state.{r['state']}", lang)
        else:
            row["level"] = t(f"warn.level.{r['level']}", lang)
            row["state"] = t(f"warn.state.{r['state']}", lang)
        out.append(row)
    return out


def result_map(
    points: list[tuple[float, float, str]], counties: list[int], bounds, tile_url=None
) -> go.Figure:
    """The matches on an offline map (no tiles unless an intranet ``tile_url`` is set): the
    county outlines (``counties``: their keys) and one marker per match (lon, lat, hover)."""
    traces = [
        go.Choroplethmap(
            geojson="/geo/county.json",
            featureidkey="id",
            locations=counties,
            z=[0] * len(counties),
            colorscale=[[0, "rgba(56,189,248,0.08)"], [1, "rgba(56,189,248,0.08)"]],
            showscale=False,
            marker={"line": {"width": 1, "color": "#5b6b86"}},
            hoverinfo="skip",
        ),
        go.Scattermap(
            lon=[p[0] for p in points],
            lat=[p[1] for p in points],
            text=[p[2] for p in points],
            mode="markers",
            marker={"size": 9, "color": "#f2c14e", "opacity": 0.85},
            hovertemplate="%{text}<extra></extra>",
        ),
    ]
    center, zoom = fit_view(tuple(bounds), width_px=620, height_px=420)
    fig = go.Figure(traces)
    fig.update_layout(
        map={"style": offline_style(DESK_MAP_BACKGROUND, tile_url), "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=DESK_MAP_BACKGROUND,
        uirevision="search",
        showlegend=False,
    )
    return fig


def histogram(hist: list[dict], bucket: str, lang: str):
    """Matches per local hour or day, as bars."""
    fig = go.Figure(
        go.Bar(x=[h["at"] for h in hist], y=[h["n"] for h in hist], marker={"color": "#38bdf8"})
    )
    fig.update_layout(
        margin={"l": 50, "r": 10, "t": 30, "b": 40},
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        font={"color": "#e2e8f0"},
        title={"text": t(f"search.histogram.{bucket}", lang), "font": {"size": 14}},
        bargap=0.1,
    )
    return fig


def summary(total: int, shown: int, since, until, lang: str, timezone: str) -> str:
    """The line above the results: how many match in which period, how many are listed."""
    return t("search.summary", lang).format(
        total=format_number(total, lang),
        shown=format_number(shown, lang),
        since=format_moment(since, timezone, lang, "date_time"),
        until=format_moment(until, timezone, lang, "date_time"),
    )


def export_href(kind: str, fmt: str, params: dict) -> str:
    """The read API's URL for this search as a file (``params``: the API's names and values)."""
    query = {k: v for k, v in params.items() if v} | {"format": fmt}
    return f"/api/{kind}?" + urlencode(query)


def _dropdown(id_: str, value, options=(), **kw) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=id_, options=list(options), value=value, className="og-search-pick", **kw
    )


def page(query: dict | None = None, catalogue: Catalogue = DEFAULT_CATALOGUE) -> html.Div:
    """The page's components, started from the address's ``query``."""
    v = start_values(query or {}, catalogue)
    return html.Div(
        className="og-search",
        children=[
            i18n_text("search.title", tag=html.H2),
            html.Div(
                className="og-filter-bar",
                children=[
                    dcc.Input(
                        id=ids.SEARCH_TEXT,
                        type="search",
                        value=v["q"],
                        debounce=True,
                        maxLength=100,
                        placeholder=t("search.placeholder"),
                        className="og-search-text",
                    ),
                    dcc.RadioItems(
                        id=ids.SEARCH_KIND,
                        options=kind_options(DEFAULT_LANGUAGE),
                        value=v["kind"],
                        inline=True,
                    ),
                ],
            ),
            html.Div(
                className="og-filter-bar",
                children=[
                    i18n_text("search.period"),
                    dcc.DatePickerRange(
                        id=ids.SEARCH_PERIOD,
                        display_format="YYYY-MM-DD",
                        clearable=True,
                    ),
                    _dropdown(ids.SEARCH_AREA, v["area"], placeholder=t("search.area")),
                    _dropdown(ids.SEARCH_SOURCE, v["source"], placeholder=t("search.source")),
                    _dropdown(ids.SEARCH_CATEGORY, v["category"], placeholder=t("search.category")),
                    _dropdown(ids.SEARCH_SEVERITY, v["severity"], placeholder=t("search.severity")),
                    _dropdown(ids.SEARCH_STATE, v["state"], placeholder=t("search.state")),
                    html.A(
                        i18n_text("search.export.csv"),
                        id=ids.SEARCH_CSV,
                        href="",
                        download="",
                        className="og-lang",
                    ),
                    html.A(
                        i18n_text("search.export.xlsx"),
                        id=ids.SEARCH_XLSX,
                        href="",
                        download="",
                        className="og-lang",
                    ),
                ],
            ),
            html.P(id=ids.SEARCH_SUMMARY, className="og-lead"),
            html.Div(
                className="og-two-up",
                children=[
                    dcc.Graph(
                        id=ids.SEARCH_MAP,
                        config={"displaylogo": False},
                        className="og-search-chart",
                    ),
                    dcc.Graph(
                        id=ids.SEARCH_HISTOGRAM,
                        config={"displaylogo": False},
                        className="og-search-chart",
                    ),
                ],
            ),
            dag.AgGrid(
                id=ids.SEARCH_GRID,
                rowData=[],
                columnDefs=[],
                dashGridOptions={"theme": {"function": OFFICE_GRID_THEME}},
                style={"height": "460px", "width": "100%"},
            ),
            dcc.Store(id=ids.SEARCH_QUERY),
            dcc.Store(id=ids.SEARCH_URL_SYNC),
        ],
    )


def layout(chrome: dict | None = None, **query) -> html.Div:
    """The page in the app's frame, started from the address's query."""
    url_lang = query.get("lang") if query.get("lang") in LANGUAGES else None
    chrome = chrome or {"refresh_ms": 5000}
    catalogue = chrome.get("catalogue") or DEFAULT_CATALOGUE
    return frame(page(query, catalogue), **chrome, url_lang=url_lang)
