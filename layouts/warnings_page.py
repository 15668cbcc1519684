"""The warnings analyst page (``/warnings``): the list with filters, a warning's evidence, the
events behind it, its history, and the acknowledge / clear actions. No SQL here."""

from __future__ import annotations

import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from layouts.desk_period import export_links, period_picker
from layouts.i18n import DEFAULT_LANGUAGE, area_name, format_moment, label, t
from layouts.shell import GRID_THEME, framed, i18n_text
from layouts.warnings_panel import learning_text

LEVEL_NAMES = ("blue", "yellow", "orange", "red")
STATE_NAMES = ("raised", "acknowledged", "cleared")
ACTIVE_STATES = ("raised", "acknowledged")  # the state filter's default without a period
LEVEL_COLOURS = {"blue": "#2f7bf5", "yellow": "#f5d90a", "orange": "#ff7e00", "red": "#ff2d2d"}


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


def rule_label(names: dict, rule_id: str, lang: str) -> str:
    """A rule's name in ``lang`` (``names``: id -> ``{"zh", "en"}``); the id when unnamed."""
    found = names.get(rule_id)
    return found["en" if lang == "en" else "zh"] if found else rule_id


def rule_options(names: dict, lang: str) -> list[dict]:
    """The rule filter's options, in the rules file's order."""
    return [{"label": rule_label(names, r, lang), "value": r} for r in names]


def _area(w: dict, lang: str) -> str:
    return area_name(
        {"name_zh": w["area_name_zh"], "name_en": w["area_name_en"], "code": w["area_code"]}, lang
    )


def list_rows(view: dict, lang: str, timezone: str) -> list[dict]:
    """The list's rows of ``view`` (from :func:`data.warnings.desk.list_view`), labelled in
    ``lang``, times in the region's ``timezone``."""
    rows = []
    for w in view["rows"]:
        r = dict(w)
        # the grid's row id (getRowId): AG Grid wants text, and the grid's expression parser
        # knows no String(), so "String(params.data.id)" gave every row the id undefined and
        # the grid kept one row of four ("Duplicate node id")
        r["row_id"] = str(r["id"])
        r["level_label"] = t(f"warn.level.{r['level']}", lang)
        r["rule_label"] = rule_label(view["rules"], r["rule_id"], lang)
        r["area_label"] = _area(r, lang)
        r["state_label"] = t(f"warn.state.{r['state']}", lang)
        r["raised_label"] = format_moment(r["raised_at"], timezone, lang)
        r["escalated_label"] = t(f"level.{r['escalated_to']}", lang) if r["escalated_to"] else ""
        r["value"] = None if r["value"] is None else round(r["value"], 1)
        rows.append(r)
    return rows


def api_filters(filters: dict) -> dict:
    """The read API's parameters (/api/warnings) for the list's ``filters`` (``levels``,
    ``rules``, ``states``, ``area``; ``since``/``until`` as ISO text), so an export holds the
    rows the list shows. No state chosen: every state, as the list reads it."""
    return {
        "level": filters.get("levels") or None,
        "rule_id": filters.get("rules") or None,
        "state": filters.get("states") or None,
        "area": (filters.get("area") or "").strip() or None,
        "since": filters.get("since"),
        "until": filters.get("until"),
    }


def counts_line(
    counts: dict, lang: str, learning: dict | None = None, period: bool = False
) -> list:
    """The line of counts above the list (the active warnings; with a ``period``, those raised
    in it, by colour), and the learning state when there is one."""
    key = "warn.counts_period" if period else "warn.counts"
    colours = {name: t(f"warn.level.{name}", lang) for name in ("red", "orange", "yellow", "blue")}
    out: list = [t(key, lang).format(**counts, names=colours)]
    note = learning_text(learning, lang)
    if note:
        out.append(html.Span(note, id=ids.WARN_LEARNING, className="og-warn-learning"))
    return out


def _history_levels(h: dict, lang: str) -> str:
    """A history entry's levels: "from → to" for a level change, else the level it names."""
    if h["action"] in ("upgraded", "downgraded"):
        steps = [x for x in (h["from_level"], h["to_level"]) if x]
        return " → ".join(t(f"warn.level.{x}", lang) for x in steps)
    return t(f"warn.level.{h['to_level']}", lang) if h["to_level"] else ""


def _category(source: str, category: str, lang: str, catalogue=None) -> str:
    return label(f"category.{source}.{category}", lang, catalogue)


def detail_outputs(view: dict | None, lang: str, timezone: str, catalogue=None) -> dict:
    """Everything the detail pane shows for ``view`` (from
    :func:`data.warnings.desk.detail_view`; None: nothing selected or not visible), labelled in
    ``lang``, times in the region's ``timezone``; ``catalogue``: the deployment's sources
    (their configured names)."""
    if view is None:
        empty = {"title": t("warn.detail.empty", lang), "summary": ""}
        empty |= {"figure": evidence_figure(None, lang), "events": [], "history": []}
        return empty | {"can_ack": False, "can_clear": False, "can_dispatch": False}
    w = view["warning"]
    area = _area(w, lang)
    if w["subject"]:
        area = f"{area} · {w['subject']}"
    summary = t("warn.detail.summary", lang).format(
        level=t(f"warn.level.{w['level']}", lang),
        state=t(f"warn.state.{w['state']}", lang),
        value="-" if w["value"] is None else round(w["value"], 1),
        raised=format_moment(w["raised_at"], timezone, lang),
    )
    if w["escalated_to"] and w["state"] == "raised":
        summary += " · " + t("warn.escalated_to", lang).format(
            level=t(f"level.{w['escalated_to']}", lang)
        )
    events = [
        {
            **e,
            "time_label": format_moment(e["event_time"], timezone, lang),
            "source_label": label(f"source.{e['source']}", lang, catalogue),
            "category_label": _category(e["source"], e["category"], lang, catalogue),
        }
        for e in view["events"]
    ]
    history = []
    for h in view["history"]:
        note = h["note"] or ""
        if h["action"] == "escalated" and note:
            note = t(f"level.{note}", lang)
        history.append(
            {
                "time_label": format_moment(h["changed_at"], timezone, lang),
                "action_label": t(f"warn.action.{h['action']}", lang),
                "level_label": _history_levels(h, lang),
                "actor": t("warn.system", lang) if h["actor"] == "system" else h["actor"],
                "note": note,
            }
        )
    title = t("warn.detail.title", lang).format(
        id=w["id"], rule=rule_label(view["rules"], w["rule_id"], lang), area=area
    )
    return {
        "title": title,
        "summary": summary,
        "figure": evidence_figure(view["series"], lang),
        "events": events,
        "history": history,
        "can_ack": view["can_ack"],
        "can_clear": view["can_clear"],
        "can_dispatch": view["can_dispatch"],
    }


def action_message(outcome: str, values: dict, lang: str) -> str:
    """The message for an action's outcome (from :func:`data.warnings.desk.act`)."""
    return t(f"warn.msg.{outcome}", lang).format(**values)


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
        getRowId="params.data.row_id" if selectable else None,
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
            dcc.Store(id=ids.WARN_QUERY),
            dcc.Store(id=ids.WARN_URL_SYNC),
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
                                value=list(ACTIVE_STATES),
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
                    period_picker(ids.WARN_PERIOD, lang),
                    *export_links(ids.WARN_CSV, ids.WARN_XLSX),
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
                                disabled=True,
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
